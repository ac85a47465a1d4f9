"""/forget leaves nothing that leads back to the patient.

A patient is touched by every staff action there is: two invites (each with a label), a move
of one visit, a cancel of the other, the roster, a refused move of the visit they booked
themselves, notices of both changes, a reschedule alert from a reminder's button, a crisis
alert; their conversation is left half way, with another conversation of theirs beside it
(a second destiny: the handler's ``state.clear()`` does not reach it), and the team's
conversations still name the visits they changed; the day after their own visit they answer
the check-in "Not great", an alert to the team naming that visit. Then /forget, and every
table (each cell), the SQLite file and its -wal, Redis (when the conversations are there) and
the logs are scanned for the labels, the visits' times and the ids."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiogram.fsm.storage.base import StorageKey
from sqlalchemy import select

from bot.db.models import Appointment, Base, Invite, Patient, Reminder
from bot.logs import quiet_sensitive_loggers
from bot.telegram.callbacks import ReminderCb, VisitAction, VisitCb
from tests.conftest import DEFAULT_NOW
from tests.fake_telegram import updates
from tests.fake_telegram.server import FakeTelegramServer
from tests.integration.harness import STAFF_ID, Harness, last_button, start_harness, texts_to
from tests.integration.test_staff_telegram import NURSE, add_nurse, invite
from tests.redis_support import REDIS_URL, harness_uses_redis, redis_prefix

PAT = 7_345_912_868
LABEL, LABEL2 = "Qx-8812", "Qx-8813"
FIRST = datetime(2026, 11, 24, 15, 35, tzinfo=UTC)  # Tue 10:35 AM EST, invite 1
MOVED = datetime(2026, 11, 27, 20, 50, tzinfo=UTC)  # Fri 3:50 PM EST, where staff move it
SECOND = datetime(2026, 11, 25, 14, 5, tzinfo=UTC)  # Wed 9:05 AM EST, invite 2, cancelled
OWN = datetime(2026, 12, 2, 18, 25, tzinfo=UTC)  # Wed 1:25 PM EST, booked by the patient
OFFERED = datetime(2026, 12, 9, 17, 40, tzinfo=UTC)  # Wed 12:40 PM EST, a change half made
VISITS = (FIRST, MOVED, SECOND, OWN, OFFERED)
# The times as the logs or the texts could show them.
RENDERED = ["10:35", "3:50", "9:05", "1:25", "12:40", "15:35", "20:50", "14:05", "18:25"]


@asynccontextmanager
async def clinic(
    telegram: FakeTelegramServer, tmp_path: Path, store: str
) -> AsyncIterator[Harness]:
    async with AsyncExitStack() as stack:
        options: dict[str, Any] = {}
        if store == "redis":
            prefix = await stack.enter_async_context(redis_prefix())
            options = {"redis_url": REDIS_URL, "redis_prefix": prefix}
        h = await stack.enter_async_context(
            start_harness(telegram, tmp_path, now=DEFAULT_NOW, **options)
        )
        yield h


async def texts_after(h: Harness, update: dict[str, Any]) -> list[str]:
    """What the sender of `update` got while it was handled (the outbox may send to others
    meanwhile)."""
    inner = update.get("message") or update["callback_query"]
    return texts_to(await h.feed(update), inner["from"]["id"])


async def touched_by_everything(h: Harness) -> dict[str, Any]:
    """The story of the module docstring; the patient's ids."""
    await add_nurse(h)
    code = await invite(h, "11/24 10:35am", LABEL)
    await h.command(PAT, "start", code)
    await h.tap(PAT, "agree")
    code2 = await invite(h, "11/25 9:05am", LABEL2)
    [linked] = await h.command(PAT, "start", code2)
    assert "Wednesday, November 25" in linked
    await h.command(PAT, "appointment")
    await h.tap(PAT, "Add an appointment")
    await h.send(PAT, "12/2 1:25pm")
    await h.tap(PAT, "Confirm")
    async with h.app.context.session_factory() as session:
        patient = (
            await session.execute(select(Patient).where(Patient.telegram_id == PAT))
        ).scalar_one()
        theirs = select(Appointment).where(Appointment.patient_id == patient.id)
        visits = {a.starts_at: a.id for a in (await session.execute(theirs)).scalars()}
        invite_ids = list(
            (
                await session.execute(
                    select(Invite.id).where(Invite.used_by_patient_id == patient.id)
                )
            ).scalars()
        )
    assert set(visits) == {FIRST, SECOND, OWN}
    assert len(invite_ids) == 2

    # The nurse moves the first visit (their conversation keeps the move's offer, done).
    [roster] = await h.command(NURSE, "tomorrow")
    assert LABEL in roster
    await h.tap(NURSE, f"Move 10:35 AM {LABEL}")
    await h.send(NURSE, "11/27 3:50pm")
    [moved] = await h.tap(NURSE, "Move it")
    assert "Moved" in moved
    # The admin cancels the second.
    await h.command(STAFF_ID, "roster", "2026-11-25")
    await h.tap(STAFF_ID, f"Cancel 9:05 AM {LABEL2}")
    [cancelled] = await h.tap(STAFF_ID, "Yes, cancel")
    assert "Cancelled" in cancelled
    # The nurse tries to move the one the patient booked: refused, with an audit line.
    [own_roster] = await h.command(NURSE, "roster", "2026-12-02")
    assert f"patient #{patient.id}" in own_roster
    own = VisitCb(action=VisitAction.MOVE, id=visits[OWN]).pack()
    [refused] = await texts_after(h, updates.callback_update(NURSE, own))
    assert "booked this visit themselves" in refused
    # The patient forges a team button: refused, with their Telegram id as the actor.
    forged = VisitCb(action=VisitAction.CANCEL, id=visits[FIRST]).pack()
    await texts_after(h, updates.callback_update(PAT, forged))

    # A reminder of the moved visit, and its "I need to reschedule": an alert to the team.
    async with h.app.context.session_factory() as session:
        first_due = (
            (
                await session.execute(
                    select(Reminder)
                    .where(Reminder.appointment_id == visits[FIRST], Reminder.status == "pending")
                    .order_by(Reminder.due_at)
                )
            )
            .scalars()
            .first()
        )
    assert first_due is not None
    h.clock.set(max(first_due.due_at, h.clock.now()) + timedelta(minutes=1))
    await h.app.reminders.run_due()
    reschedule = ReminderCb(action="reschedule", id=first_due.id).pack()
    await texts_after(h, updates.callback_update(PAT, reschedule))
    await texts_after(h, updates.message_update(PAT, "I want to kill myself"))
    await h.app.alerts.deliver_due()
    notices = h.server.sent_texts(PAT)
    assert any("has moved" in t for t in notices)
    assert any("was cancelled" in t for t in notices)
    assert any("reschedule" in t for t in h.server.sent_texts(STAFF_ID))

    # The patient's own conversations: a change of their visit half made, and another
    # conversation of theirs that no handler of this update touches.
    await h.command(PAT, "appointment")
    await h.tap(PAT, "Dec 2")
    await h.tap(PAT, "Change")
    [offer] = await h.send(PAT, "12/9 12:40pm")
    assert "December 9" in offer
    storage = h.app.dispatcher.storage
    other = StorageKey(bot_id=h.app.bot.id, chat_id=PAT, user_id=PAT, destiny="reminders")
    await storage.set_state(other, "Booking:waiting_for_time")
    await storage.set_data(other, {"replace_id": visits[OWN], "label": LABEL})

    # The day after their own visit: the check-in, answered "Not great": an alert naming it.
    h.clock.set(OWN + timedelta(days=1, hours=1))
    await h.app.reminders.run_due()
    call = last_button(h.server, PAT, "Not great")
    called = await texts_after(h, updates.callback_update(PAT, call))
    assert any("asked the clinic team to call you" in t for t in called), called
    await h.app.alerts.deliver_due()
    assert any("check-in" in t.lower() for t in h.server.sent_texts(STAFF_ID))

    await h.command(PAT, "forget")
    [done] = await h.tap(PAT, "Yes, delete")
    assert "deleted everything" in done
    return {
        "patient_id": patient.id,
        "appointments": sorted(visits.values()),
        "invites": invite_ids,
    }


def _iso_forms(instant: datetime) -> list[str]:
    """An instant as the database or JSON may hold it."""
    naive = instant.astimezone(UTC).replace(tzinfo=None)
    return [
        naive.isoformat(sep=" ", timespec="minutes"),
        naive.isoformat(sep="T", timespec="minutes"),
        str(int(instant.timestamp())),
    ]


def _references(ids: dict[str, Any]) -> list[re.Pattern[str]]:
    """What names the patient's visits, invites or themselves in text: audit targets,
    JSON fields of audit lines, alerts and conversations."""
    found = [rf"\bpatient:{ids['patient_id']}\b", rf'"patient_id":\s*{ids["patient_id"]}\b']
    for appointment in ids["appointments"]:
        found += [
            rf"\bappointment:{appointment}\b",
            rf'"(appointment|appointment_id|replace_id)":\s*{appointment}\b',
        ]
    found += [rf"\binvite:{i}\b" for i in ids["invites"]]
    return [re.compile(p) for p in found]


def _problems(
    where: str, text: str, needles: Iterable[str], patterns: Iterable[re.Pattern[str]]
) -> Iterator[str]:
    for needle in needles:
        if needle.casefold() in text.casefold():
            yield f"{where}: holds {needle!r}"
    for pattern in patterns:
        if pattern.search(text):
            yield f"{where}: names {pattern.pattern!r}"


async def _table_problems(h: Harness, ids: dict[str, Any]) -> list[str]:
    needles = [LABEL, LABEL2, str(PAT)] + [f for v in VISITS for f in _iso_forms(v)]
    patterns = _references(ids)
    problems: list[str] = []
    async with h.app.db_engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            for row in (await connection.execute(select(table))).mappings():
                for column, value in row.items():
                    where = f"{table.name}.{column}"
                    if isinstance(value, datetime):
                        if value.replace(tzinfo=UTC) in VISITS:
                            problems.append(f"{where}: holds a visit's time {value}")
                    elif isinstance(value, int) and value == PAT:
                        problems.append(f"{where}: holds the patient's Telegram id")
                    elif isinstance(value, str):
                        problems.extend(_problems(where, value, needles, patterns))
    return problems


async def _redis_problems(h: Harness, ids: dict[str, Any]) -> list[str]:
    redis = h.app.redis
    assert redis is not None
    prefix = h.settings.redis_prefix
    needles = [LABEL, LABEL2] + [f for v in VISITS for f in _iso_forms(v)]
    problems: list[str] = []
    async for key in redis.scan_iter(match=f"{prefix}:*"):
        name = key.decode()
        if str(PAT) in name:
            problems.append(f"redis key {name} is the patient's")
        if await redis.type(key) == b"string":
            value = (await redis.get(key) or b"").decode(errors="replace")
            problems.extend(_problems(f"redis {name}", value, needles, _references(ids)))
    return problems


STORES = ["database", "redis"] if not harness_uses_redis() else ["redis"]


@pytest.mark.parametrize("store", STORES)
async def test_forget_leaves_nothing_that_leads_back_to_the_patient(
    telegram: FakeTelegramServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    store: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    quiet_sensitive_loggers()
    async with clinic(telegram, tmp_path, store) as h:
        ids = await touched_by_everything(h)
        problems = await _table_problems(h, ids)
        if store == "redis":
            problems += await _redis_problems(h, ids)
        if h.app.db_engine.url.get_backend_name() == "sqlite":
            # While the bot still runs: closing the last connection would checkpoint by itself.
            stored = (tmp_path / "companion.db").read_bytes()
            wal = tmp_path / "companion.db-wal"
            stored += wal.read_bytes() if wal.exists() else b""
            raw = stored.decode("latin-1")
            needles = [LABEL, LABEL2, str(PAT)] + [f for v in VISITS for f in _iso_forms(v)]
            problems += list(_problems("the SQLite file", raw, needles, _references(ids)))
            if PAT.to_bytes(6, "big") in stored:  # how SQLite stores an integer of this size
                problems.append("the SQLite file: holds the patient's Telegram id as an integer")
        # The team still works: the nurse's roster no longer lists the visit.
        [roster] = await h.command(NURSE, "roster", "2026-11-27")
        assert LABEL not in roster
        gone = VisitCb(action=VisitAction.MOVE, id=ids["appointments"][0]).pack()
        [answer] = await texts_after(h, updates.callback_update(NURSE, gone))
        assert "can't be changed any more" in answer
    assert caplog.records, "the story was logged at DEBUG"
    problems += list(_problems("the logs", caplog.text, [LABEL, LABEL2, str(PAT), *RENDERED], []))
    assert problems == []


async def test_forget_deletes_the_patients_other_conversations_too(
    telegram: FakeTelegramServer, tmp_path: Path
) -> None:
    """The handler's state.clear() covers the conversation of the tap only: another one of
    theirs (a destiny, a thread) goes through /forget's own delete."""
    async with clinic(telegram, tmp_path, "redis" if harness_uses_redis() else "database") as h:
        await h.consent(PAT)
        storage = h.app.dispatcher.storage
        for destiny in ("reminders", "default"):
            key = StorageKey(bot_id=h.app.bot.id, chat_id=PAT, user_id=PAT, destiny=destiny)
            await storage.set_state(key, "Booking:waiting_for_time")
            await storage.set_data(key, {"zone": "Europe/Madrid"})
        await h.command(PAT, "forget")
        await h.press(PAT, last_button(h.server, PAT, "Yes, delete"))
        for destiny in ("reminders", "default"):
            key = StorageKey(bot_id=h.app.bot.id, chat_id=PAT, user_id=PAT, destiny=destiny)
            assert await storage.get_state(key) is None, destiny
            assert await storage.get_data(key) == {}, destiny
