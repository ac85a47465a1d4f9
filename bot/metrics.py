"""The application's Prometheus metrics, with the official client library.

Each application has its own :class:`Metrics` with its own ``CollectorRegistry`` (not the
client's global default), so tests and several applications in one process never collide.
Labels are low-cardinality only: an update's type and outcome, a plan step's key, a kind of
Telegram call; never a chat, a patient or a message. ``/metrics`` (bot/web/ops.py) serves
:meth:`Metrics.exposition`; the gauges that need the database are set just before, by the ops
server, within a time limit.

The names are listed in docs/operations.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from scheduler.queue import Outcome, Reason

__all__ = ["CONTENT_TYPE_LATEST", "Metrics", "UpdateTrace", "mark_update"]

PREFIX = "companion"

# Seconds: an answer is usually well under a second; a slow Telegram or a busy database shows
# in the upper buckets.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Seconds from a reminder's due time to its sending: on time is under a few seconds; a burst
# or downtime shows as minutes and hours.
LATENESS_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 900.0, 1800.0, 3600.0, 4 * 3600.0)

# The outcomes an update can have (the label's whole vocabulary).
UPDATE_OUTCOMES = ("handled", "unhandled", "error", "crisis", "group", "skipped")
# How a reminder row can end, as counted (the label's whole vocabulary: `AttemptResult.label`).
REMINDER_OUTCOMES = (*(o.value for o in Outcome), Reason.BLOCKED.value)

_MAX_LABEL = 32


@dataclass
class UpdateTrace:
    """The update being handled in this task: inner layers mark how it ended."""

    update_id: int
    outcome: str | None = None


_current_trace: ContextVar[UpdateTrace | None] = ContextVar("current_update_trace", default=None)


def mark_update(outcome: str) -> None:
    """Say how the update in hand ended (`crisis`, `group`, `skipped`, `error`); the first mark
    wins. Outside an update, nothing happens."""
    trace = _current_trace.get()
    if trace is not None and trace.outcome is None:
        trace.outcome = outcome


def _label(value: str) -> str:
    return value[:_MAX_LABEL] if value else "none"


class Metrics:
    def __init__(self, *, perf_counter: Callable[[], float] = time.perf_counter) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._perf_counter = perf_counter
        r = self.registry
        self.updates = Counter(
            f"{PREFIX}_updates",
            "Telegram updates handled, by update type and outcome",
            ["type", "outcome"],
            registry=r,
        )
        self.update_seconds = Histogram(
            f"{PREFIX}_update_duration_seconds",
            "Time from receiving an update to having answered it, by update type",
            ["type"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.reminders = Counter(
            f"{PREFIX}_reminders",
            "Reminder rows by plan step and how they ended (sent, skipped, expired, failed, "
            "retry: rescheduled after an error, blocked: the patient is unreachable)",
            ["step", "outcome"],
            registry=r,
        )
        self.reminder_lateness = Histogram(
            f"{PREFIX}_reminder_lateness_seconds",
            "Seconds from a reminder row's due time to its sending",
            buckets=LATENESS_BUCKETS,
            registry=r,
        )
        self.telegram_seconds = Histogram(
            f"{PREFIX}_telegram_request_duration_seconds",
            "Duration of one Bot API call (send: reminders and alerts; answer: replies)",
            ["kind"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.telegram_results = Counter(
            f"{PREFIX}_telegram_results",
            "Bot API calls by kind and result (sent, blocked, bad_request, retry)",
            ["kind", "outcome"],
            registry=r,
        )
        self.flood_waits = Counter(
            f"{PREFIX}_telegram_429",
            "429 answers (flood control): every one pauses all sending",
            registry=r,
        )
        self.send_limits_fallbacks = Counter(
            f"{PREFIX}_send_limits_fallbacks",
            "Redis calls of the shared send limits that failed: the process used its own",
            registry=r,
        )
        self.api_limits_fallbacks = Counter(
            f"{PREFIX}_api_limits_fallbacks",
            "Redis calls of the shared API rate limit that failed: the process counted alone",
            registry=r,
        )
        self.unreachable_answers = Counter(
            f"{PREFIX}_telegram_unreachable",
            "Answers saying a chat cannot be reached (403, 400 chat not found)",
            registry=r,
        )
        self.unreachable_patients = Gauge(
            f"{PREFIX}_unreachable_patients",
            "Patients marked unreachable (blocked the bot); read from the database at scrape",
            registry=r,
        )
        self.staff_alert_backlog = Gauge(
            f"{PREFIX}_staff_alert_backlog",
            "Outbox rows (staff alerts, patient notices) not sent yet; read at scrape",
            registry=r,
        )
        self.engine_pass_age = Gauge(
            f"{PREFIX}_reminder_engine_last_pass_age_seconds",
            "Seconds since the reminder engine last finished a pass",
            registry=r,
        )
        self.webhook_requests = Counter(
            f"{PREFIX}_webhook_requests",
            "POSTs to the webhook by outcome: handled, repeat (handled already, acknowledged), "
            "busy (being handled, 503), unauthorized, too_large, unreadable, failed (500)",
            ["outcome"],
            registry=r,
        )
        self.invite_redemptions = Counter(
            f"{PREFIX}_invite_redemptions",
            "Invite links opened, by kind (patient, team) and outcome: linked, joined, own, "
            "member, declined; unknown, used, expired, used_or_expired (links that could not "
            "be used: guesses count here); throttled (refused after too many)",
            ["kind", "outcome"],
            registry=r,
        )
        self.telegram_success_age = Gauge(
            f"{PREFIX}_telegram_last_success_age_seconds",
            "Seconds since a Bot API call last succeeded (since start, before the first)",
            registry=r,
        )
        self.webhook_ok = Gauge(
            f"{PREFIX}_telegram_webhook_ok",
            "Webhook mode: 1 when Telegram, last asked, delivered to WEBHOOK_URL, else 0 "
            "(1 in polling mode)",
            registry=r,
        )
        self.intake_events = Counter(
            f"{PREFIX}_intake_events",
            "Signed events to the clinic's systems (INTAKE_WEBHOOKS) by source and outcome: "
            "sent, retried (an attempt failed, another is due), failed (given up)",
            ["source", "outcome"],
            registry=r,
        )
        self.intake_events_pending = Gauge(
            f"{PREFIX}_intake_events_pending",
            "Signed events to the clinic's systems not sent yet (nor given up); read at scrape",
            registry=r,
        )
        self.scrape_failures = Counter(
            f"{PREFIX}_scrape_database_failures",
            "Scrapes whose database gauges could not be read in time (they keep the last value)",
            registry=r,
        )

    # --- the update pipeline ---------------------------------------------------------------
    @contextmanager
    def update(self, update_id: int, update_type: str) -> Iterator[UpdateTrace]:
        """Count one update and time its answer. Inner layers mark the outcome with
        :func:`mark_update`; unmarked it is `handled`, or `error` if the block raised."""
        trace = UpdateTrace(update_id)
        token = _current_trace.set(trace)
        started = self._perf_counter()
        try:
            yield trace
        except BaseException:
            mark_update("error")
            raise
        finally:
            _current_trace.reset(token)
            kind = _label(update_type)
            self.update_seconds.labels(kind).observe(self._perf_counter() - started)
            self.updates.labels(kind, trace.outcome or "handled").inc()

    # --- the reminder engine (scheduler.ports.ReminderObserver) ----------------------------
    def row_ended(self, step_key: str, outcome: str, count: int = 1) -> None:
        if count > 0:
            self.reminders.labels(_label(step_key), outcome).inc(count)

    def row_sent(self, lateness_seconds: float) -> None:
        self.reminder_lateness.observe(max(lateness_seconds, 0.0))

    # --- the sender -----------------------------------------------------------------------
    def telegram_call(self, kind: str, seconds: float) -> None:
        self.telegram_seconds.labels(kind).observe(max(seconds, 0.0))

    def telegram_result(self, kind: str, outcome: str) -> None:
        self.telegram_results.labels(kind, outcome).inc()
        if outcome == "blocked":
            self.unreachable_answers.inc()

    def flood_wait(self) -> None:
        self.flood_waits.inc()

    def send_limits_fallback(self) -> None:
        self.send_limits_fallbacks.inc()

    def api_limits_fallback(self) -> None:
        self.api_limits_fallbacks.inc()

    # --- the webhook ----------------------------------------------------------------------
    def webhook_request(self, outcome: str) -> None:
        self.webhook_requests.labels(_label(outcome)).inc()

    # --- invite links -----------------------------------------------------------------------
    def invite_redemption(self, kind: str, outcome: str) -> None:
        self.invite_redemptions.labels(_label(kind), _label(outcome)).inc()

    # --- events to the clinic's systems ------------------------------------------------------
    def intake_event(self, source: str, outcome: str) -> None:
        """One attempt at an event ended: `sent`, `retried` or `failed`."""
        self.intake_events.labels(_label(source), _label(outcome)).inc()

    # --- exposition -----------------------------------------------------------------------
    def exposition(self) -> bytes:
        """The registry in Prometheus' text format (content type :data:`CONTENT_TYPE_LATEST`)."""
        return generate_latest(self.registry)
