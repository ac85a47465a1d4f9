"""The vocabulary of the audit log (``audit_log``): who acted, where, what, and how it ended.

StrEnum members are the strings stored in the database. The log records staff actions and what
they changed; it never holds what a patient wrote or anyone's name (see `bot/db/audit.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

__all__ = ["Action", "Actor", "Outcome", "Surface", "iso_utc", "target"]


class Surface(StrEnum):
    """Where an action came from."""

    TELEGRAM = "telegram"
    WEB = "web"
    API = "api"
    CLI = "cli"


class Action(StrEnum):
    STAFF_ADD = "staff.add"
    STAFF_REMOVE = "staff.remove"
    STAFF_INVITE = "staff.invite"
    STAFF_JOIN = "staff.join"
    INVITE_CREATE = "invite.create"
    INVITE_REDEEM = "invite.redeem"
    STAFF_LIST = "staff.list"
    AUDIT_READ = "audit.read"
    ROSTER_READ = "roster.read"
    CONTENT_READ = "content.read"
    CONTENT_EDIT = "content.edit"
    CONTENT_ROLLBACK = "content.rollback"
    VISIT_MOVE = "visit.move"
    VISIT_CANCEL = "visit.cancel"
    PLAN_READ = "plan.read"
    PLAN_EDIT = "plan.edit"
    PLAN_ROLLBACK = "plan.rollback"
    VISITS_IMPORT = "visits.import"  # the clinic's schedule: a CSV, a visit of the API


class Outcome(StrEnum):
    DONE = "done"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class Actor:
    """Someone asking for something: a Telegram user id, and the surface they used."""

    telegram_id: int
    surface: Surface = Surface.TELEGRAM


def target(kind: str, key: object) -> str:
    """A log target such as ``appointment:12`` or ``template:en/welcome``."""
    return f"{kind}:{key}"


def iso_utc(instant: datetime) -> str:
    """An aware instant as ISO 8601 in UTC, the way times are written into the log."""
    if instant.tzinfo is None:
        raise ValueError("naive datetime given to the audit log")
    return instant.astimezone(UTC).isoformat()
