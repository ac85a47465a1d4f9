"""One period where a value that ends in one ends the text's sentence too.

A time in Spanish ("10:00 a. m."), a label staff typed ("J.D.") or a clinic's fact ("12 Elm
St.") can end in a period, and a template writes its sentence's own right after the value:
``Entendido: <b>{{ clock | time }}</b>.`` showed "Entendido: 10:00 a. m..". Every shown value
(``{{ expression }}``, bot/content/sandbox.py) that ends in a period is marked where it ends;
after the render, a period the template writes right after the mark (closing tags between
them allowed) is dropped, the value's own kept, and the marks removed. A period the template
writes elsewhere, and an ellipsis ("{{ x }}..."), are kept as written."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["mark_period", "settle_periods"]

_MARK = "\ufdd0"
"""A Unicode noncharacter: never text a person sends or a template holds (removed from values
before marking)."""
_SHARED = re.compile(_MARK + r"+((?:</[a-z]+>)*)\.(?!\.)")


def mark_period(value: Any) -> Any:
    """A shown value, marked if it ends in a period (markup stays markup)."""
    if not isinstance(value, str):
        return value
    if _MARK in value:
        value = value.replace(_MARK, "")
    return value + _MARK if value.endswith(".") else value


def settle_periods(text: str) -> str:
    """A rendered text with the period after a marked value dropped and the marks removed."""
    if _MARK not in text:
        return text
    return _SHARED.sub(r"\1", text).replace(_MARK, "")
