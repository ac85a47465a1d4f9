"""The bot under real Telegram conditions: 300 ms per Bot API call, many people at once,
floods, double taps and stale buttons. Every update gets a correct answer, once."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from bot.db.models import Base
from bot.telegram.callbacks import ConsentCb, ReminderCb
from bot.telegram.gate import PROBE_SECONDS
from tests.conftest import DEFAULT_NOW
from tests.fake_telegram import updates
from tests.fake_telegram.server import FakeTelegramServer, RecordedRequest
from tests.integration import dbcheck
from tests.integration.harness import STAFF_ID, Harness, start_harness

LATENCY = 0.3
VISIT = datetime(2026, 12, 3, 19, 30, tzinfo=UTC)  # "12/3 2:30pm" in New York
WRONG = "something went wrong"


@pytest.fixture
async def slow(telegram: FakeTelegramServer, tmp_path: Path) -> AsyncIterator[Harness]:
    """The bot against a Bot API that takes 300 ms per call, reminders sent unthrottled."""
    async with start_harness(telegram, tmp_path, now=DEFAULT_NOW, send_rate=0) as h:
        telegram.set_latency(LATENCY)
        yield h


def _texts_by_chat(sent: list[RecordedRequest]) -> dict[int, list[str]]:
    by_chat: dict[int, list[str]] = {}
    for r in sent:
        if r.method.lower() == "sendmessage":
            by_chat.setdefault(r.params["chat_id"], []).append(r.params["text"])
    return by_chat


def _callback_answers(sent: list[RecordedRequest]) -> set[str]:
    return {
        r.params["callback_query_id"] for r in sent if r.method.lower() == "answercallbackquery"
    }


async def _wave(
    h: Harness, batch: list[dict[str, Any]], expect: str, timings: list[float]
) -> dict[int, list[str]]:
    """Everyone acts at once; each of them gets exactly the expected answer."""
    started = time.monotonic()
    sent = await h.feed_many(batch, timeout=60)
    timings.append(time.monotonic() - started)
    by_chat = _texts_by_chat(sent)
    taps = {u["callback_query"]["id"] for u in batch if "callback_query" in u}
    assert taps <= _callback_answers(sent), "every tap is acknowledged"
    users = [(u.get("message") or u["callback_query"])["from"]["id"] for u in batch]
    for user in users:
        answers = by_chat.get(user, [])
        assert len(answers) == 1, (user, answers)
        assert expect.lower() in answers[0].lower(), (user, answers[0][:80])
    return by_chat


@pytest.mark.slow
async def test_two_hundred_patients_book_and_tap_at_once_with_300ms_per_call(
    slow: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h = slow
    patients = [50_000 + i for i in range(200)]
    timings: list[float] = []
    caplog.set_level(logging.INFO)
    await _wave(h, [updates.command_update(p, "start") for p in patients], "Welcome", timings)
    await _wave(
        h,
        [updates.callback_update(p, ConsentCb(agree=True).pack()) for p in patients],
        "all set",
        timings,
    )
    await _wave(
        h, [updates.command_update(p, "appointment") for p in patients], "next infusion", timings
    )
    await _wave(
        h,
        [updates.message_update(p, "12/3 2:30pm") for p in patients],
        "December 3, 2026 at 2:30 PM",
        timings,
    )
    # Each patient's own confirmation button (it carries the offer's token).
    confirms = [updates.callback_update(p, h.button(p, "Confirm")) for p in patients]
    await _wave(h, confirms, "saved", timings)
    assert await dbcheck.count(h, dbcheck.Appointment) == 200

    # The reminder three days before goes out to all of them; then all tap Done at once.
    h.clock.set(VISIT - timedelta(days=3))
    await h.app.reminders.run_due()
    done = [updates.callback_update(p, h.button(p, "Done")) for p in patients]
    await _wave(h, done, "✅", timings)

    problems = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not problems, [r.getMessage()[:200] for r in problems]
    assert "database is locked" not in caplog.text
    # Six waves of 200 people, each call 300 ms: a wave takes about two calls' time, not
    # 200 x 300 ms. Well under a second per patient-step in total.
    assert max(timings) < 8.0, timings
    assert sum(timings) / (6 * 200) < 0.05, timings


async def test_a_crisis_is_answered_within_two_seconds_during_a_flood(
    slow: Harness, telegram: FakeTelegramServer
) -> None:
    h = slow
    flooder, patient = 61_001, 61_002
    h.push_many([updates.message_update(flooder, "I want to end my life") for _ in range(60)])
    await telegram.wait_for("sendMessage", lambda r: r.params.get("chat_id") == flooder)
    pushed = time.monotonic()  # the flood is being handled
    h.push_many([updates.message_update(patient, "I want to end my life")])
    [answer] = await telegram.wait_for(
        "sendMessage", lambda r: r.params.get("chat_id") == patient, timeout=10
    )
    assert "988" in answer.params["text"]
    assert answer.at - pushed < 2.0
    await h.settle(30)
    assert len(telegram.sent_messages(flooder)) == 60  # every message answered
    # One alert per person in crisis, not sixty.
    await h.app.alerts.deliver_due()
    to_staff = telegram.sent_messages(STAFF_ID)
    assert 1 <= len(to_staff) <= 2


async def test_double_taps_take_effect_once_and_are_answered_as_done(
    slow: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h = slow
    pat = 62_001
    caplog.set_level(logging.INFO)
    # "I agree", twice at once.
    await h.command(pat, "start")

    async def double_tap(data: str) -> list[str]:
        """Two presses of one button at once: each acknowledged, each answered with one
        message (the texts, in the order sent)."""
        taps = [updates.callback_update(pat, data) for _ in range(2)]
        sent = await h.feed_many(taps)
        assert _callback_answers(sent) == {t["callback_query"]["id"] for t in taps}
        texts = _texts_by_chat(sent).get(pat, [])
        assert len(texts) == 2, texts
        return texts

    assert all("all set" in t for t in await double_tap(h.button(pat, "agree")))
    assert await dbcheck.count(h, dbcheck.Patient) == 1
    # "Add an appointment", twice at once: asked twice, no error.
    assert all("next infusion" in t for t in await double_tap("m:new"))
    # Confirm, twice at once: one appointment; both taps told it is saved.
    await h.send(pat, "12/3 2:30pm")
    confirm = h.button(pat, "Confirm")
    for _ in range(3):
        assert all("saved" in t.lower() for t in await double_tap(confirm))
    assert await dbcheck.count(h, dbcheck.Appointment) == 1
    # Done under a reminder, twice at once: ticked once, both answered with the checklist.
    h.clock.set(VISIT - timedelta(days=3))
    await h.app.reminders.run_due()
    assert all("✅" in t for t in await double_tap(h.button(pat, "Done")))
    problems = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not problems, [r.getMessage()[:200] for r in problems]
    assert WRONG not in " ".join(telegram_texts(h, pat))


def telegram_texts(h: Harness, chat_id: int) -> list[str]:
    return h.server.sent_texts(chat_id)


async def test_reschedule_tapped_ten_times_sends_one_alert_and_none_after_the_visit(
    harness: Harness,
) -> None:
    h = harness
    pat = 63_001
    await h.consent(pat)
    await h.command(pat, "appointment")
    await h.send(pat, "12/3 2:30pm")
    await h.tap(pat, "Confirm")
    for before in (timedelta(days=3), timedelta(days=2)):  # the ride reminder asks
        h.clock.set(VISIT - before)
        await h.app.reminders.run_due()
    reschedule = h.button(pat, "reschedule")
    sent = await h.feed_many([updates.callback_update(pat, reschedule) for _ in range(10)])
    answers = _texts_by_chat(sent)[pat]
    assert len(answers) == 10
    assert sum("already asked for a new time" in a for a in answers) == 9
    await h.app.alerts.deliver_due()
    assert len(h.server.sent_messages(STAFF_ID)) == 1
    # After the visit: refused kindly, no alert.
    data = ReminderCb.unpack(reschedule)
    await h.press(pat, ReminderCb(action="coming", id=data.id).pack())
    h.clock.set(VISIT + timedelta(minutes=1))
    [late] = await h.press(pat, reschedule)
    assert "can't find that appointment" in late
    await h.app.alerts.deliver_due()
    assert len(h.server.sent_messages(STAFF_ID)) == 1


async def test_stale_buttons_answer_that_they_have_expired(harness: Harness) -> None:
    h = harness
    pat = 64_001
    await h.consent(pat)
    # "Yes, delete everything" from an offer the patient already declined.
    await h.command(pat, "forget")
    yes = h.button(pat, "Yes, delete")
    await h.tap(pat, "No, keep")
    [stale] = await h.press(pat, yes)
    assert "no longer active" in stale
    assert await dbcheck.count(h, dbcheck.Patient) == 1
    # An ambiguous-time button after a new time was typed.
    await h.command(pat, "appointment")
    await h.send(pat, "2027-11-07 1:30am")
    earlier = h.buttons(pat)[0][1]
    await h.send(pat, "12/4 3pm")
    confirm = h.button(pat, "Confirm")
    [expired] = await h.press(pat, earlier)
    assert "expired" in expired
    assert await dbcheck.count(h, dbcheck.Appointment) == 0
    [saved] = await h.press(pat, confirm)
    assert "December 4" in saved
    # A second "yes" after everything was deleted is answered as done.
    await h.command(pat, "forget")
    yes = h.button(pat, "Yes, delete")
    [done] = await h.press(pat, yes)
    assert "deleted everything" in done
    [again] = await h.press(pat, yes)
    assert "deleted everything" in again


async def test_far_years_are_refused_kindly(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await harness.consent(1001)
    await harness.command(1001, "appointment")
    for text in ("9999-12-31 23:59", "12/31/9999 11pm", "2099-01-01 10:00"):
        [reply] = await harness.send(1001, text)
        assert "more than a year" in reply
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_unknown_update_types_are_skipped_quietly(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    sent = await harness.feed({"some_future_update": {"id": 1}})
    assert sent == []
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_groups_get_crisis_resources_a_note_and_the_bot_leaves(
    harness: Harness, telegram: FakeTelegramServer
) -> None:
    group = -100_200
    sent = await harness.feed(updates.message_update(1001, "I want to kill myself", chat_id=group))
    texts = [r.params["text"] for r in sent if r.method.lower() == "sendmessage"]
    assert "988" in texts[0]
    assert "private chats" in texts[1]
    assert [r.params["chat_id"] for r in sent if r.method.lower() == "leavechat"] == [group]
    sent = await harness.feed(updates.message_update(1002, "/start", chat_id=group))
    in_group = [r for r in sent if r.params.get("chat_id") == group]
    assert "private chats" in in_group[0].params["text"]
    assert in_group[-1].method.lower() == "leavechat"
    tap = updates.callback_update(1003, "m:faq", chat_id=group)
    sent = await harness.feed(tap)
    [answer] = [r for r in sent if r.method.lower() == "answercallbackquery"]
    assert "private chats" in answer.params["text"]
    assert not [
        r
        for r in sent
        if r.method.lower() == "sendmessage" and r.params["chat_id"] in (group, 1003)
    ]
    assert await dbcheck.count(harness, dbcheck.Patient) == 0


async def test_a_failed_commit_sends_the_kind_error_and_nothing_else(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.ext.asyncio import AsyncSession

    await harness.consent(1001)
    await harness.command(1001, "appointment")
    await harness.send(1001, "12/3 2:30pm")
    confirm = harness.button(1001, "Confirm")

    detail = " ".join(["database", "or", "disk", "is", "full"])  # not in any source line

    async def disk_full(self: AsyncSession) -> None:
        raise OperationalError("COMMIT", {}, Exception(detail))

    monkeypatch.setattr(AsyncSession, "commit", disk_full)
    sent = await harness.feed(updates.callback_update(1001, confirm))
    monkeypatch.undo()
    texts = [r.params["text"] for r in sent if r.method.lower() == "sendmessage"]
    assert len(texts) == 1
    assert WRONG in texts[0].lower()  # the kind error, not "saved"
    assert [r for r in sent if r.method.lower() == "answercallbackquery"]
    assert await dbcheck.count(harness, dbcheck.Appointment) == 0
    assert detail not in caplog.text  # the exception's message is never logged
    [saved] = await harness.press(1001, confirm)  # the offer still stands
    assert "saved" in saved.lower()


@asynccontextmanager
async def another_process_locks_the_database(harness: Harness) -> AsyncIterator[None]:
    """SQLite: an exclusive transaction on the file. PostgreSQL: every table locked."""
    url = make_url(harness.settings.database_url)
    if url.get_backend_name() == "sqlite":
        import sqlite3

        other = sqlite3.connect(str(url.database), isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            other.execute("ROLLBACK")
            other.close()
        return
    import asyncpg  # type: ignore[import-untyped]

    connection = await asyncpg.connect(url.set(drivername="postgresql").render_as_string(False))
    transaction = connection.transaction()
    await transaction.start()
    tables = ", ".join(Base.metadata.tables)
    await connection.execute(f"LOCK TABLE {tables} IN ACCESS EXCLUSIVE MODE")
    try:
        yield
    finally:
        await transaction.rollback()
        await connection.close()


async def test_a_crisis_is_answered_while_another_process_locks_the_database(
    harness: Harness,
) -> None:
    async with another_process_locks_the_database(harness):
        started = time.monotonic()
        harness.push_many([updates.message_update(1001, "I want to kill myself")])
        [answer] = await harness.server.wait_for(
            "sendMessage", lambda r: r.params.get("chat_id") == 1001, timeout=10
        )
        assert "988" in answer.params["text"]
        # Without waiting for the lock: the gate's probe of the editing state gives up after
        # PROBE_SECONDS, and the database would have kept it for its busy timeout (30 s). The
        # slack is for a loaded machine (1.6 s seen with a worker per core beside other jobs).
        assert answer.at - started < PROBE_SECONDS + 2.0
    await harness.settle(30)
    # The alert waited for the lock and was queued once it was free.
    await harness.app.alerts.deliver_due()
    assert harness.server.sent_messages(STAFF_ID)
