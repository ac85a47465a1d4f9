"""The plain values the reminder engine exchanges with its store, renderer and sender.

They are owned here, not by the bot, so `scheduler/` imports nothing from `bot/`: the bot's
store loads claimed rows into these, its view renders a :class:`ReminderBatch`, and its sender
answers with a :class:`SendResult`. Frozen dataclasses, not ORM objects: they outlive the
transaction that read them, and the send path reads thousands of them a second.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from foundation.timemath import load_zone, to_local
from scheduler.plan import Step


@dataclass(frozen=True, slots=True)
class ClaimedRow:
    """A reminder row claimed under a lease, as the engine needs it."""

    id: int
    step_key: str
    due_at: datetime
    expires_at: datetime
    attempts: int


@dataclass(frozen=True, slots=True)
class Recipient:
    """The patient a reminder goes to: only what sending and rendering read."""

    id: int
    chat_id: int
    language: str


@dataclass(frozen=True, slots=True)
class Visit:
    """The appointment a reminder is about, as of the claim."""

    id: int
    starts_at: datetime
    timezone: str
    attendance: str | None
    visit_type: str = "infusion"
    """Which plan the visit follows (the bot's VisitType values)."""

    @property
    def local_start(self) -> datetime:
        """The start as wall time in the zone it was booked in (what the patient sees)."""
        return to_local(self.starts_at, load_zone(self.timezone))


@dataclass(frozen=True, slots=True)
class ClaimedReminder:
    """One claimed row with its appointment and patient. Rows of one appointment share one
    `Visit` and rows of one patient one `Recipient`."""

    row: ClaimedRow
    visit: Visit
    recipient: Recipient


@dataclass(frozen=True)
class Claim:
    """What one claim took: the rows, oldest due first, and the ticked checklist items of
    their appointments (by appointment id; an appointment with none is absent)."""

    reminders: tuple[ClaimedReminder, ...] = ()
    ticks: Mapping[int, frozenset[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class ReminderBatch:
    """Everything needed to render one reminder message for one appointment."""

    patient: Recipient
    appointment: Visit
    rows: tuple[ClaimedRow, ...]
    steps: tuple[Step, ...]
    ticks: frozenset[str]


@dataclass(frozen=True)
class RenderedReminder:
    """A rendered message; `markup` is whatever the sender takes as its keyboard.
    `fallback_error`: the live text could not be rendered (an error code, never text) and this
    is the shipped one instead: the patient still gets a reminder, and staff are told."""

    text: str
    markup: Any = None
    fallback_error: str | None = None


class SendOutcome(enum.Enum):
    """How one message to Telegram ended, as far as its caller must act on it."""

    SENT = "sent"
    BLOCKED = "blocked"
    """403 (bot blocked, user deactivated, kicked) or 400 "chat not found": unreachable."""
    BAD_REQUEST = "bad_request"
    """Any other 400: our fault (e.g. invalid HTML); retrying won't help."""
    RETRY = "retry"
    """5xx / network errors / timeouts persisted: the caller reschedules later."""


@dataclass(frozen=True)
class SendResult:
    outcome: SendOutcome
    message_id: int | None = None
    error: str | None = None
    """Exception class name + Telegram's description; never the message text."""
    retry_in: float | None = None
    """For RETRY: suggested seconds before the caller tries again."""
