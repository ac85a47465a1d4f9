"""Delivery of the signed events to the clinic's systems (`intake_events`, see
bot/services/intake_events.py for what raises them and bot/intake/events.py for the body).

:class:`EventDelivery` runs in the bot process beside the staff outbox
(bot/delivery/outbox.py AlertDelivery), the same loop (bot/delivery/leased.py): kicked after
a transaction that queued events committed, and started and stopped with the bot
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
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parsedate_to_datetime
from typing import Unpack

import aiohttp
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.intake_events import ClaimedEvent, SqlIntakeEventStore
from bot.delivery.leased import Attempt, LeasedDelivery, Pacing
from bot.intake.signing import SIGNATURE_HEADER, signature_header
from bot.metrics import Metrics
from foundation.clock import Clock
from scheduler.queue import AttemptResult, Outcome, Reason

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


class EventDelivery(LeasedDelivery[tuple[ClaimedEvent, ...], ClaimedEvent]):
    log = log
    what = "event"
    task_name = "intake-event-delivery"
    owner_prefix = "events"
    gave_up = "given up"
    # A sent head makes its source's next event claimable: a pass goes on until none is due.
    drain = True
    batch = 20
    max_attempts = 16
    backoff_base = timedelta(seconds=15)
    backoff_max = timedelta(hours=1)

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        webhooks: Mapping[str, Webhook],
        clock: Clock,
        *,
        metrics: Metrics | None = None,
        timeout: float = 10.0,
        owner: str | None = None,
        rng: random.Random | None = None,
        **pacing: Unpack[Pacing],
    ) -> None:
        store = SqlIntakeEventStore(session_factory)
        super().__init__(store, clock, owner=owner, rng=rng or random.Random(), **pacing)
        if self.backoff_base <= timedelta(0):
            raise ValueError("backoff_base must be positive")
        self.webhooks = dict(webhooks)
        self.metrics = metrics
        self.timeout = timeout
        self._http: aiohttp.ClientSession | None = None

    async def stop(self, grace: float = 10.0) -> None:
        """Stop after one last pass (bot/delivery/leased.py); then close the HTTP client."""
        await super().stop(grace)
        http, self._http = self._http, None
        if http is not None:
            await http.close()

    # --- one pass (the loop: bot/delivery/leased.py) -------------------------------------
    def _rows(self, claim: tuple[ClaimedEvent, ...]) -> tuple[ClaimedEvent, ...]:
        return claim

    async def _send(self, claim: tuple[ClaimedEvent, ...]) -> list[Attempt]:
        return await asyncio.gather(*(self._attempt(e) for e in claim))

    def _name(self, event: ClaimedEvent) -> str:
        return f"{event.event_type} event to source {event.source}"

    def _ended(self, event: ClaimedEvent, result: AttemptResult) -> None:
        if self.metrics is not None:
            self.metrics.intake_event(event.source, _METRIC_OUTCOMES[result.outcome])

    def _given_up(self, result: AttemptResult) -> AttemptResult:
        return AttemptResult(
            result.ids, Outcome.FAILED, Reason.TOO_MANY_ATTEMPTS, result.stored_reason
        )

    def _client(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                headers={"User-Agent": USER_AGENT},
            )
        return self._http

    async def _attempt(self, event: ClaimedEvent) -> Attempt:
        ids = (event.id,)
        webhook = self.webhooks.get(event.source)
        if webhook is None:
            return AttemptResult(ids, Outcome.FAILED, Reason.ERROR, "no_webhook"), None
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
            return AttemptResult(ids, Outcome.RETRY, Reason.RETRY, type(exc).__name__), None
        code = f"http:{status}"
        if 200 <= status < 300:
            return AttemptResult(ids, Outcome.SENT), None
        if status >= 500 or status in _RETRY_STATUSES:
            return AttemptResult(ids, Outcome.RETRY, Reason.RETRY, code), retry_after
        return AttemptResult(ids, Outcome.FAILED, Reason.BAD_REQUEST, code), None


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
