"""One leased send queue: the shape shared by the reminder engine's store and the outbox of
alerts to the team and notices to patients.

Both queues do one job: rows wait until due, a sender claims a batch under a lease (the rows
are its own until the lease runs out, and it renews the lease while it sends), sends with no
transaction open, and records how each row ended, fenced by the lease owner (a row claimed by
another sender meanwhile is left as it is). A row whose sender died is claimed again once its
lease ran out. So a row is sent on time, once (at most the rows in flight at a crash twice),
and never lost across kill -9.

The words are one set: :class:`QueueStatus` (what a row is, stored as these strings),
:class:`Outcome` (how one attempt ended, as APScheduler's ``JobOutcome`` says how a job ran),
:class:`Reason` (why, a code stored with the row) and :class:`AttemptResult` (the value
`record` takes). `scheduler/` owns them, so the engine and the bot (`bot/db/reminder_store.py`,
`bot/db/outbox.py`) share them without `scheduler/` importing `bot/`. It imports nothing else
of the scheduler, so the bot's lowest layer (bot/metrics.py) can read its words.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol, TypeVar

log = logging.getLogger(__name__)

REASON_LENGTH = 120
"""The stored reason (`reminders.reason`, `staff_alerts.last_error`) is cut to this."""


class QueueStatus(StrEnum):
    """The status of a queued row. StrEnum members are the strings stored in the database, so
    they compare and bind as those strings.

    pending -> sent, or skipped / expired / failed. A claimed reminder is `sending` under its
    lease; a claimed outbox row stays `pending` under its lease (its next attempt moved to the
    lease's end), so its partial unique index on pending rows keeps coalescing while it is sent.
    """

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    SKIPPED = "skipped"
    EXPIRED = "expired"
    FAILED = "failed"


class Outcome(StrEnum):
    """How one attempt at a claimed row ended."""

    SENT = "sent"
    SKIPPED = "skipped"
    """Nothing to send any more (the checklist is done, the step left the plan)."""
    EXPIRED = "expired"
    """Its useful moment passed: never sent late."""
    FAILED = "failed"
    """For good: retrying would not help (a bad request, too many attempts)."""
    RETRY = "retry"
    """Pending again: at `AttemptResult.retry_at`, or (no time) when its recipient can be
    reached again."""

    @property
    def status(self) -> QueueStatus:
        """The status a row with this outcome is written with."""
        return QueueStatus.PENDING if self is Outcome.RETRY else QueueStatus(self.value)


class Reason(StrEnum):
    """Why a row is as it is: a code, stored with the row, never text."""

    # Closed or placed by the planner (bot/services/reminders.py), before any attempt.
    BOOKED_LATE = "booked_late"
    PLAN_CHANGED = "plan_changed"
    NO_ALLOWED_TIME = "no_allowed_time"
    STEP_REMOVED = "step_removed"
    CATCH_UP = "catch_up"
    SNOOZED = "snoozed"
    CANCELLED = "cancelled"
    DUPLICATE = "duplicate"
    """Written once by migration 0004 (two visits at one start)."""
    # How an attempt ended.
    EXPIRED = "expired"
    DONE = "done"
    BLOCKED = "blocked"
    """Telegram refused the chat (403, 400 "chat not found")."""
    RETRY = "retry"
    """Telegram or the network failed for a while (5xx, timeouts)."""
    TOO_MANY_ATTEMPTS = "too_many_attempts"
    RETRY_PAST_EXPIRY = "retry_past_expiry"
    BAD_REQUEST = "bad_request"
    RENDER = "render"
    """The text could not be rendered (the detail names the exception's class)."""
    ERROR = "error"
    """Sending raised something the sender does not classify (the detail: its class)."""
    PATIENT_GONE = "patient_gone"
    """A notice's patient was deleted before it was sent."""


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """How claimed rows ended, for `LeasedQueue.record`: the outcome, why, and what goes with
    it.

    `detail` is an error's class or Telegram's description (never message text), stored after
    the reason (``render:KeyError``). `retry_at` reschedules a `RETRY`. `unreachable_patient`
    marks that patient unreachable (Telegram refused their chat), which stops their reminders.
    """

    ids: tuple[int, ...]
    outcome: Outcome
    reason: Reason | None = None
    detail: str | None = None
    message_id: int | None = None
    retry_at: datetime | None = None
    unreachable_patient: int | None = None

    @property
    def status(self) -> QueueStatus:
        return self.outcome.status

    @property
    def stored_reason(self) -> str | None:
        """The reason as the row stores it: the code, and the detail after a colon."""
        if self.reason is None:
            return self.detail[:REASON_LENGTH] if self.detail else None
        if self.detail is None:
            return self.reason.value
        return f"{self.reason.value}:{self.detail}"[:REASON_LENGTH]

    @property
    def label(self) -> str:
        """How the metrics count it: the outcome, or `blocked` for a row that waits until its
        patient can be reached again."""
        if self.outcome is Outcome.RETRY and self.reason is Reason.BLOCKED:
            return Reason.BLOCKED.value
        return self.outcome.value


@dataclass
class QueueStats:
    """What a sender did since it started: passes, messages sent, rows by how they ended (by
    `AttemptResult.label`), and the lateness of sent rows (seconds after their due time)."""

    passes: int = 0
    messages: int = 0
    rows: Counter[str] = field(default_factory=Counter)
    lateness: deque[float] = field(default_factory=lambda: deque(maxlen=100_000))

    def count(self, results: Iterable[AttemptResult]) -> None:
        for result in results:
            self.rows[result.label] += len(result.ids)
            self.messages += result.outcome is Outcome.SENT

    @property
    def sent_rows(self) -> int:
        return self.rows[Outcome.SENT.value]

    @property
    def retried(self) -> int:
        return self.rows[Outcome.RETRY.value]

    @property
    def failed(self) -> int:
        return self.rows[Outcome.FAILED.value]


ClaimT_co = TypeVar("ClaimT_co", covariant=True)


class LeasedQueue(Protocol[ClaimT_co]):
    """Where queued rows live (the contract of APScheduler 4's data stores). Each method is one
    short transaction of its own, committed before it returns: no transaction is held while
    anything is rendered or sent."""

    async def next_due(self) -> datetime | None:
        """The earliest moment something may need sending (a due row or a lease running out);
        None when there is nothing."""
        ...

    async def claim(
        self, now: datetime, owner: str, lease_until: datetime, limit: int
    ) -> ClaimT_co:
        """Take up to `limit` rows due by `now` (rows whose lease ran out among them), leased
        to `owner` until `lease_until`, one attempt more. When two senders race for a row,
        exactly one of them gets it."""
        ...

    async def extend(self, owner: str, now: datetime, lease_until: datetime) -> int:
        """Renew the lease of every row `owner` still holds until `lease_until`; how many."""
        ...

    async def record(self, owner: str, now: datetime, results: Sequence[AttemptResult]) -> int:
        """Write how claimed rows ended and release their lease; how many rows were written.
        Fenced by `owner`: a row claimed by another sender (or changed) meanwhile is left as
        it is. Marks the `unreachable_patient` of a result unreachable."""
        ...


@contextlib.asynccontextmanager
async def lease_kept(
    queue: LeasedQueue[object], owner: str, now: Callable[[], datetime], lease: timedelta
) -> AsyncIterator[None]:
    """While the body runs (a claim being sent), renew `owner`'s lease every third of it, so a
    slow claim (Telegram's 429 pause, a slow network) stays its sender's and a dead sender's
    rows wait one lease at most. A failed renewal is tried again at the next turn (rows whose
    lease ran out meanwhile may go to another sender: the fence on the owner keeps each outcome
    written once)."""

    async def renew() -> None:
        interval = lease.total_seconds() / 3
        while True:
            await asyncio.sleep(interval)
            moment = now()
            try:
                await queue.extend(owner, moment, moment + lease)
            except Exception as exc:  # the class only: a driver's message may carry values
                log.warning("lease not renewed: %s", type(exc).__name__)

    renewing = asyncio.get_running_loop().create_task(renew())
    try:
        yield
    finally:
        renewing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewing
