"""What the reminder engine needs from the application, as protocols it owns.

The engine decides what is due, what is sent and how each row ends; the application provides
where rows live (:class:`ReminderStore`), how a message looks (:class:`ReminderRenderer`) and
how it reaches the patient (:class:`ReminderSender`), and may be told how rows end
(:class:`ReminderObserver`, for metrics). The bot implements them
(`bot/db/reminder_store.py`, `bot/telegram/reminder_view.py`, `bot/delivery/sender.py`) and
`bot/factory.py` wires them; `scheduler/` never imports `bot/`.

The store's contract is a lease, as in APScheduler 4's data stores: a claimed row is the
claimer's until its lease runs out (the claimer renews it while it sends), every write of an
outcome is fenced by the owner, and a row whose owner died is claimed again once its lease
ran out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from scheduler.records import Claim, ReminderBatch, RenderedReminder, RowOutcome, SendResult


class ReminderStore(Protocol):
    """Where reminder rows live. Each method is one short transaction of its own, committed
    before it returns: the engine never holds a transaction while it renders or sends."""

    async def next_due(self) -> datetime | None:
        """The earliest moment something may need sending: the due time of a pending row of
        a reachable patient who has not paused reminders, or the end of a lease; None when
        there is nothing."""
        ...

    async def expire_overdue(self, now: datetime) -> Mapping[str, int]:
        """Pending rows whose useful window closed (`expires_at <= now`) become `expired`, so
        nothing is ever sent late; returns how many, by step key."""
        ...

    async def claim(self, now: datetime, owner: str, lease_until: datetime, limit: int) -> Claim:
        """Take up to `limit` rows due by `now` (`sending` ones whose lease ran out first:
        their claimer died, and they have waited a lease already; then pending ones, oldest
        due first) of scheduled appointments of reachable, unpaused patients:
        they become `sending`, leased to `owner` until `lease_until`, one attempt more. When
        two engines race for a row, exactly one of them gets it."""
        ...

    async def extend(self, owner: str, now: datetime, lease_until: datetime) -> int:
        """Renew the lease of every row `owner` still holds (`sending`, its lease not yet
        written back) until `lease_until`; how many. Called while a claim is being sent, so
        a claim that takes longer than one lease stays its claimer's."""
        ...

    async def record(self, owner: str, now: datetime, outcomes: Sequence[RowOutcome]) -> None:
        """Write how claimed rows ended and release their lease. Fenced by `owner`: a row
        re-planned or claimed by another engine meanwhile is left as it is. Marks the
        `unreachable_patient` of an outcome unreachable."""
        ...


class ReminderRenderer(Protocol):
    """Renders a batch from the latest templates; may raise (a broken template), which fails
    only that batch's rows."""

    def __call__(self, batch: ReminderBatch) -> RenderedReminder: ...


class ReminderSender(Protocol):
    """Sends one message and classifies how it ended; never raises for Telegram's answers."""

    async def send(
        self,
        chat_id: int,
        text: str,
        *,
        reply_markup: Any = None,
        disable_notification: bool = False,
    ) -> SendResult: ...


class TemplateFailureHandler(Protocol):
    """Told when a batch could not be rendered or Telegram refused it as a bad request (with
    an error code, never the text), so staff can fix the template; `fell_back`: the patient
    got the shipped text instead."""

    async def __call__(
        self, batch: ReminderBatch, error: str, *, fell_back: bool = False
    ) -> None: ...


class ReminderObserver(Protocol):
    """Told how reminder rows end, for metrics. Called on the event loop during a pass:
    cheap, and never raises.

    `outcome` is one of "sent", "skipped", "expired", "failed", "retry" (rescheduled after an
    error) and "blocked" (the patient is unreachable)."""

    def row_ended(self, step_key: str, outcome: str, count: int = 1) -> None: ...

    def row_sent(self, lateness_seconds: float) -> None:
        """One sent row: seconds from its due time to its sending."""
        ...
