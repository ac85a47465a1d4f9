"""/forget, blocking, settings and every kind of input the bot did not ask for."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.logs import quiet_sensitive_loggers
from bot.services.appointments import AppointmentService
from bot.telegram.callbacks import ZoneCb
from tests.conftest import DEFAULT_NOW
from tests.fake_telegram import updates
from tests.fake_telegram.server import FakeTelegramServer
from tests.integration import dbcheck
from tests.integration.harness import Harness, start_harness

PAT = 1001


async def _book(harness: Harness, text: str = "12/3 2:30pm") -> None:
    await harness.command(PAT, "appointment")
    await harness.send(PAT, text)
    await harness.tap(PAT, "Confirm")


async def test_forget_deletes_every_trace_after_confirmation(harness: Harness) -> None:
    await harness.consent(PAT)
    await _book(harness)
    await harness.command(PAT, "appointment")
    await harness.tap(PAT, "Add an appointment")  # leaves conversation state behind
    [question] = await harness.command(PAT, "forget")
    assert "can't be undone" in question
    [kept] = await harness.tap(PAT, "No, keep")
    assert "Nothing was deleted" in kept
    assert await dbcheck.count(harness, dbcheck.Patient) == 1
    await harness.command(PAT, "forget")
    [done] = await harness.tap(PAT, "Yes, delete")
    assert "deleted everything" in done
    assert await dbcheck.count(harness, dbcheck.Patient) == 0
    assert await dbcheck.count(harness, dbcheck.Appointment) == 0
    assert await dbcheck.count(harness, dbcheck.ConversationState) == 0
    [reply] = await harness.command(PAT, "forget")
    assert "nothing stored" in reply


async def test_blocking_marks_the_patient_unreachable_and_unblocking_restores(
    harness: Harness,
) -> None:
    await harness.consent(PAT)
    await harness.feed(updates.my_chat_member_update(PAT, new_status="kicked"))
    stored = await dbcheck.patient(harness, PAT)
    assert stored is not None
    assert stored.reachable is False
    await harness.feed(updates.my_chat_member_update(PAT, new_status="member", old_status="kicked"))
    stored = await dbcheck.patient(harness, PAT)
    assert stored is not None
    assert stored.reachable is True


async def test_blocking_by_a_stranger_stores_nothing(harness: Harness) -> None:
    await harness.feed(updates.my_chat_member_update(4242, new_status="kicked"))
    assert await dbcheck.count(harness, dbcheck.Patient) == 0


async def test_settings_change_zone_by_button_and_by_name(harness: Harness) -> None:
    await harness.consent(PAT)
    [shown] = await harness.command(PAT, "settings")
    assert "Eastern Time (New York), UTC-5" in shown
    [saved] = await harness.tap(PAT, "Central")
    assert "Central Time (Chicago), UTC-6" in saved
    await harness.command(PAT, "settings")
    await harness.tap(PAT, "Another zone")
    [unknown] = await harness.send(PAT, "Mars/Olympus_Mons")
    assert "couldn't find that place" in unknown
    [saved] = await harness.send(PAT, "europe/madrid")
    assert "Madrid, UTC+1" in saved
    stored = await dbcheck.patient(harness, PAT)
    assert stored is not None
    assert stored.timezone == "Europe/Madrid"
    # times are now read in Madrid
    await harness.command(PAT, "appointment")
    [confirm] = await harness.send(PAT, "12/3 14:30")
    assert "2:30 PM CET" in confirm


async def test_zone_typed_as_a_place_is_read_back_as_a_place_and_offset(harness: Harness) -> None:
    await harness.consent(PAT)
    await harness.command(PAT, "settings")
    await harness.tap(PAT, "Another zone")
    [saved] = await harness.send(PAT, "i live in dallas")
    assert "<b>Dallas: Central Time (Chicago), UTC-6</b>" in saved
    stored = await dbcheck.patient(harness, PAT)
    assert stored is not None and stored.timezone == "America/Chicago"
    # the read-back was wrong for them: another place, typed at once
    [saved] = await harness.send(PAT, "PST")
    assert "Pacific Time (Los Angeles), UTC-8" in saved
    # a name that fits two zones: a button for each, labelled with place and offset
    [pick] = await harness.send(PAT, "mountain")
    assert "more than one time zone" in pick
    labels = [label for label, _ in harness.buttons(PAT)]
    assert "Mountain Time (Denver), UTC-7" in labels
    assert "Mountain Time (Phoenix), UTC-7" in labels
    [saved] = await harness.tap(PAT, "Phoenix")
    assert "Phoenix" in saved
    stored = await dbcheck.patient(harness, PAT)
    assert stored is not None and stored.timezone == "America/Phoenix"
    # a typing slip is offered, not saved
    [pick] = await harness.send(PAT, "chicgo")
    assert "Did you mean" in pick
    stored = await dbcheck.patient(harness, PAT)
    assert stored is not None and stored.timezone == "America/Phoenix"


async def test_forged_zone_button_is_refused(harness: Harness) -> None:
    await harness.consent(PAT)
    [reply] = await harness.press(PAT, ZoneCb(zone="Asia/Tokyo").pack())
    assert "no longer active" in reply
    stored = await dbcheck.patient(harness, PAT)
    assert stored is not None
    assert stored.timezone == "America/New_York"


@pytest.mark.parametrize(
    ("update_factory", "expected"),
    [
        (lambda: updates.sticker_update(PAT), "only read text"),
        (lambda: updates.photo_update(PAT), "only read text"),
        (lambda: updates.voice_update(PAT), "only read text"),
        (lambda: updates.edited_message_update(PAT, "hello"), "edited a message"),
        (lambda: updates.command_update(PAT, "launch_rockets"), "don't know that command"),
        (lambda: updates.message_update(PAT, "x" * 4096), "couldn't match"),
        (lambda: updates.message_update(PAT, "<b>hi</b> & <script>"), "couldn't match"),
        (lambda: updates.message_update(PAT, "\u202e\u0000\ud7ff 🤖"), "couldn't match"),
    ],
)
async def test_unexpected_input_gets_a_helpful_answer(
    harness: Harness, update_factory: Any, expected: str
) -> None:
    sent = await harness.feed(update_factory())
    texts = [r.params["text"] for r in sent if r.method.lower() == "sendmessage"]
    assert texts, "never silence"
    assert expected in texts[0]


async def test_unexpected_input_in_every_booking_state(harness: Harness) -> None:
    await harness.consent(PAT)
    await harness.command(PAT, "appointment")
    for factory in (updates.sticker_update, updates.voice_update):
        sent = await harness.feed(factory(PAT))
        assert "only read text" in sent[0].params["text"]
    await harness.send(PAT, "12/3 2:30pm")
    [reply] = await harness.send(PAT, "/nonsense")
    assert "don't know that command" in reply
    [again] = await harness.send(PAT, "12/4 2:30pm")
    assert "December 4" in again


async def test_forget_leaves_no_trace_in_the_database_its_wal_or_the_logs(
    telegram: FakeTelegramServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A whole conversation at DEBUG, a crisis, a reminder, then /forget: the patient's id,
    name and appointment time are nowhere in the database file, its -wal, or the logs.
    (On PostgreSQL, TEST_DATABASE=postgres, the logs; the server's files are its own.)"""
    caplog.set_level(logging.DEBUG)
    quiet_sensitive_loggers()
    pid, name = 7_345_912_867, "Zebulon Quartermaine"

    def named(update: dict[str, Any]) -> dict[str, Any]:
        inner = update.get("message") or update["callback_query"]
        inner["from"]["first_name"] = name
        return update

    async with start_harness(telegram, tmp_path, now=DEFAULT_NOW) as h:
        await h.feed(named(updates.command_update(pid, "start")))
        await h.feed(named(updates.callback_update(pid, h.button(pid, "agree"))))
        await h.feed(named(updates.command_update(pid, "appointment")))
        await h.feed(named(updates.message_update(pid, "12/3 2:30pm")))
        await h.feed(named(updates.callback_update(pid, h.button(pid, "Confirm"))))
        await h.feed(named(updates.message_update(pid, "how long is recovery?")))
        await h.feed(named(updates.message_update(pid, "I want to kill myself")))
        h.clock.set(datetime(2026, 11, 30, 19, 31, tzinfo=UTC))  # three days before
        await h.app.reminders.run_due()
        await h.app.alerts.deliver_due()
        await h.feed(named(updates.callback_update(pid, h.button(pid, "Done"))))
        await h.feed(named(updates.command_update(pid, "forget")))
        sent = await h.feed(named(updates.callback_update(pid, h.button(pid, "Yes, delete"))))
        assert "deleted everything" in sent[-1].params["text"]
        # While the bot still runs: closing the last connection would checkpoint by itself.
        stored = b""
        if h.app.db_engine.url.get_backend_name() == "sqlite":
            stored = (tmp_path / "companion.db").read_bytes()
            wal = tmp_path / "companion.db-wal"
            stored += wal.read_bytes() if wal.exists() else b""
            assert stored
    secrets = [
        str(pid).encode(),
        pid.to_bytes(6, "big"),  # how SQLite stores an integer of this size
        name.encode(),
        b"Zebulon",
        b"2026-12-03 19:30",
    ]
    for secret in secrets:
        assert secret not in stored, secret
    logged = caplog.text
    assert caplog.records, "the conversation was logged at DEBUG"
    for text in (str(pid), name, "Zebulon", "2026-12-03", "19:30", "2:30", "December 3"):
        assert text not in logged, text


async def test_a_failure_mid_update_rolls_back_and_answers_kindly(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await harness.consent(PAT)
    original = AppointmentService.confirm

    async def confirm_then_fail(self: AppointmentService, *args: Any, **kwargs: Any) -> Any:
        await original(self, *args, **kwargs)  # the row is written...
        raise RuntimeError("disk on fire")  # ...then something breaks

    monkeypatch.setattr(AppointmentService, "confirm", confirm_then_fail)
    await harness.command(PAT, "appointment")
    await harness.send(PAT, "12/3 2:30pm")
    [reply] = await harness.tap(PAT, "Confirm")
    assert "nothing was saved" in reply
    assert await dbcheck.count(harness, dbcheck.Appointment) == 0
    monkeypatch.undo()
    [confirm] = await harness.send(PAT, "12/3 2:30pm")  # the reading is still there to retry
    assert "December 3" in confirm


async def test_setmycommands_lists_the_core_commands(harness: Harness) -> None:
    from bot.factory import register_commands

    await register_commands(harness.app.bot, harness.app.context.content)
    calls = harness.server.calls("setMyCommands")
    # The default list has no language_code; every other language of the content has its own.
    [call] = [c for c in calls if "language_code" not in c.params]
    assert {c.params.get("language_code") for c in calls} == {None, "es"}
    names = [c["command"] for c in call.params["commands"]]
    spanish = {c.params.get("language_code"): c for c in calls}["es"]
    assert [c["command"] for c in spanish.params["commands"]] == names
    assert spanish.params["commands"][0]["description"] == "Bienvenida y menú principal"
    assert names == [
        "start",
        "appointment",
        "prepare",
        "faq",
        "settings",
        "pause",
        "resume",
        "help",
        "forget",
    ]


@pytest.mark.sqlite_only("SQLite's secure_delete pragma")
async def test_sqlite_overwrites_deleted_rows_on_every_connection(harness: Harness) -> None:
    # Debian's SQLite is built with secure delete on; other builds are not: the pragma is ours.
    async with harness.app.db_engine.connect() as connection:
        result = await connection.exec_driver_sql("PRAGMA secure_delete")
        assert result.scalar() == 1
