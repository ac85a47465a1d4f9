"""What names a text staff may edit live, defined once for both sides of the db/content
boundary: the content loader (bot/content/loading.py) lays stored versions over the files by
these names, and the store of versions (bot/db/content_versions.py) keeps them by these names.

A stored version is addressed by (kind, key): ``(template, "en/welcome")`` (the template file
``en/welcome.html.j2``), ``(button, "en/buttons:menu_faq")`` (a button label),
``(faq, "en/faq")`` (a language's faq.toml), ``(plan, "plan")`` (the whole plan of the
infusion visits, ``plans/infusion.toml``), ``(plan, "plan/esketamine")`` (another visit type's).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from bot.domain.visits import VisitType

__all__ = [
    "LEGACY_PLAN_TYPE",
    "PLAN_KEY",
    "TEMPLATE_SUFFIX",
    "ContentKind",
    "Overlay",
    "button_key",
    "faq_key",
    "plan_key",
    "plan_type_of",
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
"""A visit type's reminder plan is one stored text of kind ``plan`` (the whole TOML). Key
``plan`` is the infusion plan's: versions staff saved before there were visit types (when the
one plan was every visit's, and every visit an infusion) stay the infusion plan's history."""

LEGACY_PLAN_TYPE = VisitType.INFUSION
"""The visit type whose stored plan keeps the key of the single plan before visit types."""

Overlay = Mapping[tuple[str, str], str]
"""Live stored versions: (kind, key) -> body."""


def template_key(template_name: str) -> str:
    """``en/welcome`` for the template file ``en/welcome.html.j2``."""
    return template_name.removesuffix(TEMPLATE_SUFFIX)


def button_key(lang: str, key: str) -> str:
    return f"{lang}/buttons:{key}"


def faq_key(lang: str) -> str:
    return f"{lang}/faq"


def plan_key(visit_type: str) -> str:
    """The stored plan of a visit type: ``plan`` for infusion (see PLAN_KEY), ``plan/<type>``
    for any other."""
    return PLAN_KEY if visit_type == LEGACY_PLAN_TYPE else f"{PLAN_KEY}/{visit_type}"


def plan_type_of(key: str) -> str | None:
    """The visit type a stored plan's key is of (None: not a plan key)."""
    if key == PLAN_KEY:
        return LEGACY_PLAN_TYPE
    prefix = f"{PLAN_KEY}/"
    return key.removeprefix(prefix) if key.startswith(prefix) else None
