"""StaffAlerts queues outbox rows in the caller's transaction, coalesced, storing no names."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.connection import create_engine, create_session_factory
from bot.db.migrate import upgrade
from bot.db.models import StaffAlert
from bot.db.outbox import AlertOutboxRepository
from bot.db.patients import Repository
from bot.services.staff_alerts import StaffAlerts
from foundation.clock import FrozenClock
from scheduler.queue import AttemptResult, Outcome, QueueStatus
from tests.integration.pg import app_database

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
STAFF = (9001, 9002)
PAT = 1001


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with app_database(tmp_path, "alerts") as url:
        engine = create_engine(url)
        await upgrade(engine)
        try:
            yield create_session_factory(engine)
        finally:
            await engine.dispose()


class Kicks:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def kicks() -> Kicks:
    return Kicks()


@pytest.fixture
def alerts(clock: FrozenClock, kicks: Kicks) -> StaffAlerts:
    return StaffAlerts(STAFF, clock, kick=kicks)


async def rows(sessions: async_sessionmaker[AsyncSession]) -> list[StaffAlert]:
    async with sessions() as session:
        result = await session.execute(select(StaffAlert).order_by(StaffAlert.id))
        return list(result.scalars())


async def commit_and_run_hooks(repo: Repository) -> None:
    await repo.session.commit()
    for hook in repo.after_commit:
        hook()
    repo.after_commit.clear()


async def crisis(
    sessions: async_sessionmaker[AsyncSession],
    alerts: StaffAlerts,
    telegram_id: int = PAT,
    patient_id: int | None = None,
) -> bool:
    async with sessions() as session:
        repo = Repository(session)
        queued = await alerts.crisis(repo, telegram_id=telegram_id, patient_id=patient_id)
        await commit_and_run_hooks(repo)
        return queued


async def mark_all_sent(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        await session.execute(update(StaffAlert).values(status=QueueStatus.SENT, sent_at=NOW))


def test_staff_ids_are_sorted_and_unique(clock: FrozenClock) -> None:
    alerts = StaffAlerts([3, 1, 3, 2], clock)
    assert alerts.staff_ids == (1, 2, 3)


async def test_crisis_writes_one_row_per_staff_member_in_the_callers_transaction(
    sessions: async_sessionmaker[AsyncSession], alerts: StaffAlerts, kicks: Kicks
) -> None:
    async with sessions() as session:
        repo = Repository(session)
        assert await alerts.crisis(repo, telegram_id=PAT, patient_id=None) is True
        assert repo.after_commit == [alerts.kick]  # delivery only starts after the commit
        assert await rows(sessions) == []  # not visible outside the transaction
        await commit_and_run_hooks(repo)
    assert kicks.count == 1
    stored = await rows(sessions)
    assert [r.staff_chat_id for r in stored] == list(STAFF)
    for row in stored:
        assert row.kind == "crisis"
        assert row.subject_telegram_id == PAT
        assert row.patient_id is None
        assert row.status == QueueStatus.PENDING
        assert row.occurrences == 1
        assert row.attempts == 0
        assert row.next_attempt_at == NOW
        assert row.created_at == NOW
        assert json.loads(row.context) == {}  # no name, no text: nothing personal at all


async def test_rolled_back_with_the_caller(
    sessions: async_sessionmaker[AsyncSession], alerts: StaffAlerts, kicks: Kicks
) -> None:
    async with sessions() as session:
        repo = Repository(session)
        await alerts.crisis(repo, telegram_id=PAT, patient_id=None)
        await session.rollback()
    assert await rows(sessions) == []
    assert kicks.count == 0


async def test_no_staff_queues_nothing_and_warns_once_per_kind(
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    alerts = StaffAlerts((), clock)
    caplog.set_level(logging.WARNING, logger="bot.services.staff_alerts")
    async with sessions() as session:
        repo = Repository(session)
        for _ in range(3):
            assert await alerts.crisis(repo, telegram_id=PAT, patient_id=None) is False
        assert await alerts.template_failure(repo, ["ride"], "TelegramBadRequest") is False
        assert repo.after_commit == []
        await session.commit()
    assert await rows(sessions) == []
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert all("STAFF_IDS is empty" in w for w in warnings)


async def test_a_crisis_flood_is_one_alert_per_staff_member_with_a_count(
    sessions: async_sessionmaker[AsyncSession], alerts: StaffAlerts, clock: FrozenClock
) -> None:
    for _ in range(60):
        assert await crisis(sessions, alerts) is True
        clock.advance(timedelta(seconds=5))
    stored = await rows(sessions)
    assert [(r.staff_chat_id, r.occurrences) for r in stored] == [(9001, 60), (9002, 60)]


async def test_a_crisis_is_counted_into_a_sent_alert_within_ten_minutes_only(
    sessions: async_sessionmaker[AsyncSession], alerts: StaffAlerts, clock: FrozenClock
) -> None:
    await crisis(sessions, alerts)
    await mark_all_sent(sessions)
    clock.advance(timedelta(minutes=9, seconds=59))
    await crisis(sessions, alerts)
    assert [r.occurrences for r in await rows(sessions)] == [2, 2]
    clock.advance(timedelta(seconds=2))  # now more than 10 minutes after the first alert
    await crisis(sessions, alerts)
    stored = await rows(sessions)
    assert len(stored) == 4
    assert [r.status for r in stored[2:]] == [QueueStatus.PENDING, QueueStatus.PENDING]


async def test_a_pending_crisis_alert_keeps_counting_whatever_its_age(
    sessions: async_sessionmaker[AsyncSession], alerts: StaffAlerts, clock: FrozenClock
) -> None:
    # Staff not reachable for an hour: one alert waiting, not a new one every 10 minutes.
    await crisis(sessions, alerts)
    clock.advance(timedelta(hours=1))
    await crisis(sessions, alerts)
    assert [r.occurrences for r in await rows(sessions)] == [2, 2]


async def test_crises_of_different_people_are_not_coalesced(
    sessions: async_sessionmaker[AsyncSession], alerts: StaffAlerts
) -> None:
    await crisis(sessions, alerts, telegram_id=PAT)
    await crisis(sessions, alerts, telegram_id=PAT + 1)
    assert len(await rows(sessions)) == 4


async def test_a_new_staff_member_gets_a_row_of_their_own(
    sessions: async_sessionmaker[AsyncSession], alerts: StaffAlerts, clock: FrozenClock
) -> None:
    await crisis(sessions, alerts)
    more = StaffAlerts((*STAFF, 9003), clock)
    await crisis(sessions, more)
    assert [(r.staff_chat_id, r.occurrences) for r in await rows(sessions)] == [
        (9001, 2),
        (9002, 2),
        (9003, 1),
    ]


async def test_reschedule_request_stores_the_instant_not_the_name(
    sessions: async_sessionmaker[AsyncSession], alerts: StaffAlerts
) -> None:
    starts = datetime(2026, 12, 3, 19, 30, tzinfo=UTC)
    async with sessions() as session:
        repo = Repository(session)
        patient = await repo.add_patient(
            telegram_id=PAT, chat_id=PAT, language="en", timezone="America/New_York", now=NOW
        )
        queued = await alerts.reschedule_request(
            repo, patient_id=patient.id, telegram_id=PAT, appointment_id=7, starts_at=starts
        )
        assert queued is True
        # The caller guarantees one call per request; an identical one still waiting is counted.
        await alerts.reschedule_request(
            repo, patient_id=patient.id, telegram_id=PAT, appointment_id=7, starts_at=starts
        )
        await commit_and_run_hooks(repo)
    stored = await rows(sessions)
    assert len(stored) == 2
    assert stored[0].kind == "reschedule"
    assert stored[0].patient_id is not None
    assert stored[0].subject_telegram_id == PAT
    assert stored[0].occurrences == 2
    assert json.loads(stored[0].context) == {
        "appointment_id": 7,
        "starts_at": "2026-12-03T19:30:00+00:00",
    }
    # Once sent, a later request for the same visit is a new alert.
    await mark_all_sent(sessions)
    async with sessions() as session:
        repo = Repository(session)
        await alerts.reschedule_request(
            repo,
            patient_id=stored[0].patient_id or 0,
            telegram_id=PAT,
            appointment_id=7,
            starts_at=starts,
        )
        await commit_and_run_hooks(repo)
    assert len(await rows(sessions)) == 4


async def test_template_failures_coalesce_per_steps_and_error_for_an_hour(
    sessions: async_sessionmaker[AsyncSession], alerts: StaffAlerts, clock: FrozenClock
) -> None:
    async def fail(steps: list[str], error: str) -> None:
        async with sessions() as session:
            repo = Repository(session)
            assert await alerts.template_failure(repo, steps, error) is True
            await commit_and_run_hooks(repo)

    error = "bad_request:TelegramBadRequest: Bad Request: can't parse entities at byte offset "
    # One broken template, 200 patients: byte offsets differ, the alert is one.
    for offset in range(200):
        await fail(["ride", "playlist"], f"{error}{offset}")
    stored = await rows(sessions)
    assert [r.occurrences for r in stored] == [200, 200]
    assert json.loads(stored[0].context)["steps"] == ["playlist", "ride"]
    assert stored[0].subject_telegram_id is None
    assert stored[0].patient_id is None

    await fail(["ride", "playlist"], "render:UndefinedError")  # another error: another alert
    await fail(["ride"], f"{error}1")  # other steps: another alert
    assert len(await rows(sessions)) == 6

    await mark_all_sent(sessions)
    clock.advance(timedelta(minutes=59))
    await fail(["playlist", "ride"], f"{error}5")
    assert len(await rows(sessions)) == 6  # sent within the hour: counted into it
    clock.advance(timedelta(minutes=2))
    await fail(["playlist", "ride"], f"{error}5")
    assert len(await rows(sessions)) == 8


async def test_kick_is_added_once_per_transaction(
    sessions: async_sessionmaker[AsyncSession], alerts: StaffAlerts, kicks: Kicks
) -> None:
    async with sessions() as session:
        repo = Repository(session)
        await alerts.crisis(repo, telegram_id=PAT, patient_id=None)
        await alerts.template_failure(repo, ["ride"], "x")
        await commit_and_run_hooks(repo)
    assert kicks.count == 1


async def test_outbox_repository_claim_finish_and_fencing(
    sessions: async_sessionmaker[AsyncSession], alerts: StaffAlerts
) -> None:
    await crisis(sessions, alerts)
    lease = NOW + timedelta(seconds=60)
    async with sessions() as session, session.begin():
        repo = AlertOutboxRepository(session)
        assert await repo.pending_count() == 2
        claimed = await repo.claim(NOW, "a", lease, 10)
        assert [c.staff_chat_id for c in claimed] == list(STAFF)
        assert all(c.attempts == 1 and c.subject_telegram_id == PAT for c in claimed)
    async with sessions() as session, session.begin():
        repo = AlertOutboxRepository(session)
        # Leased: nobody else takes them, and they are due again when the lease runs out.
        assert await repo.claim(NOW, "b", lease, 10) == []
        assert await repo.next_due() == lease
        # Fenced: only the owner closes them.
        assert await repo.finish("b", NOW, sent(claimed[0].id)) == frozenset()
        assert await repo.finish("a", NOW, sent(claimed[0].id)) == {claimed[0].id}
    async with sessions() as session, session.begin():
        repo = AlertOutboxRepository(session)
        # The other row's owner died: after the lease, someone else claims it.
        retaken = await repo.claim(lease, "b", lease + timedelta(seconds=60), 10)
        assert [(r.id, r.attempts) for r in retaken] == [(claimed[1].id, 2)]
        assert await repo.finish("a", lease, sent(claimed[1].id)) == frozenset()
        assert await repo.pending_count() == 1


async def test_delete_for_patient_by_patient_id_and_by_telegram_id(
    sessions: async_sessionmaker[AsyncSession], alerts: StaffAlerts
) -> None:
    await crisis(sessions, alerts, telegram_id=PAT, patient_id=None)  # before consent
    await crisis(sessions, alerts, telegram_id=PAT + 1)  # someone else
    async with sessions() as session, session.begin():
        repo = AlertOutboxRepository(session)
        assert await repo.delete_for_patient(None, PAT) == 2
        assert await repo.delete_for_patient(None, None) == 0
    assert {r.subject_telegram_id for r in await rows(sessions)} == {PAT + 1}


async def test_concurrent_crisis_transactions_still_make_one_alert_per_staff_member(
    sessions: async_sessionmaker[AsyncSession], alerts: StaffAlerts
) -> None:
    # Updates are handled concurrently; the count comes first and takes SQLite's write lock,
    # so each transaction sees the rows of those that committed before it.
    await asyncio.gather(*(crisis(sessions, alerts) for _ in range(20)))
    assert [(r.staff_chat_id, r.occurrences) for r in await rows(sessions)] == [
        (9001, 20),
        (9002, 20),
    ]


def sent(alert_id: int) -> AttemptResult:
    return AttemptResult((alert_id,), Outcome.SENT)


async def test_the_lease_is_renewed_by_its_owner_only(
    sessions: async_sessionmaker[AsyncSession], alerts: StaffAlerts
) -> None:
    await crisis(sessions, alerts)
    lease = NOW + timedelta(seconds=60)
    longer = lease + timedelta(seconds=60)
    async with sessions() as session, session.begin():
        repo = AlertOutboxRepository(session)
        claimed = await repo.claim(NOW, "a", lease, 10)
        assert await repo.extend_lease("b", longer) == 0
        assert await repo.extend_lease("a", longer) == 2
        # Renewed: not due again (nor claimable) until the new end of the lease.
        assert await repo.next_due() == longer
        assert await repo.claim(lease, "b", lease + timedelta(seconds=60), 10) == []
        assert await repo.finish("a", lease, sent(claimed[0].id)) == {claimed[0].id}
        # A closed row is no longer the owner's to renew.
        assert await repo.extend_lease("a", longer) == 1
