"""The staff alert outbox end to end: a migrated SQLite database, the real aiogram Bot and
Sender, the fake Bot API server. Time is a FrozenClock moved by hand, so backoff is tested
without waiting for it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from aiogram import Bot
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.content.store import Content
from bot.db.connection import create_engine, create_session_factory
from bot.db.migrate import upgrade
from bot.db.models import StaffAlert
from bot.db.patients import Repository
from bot.delivery.outbox import AlertDelivery, check_staff_ids
from bot.delivery.sender import Sender
from bot.factory import create_bot
from bot.services.staff_alerts import StaffAlerts
from foundation.clock import FrozenClock
from scheduler.queue import QueueStatus
from scheduler.records import ReminderBatch
from tests.conftest import DEFAULT_NOW
from tests.fake_telegram import updates
from tests.fake_telegram.server import FakeTelegramServer
from tests.integration.harness import STAFF_ID, Harness, make_settings
from tests.integration.pg import app_database, fresh_postgres_database

STAFF = (9001, 9002)
PAT = 1001
NAMES = {PAT: ("Zelda", "Quest"), PAT + 1: ("Yusuf", None)}


def get_chat_handler(server: FakeTelegramServer) -> Callable[[dict[str, Any]], Any]:
    def handle(params: dict[str, Any]) -> Any:
        chat_id = int(params["chat_id"])
        if chat_id in NAMES:
            first, last = NAMES[chat_id]
            return updates.full_chat(chat_id, first, last)
        if chat_id in STAFF or chat_id == STAFF_ID:
            return updates.full_chat(chat_id, "Staff")
        raise server.error(400, "Bad Request: chat not found")

    return handle


@dataclass
class Rig:
    server: FakeTelegramServer
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    bot: Bot
    content: Content
    clock: FrozenClock
    delivery: AlertDelivery = field(init=False)
    alerts: StaffAlerts = field(init=False)

    def __post_init__(self) -> None:
        self.delivery = self.make_delivery()
        settings = self.settings
        self.alerts = StaffAlerts(settings.staff_ids, self.clock, self.delivery.kick)

    def make_delivery(
        self, sessions: async_sessionmaker[AsyncSession] | None = None, **options: Any
    ) -> AlertDelivery:
        # attempts=1: a 5xx comes back at once as RETRY, the outbox's backoff takes over.
        sender = Sender(self.bot, rate=None, per_chat_interval=0, attempts=1)
        return AlertDelivery(
            sessions or self.sessions,
            sender,
            self.bot,
            self.content,
            self.settings.clinic_zone,
            self.clock,
            **options,
        )

    async def crisis(self, telegram_id: int = PAT, patient_id: int | None = None) -> None:
        async with self.sessions() as session:
            repo = Repository(session)
            assert await self.alerts.crisis(repo, telegram_id=telegram_id, patient_id=patient_id)
            await session.commit()
        for hook in repo.after_commit:
            hook()

    async def rows(self) -> list[StaffAlert]:
        async with self.sessions() as session:
            result = await session.execute(select(StaffAlert).order_by(StaffAlert.id))
            return list(result.scalars())

    def staff_texts(self) -> list[str]:
        return [t for s in STAFF for t in self.server.sent_texts(s)]


@asynccontextmanager
async def open_rig(
    telegram: FakeTelegramServer, tmp_path: Path, **overrides: Any
) -> AsyncIterator[Rig]:
    if "database_url" not in overrides:
        async with (
            app_database(tmp_path) as url,
            open_rig(telegram, tmp_path, database_url=url, **overrides) as rig,
        ):
            yield rig
        return
    settings = make_settings(telegram, tmp_path, staff_ids=frozenset(STAFF), **overrides)
    engine = create_engine(settings.database_url)
    await upgrade(engine)
    sessions = create_session_factory(engine)
    bot = create_bot(settings, session=telegram.session())
    content = Content(settings.messages_dir, settings.default_language)
    clock = FrozenClock(DEFAULT_NOW)
    telegram.set_handler("getChat", get_chat_handler(telegram))
    rig = Rig(telegram, settings, engine, sessions, bot, content, clock)
    try:
        yield rig
    finally:
        await rig.delivery.stop(grace=5.0)
        await bot.session.close()
        await engine.dispose()


@pytest.fixture
async def rig(telegram: FakeTelegramServer, tmp_path: Path) -> AsyncIterator[Rig]:
    async with open_rig(telegram, tmp_path) as rig:
        yield rig


@pytest.fixture
async def pg_rig(telegram: FakeTelegramServer, tmp_path: Path) -> AsyncIterator[Rig]:
    """The same on PostgreSQL (TEST_POSTGRES_URL, as in test_postgres.py); skipped without."""
    async with (
        fresh_postgres_database("companion_alerts") as url,
        open_rig(telegram, tmp_path, database_url=url) as rig,
    ):
        yield rig


async def test_queued_in_the_callers_transaction_and_sent_once_committed(rig: Rig) -> None:
    await rig.delivery.start()
    async with rig.sessions() as session:
        repo = Repository(session)
        assert await rig.alerts.crisis(repo, telegram_id=PAT, patient_id=None)
        # Not committed: another connection sees nothing, so nothing can be sent.
        assert await rig.delivery.deliver_due() == 0
        rig.delivery.kick()
        await asyncio.sleep(0.2)
        assert rig.server.sent_messages() == []
        await session.commit()
    for hook in repo.after_commit:  # what the owner of the transaction does after commit
        hook()
    sent = await rig.server.wait_for("sendMessage", count=2)
    assert sorted(r.params["chat_id"] for r in sent) == list(STAFF)
    # A pass of our own waits for the one sending (one pass at a time) to record its
    # outcome, then finds nothing left to send.
    assert await rig.delivery.deliver_due() == 0
    rows = await rig.rows()
    expected = [(QueueStatus.SENT, DEFAULT_NOW, 1)] * 2
    assert [(r.status, r.sent_at, r.attempts) for r in rows] == expected


async def test_rolled_back_with_the_caller(rig: Rig) -> None:
    async with rig.sessions() as session:
        repo = Repository(session)
        await rig.alerts.crisis(repo, telegram_id=PAT, patient_id=None)
        await session.rollback()
    rig.delivery.kick()
    assert await rig.delivery.deliver_due() == 0
    assert await rig.rows() == []
    assert rig.server.sent_messages() == []


async def test_the_alert_names_the_patient_from_telegram_and_links_the_chat(rig: Rig) -> None:
    await rig.crisis(PAT, patient_id=None)
    assert await rig.delivery.deliver_due() == 2
    for staff in STAFF:
        (text,) = rig.server.sent_texts(staff)
        assert "Zelda Quest" in text
        assert f'href="tg://user?id={PAT}"' in text
        assert "not registered" in text
        assert "Monday, November 23, 2026 at 10:00 AM EST" in text  # created_at, clinic zone
        assert "Crisis" in text
    # The name is fetched once per patient per pass, never stored.
    assert len(rig.server.calls("getChat")) == 1
    assert all("Zelda" not in r.context for r in await rig.rows())


async def test_without_the_name_the_alert_still_goes_out(rig: Rig) -> None:
    rig.server.fail_next("getChat", "server_error")
    await rig.crisis(PAT, patient_id=None)
    assert await rig.delivery.deliver_due() == 2
    text = rig.server.sent_texts(STAFF[0])[0]
    assert f'<a href="tg://user?id={PAT}">a patient</a>' in text
    assert "Zelda" not in text


async def test_a_crisis_flood_is_one_message_per_staff_member_with_the_count(rig: Rig) -> None:
    for _ in range(60):
        await rig.crisis(PAT)
        rig.clock.advance(timedelta(seconds=2))
    assert await rig.delivery.deliver_due() == 2
    texts = rig.staff_texts()
    assert len(texts) == 2
    assert all("60 messages" in t for t in texts)
    # More within 10 minutes of the alert: counted into it, not sent again.
    for _ in range(5):
        await rig.crisis(PAT)
    assert await rig.delivery.deliver_due() == 0
    assert len(rig.staff_texts()) == 2
    assert [r.occurrences for r in await rig.rows()] == [65, 65]


async def test_reschedule_request_shows_the_visit_in_clinic_time(rig: Rig) -> None:
    async with rig.sessions() as session:
        repo = Repository(session)
        patient = await repo.add_patient(
            telegram_id=PAT, chat_id=PAT, language="en", timezone="America/Chicago", now=DEFAULT_NOW
        )
        await rig.alerts.reschedule_request(
            repo,
            patient_id=patient.id,
            telegram_id=PAT,
            appointment_id=3,
            starts_at=datetime(2026, 12, 3, 19, 30, tzinfo=UTC),
        )
        await session.commit()
    assert await rig.delivery.deliver_due() == 2
    text = rig.server.sent_texts(STAFF[0])[0]
    assert "Reschedule request" in text
    assert "Thursday, December 3, 2026 at 2:30 PM EST" in text
    assert f"#{patient.id}" in text
    assert "Zelda Quest" in text


async def test_server_errors_are_retried_with_backoff_then_sent(rig: Rig) -> None:
    alerts = StaffAlerts([STAFF[0]], rig.clock)
    async with rig.sessions() as session:
        repo = Repository(session)
        await alerts.template_failure(repo, ["ride"], "bad_request:TelegramBadRequest")
        await session.commit()
    rig.server.fail_next("sendMessage", "server_error", times=2)

    assert await rig.delivery.deliver_due() == 0
    (row,) = await rig.rows()
    assert (row.status, row.attempts) == (QueueStatus.PENDING, 1)
    assert row.next_attempt_at == DEFAULT_NOW + timedelta(seconds=5)
    assert row.last_error is not None and row.last_error.startswith("retry:TelegramServerError")
    assert row.lease_owner is None

    assert await rig.delivery.deliver_due() == 0  # not due yet: not even tried
    assert len(rig.server.sent_messages()) == 1

    rig.clock.advance(timedelta(seconds=5))
    assert await rig.delivery.deliver_due() == 0  # second failure: 10 s now
    (row,) = await rig.rows()
    assert row.next_attempt_at == rig.clock.now() + timedelta(seconds=10)

    rig.clock.advance(timedelta(seconds=9))
    assert await rig.delivery.deliver_due() == 0
    assert len(rig.server.sent_messages()) == 2

    rig.clock.advance(timedelta(seconds=1))
    assert await rig.delivery.deliver_due() == 1
    (row,) = await rig.rows()
    assert (row.status, row.attempts, row.sent_at) == (QueueStatus.SENT, 3, rig.clock.now())
    assert row.last_error is None
    assert "ride" in rig.server.sent_texts(STAFF[0])[0]
    assert rig.delivery.stats.retried == 2


async def test_blocked_staff_fails_after_max_attempts_with_one_error_line(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    # Everything the bot logs, and what libraries log at the production level (INFO).
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="bot")
    rig.server.block_chat(STAFF[1])
    await rig.crisis(PAT)
    for attempt in range(1, 9):
        await rig.delivery.deliver_due()
        blocked = next(r for r in await rig.rows() if r.staff_chat_id == STAFF[1])
        assert blocked.attempts == attempt
        rig.clock.advance(timedelta(minutes=11))  # more than backoff_max
    assert blocked.status == QueueStatus.FAILED
    assert blocked.last_error is not None and blocked.last_error.startswith("blocked:")
    assert await rig.delivery.deliver_due() == 0  # failed rows are not tried again
    assert len(rig.server.sent_messages(STAFF[1])) == 8
    assert len(rig.server.sent_texts(STAFF[0])) == 1  # the other staff member got it at once

    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    line = errors[0].getMessage()
    assert errors[0].name == "bot.delivery.outbox"
    assert "crisis" in line
    assert str(STAFF[1]) in line
    assert "TelegramForbiddenError" in line
    for record in caplog.records:  # no patient's name, id or words in any log line
        message = record.getMessage()
        assert "Zelda" not in message
        assert "Quest" not in message
        assert str(PAT) not in message


async def test_chat_not_found_is_retried_like_a_block(rig: Rig) -> None:
    rig.server.fail_next("sendMessage", "chat_not_found", times=2)
    await rig.crisis(PAT)
    assert await rig.delivery.deliver_due() == 0
    assert {r.status for r in await rig.rows()} == {QueueStatus.PENDING}
    rig.clock.advance(timedelta(seconds=5))
    assert await rig.delivery.deliver_due() == 2
    assert {r.status for r in await rig.rows()} == {QueueStatus.SENT}


async def test_any_other_bad_request_fails_at_once(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    rig.server.fail_next("sendMessage", "bad_request")
    await rig.crisis(PAT)
    assert await rig.delivery.deliver_due() == 1
    statuses = sorted(r.status for r in await rig.rows())
    assert statuses == [QueueStatus.FAILED, QueueStatus.SENT]
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "bad_request" in errors[0]


async def test_check_staff_ids_names_each_unreachable_entry(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.delivery.outbox")
    assert await check_staff_ids(rig.bot, [STAFF[0], 123, 456]) == [123, 456]
    lines = [r.getMessage() for r in caplog.records]
    assert (
        "STAFF_IDS entry 123 cannot be reached: chat not found; that person must open the bot "
        "and press Start"
    ) in lines
    assert len(lines) == 2
    assert any("456" in line for line in lines)


async def test_check_staff_ids_survives_a_network_problem(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.delivery.outbox")
    rig.server.fail_next("getChat", "bad_gateway", times=5)
    assert await check_staff_ids(rig.bot, [STAFF[0], STAFF[1], 123]) == []
    assert len(caplog.records) == 1  # logged once, not per entry
    assert "TelegramServerError" in caplog.records[0].getMessage()
    caplog.clear()
    assert await check_staff_ids(rig.bot, []) == []
    assert "STAFF_IDS is empty" in caplog.records[0].getMessage()


async def test_two_deliveries_on_one_database_never_send_a_row_twice(rig: Rig) -> None:
    for patient in range(2000, 2015):
        await rig.crisis(patient)
    other_engine = create_engine(rig.settings.database_url)
    try:
        first = rig.make_delivery(batch=4)
        second = rig.make_delivery(create_session_factory(other_engine), batch=4)
        sent = await asyncio.gather(first.deliver_due(), second.deliver_due())
    finally:
        await other_engine.dispose()
    assert sum(sent) == 30
    messages = [(r.params["chat_id"], r.params["text"]) for r in rig.server.sent_messages()]
    assert len(messages) == 30
    assert len(set(messages)) == 30  # each (staff member, patient) exactly once
    assert {r.status for r in await rig.rows()} == {QueueStatus.SENT}


async def test_on_postgresql_racing_transactions_make_one_alert_and_one_send_per_row(
    pg_rig: Rig,
) -> None:
    rig = pg_rig
    # READ COMMITTED: the unique index on pending rows makes the losers count into the winner.
    await asyncio.gather(*(rig.crisis(PAT) for _ in range(30)))
    assert [(r.staff_chat_id, r.occurrences) for r in await rig.rows()] == [
        (9001, 30),
        (9002, 30),
    ]
    for patient in range(2000, 2010):
        await rig.crisis(patient)
    other_engine = create_engine(rig.settings.database_url)
    try:
        first = rig.make_delivery(batch=3)
        second = rig.make_delivery(create_session_factory(other_engine), batch=3)
        sent = await asyncio.gather(first.deliver_due(), second.deliver_due())
    finally:
        await other_engine.dispose()
    messages = [(r.params["chat_id"], r.params["text"]) for r in rig.server.sent_messages()]
    assert sum(sent) == len(messages) == len(set(messages)) == 22
    assert all("30 messages" in t for t in rig.server.sent_texts() if "Zelda" in t)


async def test_on_postgresql_a_claim_in_flight_is_skipped_not_waited_for(pg_rig: Rig) -> None:
    rig = pg_rig
    for patient in range(2000, 2005):
        await rig.crisis(patient)  # ten rows: one per staff member and patient
    now, lease = rig.clock.now(), rig.clock.now() + timedelta(seconds=60)
    other_engine = create_engine(rig.settings.database_url)
    try:
        async with rig.sessions() as session, session.begin():
            # A replica claimed four rows and has not committed yet (FOR UPDATE SKIP LOCKED
            # holds them): another replica takes the other six at once, without waiting.
            held = await Repository(session).alerts.claim(now, "slow", lease, 4)
            async with create_session_factory(other_engine)() as other, other.begin():
                taken = await asyncio.wait_for(
                    Repository(other).alerts.claim(now, "quick", lease, 10), 5
                )
    finally:
        await other_engine.dispose()
    assert len(held) == 4
    assert len(taken) == 6
    assert {r.id for r in held} | {r.id for r in taken} == {r.id for r in await rig.rows()}


async def test_a_row_left_leased_by_a_dead_process_is_sent_after_the_lease(rig: Rig) -> None:
    await rig.crisis(PAT)
    async with rig.sessions() as session, session.begin():
        claimed = await Repository(session).alerts.claim(
            rig.clock.now(), "dead-replica", rig.clock.now() + timedelta(seconds=60), 10
        )
    assert len(claimed) == 2
    assert await rig.delivery.deliver_due() == 0
    rig.clock.advance(timedelta(seconds=61))
    assert await rig.delivery.deliver_due() == 2
    assert [r.attempts for r in await rig.rows()] == [2, 2]


async def test_delete_patient_everything_removes_their_alerts(rig: Rig) -> None:
    await rig.crisis(PAT, patient_id=None)  # before they agreed to storage
    await rig.delivery.deliver_due()
    rig.clock.advance(timedelta(minutes=11))
    async with rig.sessions() as session:
        repo = Repository(session)
        patient = await repo.add_patient(
            telegram_id=PAT,
            chat_id=PAT,
            language="en",
            timezone="America/New_York",
            now=DEFAULT_NOW,
        )
        await rig.alerts.crisis(repo, telegram_id=PAT, patient_id=patient.id)
        await rig.alerts.reschedule_request(
            repo,
            patient_id=patient.id,
            telegram_id=PAT,
            appointment_id=1,
            starts_at=DEFAULT_NOW + timedelta(days=3),
        )
        await rig.alerts.crisis(repo, telegram_id=PAT + 1, patient_id=None)
        await rig.alerts.template_failure(repo, ["ride"], "x")
        await session.commit()
    assert len(await rig.rows()) == 10
    async with rig.sessions() as session:
        assert await Repository(session).delete_patient_everything(PAT) is not None
        await session.commit()
    left = await rig.rows()
    assert {(r.kind, r.subject_telegram_id) for r in left} == {
        ("crisis", PAT + 1),
        ("template_failure", None),
    }


async def test_stop_sends_what_was_queued_just_before(rig: Rig) -> None:
    await rig.delivery.start()
    await asyncio.sleep(0.05)
    await rig.crisis(PAT)  # commits and kicks, then the process stops at once
    await rig.delivery.stop(grace=5.0)
    assert len(rig.staff_texts()) == 2


# --- through the whole application ---------------------------------------------------------


async def test_crisis_message_alerts_staff_by_name_without_quoting(harness: Harness) -> None:
    harness.server.set_handler("getChat", get_chat_handler(harness.server))
    text = "I want to kill myself, I wrote a note"
    sent = await harness.feed(updates.message_update(PAT, text))
    answer = next(r.params["text"] for r in sent if r.params.get("chat_id") == PAT)
    assert "I've asked the clinic team to reach out to you" in answer
    (alert,) = await harness.server.wait_for(
        "sendMessage", lambda r: r.params.get("chat_id") == STAFF_ID
    )
    body = alert.params["text"]
    assert "Zelda Quest" in body
    assert f"tg://user?id={PAT}" in body
    assert "kill" not in body.lower()
    assert "note" not in body.lower()


async def test_template_failure_of_the_reminder_engine_is_queued_and_sent(
    harness: Harness,
) -> None:
    on_failure = harness.app.reminders.on_template_failure
    assert on_failure is not None

    @dataclass
    class _Step:
        key: str

    @dataclass
    class _Visit:
        id: int

    steps = (_Step("ride"), _Step("mask"))
    batch = cast(ReminderBatch, type("Batch", (), {"steps": steps, "appointment": _Visit(99)})())
    await on_failure(batch, "bad_request:TelegramBadRequest: Bad Request: can't parse entities")
    (alert,) = await harness.server.wait_for(
        "sendMessage", lambda r: r.params.get("chat_id") == STAFF_ID
    )
    assert "mask, ride" in alert.params["text"]
