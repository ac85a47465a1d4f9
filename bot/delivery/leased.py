"""The sender loop both outboxes run: :class:`~bot.delivery.outbox.AlertDelivery` (alerts to
the team and notices to patients, over Telegram) and
:class:`~bot.delivery.intake_events.EventDelivery` (signed events to the clinic's systems,
over HTTP). What they send and how differs; how they work their leased queue
(`scheduler/queue.py`, the tables' queries in bot/db/leased.py) does not, so it is here once:

- a background loop, kicked after a transaction that queued rows committed, with a safety-net
  wake-up, and a pass that failed (the database busy or gone) tried again in 5 s (ERROR once,
  then WARNING until a pass succeeds again);
- one pass claims due rows under a lease in one short transaction (committed before anything
  is sent: no session or connection is held while sending), renews the lease while it sends,
  and writes the outcomes in another short transaction, fenced by the lease owner;
- a retry is due again after an exponential backoff (at least what the receiver asked for,
  at most `backoff_max`; with jitter when the sender has a random source), and given up
  (failed) once the row had `max_attempts`;
- sent and failed rows older than the retention are purged once an hour.

A crash mid-pass leaves rows leased; once the lease ran out any replica claims them again, so
a row is never lost, and at most the rows in flight at a crash are sent twice. Log lines go
to the subclass's logger and name what its `_name` says of a row, never a body or a text.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import ClassVar, Generic, Protocol, TypedDict, TypeVar, Unpack

from foundation.clock import Clock
from scheduler.queue import AttemptResult, LeasedQueue, Outcome, QueueStats, lease_kept

__all__ = ["Attempt", "DeliveryStore", "LeasedDelivery", "Pacing"]

ClaimT = TypeVar("ClaimT")
ClaimT_co = TypeVar("ClaimT_co", covariant=True)
RowT = TypeVar("RowT", bound="ClaimedRow")

Attempt = tuple[AttemptResult, float | None]
"""How sending one row went, and the seconds the receiver asked to wait before a retry."""

FAILED_PASS_DELAY = 5.0
"""Seconds before a pass that failed is tried again (at most the safety net)."""


class Pacing(TypedDict, total=False):
    """How a sender works its queue: keyword arguments of every sender, each instead of the
    sender's class attribute of that name (:class:`LeasedDelivery` says what each is)."""

    lease: timedelta
    batch: int
    max_attempts: int
    backoff_base: timedelta
    backoff_max: timedelta
    retention: timedelta
    safety_net: float


class ClaimedRow(Protocol):
    """What the loop reads of a claimed row."""

    @property
    def id(self) -> int: ...

    @property
    def attempts(self) -> int:
        """Attempts including the one this claim is for."""
        ...


class DeliveryStore(LeasedQueue[ClaimT_co], Protocol[ClaimT_co]):
    """The leased queue a sender works (bot/db/leased.py `LeasedStore`)."""

    async def record_each(
        self, owner: str, now: datetime, results: Sequence[AttemptResult]
    ) -> frozenset[int]:
        """`record`, answering which rows were written (the others were fenced off)."""
        ...

    async def purge_finished(self, before: datetime) -> int: ...


class LeasedDelivery(ABC, Generic[ClaimT, RowT]):
    """One outbox's sender. A subclass says what a claim's rows are (:meth:`_rows`), sends
    them (:meth:`_send`), names a row for the logs (:meth:`_name`), and may count an outcome
    (:meth:`_ended`) or give a row up its own way (:meth:`_given_up`)."""

    log: ClassVar[logging.Logger]
    what: ClassVar[str]
    """What a pass sends, in log lines ("staff alert", "event")."""
    task_name: ClassVar[str]
    owner_prefix: ClassVar[str]
    gave_up: ClassVar[str] = "failed"
    """The words of the log line of a row given up: "{name} {gave_up} after N attempt(s)"."""
    drain: ClassVar[bool] = False
    """Claim again after a claim smaller than the batch: sending a row may make the next one
    claimable (the next event of a source), so a pass goes on until a claim is empty."""

    # The pacing (`Pacing`): a subclass's own defaults, a sender's keyword arguments.
    lease: timedelta = timedelta(seconds=60)
    """How long a claim is the sender's own (renewed every third of it while it sends)."""
    batch: int = 50
    """Rows at most per claim."""
    max_attempts: int = 8
    """Attempts before a row that keeps failing is given up."""
    backoff_base: timedelta = timedelta(seconds=5)
    backoff_max: timedelta = timedelta(minutes=10)
    retention: timedelta = timedelta(days=30)
    """How long sent and failed rows are kept."""
    safety_net: float = 30.0
    """Seconds at most between two passes, kicked or not."""

    def __init__(
        self,
        store: DeliveryStore[ClaimT],
        clock: Clock,
        *,
        owner: str | None = None,
        rng: random.Random | None = None,
        **pacing: Unpack[Pacing],
    ) -> None:
        for name, value in pacing.items():
            setattr(self, name, value)
        if self.batch < 1 or self.max_attempts < 1:
            raise ValueError("batch and max_attempts must be >= 1")
        self.store = store
        self.clock = clock
        self.owner = owner or f"{self.owner_prefix}-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        """The lease owner's name (default: the prefix, the process id and a random part)."""
        self.rng = rng
        """The jitter of the backoff; None: none."""
        self.stats = QueueStats()
        self._wakeup = asyncio.Event()
        self._pass_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._next_purge: datetime | None = None

    # --- what a subclass says ---------------------------------------------------------------
    @abstractmethod
    def _rows(self, claim: ClaimT) -> Sequence[RowT]:
        """The claimed rows, in the order they are sent and recorded."""

    @abstractmethod
    async def _send(self, claim: ClaimT) -> Sequence[Attempt]:
        """Send each claimed row (under the lease); how each went, in the order of `_rows`."""

    @abstractmethod
    def _name(self, row: RowT) -> str:
        """What a log line says of a row (a kind and a recipient or source, never a body)."""

    def _ended(self, row: RowT, result: AttemptResult) -> None:
        """Called once a row's outcome was written (metrics)."""

    def _given_up(self, result: AttemptResult) -> AttemptResult:
        """A retry after the last attempt: failed, with its reason."""
        return replace(result, outcome=Outcome.FAILED)

    # --- the background loop ----------------------------------------------------------------
    def kick(self) -> None:
        """Look for due rows now (called after a transaction that queued some committed)."""
        self._wakeup.set()

    async def start(self) -> None:
        """Start the background loop; its first pass sends what was left from before (queued
        while the bot was down, or leased by a process that died)."""
        if self._task is not None and not self._task.done():
            return
        self._stopping = False
        self._task = asyncio.get_running_loop().create_task(self._run(), name=self.task_name)

    async def stop(self, grace: float = 10.0) -> None:
        """Stop looking, after one last pass for what was queued just before. Passes may run
        and record their outcomes for `grace` seconds; then the loop is cancelled (rows it was
        sending stay leased and are claimed again after the lease, by any replica)."""
        self._stopping = True
        self._wakeup.set()
        task, self._task = self._task, None
        if task is None or task.done():
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), grace)
        except TimeoutError:
            self.log.warning("%s pass still running at shutdown; its leases will expire", self.what)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        failing = False
        while True:
            # Cleared before the pass: a kick during the pass makes one more pass. After
            # stop(), one last pass sends what the last updates queued.
            self._wakeup.clear()
            last = self._stopping
            delay = self.safety_net
            try:
                await self.deliver_due()
                await self._purge()
                upcoming = await self.next_due()
            except Exception as exc:  # the database may be busy or gone for a moment
                # The class only: a database error's text may carry the row's values. ERROR
                # once, then WARNING until a pass succeeds again.
                self.log.log(
                    logging.WARNING if failing else logging.ERROR,
                    "%s pass failed (%s); retrying in 5s",
                    self.what,
                    type(exc).__name__,
                )
                failing = True
                delay = min(FAILED_PASS_DELAY, self.safety_net)
            else:
                failing = False
                if upcoming is not None:
                    wait = (upcoming - self.clock.now()).total_seconds()
                    # Something due that this pass did not take is looked at again in a
                    # second, not in a busy loop.
                    delay = min(wait if wait > 0 else 1.0, self.safety_net)
            if last:
                break
            if self._stopping:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), delay)

    # --- one pass ---------------------------------------------------------------------------
    async def next_due(self) -> datetime | None:
        return await self.store.next_due()

    async def deliver_due(self) -> int:
        """Send every row due now; how many were sent."""
        async with self._pass_lock:
            sent = 0
            while True:
                now = self.clock.now()
                claim = await self.store.claim(now, self.owner, now + self.lease, self.batch)
                rows = self._rows(claim)
                if not rows:
                    break
                async with lease_kept(self.store, self.owner, self.clock.now, self.lease):
                    attempts = await self._send(claim)
                sent += await self._record(rows, attempts)
                self.stats.passes += 1
                if len(rows) < self.batch and not self.drain:
                    break
            return sent

    async def _record(self, rows: Sequence[RowT], attempts: Sequence[Attempt]) -> int:
        """Write how the claimed rows ended; how many were sent."""
        now = self.clock.now()
        results = [
            self._settle(row, result, retry_in, now)
            for row, (result, retry_in) in zip(rows, attempts, strict=True)
        ]
        written = await self.store.record_each(self.owner, now, results)
        sent = 0
        for row, result in zip(rows, results, strict=True):
            if row.id not in written:
                continue
            self.stats.count([result])
            self._ended(row, result)
            if result.outcome is Outcome.SENT:
                sent += 1
            elif result.outcome is Outcome.RETRY:
                self.log.info(
                    "%s: attempt %d failed (%s); next in %.0fs",
                    self._name(row),
                    row.attempts,
                    result.stored_reason,
                    ((result.retry_at or now) - now).total_seconds(),
                )
            else:
                self.log.log(
                    # A patient blocking the bot is their choice, not a fault.
                    logging.INFO if result.unreachable_patient is not None else logging.ERROR,
                    "%s %s after %d attempt(s): %s",
                    self._name(row),
                    self.gave_up,
                    row.attempts,
                    result.stored_reason,
                )
        return sent

    def _settle(
        self, row: RowT, result: AttemptResult, retry_in: float | None, now: datetime
    ) -> AttemptResult:
        """A retry gets its time, or is given up after `max_attempts`."""
        if result.outcome is not Outcome.RETRY:
            return result
        if row.attempts >= self.max_attempts:
            return self._given_up(result)
        return replace(result, retry_at=now + self.backoff(row.attempts, retry_in))

    def backoff(self, attempts: int, retry_after: float | None = None) -> timedelta:
        """The wait after `attempts` failed attempts: ``backoff_base * 2**(attempts-1)`` (at
        most `backoff_max`); with `rng`, of that the first half always and the second at
        random; at least `retry_after` seconds (what the receiver asked for), at most
        `backoff_max`."""
        doubled: timedelta = self.backoff_base * 2 ** min(max(attempts - 1, 0), 30)
        delay: timedelta = min(doubled, self.backoff_max)
        if self.rng is not None:
            delay = delay / 2 + delay / 2 * self.rng.random()
        if retry_after:
            delay = max(delay, timedelta(seconds=retry_after))
        return min(delay, self.backoff_max)

    async def _purge(self) -> None:
        """Once an hour, forget sent and failed rows older than the retention."""
        now = self.clock.now()
        if self._next_purge is not None and now < self._next_purge:
            return
        self._next_purge = now + timedelta(hours=1)
        await self.store.purge_finished(now - self.retention)
