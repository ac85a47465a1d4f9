"""What names a text staff may edit live, defined once for both sides of the db/content
boundary: the content loader (bot/content/loading.py) lays stored versions over the files by
these names, and the store of versions (bot/db/content_versions.py) keeps them by these names.

A stored version is addressed by (kind, key): ``(template, "en/welcome")`` (the template file
``en/welcome.html.j2``), ``(button, "en/buttons:menu_faq")`` (a button label),
``(faq, "en/faq")`` (a language's faq.toml), ``(plan, "plan")`` (the whole plan.toml).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

__all__ = [
    "PLAN_KEY",
    "TEMPLATE_SUFFIX",
    "ContentKind",
    "Overlay",
    "button_key",
    "faq_key",
    "template_key",
]


class ContentKind(StrEnum):
    """The `kind` of a stored version (``content_versions.kind``: these strings)."""

    TEMPLATE = "template"
    BUTTON = "button"
    FAQ = "faq"
    PLAN = "plan"


TEMPLATE_SUFFIX = ".html.j2"
PLAN_KEY = "plan"
"""The reminder plan is one stored text: kind ``plan``, key ``plan`` (the whole TOML)."""

Overlay = Mapping[tuple[str, str], str]
"""Live stored versions: (kind, key) -> body."""


def template_key(template_name: str) -> str:
    """``en/welcome`` for the template file ``en/welcome.html.j2``."""
    return template_name.removesuffix(TEMPLATE_SUFFIX)


def button_key(lang: str, key: str) -> str:
    return f"{lang}/buttons:{key}"


def faq_key(lang: str) -> str:
    return f"{lang}/faq"
