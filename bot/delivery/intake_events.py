"""Delivery of the signed events to the clinic's systems (`intake_events`, see
bot/services/intake_events.py for what raises them and bot/intake/events.py for the body).

:class:`EventDelivery` runs in the bot process beside the staff outbox
(bot/delivery/outbox.py AlertDelivery), the same way: a background loop, kicked after a
transaction that queued events committed, and started and stopped with the bot
(bot/runtime.py). One pass:

1. claims the due events under a lease in one short transaction (the head of each source:
   bot/db/intake_events.py says why and what order that guarantees), and keeps the lease
   while it sends;
2. POSTs each event's stored body (aiohttp, no session or connection to the database open)
   to its source's URL (INTAKE_WEBHOOKS), signed with the source's secret in the
   ``X-Companion-Signature`` header (bot/intake/signing.py: HMAC-SHA256 over
   ``"{t}.{body}"``, as Stripe and Cal.com sign theirs), the type in ``X-Companion-Event``;
3. writes the outcomes in another short transaction, fenced by the lease owner.

A 2xx answer is sent. A 5xx, 408 or 429, a timeout, a refused or dropped connection is tried
again after an exponential backoff with jitter (half the doubled wait plus a random part of
the other half, at least what a ``Retry-After`` asked for, at most `backoff_max`), and given
up (failed) after `max_attempts`. Any other answer (a 4xx: the receiver refuses the event; a
3xx: redirects are not followed) fails it at once, as does a source whose webhook was
removed from the settings. Figures: ``companion_intake_events_total{source,outcome}`` and the
``companion_intake_events_pending`` gauge (bot/metrics.py). Logs name the source, the event's
type and the HTTP status or error class, never the body.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import aiohttp
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.intake_events import ClaimedEvent, SqlIntakeEventStore
from bot.intake.signing import SIGNATURE_HEADER, signature_header
from bot.metrics import Metrics
from foundation.clock import Clock
from scheduler.queue import AttemptResult, Outcome, QueueStats, Reason, lease_kept

__all__ = ["EVENT_HEADER", "EventDelivery", "Webhook"]

log = logging.getLogger(__name__)

EVENT_HEADER = "X-Companion-Event"
USER_AGENT = "companion-events/1"
_RETRY_STATUSES = frozenset({408, 429})
_METRIC_OUTCOMES = {Outcome.SENT: "sent", Outcome.RETRY: "retried", Outcome.FAILED: "failed"}


@dataclass(frozen=True)
class Webhook:
    """Where one source's events go, and the secret they are signed with."""

    url: str
    secret: str

    def __repr__(self) -> str:  # the secret stays out of logs and tracebacks
        return f"Webhook(url={self.url!r})"


@dataclass(frozen=True)
class _Attempt:
    result: AttemptResult
    retry_after: float | None = None


class EventDelivery:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        webhooks: Mapping[str, Webhook],
        clock: Clock,
        *,
        metrics: Metrics | None = None,
        max_attempts: int = 16,
        timeout: float = 10.0,
        backoff_base: timedelta = timedelta(seconds=15),
        backoff_max: timedelta = timedelta(hours=1),
        lease: timedelta = timedelta(seconds=60),
        batch: int = 20,
        retention: timedelta = timedelta(days=30),
        safety_net: float = 30.0,
        owner: str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if batch < 1 or max_attempts < 1:
            raise ValueError("batch and max_attempts must be >= 1")
        if backoff_base <= timedelta(0):
            raise ValueError("backoff_base must be positive")
        self.session_factory = session_factory
        self.store = SqlIntakeEventStore(session_factory)
        self.webhooks = dict(webhooks)
        self.clock = clock
        self.metrics = metrics
        self.max_attempts = max_attempts
        self.timeout = timeout
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.lease = lease
        self.batch = batch
        self.retention = retention
        self.safety_net = safety_net
        self.owner = owner or f"events-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self.rng = rng or random.Random()
        self.stats = QueueStats()
        self._http: aiohttp.ClientSession | None = None
        self._wakeup = asyncio.Event()
        self._pass_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._next_purge: datetime | None = None

    # --- the background loop --------------------------------------------------------------
    def kick(self) -> None:
        """Look for due events now (called after a transaction that queued some committed)."""
        self._wakeup.set()

    async def start(self) -> None:
        """Start the background loop; its first pass sends what was left from before (queued
        while the bot was down, or leased by a process that died)."""
        if self._task is not None and not self._task.done():
            return
        self._stopping = False
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name="intake-event-delivery"
        )

    async def stop(self, grace: float = 10.0) -> None:
        """Stop after one last pass; then close the HTTP client. A pass still running after
        `grace` is cancelled (its events stay leased and are sent again after the lease)."""
        self._stopping = True
        self._wakeup.set()
        task, self._task = self._task, None
        if task is not None and not task.done():
            try:
                await asyncio.wait_for(asyncio.shield(task), grace)
            except TimeoutError:
                log.warning("event pass still running at shutdown; its leases will expire")
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        http, self._http = self._http, None
        if http is not None:
            await http.close()

    async def _run(self) -> None:
        failing = False
        while True:
            self._wakeup.clear()
            last = self._stopping
            delay = self.safety_net
            try:
                await self.deliver_due()
                await self._purge()
                upcoming = await self.store.next_due()
            except Exception as exc:  # the database may be busy or gone for a moment
                log.log(
                    logging.WARNING if failing else logging.ERROR,
                    "event pass failed (%s); retrying in 5s",
                    type(exc).__name__,
                )
                failing = True
                delay = min(5.0, self.safety_net)
            else:
                failing = False
                if upcoming is not None:
                    wait = (upcoming - self.clock.now()).total_seconds()
                    delay = min(wait if wait > 0 else 1.0, self.safety_net)
            if last:
                break
            if self._stopping:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), delay)

    # --- one pass -------------------------------------------------------------------------
    async def deliver_due(self) -> int:
        """Send every event due now, source by source in order; how many were sent."""
        async with self._pass_lock:
            sent = 0
            while True:
                now = self.clock.now()
                claimed = await self.store.claim(now, self.owner, now + self.lease, self.batch)
                if not claimed:
                    break
                async with lease_kept(self.store, self.owner, self.clock.now, self.lease):
                    attempts = await asyncio.gather(*(self._attempt(e) for e in claimed))
                sent += await self._record(claimed, attempts)
                self.stats.passes += 1
            return sent

    def _client(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                headers={"User-Agent": USER_AGENT},
            )
        return self._http

    async def _attempt(self, event: ClaimedEvent) -> _Attempt:
        ids = (event.id,)
        webhook = self.webhooks.get(event.source)
        if webhook is None:
            return _Attempt(AttemptResult(ids, Outcome.FAILED, Reason.ERROR, "no_webhook"))
        body = event.body.encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature_header(webhook.secret, self.clock.now(), body),
            EVENT_HEADER: event.event_type,
        }
        try:
            async with self._client().post(
                webhook.url, data=body, headers=headers, allow_redirects=False
            ) as response:
                status = response.status
                retry_after = _retry_after(response.headers.get("Retry-After"), self.clock)
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    await response.read()  # a small answer; its words are not kept
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            # A timeout, a refused or dropped connection: the receiver may be back soon.
            return _Attempt(AttemptResult(ids, Outcome.RETRY, Reason.RETRY, type(exc).__name__))
        code = f"http:{status}"
        if 200 <= status < 300:
            return _Attempt(AttemptResult(ids, Outcome.SENT))
        if status >= 500 or status in _RETRY_STATUSES:
            return _Attempt(AttemptResult(ids, Outcome.RETRY, Reason.RETRY, code), retry_after)
        return _Attempt(AttemptResult(ids, Outcome.FAILED, Reason.BAD_REQUEST, code))

    async def _record(self, claimed: tuple[ClaimedEvent, ...], attempts: list[_Attempt]) -> int:
        now = self.clock.now()
        results = [
            self._settle(event, attempt, now)
            for event, attempt in zip(claimed, attempts, strict=True)
        ]
        written = await self.store.record_each(self.owner, now, results)
        sent = 0
        for event, result in zip(claimed, results, strict=True):
            if event.id not in written:
                continue
            self.stats.count([result])
            if self.metrics is not None:
                self.metrics.intake_event(event.source, _METRIC_OUTCOMES[result.outcome])
            if result.outcome is Outcome.SENT:
                sent += 1
            elif result.outcome is Outcome.RETRY:
                log.info(
                    "%s event to source %s: attempt %d failed (%s); next in %.0fs",
                    event.event_type,
                    event.source,
                    event.attempts,
                    result.stored_reason,
                    ((result.retry_at or now) - now).total_seconds(),
                )
            else:
                log.error(
                    "%s event to source %s given up after %d attempt(s): %s",
                    event.event_type,
                    event.source,
                    event.attempts,
                    result.stored_reason,
                )
        return sent

    def _settle(self, event: ClaimedEvent, attempt: _Attempt, now: datetime) -> AttemptResult:
        """A retry gets its time, or is given up after `max_attempts`."""
        result = attempt.result
        if result.outcome is not Outcome.RETRY:
            return result
        if event.attempts >= self.max_attempts:
            return AttemptResult(
                result.ids, Outcome.FAILED, Reason.TOO_MANY_ATTEMPTS, result.stored_reason
            )
        return AttemptResult(
            result.ids,
            Outcome.RETRY,
            result.reason,
            result.detail,
            retry_at=now + self.backoff(event.attempts, attempt.retry_after),
        )

    def backoff(self, attempts: int, retry_after: float | None = None) -> timedelta:
        """The wait after `attempts` failed attempts: ``base * 2**(attempts-1)`` (at most
        `backoff_max`), of which the first half always and the second at random, at least
        `retry_after` seconds (the receiver's Retry-After), at most `backoff_max`."""
        doubled: timedelta = self.backoff_base * 2 ** min(max(attempts - 1, 0), 30)
        ceiling = min(doubled, self.backoff_max)
        delay: timedelta = ceiling / 2 + ceiling / 2 * self.rng.random()
        if retry_after:
            delay = max(delay, timedelta(seconds=retry_after))
        return min(delay, self.backoff_max)

    async def _purge(self) -> None:
        """Once an hour, forget sent and given-up events older than the retention."""
        now = self.clock.now()
        if self._next_purge is not None and now < self._next_purge:
            return
        self._next_purge = now + timedelta(hours=1)
        await self.store.purge_finished(now - self.retention)


def _retry_after(value: str | None, clock: Clock) -> float | None:
    """A Retry-After header in seconds (delta-seconds or an HTTP date); None if absent or
    unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max((when - clock.now()).total_seconds(), 0.0)
