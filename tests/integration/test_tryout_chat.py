"""`infusion-companion chat`: the real bot in the terminal, driven through stdin, with no token
and no network (the in-memory Bot API of bot/tryout/session.py)."""

from __future__ import annotations

import asyncio
import io
import os
import re
import sys
import termios
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config import Settings
from bot.tryout.chat import ChatOptions, run_chat
from bot.tryout.render import terminal_text
from foundation.clock import FrozenClock
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
    assert "[1.1] Yes, I agree" in _after(output, "/start")
    assert "you're all set" in _after(output, "1")
    assert "Confirm" in _after(output, "12/3 2:30pm")
    booked = output.split("you> 12/3 2:30pm\n", 1)[1]
    assert "Thursday, December 3, 2026 at 2:30 PM EST ✅" in _after(booked, "1")
    # Three days before the visit was already past: the playlist reminder came with the booking.
    jumped = _after(output, "/clock +1d")
    assert "⏰ Wed 02 Dec 2026, 10:00" in jumped
    assert "arrange a ride home" in jumped
    assert re.search(r"\[(\d+)\.1\] Done ✅   \[\1\.2\] Remind me later", jumped)
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
    assert "Start with /invite" in output  # a rehearsal starts where staff work
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


@pytest.mark.slow  # about 20 s (a subprocess builds the crisis screen): .ci/run runs it
async def test_the_command_needs_no_token_and_leaves_nothing_behind(tmp_path: Path) -> None:
    process = await _bot_process(tmp_path, "chat", env=_env(), stdin=True)
    stdout, stderr = await asyncio.wait_for(process.communicate(b"/start\n1\n"), 60)
    assert await _wait_exit(process, 10) == 0, stderr.decode()
    assert "you're all set" in stdout.decode()
    assert "Traceback" not in stderr.decode()
    assert await asyncio.to_thread(lambda: list(tmp_path.iterdir())) == []


async def test_earlier_buttons_several_lines_and_an_invite_opened_by_its_link(
    tmp_path: Path,
) -> None:
    output = await _chat(
        "/invite\ntomorrow 3pm\nJD 12\n1\n1\n",  # the kind of visit (Infusion), then Make
        ChatOptions(staff=True, files=tmp_path),
    )
    [link] = re.findall(r"https://t\.me/\S+\?start=\S+", output)
    # The QR code is a PNG file whose path is printed.
    [picture] = re.findall(r"\[picture saved: (\S+\.png)\]", output)
    assert Path(picture).parent == tmp_path
    png = await asyncio.to_thread(Path(picture).read_bytes)
    assert png.startswith(b"\x89PNG")

    # Someone else's chat: the patient pastes the link, and answers in several lines.
    script = f'{link}\n1\n"""\nhow long\nis recovery?\n"""\n/appointment\ntomorrow\\\n3pm\n1.2\n'
    patient = await _chat(script)
    opened = _after(patient, link)
    assert f"(you open the link: /start {link.rsplit('=', 1)[1]})" in opened
    assert "[1.1] Yes, I agree" in opened
    assert "you> how long\n     is recovery?" in patient  # one message of two lines
    asked = patient.split("you> how long\n     is recovery?\n", 1)[1]
    assert "30 to 45 minutes" in asked.split("you>", 1)[0]
    # "tomorrow\" then "3pm" is one message; 1.2 taps a button of message 1 (the consent),
    # long gone: answered as a button no longer in use.
    assert "you> tomorrow\n     3pm" in patient
    assert "Wednesday, December 2, 2026 at 3:00 PM EST" in patient
    assert "(you tap “No, thanks”)" in patient


@pytest.mark.slow  # about 20 s (a subprocess at a terminal builds the screen): .ci/run runs it
async def test_run_without_a_token_at_a_terminal_starts_the_chat(tmp_path: Path) -> None:
    """The README's first command on a fresh machine: the bot in the terminal, one line saying
    so and how to serve Telegram; its log lines in a file named at the start."""
    leader, follower = os.openpty()
    attributes = termios.tcgetattr(follower)
    attributes[3] &= ~termios.ECHO  # what is typed is not shown back
    termios.tcsetattr(follower, termios.TCSANOW, attributes)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run",
        cwd=tmp_path, env=_env(), stdin=follower, stdout=follower, stderr=follower,
    )  # fmt: skip
    os.close(follower)
    os.write(leader, b"/start\n/quit\n")
    os.set_blocking(leader, False)
    seen = b""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while process.returncode is None and loop.time() < deadline:
        try:
            seen += os.read(leader, 65536)
        except BlockingIOError:
            await asyncio.sleep(0.1)
        except OSError:  # the other side closed
            break
    assert await _wait_exit(process, 30) == 0
    os.close(leader)
    text = seen.decode(errors="replace")
    first = text.lstrip().splitlines()[0]
    assert first.startswith("No BOT_TOKEN yet, so this is the bot in your terminal")
    assert "BOT_TOKEN" in first and "./scripts/run" in first
    [log] = re.findall(r"log lines go to (\S+chat\.log)", text)
    assert await asyncio.to_thread(Path(log).is_file)
    assert "Welcome" in text and "Traceback" not in text


async def test_the_calendar_button_sends_a_file_the_chat_saves(tmp_path: Path) -> None:
    output = await _chat(
        # ..., Confirm, Add to calendar twice (a visit far enough ahead that no reminder is due)
        "/start\n1\n/appointment\n12/20 2:30pm\n1\n1\n1\n",
        ChatOptions(files=tmp_path),
    )
    [saved] = re.findall(r"\[file saved: (\S+\.ics)\]", output)
    assert Path(saved).parent == tmp_path
    assert "Sunday, December 20, 2026 at 2:30 PM EST as a calendar file" in output
    data = await asyncio.to_thread(Path(saved).read_bytes)
    assert data.startswith(b"BEGIN:VCALENDAR") and b"DTSTART:20261220T193000Z" in data
    assert "bot (notice)> The calendar file is just above." in output  # the second tap


async def test_staff_send_a_csv_with_file_preview_import_and_get_the_links(
    tmp_path: Path,
) -> None:
    """A document can be sent in the chat (`/file PATH`): the import's preview answers it,
    Import fetches it again, and the links come back as saved files."""
    schedule = tmp_path / "tomorrow.csv"
    schedule.write_text(
        "id,mrn,start,type,status\r\n"
        "A-1,MRN-1,2026-12-02 09:30,infusion,booked\r\n"
        "A-2,MRN-2,2026-12-02 11:00,esketamine,booked\r\n",
        encoding="utf-8",
    )
    options = ChatOptions(staff=True, files=tmp_path / "out")
    output = await _chat(f"/file {schedule}\n1.1\n/file {tmp_path / 'missing.csv'}\n", options)
    preview = _after(output, f"/file {schedule}")
    assert "you send the file tomorrow.csv" in preview and "Of 2 rows" in preview
    assert "2 patients get a new invite link" in preview
    imported = _after(output, "1.1")
    assert "Visits imported" in imported
    [links] = list((tmp_path / "out").glob("*-invite-links.csv"))
    assert links.read_text("utf-8-sig").count("https://t.me/") == 2
    assert list((tmp_path / "out").glob("*-invite-qr-codes.html"))
    assert "cannot read" in _after(output, f"/file {tmp_path / 'missing.csv'}")
