"""The same code on PostgreSQL: migrations, a booking, reminders, and claims by several
replicas at once (``FOR UPDATE SKIP LOCKED``: disjoint rows, none waited for, none twice).

Runs when a PostgreSQL server answers on TEST_POSTGRES_URL (default: the local server on
127.0.0.1:5432 as user postgres); skipped otherwise, so a machine without PostgreSQL stays green.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.db.connection import create_engine, create_session_factory
from bot.db.models import Appointment, Patient, Reminder
from bot.db.reminder_store import SqlReminderStore
from bot.db.reminders import ReminderRepository
from tests.conftest import DEFAULT_NOW
from tests.fake_telegram.server import FakeTelegramServer
from tests.integration import dbcheck
from tests.integration.harness import Harness, start_harness
from tests.integration.pg import fresh_postgres_database

pytest.importorskip("asyncpg")

START = datetime(2026, 12, 3, 19, 30, tzinfo=UTC)


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    async with fresh_postgres_database("companion_test", migrated=True) as url:
        yield url


@pytest.fixture
async def pg_harness(
    telegram: FakeTelegramServer, tmp_path: Path, pg_url: str
) -> AsyncIterator[Harness]:
    async with start_harness(telegram, tmp_path, now=DEFAULT_NOW, database_url=pg_url) as h:
        yield h


async def test_booking_and_reminders_on_postgres(pg_harness: Harness) -> None:
    h = pg_harness
    await h.consent(1001)
    await h.command(1001, "appointment")
    [confirm] = await h.send(1001, "12/3 2:30pm")
    assert "Thursday, December 3, 2026 at 2:30 PM EST" in confirm
    await h.tap(1001, "Confirm")
    h.clock.set(START - timedelta(days=3))
    assert await h.app.reminders.run_due() == 1
    await h.tap(1001, "Done")
    h.clock.set(START - timedelta(days=2))
    assert await h.app.reminders.run_due() == 1
    await h.command(1001, "forget")
    [done] = await h.tap(1001, "Yes, delete")
    assert "deleted everything" in done


async def test_two_engines_race_for_rows_on_postgres(pg_harness: Harness) -> None:
    # Three engines, the second and third as other replicas would be: each on an engine (a
    # pool, connections) of its own over the same database.
    from scheduler.engine import ReminderEngine

    h = pg_harness
    for user in range(3001, 3013):
        await h.consent(user)
        await h.command(user, "appointment")
        await h.send(user, "12/3 2:30pm")
        await h.tap(user, "Confirm")
    first = h.app.reminders
    first.batch_size = 2
    others = [create_engine(h.settings.database_url) for _ in range(2)]
    try:
        replicas = [
            ReminderEngine(
                store=SqlReminderStore(create_session_factory(engine)),
                plan=first.plan,
                render=first.render,
                sender=first.sender,
                clock=first.clock,
                batch_size=2,
            )
            for engine in others
        ]
        h.clock.set(START - timedelta(days=3))
        await asyncio.gather(first.run_due(), *(r.run_due() for r in replicas), first.run_due())
    finally:
        for engine in others:
            await engine.dispose()
    for user in range(3001, 3013):
        assert sum("playlist" in t for t in h.server.sent_texts(user)) == 1
    assert await dbcheck.count(h, Reminder, status="sent") == 12


async def _due_rows(url: str, patients: int) -> list[int]:
    """`patients` patients with one visit each and its five reminders, all due at START: the
    reminders' ids."""
    engine = create_engine(url)
    try:
        async with create_session_factory(engine)() as session, session.begin():
            for n in range(patients):
                # Telegram ids beyond 32 bits, as real ones are.
                patient = Patient(
                    telegram_id=7_000_000_000 + n,
                    chat_id=7_000_000_000 + n,
                    language="en",
                    timezone="America/New_York",
                    consented_at=DEFAULT_NOW,
                    created_at=DEFAULT_NOW,
                )
                visit = Appointment(
                    patient=patient,
                    starts_at=START + timedelta(days=1),
                    timezone="America/New_York",
                    created_at=DEFAULT_NOW,
                    updated_at=DEFAULT_NOW,
                )
                session.add(visit)
                await session.flush()
                session.add_all(
                    Reminder(
                        appointment_id=visit.id,
                        step_key=f"step{k}",
                        due_at=START - timedelta(minutes=k),
                        expires_at=START + timedelta(hours=1),
                        updated_at=DEFAULT_NOW,
                    )
                    for k in range(5)
                )
        async with engine.connect() as connection:
            return list((await connection.execute(select(Reminder.id))).scalars())
    finally:
        await engine.dispose()


async def test_replicas_claiming_at_once_take_every_row_exactly_once_on_postgres(
    pg_url: str,
) -> None:
    ids = await _due_rows(pg_url, 60)
    engines = [create_engine(pg_url) for _ in range(4)]
    claimed: dict[str, list[int]] = {}

    async def replica(number: int) -> None:
        store = SqlReminderStore(create_session_factory(engines[number]))
        owner = f"replica-{number}"
        mine = claimed.setdefault(owner, [])
        while True:
            claim = await store.claim(START, owner, START + timedelta(seconds=60), 7)
            if not claim.reminders:
                return
            mine.extend(c.row.id for c in claim.reminders)
            await asyncio.sleep(0)  # let the others in between two claims

    try:
        await asyncio.gather(*(replica(n) for n in range(4)))
        async with engines[0].connect() as connection:
            owners = dict(
                (await connection.execute(select(Reminder.id, Reminder.lease_owner))).all()
            )
    finally:
        for engine in engines:
            await engine.dispose()
    every = [i for rows in claimed.values() for i in rows]
    assert len(every) == len(set(every)) == len(ids) == 300
    assert set(every) == set(ids)
    assert all(owners[i] == owner for owner, rows in claimed.items() for i in rows)


async def test_a_claim_in_flight_is_skipped_not_waited_for_and_retaken_after_its_lease(
    pg_url: str,
) -> None:
    ids = await _due_rows(pg_url, 2)  # ten rows
    lease = timedelta(seconds=60)
    engines = [create_engine(pg_url) for _ in range(2)]
    stuck, other = (create_session_factory(e) for e in engines)
    try:
        async with stuck() as session, session.begin():
            # A replica has selected and updated four rows, and not committed yet.
            held = await ReminderRepository(session).claim(START, "stuck", START + lease, 4)
            assert len(held) == 4
            # Another replica does not wait for those rows' locks: it takes the others.
            store = SqlReminderStore(other)
            claim = await asyncio.wait_for(store.claim(START, "b", START + 10 * lease, 10), 5)
            taken = [c.row.id for c in claim.reminders]
            assert sorted(taken + held) == sorted(ids)
        # The stuck replica committed its claim and died before sending: its rows come back
        # to a live one once the lease ran out, not before.
        assert (await store.claim(START + lease, "b", START + 2 * lease, 10)).reminders == ()
        later = START + lease + timedelta(seconds=1)
        retaken = await store.claim(later, "b", later + lease, 10)
        assert sorted(c.row.id for c in retaken.reminders) == sorted(held)
        assert {c.row.attempts for c in retaken.reminders} == {2}
    finally:
        for engine in engines:
            await engine.dispose()


async def test_a_double_tap_on_invite_confirm_makes_one_invite_on_postgres(
    pg_harness: Harness,
) -> None:
    # On PostgreSQL two updates really run at once: both read the offer as not yet made, and
    # the unique (created_by, request_key) decides; the loser is run again and says "made".
    from bot.db.models import Invite
    from tests.fake_telegram import updates
    from tests.integration import dbcheck
    from tests.integration.test_staff_telegram import NURSE, add_nurse

    h = pg_harness
    await add_nurse(h)
    await h.command(NURSE, "invite")
    await h.send(NURSE, "tomorrow 10am")
    await h.send(NURSE, "#4471")
    await h.tap(NURSE, "Infusion")
    confirm = h.button(NURSE, "Make the")
    sent = await h.feed_many([updates.callback_update(NURSE, confirm) for _ in range(3)])
    assert len([r for r in sent if r.method.lower() == "sendphoto"]) == 1
    texts = [r.params["text"] for r in sent if r.method.lower() == "sendmessage"]
    assert sum(1 for t in texts if "already made" in t) == 2
    assert await dbcheck.count(h, Invite) == 1


async def test_a_double_tap_on_move_confirm_makes_one_change_on_postgres(
    pg_harness: Harness,
) -> None:
    # Both taps read the offer as open; the conditional UPDATE of the visit decides: the
    # second waits for the first to commit, matches nothing, and finds the visit moved.
    from bot.db.models import StaffAlert
    from bot.services.patient_notices import VISIT_MOVED
    from tests.fake_telegram import updates
    from tests.integration import dbcheck
    from tests.integration.test_staff_telegram import NURSE
    from tests.integration.test_visit_changes import linked_patient, open_move

    h = pg_harness
    await linked_patient(h)
    confirm = await open_move(h)
    sent = await h.feed_many([updates.callback_update(NURSE, confirm) for _ in range(3)])
    texts = [r.params["text"] for r in sent if r.method.lower() == "sendmessage"]
    assert sum("Moved:" in t for t in texts) == 1
    assert sum("already at" in t for t in texts) == 2
    assert await dbcheck.count(h, StaffAlert, kind=VISIT_MOVED) == 1


async def test_a_double_tap_on_saving_a_text_or_the_plan_saves_once_on_postgres(
    pg_harness: Harness,
) -> None:
    # Two taps of Save run at once on PostgreSQL: both read the same live version, the unique
    # (kind, key, number) lets one in, and the other is run again and answers "already live".
    from bot.db.models import ContentVersion, Reminder
    from bot.telegram.callbacks import PlanAction, PlanCb
    from tests.fake_telegram import updates
    from tests.integration import dbcheck
    from tests.integration.harness import STAFF_ID
    from tests.integration.test_staff_content import NEW_TEMPLATE, edit

    h = pg_harness
    await edit(h, STAFF_ID, NEW_TEMPLATE)
    save = h.button(STAFF_ID, "Save")
    sent = await h.feed_many([updates.callback_update(STAFF_ID, save) for _ in range(3)])
    texts = [r.params["text"] for r in sent if r.method.lower() == "sendmessage"]
    assert sum(1 for t in texts if "already live" in t) == 2, texts
    assert await dbcheck.count(h, ContentVersion) == 1

    await h.consent(1001)
    await h.command(1001, "appointment")
    await h.send(1001, "12/3 2:30pm")
    await h.tap(1001, "Confirm")
    await h.command(STAFF_ID, "plan")
    await h.press(STAFF_ID, PlanCb(a=PlanAction.STEP, k="evening_before").pack())
    await h.press(STAFF_ID, PlanCb(a=PlanAction.EDIT, k="evening_before", o="at").pack())
    await h.send(STAFF_ID, "-1d@18:00")
    save = h.button(STAFF_ID, "Save")
    await h.feed_many([updates.callback_update(STAFF_ID, save) for _ in range(3)])
    assert await dbcheck.count(h, ContentVersion) == 2  # the text, and one plan
    assert await dbcheck.count(h, Reminder) == 5  # re-planned once: no row twice
