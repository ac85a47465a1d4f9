"""The real process: `run` with default settings, start-up checks and clean shutdown."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import sqlite3
import sys
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.config import Settings
from bot.runtime import run_polling
from bot.telegram.callbacks import ConsentCb
from bot.tryout.objects import private_chat_info
from bot.web.webhook import SECRET_HEADER
from tests.fake_telegram import updates
from tests.fake_telegram.server import FakeTelegramServer
from tests.integration.harness import hold_upcoming, make_settings
from tests.integration.pg import app_database, fresh_postgres_database
from tests.integration.replicas import free_port
from tests.integration.test_migrations import REVISIONS
from tests.integration.webhook_rig import SECRET
from tests.redis_support import REDIS_URL, redis_prefix

ROOT = Path(__file__).resolve().parents[2]


_OWN_SETTINGS = {"BOT_TOKEN", "DATABASE_URL", "REDIS_URL", "WEBHOOK_URL", "WEBHOOK_SECRET"}


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _OWN_SETTINGS}
    env.update(PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", **extra)
    return env


async def _bot_process(
    tmp_path: Path, *args: str, env: dict[str, str], stdin: bool = False
) -> asyncio.subprocess.Process:
    """`python -m bot ARGS` in `tmp_path`, its output piped (and its input, with `stdin`)."""
    pipe = asyncio.subprocess.PIPE
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=tmp_path,
        env=env,
        stdin=pipe if stdin else None,
        stdout=pipe,
        stderr=pipe,
    )


async def _wait_exit(process: asyncio.subprocess.Process, timeout: float) -> int:
    try:
        return await asyncio.wait_for(process.wait(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise


async def _stop(process: asyncio.subprocess.Process) -> tuple[int, str]:
    """SIGTERM (if still running), then the exit code and everything it wrote to stderr."""
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    code = await _wait_exit(process, 30)
    return code, (await process.stderr.read()).decode()  # type: ignore[union-attr]


# Slow (about 20 s: a subprocess builds the crisis screen, 8-10 s since round 12's model): run
# by `pytest -m slow` and the PostgreSQL run of .ci/run, not in the default run.
@pytest.mark.slow
async def test_run_with_defaults_migrates_answers_and_stops_on_sigterm(
    telegram: FakeTelegramServer, tmp_path: Path
) -> None:
    # An update that arrived while the bot was down must be answered after start.
    telegram.push_update(updates.command_update(1001, "start"))
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,  # DATABASE_URL default: sqlite file under ./data, created on first run
        env=_env(BOT_TOKEN=telegram.token, TELEGRAM_API_URL=telegram.base_url, POLLING_TIMEOUT="1"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await telegram.wait_for("sendMessage", count=1, timeout=60)
        telegram.push_update(updates.command_update(1001, "help"))
        await telegram.wait_for("sendMessage", count=2, timeout=20)
    finally:
        code, stderr = await _stop(process)
    assert code == 0, stderr
    texts = telegram.sent_texts(1001)
    assert "Welcome" in texts[0]
    assert "/appointment" in texts[1]
    assert telegram.calls("setMyCommands")
    database = tmp_path / "data" / "companion.db"
    assert database.exists()
    with sqlite3.connect(database) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        version = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    assert {"patients", "appointments", "conversation_states"} <= tables
    assert version is not None
    assert "Traceback" not in stderr
    assert "Welcome" not in stderr  # message text never reaches the log
    assert "starting in polling mode" in stderr


async def test_run_without_token_fails_with_one_clear_line(tmp_path: Path) -> None:
    process = await _bot_process(tmp_path, "run", env=_env())
    code = await _wait_exit(process, 60)
    stderr = (await process.stderr.read()).decode()  # type: ignore[union-attr]
    assert code != 0
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "BOT_TOKEN" in lines[0]
    assert ".env.example" in lines[0]
    assert "infusion-companion chat" in lines[0]  # what works without one
    assert not (tmp_path / "data").exists()


async def test_invalid_setting_is_named_without_traceback(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,
        env=_env(BOT_TOKEN="1:x", CLINIC_TIMEZONE="Mars/Base"),
        stderr=asyncio.subprocess.PIPE,
    )
    code = await _wait_exit(process, 60)
    stderr = (await process.stderr.read()).decode()  # type: ignore[union-attr]
    assert code == 2
    assert "CLINIC_TIMEZONE" in stderr
    assert "Traceback" not in stderr


async def test_db_upgrade_command(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "db",
        "upgrade",
        cwd=tmp_path,
        env=_env(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'x' / 'y.db'}"),
        stdout=asyncio.subprocess.PIPE,
    )
    assert await _wait_exit(process, 60) == 0
    assert (tmp_path / "x" / "y.db").exists()


async def test_stop_waits_for_handlers_in_flight(
    telegram: FakeTelegramServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with app_database(tmp_path) as url:
        settings = make_settings(telegram, tmp_path, database_url=url)
        await _stop_waits_for_handlers_in_flight(settings, telegram, monkeypatch)


async def _stop_waits_for_handlers_in_flight(
    settings: Settings, telegram: FakeTelegramServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.factory import create_application, create_bot

    app = create_application(settings, bot=create_bot(settings, session=telegram.session()))
    entered, release = hold_upcoming(monkeypatch)
    runner = asyncio.create_task(run_polling(settings, app, handle_signals=False))
    telegram.push_update(updates.command_update(1001, "start"))
    # The start-up (migrations, menus, checks) comes first: on a loaded machine, some seconds.
    await telegram.wait_for("sendMessage", count=1, timeout=30)
    telegram.push_update(updates.callback_update(1001, ConsentCb(agree=True).pack()))
    await telegram.wait_for("sendMessage", count=2)
    telegram.push_update(updates.command_update(1001, "appointment"))
    await asyncio.wait_for(entered.wait(), 5)
    # Started: the start-up heap is frozen out of the garbage collector's full passes.
    assert gc.get_freeze_count() > 10_000

    stopping = asyncio.create_task(app.dispatcher.stop_polling())
    await asyncio.sleep(0.3)
    assert not runner.done(), "must wait for the handler in flight"
    release.set()
    await asyncio.wait_for(stopping, 10)
    await asyncio.wait_for(runner, 10)
    assert "next infusion" in telegram.sent_texts(1001)[-1]
    assert gc.get_freeze_count() == 0  # stopped: given back to the collector


def test_content_check_command_reports_broken_templates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    from bot.cli import main

    messages = tmp_path / "messages"
    shutil.copytree(ROOT / "messages", messages)
    monkeypatch.setenv("MESSAGES_DIR", str(messages))
    monkeypatch.chdir(tmp_path)  # no .env from the developer's checkout
    assert main(["content", "check"]) == 0
    (messages / "en" / "menu.html.j2").write_text("{{ undefined_thing }} <div>x</div>")
    assert main(["content", "check"]) == 1
    out = capsys.readouterr().out
    assert "menu.html.j2" in out
    assert "undefined_thing" in out


@pytest.mark.slow  # 17-21 s each (the subprocesses' start-up): .ci/run runs it
@pytest.mark.parametrize("shared", [False, True], ids=["one-process", "redis-postgres"])
async def test_run_in_webhook_mode_from_the_environment_alone(
    telegram: FakeTelegramServer, tmp_path: Path, shared: bool
) -> None:
    """What a replica is started with: WEBHOOK_URL and WEBHOOK_SECRET (and REDIS_URL and a
    PostgreSQL DATABASE_URL for several); it serves Telegram's POSTs and stops on SIGTERM,
    leaving the webhook set."""
    port = free_port()
    settings = {
        "BOT_TOKEN": telegram.token,
        "TELEGRAM_API_URL": telegram.base_url,
        "WEBHOOK_URL": f"http://127.0.0.1:{port}/hook",
        "WEBHOOK_SECRET": SECRET,
        "WEB_PORT": str(port),
        "WEBHOOK_PATH": "/hook",
        "OPS_PORT": "0",
    }
    async with AsyncExitStack() as stack:
        if shared:
            settings["REDIS_PREFIX"] = await stack.enter_async_context(redis_prefix())
            settings["REDIS_URL"] = REDIS_URL
            settings["DATABASE_URL"] = await stack.enter_async_context(
                fresh_postgres_database("webhook")
            )
        process = await _bot_process(tmp_path, "run", env=_env(**settings))
        try:
            await telegram.wait_for("setWebhook", timeout=60)
            async with aiohttp.ClientSession() as http:
                update = updates.command_update(1001, "start")
                headers = {SECRET_HEADER: SECRET}
                url = f"http://127.0.0.1:{port}/hook"
                async with http.post(url, json=update, headers=headers) as response:
                    assert response.status == 200
            assert "Welcome" in telegram.sent_texts(1001)[0]
        finally:
            code, stderr = await _stop(process)
    assert code == 0, stderr
    assert "starting in webhook mode" in stderr
    assert ("in Redis" in stderr) is shared
    assert "Traceback" not in stderr
    assert "Welcome" not in stderr
    assert telegram.calls("deleteWebhook") == []


async def test_polling_after_webhook_mode_removes_the_webhook_and_keeps_its_updates(
    telegram: FakeTelegramServer, tmp_path: Path
) -> None:
    from bot.factory import create_application, create_bot

    telegram.webhook = {"url": "https://bot.example.org/hook"}  # left by webhook mode
    settings = make_settings(telegram, tmp_path)
    app = create_application(settings, bot=create_bot(settings, session=telegram.session()))
    runner = asyncio.create_task(run_polling(settings, app, handle_signals=False))
    telegram.push_update(updates.command_update(1001, "start"))
    await telegram.wait_for("sendMessage", count=1, timeout=20)
    await app.dispatcher.stop_polling()
    await asyncio.wait_for(runner, 10)
    [delete] = telegram.calls("deleteWebhook")
    assert delete.params.get("drop_pending_updates") in (None, False)
    assert telegram.webhook == {}


async def test_start_up_checks_name_what_they_could_not_verify_and_the_bot_goes_on(
    telegram: FakeTelegramServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Answers aiogram cannot parse (a self-hosted Bot API server of another version, a
    proxy's error page) to every start-up check: one line each, no traceback, and the bot
    answers its first update."""
    from bot.factory import create_application, create_bot

    caplog.set_level(logging.INFO)

    def get_chat(params: dict[str, Any]) -> Any:
        if int(params["chat_id"]) == 9002:
            return {"id": "not a number", "type": ["?"]}  # what aiogram cannot read
        return private_chat_info(int(params["chat_id"]), "A")

    def set_my_commands(params: dict[str, Any]) -> Any:
        return True if params.get("scope") else {"unexpected": "shape"}  # the patients' menu

    telegram.set_handler("getChat", get_chat)
    telegram.set_handler("setMyCommands", set_my_commands)
    telegram.set_handler("getWebhookInfo", lambda params: "<html>502 Bad Gateway</html>")
    settings = make_settings(telegram, tmp_path, staff_ids=frozenset({9001, 9002}))
    app = create_application(settings, bot=create_bot(settings, session=telegram.session()))
    runner = asyncio.create_task(run_polling(settings, app, handle_signals=False))
    telegram.push_update(updates.command_update(1001, "start"))
    try:
        await telegram.wait_for("sendMessage", count=1, timeout=30)
    finally:
        await app.dispatcher.stop_polling()
        await asyncio.wait_for(runner, 10)
    assert "Welcome" in telegram.sent_texts(1001)[0]
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert "STAFF_IDS entry 9002 could not be verified (ClientDecodeError); going on" in warnings
    assert not any("9001" in line for line in warnings)
    assert (
        "start-up: could not verify the command menus (setMyCommands) (ClientDecodeError); going on"
    ) in warnings
    assert (
        "start-up: could not verify that no webhook is set (getWebhookInfo) "
        "(ClientDecodeError); going on"
    ) in warnings
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


def test_content_export_on_a_database_never_migrated_says_to_run_db_upgrade(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    monkeypatch.chdir(tmp_path)  # no .env from the developer's checkout
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}")
    assert main(["content", "export", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        "infusion-companion: the database at DATABASE_URL was never migrated; this version "
        f"needs {REVISIONS[-1]}: run `infusion-companion db upgrade` first"
    ]
    assert not (tmp_path / "out").exists()
    assert main(["db", "upgrade"]) == 0
    assert main(["content", "export", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "en" / "welcome.html.j2").exists()
