"""`infusion-companion chat`: the real bot in the terminal, driven through stdin, with no token
and no network (the in-memory Bot API of bot/tryout/session.py)."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime
from pathlib import Path

from bot.config import Settings
from bot.tryout.chat import ChatOptions, run_chat
from bot.tryout.render import terminal_text
from scheduler.clock import FrozenClock
from tests.integration.test_runtime import _bot_process, _env, _wait_exit

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)  # Tuesday 10:00 in New York


def _settings(**overrides: object) -> Settings:
    values: dict[str, object] = {"clinic_timezone": "America/New_York", **overrides}
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


async def _chat(script: str, options: ChatOptions | None = None, **settings: object) -> str:
    out = io.StringIO()
    code = await run_chat(
        _settings(**settings),
        options or ChatOptions(),
        stdin=io.StringIO(script),
        stdout=out,
        clock=FrozenClock(NOW),
    )
    assert code == 0
    return out.getvalue()


def _after(output: str, typed: str) -> str:
    """What the chat printed after the line `typed` (up to the next typed line)."""
    return output.split(f"you> {typed}\n", 1)[1].split("\nyou> ", 1)[0]


async def test_consent_book_jump_the_clock_and_tick_a_reminder() -> None:
    output = await _chat(
        "/start\n"
        "1\n"  # Yes, I agree
        "/appointment\n"
        "12/3 2:30pm\n"
        "1\n"  # Confirm
        "/clock +1d\n"
        "1\n"  # Done ✅ on the reminder
        "/quit\n"
        "never read\n"
    )
    assert "Tue 01 Dec 2026, 10:00 (America/New_York)" in output
    assert "Welcome" in _after(output, "/start")
    assert "[1] Yes, I agree" in _after(output, "/start")
    assert "you're all set" in _after(output, "1")
    assert "Confirm" in _after(output, "12/3 2:30pm")
    booked = output.split("you> 12/3 2:30pm\n", 1)[1]
    assert "Thursday, December 3, 2026 at 2:30 PM EST ✅" in _after(booked, "1")
    # Three days before the visit was already past: the playlist reminder came with the booking.
    jumped = _after(output, "/clock +1d")
    assert "⏰ Wed 02 Dec 2026, 10:00" in jumped
    assert "arrange a ride home" in jumped
    assert "[1] Done ✅   [2] Remind me later" in jumped
    ticked = output.split("you> /clock +1d\n", 1)[1]
    assert "✅ Ride home arranged" in _after(ticked, "1")
    assert "never read" not in output
    assert "<b>" not in output and "&" not in output  # Telegram HTML shown as text


async def test_staff_try_the_team_commands_and_see_their_alerts() -> None:
    output = await _chat(
        "/texts\n/start\n1\nI want to kill myself\n",
        ChatOptions(staff=True),
        staff_ids=frozenset({9001}),
    )
    assert "You are an admin" in output
    assert "/texts" in output.split("Your menu:", 1)[1].splitlines()[0]
    assert "Which texts do you want to see?" in _after(output, "/texts")
    crisis = _after(output, "I want to kill myself")
    assert "988" in crisis
    # The alert goes to every admin: the chat user and the one of STAFF_IDS.
    assert "Crisis screen alert" in crisis and "bot → staff chat 9001>" in crisis


async def test_a_given_database_is_kept_and_bad_input_never_tracebacks(tmp_path: Path) -> None:
    db = tmp_path / "rehearsal" / "companion.db"
    output = await _chat("/clock next week\n7\n/clock 2027-01-05\n", ChatOptions(db=db))
    assert db.is_file()
    assert "(clock: give +2d" in output
    assert "Tue 05 Jan 2027, 00:00" in output
    assert "Traceback" not in output
    again = await _chat("/start\n", ChatOptions(db=db, lang="es"))
    assert "language es" in again


def test_terminal_text_keeps_lines_and_links_and_bolds_only_for_a_terminal() -> None:
    html = '<b>Hi</b> &amp; welcome\n\n<a href="https://example.org">the clinic</a>'
    assert terminal_text(html) == "Hi & welcome\n\nthe clinic (https://example.org)"
    assert terminal_text(html, color=True).startswith("\x1b[1mHi\x1b[0m & welcome")


async def test_the_command_needs_no_token_and_leaves_nothing_behind(tmp_path: Path) -> None:
    process = await _bot_process(tmp_path, "chat", env=_env(), stdin=True)
    stdout, stderr = await asyncio.wait_for(process.communicate(b"/start\n1\n"), 60)
    assert await _wait_exit(process, 10) == 0, stderr.decode()
    assert "you're all set" in stdout.decode()
    assert "Traceback" not in stderr.decode()
    assert await asyncio.to_thread(lambda: list(tmp_path.iterdir())) == []
