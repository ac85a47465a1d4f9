"""The operations server: ``GET /healthz`` and ``GET /metrics`` on a port of their own.

Off by default in polling mode, on 9101 in webhook mode (``OPS_PORT``, ``OPS_HOST``; see
bot/config.py ``ops_listen_port``). Both runtimes start it with :func:`serve_ops`.

``/healthz`` answers JSON, 200 when every check passes and 503 otherwise:

* ``database``: a ``SELECT 1`` within ``CHECK_TIMEOUT`` seconds;
* ``scheduler``: the reminder engine's APScheduler is running;
* ``engine``: seconds since the reminder engine last finished a pass, by the application's
  clock, under ``3 × HOUSEKEEPING_SECONDS`` (the safety-net wake-up runs every
  HOUSEKEEPING_SECONDS, so three missed in a row means the engine is stuck);
* ``redis`` (only when ``REDIS_URL`` is set): a ``PING`` within ``CHECK_TIMEOUT``;
* ``telegram``: a Bot API call succeeded within ``STALE_SECONDS`` (bot/telegram/
  telegram_health.py: every call the bot makes counts; webhook mode asks for the webhook
  every minute);
* ``webhook`` (webhook mode only): Telegram, when last asked, delivered to WEBHOOK_URL.

It holds no personal data: names of checks, booleans, seconds and error class names.

``/metrics`` is the application's registry (bot/metrics.py) in Prometheus' text format. The
two gauges read from the database (staff-alert backlog, unreachable patients) are refreshed
first, within ``CHECK_TIMEOUT``; when that fails they keep their last value and
``companion_scrape_database_failures_total`` goes up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web

from bot.db.health import ops_counts, ping
from bot.factory import Application
from bot.metrics import CONTENT_TYPE_LATEST
from bot.telegram.telegram_health import STALE_SECONDS

__all__ = [
    "CHECK_TIMEOUT",
    "OpsServer",
    "OpsServerError",
    "build_ops_app",
    "health",
    "serve_ops",
]

log = logging.getLogger(__name__)

CHECK_TIMEOUT = 2.0
"""Seconds a check (or the metrics' database read) may take before it counts as failed."""

ENGINE_STALE_PASSES = 3
"""Housekeeping intervals without a finished engine pass before the engine is unhealthy."""

_APP_KEY = web.AppKey("application", Application)
T = TypeVar("T")


async def _bounded(step: Awaitable[T]) -> T:
    return await asyncio.wait_for(step, CHECK_TIMEOUT)


async def _check(step: Awaitable[object]) -> dict[str, Any]:
    try:
        await _bounded(step)
    except Exception as exc:  # the class only: a driver's message may carry values
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True}


def _engine_pass_age(app: Application) -> float:
    """Seconds since the reminder engine last finished a pass (since it started, before its
    first), by the application's clock."""
    engine = app.reminders
    last = engine.last_pass_at or engine.started_at
    return (app.context.clock.now() - last).total_seconds()


async def health(app: Application) -> tuple[bool, dict[str, Any]]:
    """Whether the process is healthy, and the report /healthz answers."""
    settings = app.context.settings
    checks: dict[str, dict[str, Any]] = {"database": await _check(ping(app.db_engine))}
    checks["scheduler"] = {"ok": app.wakeup.running}
    age = _engine_pass_age(app)
    threshold = ENGINE_STALE_PASSES * settings.housekeeping_seconds
    checks["engine"] = {
        "ok": age <= threshold,
        "last_pass_age_seconds": round(age, 3),
        "threshold_seconds": threshold,
        "passed": app.reminders.last_pass_at is not None,
    }
    if app.redis is not None:  # REDIS_URL is set: the client the bot itself uses
        checks["redis"] = await _check(app.redis.ping())
    checks.update(_telegram_checks(app))
    healthy = all(check["ok"] for check in checks.values())
    return healthy, {"status": "ok" if healthy else "unhealthy", "checks": checks}


def _telegram_checks(app: Application) -> dict[str, dict[str, Any]]:
    """``telegram``: a Bot API call succeeded within STALE_SECONDS; ``webhook`` (webhook mode):
    Telegram, when last asked, delivered to WEBHOOK_URL (true until the first check, seconds
    after start; `checked` says)."""
    telegram = app.telegram
    age = telegram.last_success_age()
    checks: dict[str, dict[str, Any]] = {
        "telegram": {
            "ok": age <= STALE_SECONDS,
            "last_success_age_seconds": round(age, 3),
            "threshold_seconds": STALE_SECONDS,
            "succeeded": telegram.last_success is not None,
        }
    }
    if app.context.settings.webhook_mode:
        hook = telegram.webhook
        now = app.context.clock.now()
        checks["webhook"] = {
            "ok": hook is None or hook.ours,
            "checked": hook is not None,
            "checked_age_seconds": (
                round((now - hook.checked_at).total_seconds(), 3) if hook else None
            ),
            "pending_update_count": hook.pending_updates if hook else None,
            "last_error_age_seconds": (
                round((now - hook.last_error_at).total_seconds(), 3)
                if hook and hook.last_error_at
                else None
            ),
        }
    return checks


def _webhook_ok(app: Application) -> bool:
    """Polling: nothing to hold (a webhook set by someone else stops getUpdates, which shows
    in the age of the last success)."""
    hook = app.telegram.webhook
    return not app.context.settings.webhook_mode or hook is None or hook.ours


async def refresh_gauges(app: Application) -> bool:
    """Set the gauges read at scrape time; False when the database did not answer in time."""
    metrics = app.metrics
    metrics.engine_pass_age.set(_engine_pass_age(app))
    metrics.telegram_success_age.set(app.telegram.last_success_age())
    metrics.webhook_ok.set(1 if _webhook_ok(app) else 0)

    async def read() -> None:
        async with app.context.session_factory() as session:
            counts = await ops_counts(session)
        metrics.staff_alert_backlog.set(counts.staff_alert_backlog)
        metrics.unreachable_patients.set(counts.unreachable_patients)
        metrics.intake_events_pending.set(counts.intake_events_pending)

    try:
        await _bounded(read())
    except Exception as exc:
        metrics.scrape_failures.inc()
        log.warning("metrics: database gauges not refreshed (%s)", type(exc).__name__)
        return False
    return True


async def _healthz(request: web.Request) -> web.Response:
    healthy, report = await health(request.app[_APP_KEY])
    return web.json_response(report, status=200 if healthy else 503)


async def _metrics(request: web.Request) -> web.Response:
    app = request.app[_APP_KEY]
    await refresh_gauges(app)
    body = app.metrics.exposition()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def build_ops_app(app: Application) -> web.Application:
    """The aiohttp application of the ops server (GET /healthz, GET /metrics)."""
    ops = web.Application()
    ops[_APP_KEY] = app
    ops.router.add_get("/healthz", _healthz)
    ops.router.add_get("/metrics", _metrics)
    return ops


class OpsServerError(Exception):
    """The ops server cannot listen where the settings say; one line for the operator."""


@dataclass(frozen=True)
class OpsServer:
    host: str
    port: int
    """The port it listens on (the one the system chose when asked for 0)."""


@asynccontextmanager
async def serve_ops(
    app: Application, *, port: int | None = None
) -> AsyncIterator[OpsServer | None]:
    """Serve /healthz and /metrics on ``OPS_HOST:ops_listen_port`` while the block runs; yields
    None when they are off. `port` overrides the settings (0: any free port, for tests).
    Raises :class:`OpsServerError` when the address cannot be used (a port taken)."""
    settings = app.context.settings
    listen = settings.ops_listen_port if port is None else port
    if listen is None:
        yield None
        return
    runner = web.AppRunner(build_ops_app(app), access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.ops_host, listen)
        try:
            await site.start()
        except OSError as exc:
            raise OpsServerError(
                f"/healthz and /metrics cannot listen on {settings.ops_host}:{listen} "
                f"(OPS_HOST, OPS_PORT): {exc.strerror or type(exc).__name__}"
            ) from None
        bound = _bound_port(runner, listen)
        log.info("ops server on %s:%d (/healthz, /metrics)", settings.ops_host, bound)
        yield OpsServer(settings.ops_host, bound)
    finally:
        await runner.cleanup()


def _bound_port(runner: web.AppRunner, asked: int) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return asked
