"""Operations: the metrics the bot keeps while it works, /healthz and /metrics, and the ops
server that runs_polling starts on its own port."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from bot.factory import Application, connect_redis, create_application, create_bot
from bot.runtime import StartupError, run_polling
from bot.web import ops
from bot.web.ops import build_ops_app, health, serve_ops
from tests.fake_telegram.server import FakeTelegramServer
from tests.integration.harness import Harness, make_settings

PAT = 1001
START = datetime(2026, 12, 3, 19, 30, tzinfo=UTC)  # Thursday 2:30 PM EST


def value(app: Application, name: str, **labels: str) -> float:
    return app.metrics.registry.get_sample_value(name, labels) or 0.0


async def book(h: Harness, user: int = PAT) -> None:
    await h.consent(user)
    await h.command(user, "appointment")
    await h.send(user, "12/3 2:30pm")
    await h.tap(user, "Confirm")


@asynccontextmanager
async def client(app: Application) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(build_ops_app(app))) as test_client:
        yield test_client


async def scrape(app: Application) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    async with client(app) as c:
        response = await c.get("/metrics")
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        text = await response.text()
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = tuple(sorted(sample.labels.items()))
            samples.setdefault(sample.name, {})[key] = sample.value
    return samples


# --- what the bot counts -----------------------------------------------------------------
async def test_updates_are_counted_by_type_and_outcome(harness: Harness) -> None:
    app = harness.app
    await book(harness)
    await harness.send(PAT, "I want to kill myself")
    assert value(app, "companion_updates_total", type="message", outcome="handled") == 3
    assert value(app, "companion_updates_total", type="callback_query", outcome="handled") == 2
    assert value(app, "companion_updates_total", type="message", outcome="crisis") == 1
    assert value(app, "companion_update_duration_seconds_count", type="message") == 4
    # aiogram's own HTTP calls to the fake server, timed per kind
    assert value(app, "companion_telegram_request_duration_seconds_count", kind="answer") >= 6
    assert value(app, "companion_telegram_results_total", kind="answer", outcome="sent") >= 6


async def test_a_failing_update_is_counted_as_an_error(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.services.appointments import AppointmentService

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk on fire")

    await harness.consent(PAT)
    monkeypatch.setattr(AppointmentService, "upcoming", broken)
    [reply] = await harness.command(PAT, "appointment")
    assert "nothing was saved" in reply
    assert value(harness.app, "companion_updates_total", type="message", outcome="error") == 1


async def test_reminder_outcomes_per_step_and_lateness(harness: Harness) -> None:
    app = harness.app
    await book(harness)
    harness.clock.set(START - timedelta(days=3) + timedelta(minutes=2))
    assert await app.reminders.run_due() == 1
    assert value(app, "companion_reminders_total", step="playlist", outcome="sent") == 1
    assert value(app, "companion_reminder_lateness_seconds_sum") == 120.0
    # Done for the ride's items, then the visit is long past: the ride is skipped when
    # claimed... and every other step expired, by the sweep or at claim.
    await harness.command(PAT, "prepare")
    await harness.tap(PAT, "Ride")
    harness.clock.set(START - timedelta(days=2))
    await app.reminders.run_due()
    assert value(app, "companion_reminders_total", step="ride", outcome="skipped") == 1
    harness.clock.set(START + timedelta(days=5))
    await app.reminders.run_due()
    for step in ("evening_before", "arrival", "follow_up"):
        assert value(app, "companion_reminders_total", step=step, outcome="expired") == 1, step
    assert app.reminders.last_pass_at == START + timedelta(days=5)


async def test_blocked_patients_are_counted_and_shown_as_unreachable(harness: Harness) -> None:
    app = harness.app
    await book(harness)
    harness.server.block_chat(PAT)
    harness.clock.set(START - timedelta(days=3))
    await app.reminders.run_due()
    assert value(app, "companion_reminders_total", step="playlist", outcome="blocked") == 1
    assert value(app, "companion_telegram_unreachable_total") == 1
    samples = await scrape(app)
    assert samples["companion_unreachable_patients"] == {(): 1.0}


async def test_the_staff_alert_backlog_is_read_at_scrape(harness: Harness) -> None:
    app = harness.app
    await app.alerts.stop(grace=1)  # the outbox does not send: its rows wait
    await harness.send(PAT, "I want to kill myself")
    samples = await scrape(app)
    assert samples["companion_staff_alert_backlog"] == {(): 1.0}
    assert samples["companion_updates_total"][(("outcome", "crisis"), ("type", "message"))] == 1
    await app.alerts.deliver_due()
    assert (await scrape(app))["companion_staff_alert_backlog"] == {(): 0.0}


async def test_a_database_that_does_not_answer_keeps_the_scrape_alive(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = harness.app
    await harness.send(PAT, "I want to kill myself")
    await app.alerts.stop(grace=1)
    before = await scrape(app)
    hang = asyncio.Event()

    async def never(session: Any) -> Any:
        await hang.wait()

    monkeypatch.setattr(ops, "CHECK_TIMEOUT", 0.05)
    monkeypatch.setattr(ops, "ops_counts", never)
    after = await scrape(app)
    assert after["companion_scrape_database_failures_total"] == {(): 1.0}
    assert after["companion_staff_alert_backlog"] == before["companion_staff_alert_backlog"]


# --- /healthz ------------------------------------------------------------------------------
async def test_healthz_reports_each_check(harness: Harness) -> None:
    app = harness.app
    async with client(app) as c:
        # The harness does not start the engine's scheduler.
        response = await c.get("/healthz")
        assert response.status == 503
        report = await response.json()
        assert report["status"] == "unhealthy"
        assert report["checks"]["database"] == {"ok": True}
        assert report["checks"]["scheduler"] == {"ok": False}
        # Redis is checked when the harness runs with it (TEST_REDIS=1).
        with_redis = app.context.settings.redis_url is not None
        assert report["checks"].get("redis") == ({"ok": True} if with_redis else None)
        app.wakeup.start()
        app.wakeup.scheduler.pause()  # the test runs the passes itself
        try:
            await app.reminders.run_due()
            response = await c.get("/healthz")
            assert response.status == 200, await response.text()
            report = await response.json()
            assert report["checks"]["engine"] == {
                "ok": True,
                "last_pass_age_seconds": 0.0,
                "threshold_seconds": 180.0,
                "passed": True,
            }
            # No pass for three housekeeping intervals: stuck.
            harness.clock.advance(timedelta(seconds=181))
            response = await c.get("/healthz")
            assert response.status == 503
            engine = (await response.json())["checks"]["engine"]
            assert engine["ok"] is False
            assert engine["last_pass_age_seconds"] == 181.0
        finally:
            await app.wakeup.shutdown(grace=1)


async def test_healthz_fails_when_the_database_does_not_answer_in_time(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    hang = asyncio.Event()

    async def never(engine: Any) -> None:
        await hang.wait()

    monkeypatch.setattr(ops, "CHECK_TIMEOUT", 0.05)
    monkeypatch.setattr(ops, "ping", never)
    healthy, report = await health(harness.app)
    assert not healthy
    assert report["checks"]["database"] == {"ok": False, "error": "TimeoutError"}


async def test_healthz_pings_redis_when_it_is_configured(harness: Harness) -> None:
    app = harness.app
    # Nothing listens on port 1 of this machine: refused at once, no network involved.
    settings = app.context.settings.model_copy(
        update={"redis_url": SecretStr("redis://127.0.0.1:1/0")}
    )
    context = dataclasses.replace(app.context, settings=settings)
    redis = connect_redis(settings)
    assert redis is not None
    with_redis = dataclasses.replace(app, context=context, redis=redis)
    try:
        healthy, report = await health(with_redis)
    finally:
        await redis.aclose()
    assert not healthy
    assert report["checks"]["redis"]["ok"] is False
    assert report["checks"]["redis"]["error"]
    assert "127.0.0.1" not in str(report)  # no connection details in the answer


# --- the server ----------------------------------------------------------------------------
async def test_serve_ops_is_off_unless_a_port_is_set(
    telegram: FakeTelegramServer, tmp_path: Path
) -> None:
    settings = make_settings(telegram, tmp_path)
    assert settings.ops_listen_port is None
    app = create_application(settings, bot=create_bot(settings, session=telegram.session()))
    try:
        async with serve_ops(app) as server:
            assert server is None
    finally:
        await app.bot.session.close()
        await app.db_engine.dispose()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_run_polling_serves_healthz_and_metrics_on_the_ops_port(
    telegram: FakeTelegramServer, tmp_path: Path
) -> None:
    port = _free_port()
    settings = make_settings(telegram, tmp_path, ops_port=port)
    app = create_application(settings, bot=create_bot(settings, session=telegram.session()))
    runner = asyncio.create_task(run_polling(settings, app, handle_signals=False))
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            status = 0
            for _ in range(500):  # until started: migrated, polling, engine's first pass
                try:
                    async with http.get(f"{url}/healthz") as response:
                        status = response.status
                        if status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.02)
            assert status == 200
            async with http.get(f"{url}/metrics") as response:
                assert response.status == 200
                assert "companion_updates_total" in await response.text()
    finally:
        await app.dispatcher.stop_polling()
        await asyncio.wait_for(runner, 20)
    with pytest.raises(aiohttp.ClientConnectionError):
        async with aiohttp.ClientSession() as http, http.get(f"{url}/healthz"):
            pass


async def test_a_taken_ops_port_stops_the_start_with_one_line(
    telegram: FakeTelegramServer, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        settings = make_settings(telegram, tmp_path, ops_port=port)
        app = create_application(settings, bot=create_bot(settings, session=telegram.session()))
        with pytest.raises(StartupError) as failure:
            await run_polling(settings, app, handle_signals=False)
    message = str(failure.value)
    assert f"127.0.0.1:{port}" in message
    assert "OPS_PORT" in message
    assert "\n" not in message


# --- Telegram -------------------------------------------------------------------------------
async def test_healthz_says_when_telegram_has_not_answered_for_five_minutes(
    harness: Harness,
) -> None:
    """Polling: getUpdates succeeds every few seconds while Telegram answers; when every call
    fails, the age of the last success grows past the threshold and /healthz says so."""
    app = harness.app
    telegram = harness.server
    await harness.command(PAT, "start")  # polling has succeeded
    _, report = await health(app)
    assert report["checks"]["telegram"]["ok"] is True
    assert report["checks"]["telegram"]["succeeded"] is True
    assert "webhook" not in report["checks"]  # polling
    failing = True

    def get_updates(params: dict[str, Any]) -> Any:
        if failing:
            raise telegram.error(502, "Bad Gateway")
        return []

    telegram.set_handler("getUpdates", get_updates)
    calls = len(telegram.calls("getUpdates"))
    await telegram.wait_for("getUpdates", count=calls + 2, timeout=20)  # failed since
    harness.clock.advance(timedelta(seconds=301))
    async with client(app) as c:
        response = await c.get("/healthz")
        assert response.status == 503
        check = (await response.json())["checks"]["telegram"]
    assert check["ok"] is False and check["last_success_age_seconds"] >= 301
    samples = await scrape(app)
    assert samples["companion_telegram_last_success_age_seconds"][()] >= 301
    failing = False  # Telegram answers again
    calls = len(telegram.calls("getUpdates"))
    await telegram.wait_for("getUpdates", count=calls + 2, timeout=20)
    _, report = await health(app)
    assert report["checks"]["telegram"]["ok"] is True
