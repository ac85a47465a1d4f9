"""What the reminder engine needs from the application, as protocols it owns.

The engine decides what is due, what is sent and how each row ends; the application provides
where rows live (:class:`ReminderStore`), how a message looks (:class:`ReminderRenderer`) and
how it reaches the patient (:class:`ReminderSender`), and may be told how rows end
(:class:`ReminderObserver`, for metrics). The bot implements them
(`bot/db/reminder_store.py`, `bot/telegram/reminder_view.py`, `bot/delivery/sender.py`) and
`bot/factory.py` wires them; `scheduler/` never imports `bot/`.

The store's contract is the leased queue of `scheduler/queue.py`, as in APScheduler 4's data
stores: a claimed row is the claimer's until its lease runs out (the claimer renews it while it
sends), every write of an outcome is fenced by the owner, and a row whose owner died is claimed
again once its lease ran out.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from scheduler.queue import LeasedQueue
from scheduler.records import Claim, ReminderBatch, RenderedReminder, SendResult


class ReminderStore(LeasedQueue[Claim], Protocol):
    """Where reminder rows live: the leased queue of `scheduler/queue.py` (each method its own
    short transaction, committed before it returns: the engine never holds a transaction while
    it renders or sends), plus expiry.

    A claim takes `sending` rows whose lease ran out first (their claimer died, and they have
    waited a lease already), then pending ones, oldest due first, of scheduled appointments of
    reachable, unpaused patients; they become `sending`. `next_due` is the due time of a
    pending row of such a patient, or the end of a lease."""

    async def expire_overdue(self, now: datetime) -> Mapping[str, int]:
        """Pending rows whose useful window closed (`expires_at <= now`) become `expired`, so
        nothing is ever sent late; returns how many, by step key."""
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

    `outcome` is an `AttemptResult.label`: "sent", "skipped", "expired", "failed", "retry"
    (rescheduled after an error) or "blocked" (the patient is unreachable)."""

    def row_ended(self, step_key: str, outcome: str, count: int = 1) -> None: ...

    def row_sent(self, lateness_seconds: float) -> None:
        """One sent row: seconds from its due time to its sending."""
        ...
