"""The reminder engine: claims due rows from its store, sends them, records the outcome.

The store (`scheduler.ports.ReminderStore`: the bot's database) is the truth. APScheduler
(see `scheduler.wakeup`) only decides *when* this engine looks; this module decides *what* is
sent. One pass:

1. rows whose useful window closed become `expired` (nothing is ever sent late);
2. due rows are claimed under a lease (`sending`, owner, lease_until) in one short transaction
   of the store: as many as this engine can send in the next `claim_seconds` (its pace, see
   below), never more than `batch_size`;
3. per appointment, the rows are re-checked against the current plan of the appointment's type,
   the appointment and its checklist
   (a step whose items are done is skipped), rendered from the latest templates and sent as one
   message (several rows of one appointment become one catch-up message, never a burst);
4. outcomes are written back while the pass goes on (every `record_every` messages or
   `record_interval` seconds, and at its end), fenced by the lease owner.

A crash between 2 and 4 leaves rows `sending`; once their lease runs out any engine claims
them again. Only rows in flight at the crash can be sent twice: those being sent, and those
sent since the last write (at 28 msg/s, about 14 with the defaults), not the whole pass.

**What a dead engine costs.** Its claimed rows wait for their lease to run out, so both are
kept small. A claim holds what this engine can send in the next `claim_seconds` (2 s): at
first what `rate` (the send rate the replicas share) allows in that time, then its own pace,
measured over its last full claim: with three replicas sharing 28 messages a second, each
sends about 9 a second and claims about 19 rows. The lease is short (10 s by default) and,
while a claim is being sent, renewed every third of it (`ReminderStore.extend`), so a long
claim (Telegram's 429 pause, a slow network) is never taken over by another engine, and the
rows of an engine that died wait at most one lease.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from datetime import datetime, timedelta
from typing import Any

from foundation.clock import Clock
from scheduler.plan import Plan, Step
from scheduler.ports import (
    ReminderObserver,
    ReminderRenderer,
    ReminderSender,
    ReminderStore,
    TemplateFailureHandler,
)
from scheduler.queue import AttemptResult, Outcome, QueueStats, Reason, lease_kept
from scheduler.records import (
    ClaimedReminder,
    ClaimedRow,
    ReminderBatch,
    SendOutcome,
    SendResult,
)
from scheduler.tracing import current_reminders

log = logging.getLogger(__name__)

CLAIM_SECONDS = 2.0
"""A claim holds about this many seconds of sending (see the module's doc)."""

SENT = Outcome.SENT
SKIPPED = Outcome.SKIPPED
EXPIRED = Outcome.EXPIRED
FAILED = Outcome.FAILED
RETRY = Outcome.RETRY


class ReminderEngine:
    def __init__(
        self,
        *,
        store: ReminderStore,
        plan: Callable[[str], Plan],
        render: ReminderRenderer,
        sender: ReminderSender,
        clock: Clock,
        on_template_failure: TemplateFailureHandler | None = None,
        observer: ReminderObserver | None = None,
        batch_size: int = 200,
        lease: timedelta = timedelta(seconds=10),
        rate: float = 0.0,
        claim_seconds: float = CLAIM_SECONDS,
        concurrency: int = 32,
        max_attempts: int = 8,
        retry_cap: timedelta = timedelta(minutes=30),
        owner: str | None = None,
        record_every: int = 100,
        record_interval: float = 0.5,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.plan = plan
        """The live plan of a visit type (a visit's ``visit_type``)."""
        self.render = render
        self.sender = sender
        self.clock = clock
        self.on_template_failure = on_template_failure
        self.observer: ReminderObserver = observer or _NoObserver()
        self.batch_size = batch_size
        self.lease = lease
        self.rate = rate
        self.claim_seconds = claim_seconds
        self.pace: float | None = None
        """Rows a second this engine sent over its last full claim (None before one)."""
        self.max_attempts = max_attempts
        self.retry_cap = retry_cap
        # The process id says which replica holds a lease (`lease_owner`): a row left `sending`
        # by a process that died is told from one a live process is sending.
        self.owner = owner or f"engine-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self.record_every = record_every
        self.record_interval = record_interval
        self._monotonic = monotonic
        self._slots = asyncio.Semaphore(concurrency)
        self._render_turn = asyncio.Lock()
        # Staff alerts sent in the background; kept here so they are not garbage-collected.
        self._background: set[asyncio.Task[None]] = set()
        self.stats = QueueStats()
        self.started_at = clock.now()
        self.last_pass_at: datetime | None = None
        """When the engine last finished a pass (or a claim round of a long one), by its
        clock: the health check's sign of life."""

    async def next_due(self) -> datetime | None:
        return await self.store.next_due()

    async def run_due(self) -> int:
        """Deliver everything due now; returns the number of reminder rows sent."""
        sent = 0
        while True:
            limit = self.claim_limit()
            started = self._monotonic()
            batches, claimed = await self._claim(limit)
            if not claimed:
                break
            recorder = _Recorder(
                self._record, self.record_every, self.record_interval, self._monotonic
            )
            try:
                async with lease_kept(self.store, self.owner, self.clock.now, self.lease):
                    await asyncio.gather(*(self._deliver_into(recorder, b) for b in batches))
            finally:
                # Whatever was sent is written, even if a delivery raised; and the pass's alerts
                # to the team are queued (durably) before it counts as done.
                await recorder.close()
                await self._background_done()
            sent += recorder.sent_rows
            self.stats.passes += 1
            self.last_pass_at = self.clock.now()
            if claimed < limit:
                break
            # A full claim: it took as long as this engine needs for that many rows.
            self.pace = claimed / max(self._monotonic() - started, 1e-3)
        self.last_pass_at = self.clock.now()
        return sent

    def claim_limit(self) -> int:
        """How many rows the next claim takes: what this engine sends in `claim_seconds` at
        its last measured pace (before any, at `rate`), at most `batch_size`."""
        pace = self.pace if self.pace is not None else self.rate
        if pace <= 0:
            return self.batch_size
        return max(1, min(self.batch_size, math.ceil(pace * self.claim_seconds)))

    async def _deliver_into(self, recorder: _Recorder, batch: ReminderBatch) -> None:
        # Each batch runs in a task of its own (gather): the ids tag its log lines only.
        current_reminders.set(tuple(r.id for r in batch.rows))
        outcomes = await self._deliver(batch)
        self._observe(batch, outcomes)
        recorder.add(outcomes)

    def _observe(self, batch: ReminderBatch, outcomes: Sequence[AttemptResult]) -> None:
        self.stats.count(outcomes)
        steps = {r.id: r.step_key for r in batch.rows}
        for outcome in outcomes:
            for row_id in outcome.ids:
                self.observer.row_ended(steps.get(row_id, ""), outcome.label)

    # --- claim ----------------------------------------------------------------------------
    async def _claim(self, limit: int) -> tuple[list[ReminderBatch], int]:
        now = self.clock.now()
        expired = await self.store.expire_overdue(now)
        for step_key, count in expired.items():
            self.stats.rows[EXPIRED.value] += count
            self.observer.row_ended(step_key, "expired", count)
        claim = await self.store.claim(now, self.owner, now + self.lease, limit)
        if not claim.reminders:
            return [], 0
        grouped: dict[int, list[ClaimedReminder]] = {}
        for claimed in claim.reminders:
            grouped.setdefault(claimed.visit.id, []).append(claimed)
        batches = []
        for appointment_id, group in grouped.items():
            try:
                plan: Plan | None = self.plan(group[0].visit.visit_type)
            except ValueError:  # a type no plan is for: its rows are closed, never guessed
                log.error("no plan for the visit type of appointment %s", appointment_id)
                plan = None
            steps = tuple(
                plan.active_step(c.row.step_key) if plan is not None else None for c in group
            )
            batches.append(
                ReminderBatch(
                    patient=group[0].recipient,
                    appointment=group[0].visit,
                    rows=tuple(c.row for c in group),
                    steps=tuple(s for s in steps if s is not None),
                    ticks=claim.ticks.get(appointment_id, frozenset()),
                )
            )
        return batches, len(claim.reminders)

    # --- deliver --------------------------------------------------------------------------
    async def _deliver(self, batch: ReminderBatch) -> list[AttemptResult]:
        now = self.clock.now()
        outcomes: list[AttemptResult] = []
        keep_rows: list[ClaimedRow] = []
        keep_steps: list[Step] = []
        steps = {s.key: s for s in batch.steps}
        for row in batch.rows:
            step = steps.get(row.step_key)
            if step is None:
                outcomes.append(AttemptResult((row.id,), SKIPPED, Reason.STEP_REMOVED))
            elif row.expires_at <= now:
                outcomes.append(AttemptResult((row.id,), EXPIRED, Reason.EXPIRED))
            elif step.items and set(step.items) <= batch.ticks:
                outcomes.append(AttemptResult((row.id,), SKIPPED, Reason.DONE))
            else:
                keep_rows.append(row)
                keep_steps.append(step)
        if not keep_rows:
            return outcomes
        live = ReminderBatch(
            batch.patient, batch.appointment, tuple(keep_rows), tuple(keep_steps), batch.ticks
        )
        ids = tuple(r.id for r in keep_rows)
        # Rendered only once a send slot is free, one message at a time with a yield after each:
        # rendering a whole pass up front (or the first `concurrency` messages back to back)
        # holds the event loop for that long, while no rate-limit grant is made and requests
        # already granted wait to be written (they then reach Telegram bunched up: 429s).
        failure: Exception | None = None
        async with self._slots:
            async with self._render_turn:
                try:
                    message = self.render(live)
                except Exception as exc:  # a broken template must not stop other reminders
                    failure = exc
                await asyncio.sleep(0)
            if failure is None:
                result = await self.sender.send(
                    batch.patient.chat_id, message.text, reply_markup=message.markup
                )
        if failure is not None:
            # The class only: a template error's message may quote what was being rendered.
            log.error(
                "reminder render failed (steps=%s): %s",
                [s.key for s in keep_steps],
                type(failure).__name__,
            )
            await self._template_failed(live, type(failure).__name__)
            failed = AttemptResult(ids, FAILED, Reason.RENDER, type(failure).__name__)
            return [*outcomes, failed]
        if message.fallback_error is not None:
            log.warning(
                "reminder text of steps %s failed (%s); the shipped text was sent",
                [s.key for s in keep_steps],
                message.fallback_error,
            )
            self._in_background(self._template_failed(live, message.fallback_error, True))
        return [*outcomes, self._after_send(live, ids, result)]

    async def _background_done(self) -> None:
        """Waits for the alerts started during the pass (each catches its own errors)."""
        while self._background:
            await asyncio.gather(*tuple(self._background), return_exceptions=True)

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _after_send(
        self, batch: ReminderBatch, ids: tuple[int, ...], result: SendResult
    ) -> AttemptResult:
        now = self.clock.now()
        if result.outcome is SendOutcome.SENT:
            for row in batch.rows:
                lateness = (now - row.due_at).total_seconds()
                self.stats.lateness.append(lateness)
                self.observer.row_sent(lateness)
            return AttemptResult(ids, SENT, message_id=result.message_id)
        if result.outcome is SendOutcome.BLOCKED:
            # Back to pending: the patient is marked unreachable, which stops their reminders;
            # if they unblock the bot, the ones still useful go out.
            return AttemptResult(ids, RETRY, Reason.BLOCKED, unreachable_patient=batch.patient.id)
        if result.outcome is SendOutcome.BAD_REQUEST:
            self._in_background(self._template_failed(batch, (result.error or "bad_request")[:100]))
            return AttemptResult(ids, FAILED, Reason.BAD_REQUEST, result.error)
        # RETRY: bounded exponential backoff, never past expiry, never forever.
        attempts = max(r.attempts for r in batch.rows)
        if attempts >= self.max_attempts:
            return AttemptResult(ids, FAILED, Reason.TOO_MANY_ATTEMPTS)
        delay = timedelta(seconds=max(result.retry_in or 0, 5 * 2 ** (attempts - 1)))
        retry_at = now + min(delay, self.retry_cap)
        if retry_at >= min(r.expires_at for r in batch.rows):
            return AttemptResult(ids, EXPIRED, Reason.RETRY_PAST_EXPIRY)
        return AttemptResult(ids, RETRY, Reason.RETRY, retry_at=retry_at)

    async def _template_failed(
        self, batch: ReminderBatch, error: str, fell_back: bool = False
    ) -> None:
        if self.on_template_failure is None:
            return
        try:
            await self.on_template_failure(batch, error, fell_back=fell_back)
        except Exception as exc:
            log.warning("template failure alert not sent: %s", type(exc).__name__)

    # --- record ---------------------------------------------------------------------------
    async def _record(self, outcomes: Sequence[AttemptResult]) -> None:
        if outcomes:
            await self.store.record(self.owner, self.clock.now(), outcomes)


class _NoObserver:
    def row_ended(self, step_key: str, outcome: str, count: int = 1) -> None:
        pass

    def row_sent(self, lateness_seconds: float) -> None:
        pass


class _Recorder:
    """Writes a pass's outcomes while it goes on: once `every` outcomes are waiting or
    `interval` seconds have passed since the last write, one write at a time, and the rest when
    the pass ends. A crash then repeats only what was sent since the last write, not the pass.
    A failed write is raised from :meth:`close` (its rows stay leased and are claimed again)."""

    def __init__(
        self,
        write: Callable[[Sequence[AttemptResult]], Awaitable[None]],
        every: int,
        interval: float,
        monotonic: Callable[[], float],
    ) -> None:
        self._write = write
        self._every = max(every, 1)
        self._interval = interval
        self._monotonic = monotonic
        self._waiting: list[AttemptResult] = []
        self._writing: asyncio.Task[None] | None = None
        self._failure: Exception | None = None
        self._last = monotonic()
        self.sent_rows = 0

    def add(self, outcomes: Sequence[AttemptResult]) -> None:
        self._waiting.extend(outcomes)
        self.sent_rows += sum(len(o.ids) for o in outcomes if o.outcome is SENT)
        if self._writing is None and self._write_due():
            self._writing = asyncio.get_running_loop().create_task(self._drain())

    def _write_due(self) -> bool:
        return bool(self._waiting) and (
            len(self._waiting) >= self._every or self._monotonic() - self._last >= self._interval
        )

    async def _drain(self) -> None:
        try:
            while self._write_due():
                await self._flush()
        except Exception as exc:  # raised from close(), once the pass is over
            self._failure = self._failure or exc
        finally:
            self._writing = None

    async def _flush(self) -> None:
        batch, self._waiting = self._waiting, []
        self._last = self._monotonic()
        await self._write(batch)

    async def close(self) -> None:
        if self._writing is not None:
            await self._writing
        if self._waiting:
            await self._flush()
        if self._failure is not None:
            raise self._failure
