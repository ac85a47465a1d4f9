"""Signed events to the clinic's systems, end to end: recorded in the transaction of what
raised them, POSTed by EventDelivery to a real aiohttp receiver on loopback that checks every
signature with bot/intake/signing.verify; order per source, retries after a 500, a dropped
connection and a timeout, none after a 400, given up after N, and events that survive a
restart. Time is a FrozenClock moved by hand: backoff is never waited for."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import BUNDLED_MESSAGES_DIR, Settings
from bot.content.store import Content
from bot.db.connection import create_engine, create_session_factory
from bot.db.intake_events import IntakeEventRepository, SqlIntakeEventStore
from bot.db.migrate import upgrade
from bot.db.models import Appointment, IntakeEvent, IntakeVisit, Patient
from bot.db.outbox import SqlOutboxStore
from bot.db.patients import Repository
from bot.db.reminder_store import SqlReminderStore
from bot.db.visit_changes import change_scheduled_visit
from bot.delivery.intake_events import EVENT_HEADER, EventDelivery, Webhook
from bot.domain.visits import Checkin
from bot.metrics import Metrics
from bot.services.appointments import VisitTime
from bot.services.container import Services
from bot.services.intake_events import IntakeEvents
from bot.services.patient_notices import PatientNotices
from bot.services.patients import PatientService
from bot.services.reminders import PreparationService
from bot.services.staff_alerts import StaffAlerts
from bot.web.ops import refresh_gauges
from foundation.clock import FrozenClock
from scheduler.queue import AttemptResult, Outcome, QueueStatus, Reason
from tests.conftest import DEFAULT_NOW
from tests.fake_telegram import updates
from tests.fake_telegram.server import FakeTelegramServer
from tests.integration import dbcheck
from tests.integration.event_receiver import (
    DROP,
    OTHER_SECRET,
    SECRET,
    SLOW,
    Receiver,
    running_receiver,
)
from tests.integration.harness import Harness, last_button, start_harness
from tests.integration.pg import app_database

ZONE = "America/New_York"
START = DEFAULT_NOW + timedelta(days=3)


@dataclass
class Rig:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    clock: FrozenClock
    receiver: Receiver
    metrics: Metrics = field(default_factory=Metrics)
    deliveries: list[EventDelivery] = field(default_factory=list)
    made: int = 0

    def webhooks(self) -> dict[str, Webhook]:
        return {
            "acme": Webhook(self.receiver.url("acme"), SECRET),
            "beta": Webhook(self.receiver.url("beta"), OTHER_SECRET),
        }

    def delivery(self, **options: Any) -> EventDelivery:
        options.setdefault("timeout", 0.5)
        options.setdefault("rng", random.Random(7))
        delivery = EventDelivery(
            self.sessions, self.webhooks(), self.clock, metrics=self.metrics, **options
        )
        self.deliveries.append(delivery)
        return delivery

    def services(self) -> Services:
        """The application's services over this database, recording events (not sent)."""
        return Services(
            settings=Settings(_env_file=None, clinic_timezone=ZONE),
            content=Content(BUNDLED_MESSAGES_DIR, "en"),
            clock=self.clock,
            session_factory=self.sessions,
            staff_alerts=StaffAlerts((), self.clock),
            patient_notices=PatientNotices(self.clock),
            intake_events=self.recorder(),
        )

    def recorder(self, delivery: EventDelivery | None = None) -> IntakeEvents:
        kick = delivery.kick if delivery is not None else (lambda: None)
        return IntakeEvents(self.webhooks(), self.clock, kick=kick)

    async def visit(
        self,
        external_id: str,
        *,
        source: str = "acme",
        telegram_id: int = 1001,
        starts_at: datetime | None = None,
    ) -> tuple[int, int]:
        """A patient's appointment linked to a visit of `source`'s schedule: (patient, visit);
        without `starts_at`, an hour after the one made before."""
        now = self.clock.now()
        if starts_at is None:
            starts_at = START + timedelta(hours=self.made)
        self.made += 1
        async with self.sessions() as session, session.begin():
            repo = Repository(session)
            patient = await repo.patient_by_telegram_id(telegram_id)
            if patient is None:
                patient = await repo.add_patient(
                    telegram_id=telegram_id, chat_id=telegram_id, language="en", timezone=ZONE,
                    now=now,
                )  # fmt: skip
            appointment = await repo.add_appointment(
                patient_id=patient.id, starts_at=starts_at, timezone=ZONE, now=now
            )
            session.add(
                IntakeVisit(
                    source=source,
                    external_id=external_id,
                    patient_key=f"{telegram_id:064d}",
                    starts_at=starts_at,
                    timezone=ZONE,
                    visit_type="infusion",
                    status="booked",
                    appointment_id=appointment.id,
                    created_at=now,
                    updated_at=now,
                )
            )
            return patient.id, appointment.id

    async def record(
        self, events: IntakeEvents, appointment_id: int, kind: str = "confirmed"
    ) -> bool:
        async with self.sessions() as session:
            repo = Repository(session)
            if kind == "linked":
                done = await events.visit_linked(repo, appointment_id)
            elif kind == "reschedule":
                done = await events.reschedule_requested(repo, appointment_id)
            else:
                done = await events.visit_confirmed(repo, appointment_id)
            await session.commit()
        for hook in repo.after_commit:
            hook()
        return done

    async def rows(self) -> list[IntakeEvent]:
        async with self.sessions() as session:
            result = await session.execute(select(IntakeEvent).order_by(IntakeEvent.id))
            return list(result.scalars())

    def figures(self) -> dict[tuple[str, str], float]:
        return {
            (s.labels["source"], s.labels["outcome"]): s.value
            for metric in self.metrics.intake_events.collect()
            for s in metric.samples
            if s.name.endswith("_total")
        }


@asynccontextmanager
async def open_rig(tmp_path: Path) -> AsyncIterator[Rig]:
    clock = FrozenClock(DEFAULT_NOW)
    async with app_database(tmp_path) as url, running_receiver(clock) as receiver:
        engine = create_engine(url)
        await upgrade(engine)
        rig = Rig(engine, create_session_factory(engine), clock, receiver)
        try:
            yield rig
        finally:
            for delivery in rig.deliveries:
                await delivery.stop(grace=2.0)
            await engine.dispose()


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async with open_rig(tmp_path) as rig:
        yield rig


# --------------------------------------------------------------------- recorded, signed, sent


async def test_an_event_is_written_with_the_answer_and_posted_signed_once_committed(
    rig: Rig,
) -> None:
    delivery = rig.delivery()
    await delivery.start()
    events = rig.recorder(delivery)
    _, visit = await rig.visit("A-1001")
    async with rig.sessions() as session:
        repo = Repository(session)
        assert await events.visit_confirmed(repo, visit)
        # Not committed: no other connection sees it, nothing can be sent.
        assert await delivery.deliver_due() == 0
        await session.commit()
    assert len(repo.after_commit) == 1
    for hook in repo.after_commit:
        hook()  # the kick
    [received] = await rig.receiver.wait_for(1)
    assert received.signed_at == int(rig.clock.now().timestamp())  # verified by the receiver
    assert received.headers[EVENT_HEADER] == "visit.confirmed"
    assert received.headers["Content-Type"] == "application/json"
    event = received.event
    assert set(event) == {
        "id", "type", "occurred_at", "source", "external_id", "revision", "data"
    }  # fmt: skip
    assert event["type"] == "visit.confirmed"
    assert (event["source"], event["external_id"], event["data"]) == ("acme", "A-1001", {})
    assert event["occurred_at"] == "2026-11-23T15:00:00Z"
    assert len(event["id"]) == 32
    # Recorded as sent, once.
    await asyncio.sleep(0.05)
    assert await delivery.deliver_due() == 0
    [row] = await rig.rows()
    assert (row.status, row.attempts, row.sent_at) == (QueueStatus.SENT, 1, DEFAULT_NOW)
    assert rig.figures() == {("acme", "sent"): 1.0}


async def test_a_rolled_back_answer_sends_nothing(rig: Rig) -> None:
    delivery = rig.delivery()
    events = rig.recorder(delivery)
    _, visit = await rig.visit("A-1")
    async with rig.sessions() as session:
        assert await events.visit_confirmed(Repository(session), visit)
        await session.rollback()
    assert await delivery.deliver_due() == 0
    assert await rig.rows() == []
    assert rig.receiver.received == []


async def test_a_wrong_secret_is_refused_by_the_receiver_and_not_retried(rig: Rig) -> None:
    """The receiver's check can fail: signed with another secret, it answers 401 (final)."""
    delivery = EventDelivery(
        rig.sessions, {"acme": Webhook(rig.receiver.url("acme"), "z" * 40)}, rig.clock
    )
    rig.deliveries.append(delivery)
    _, visit = await rig.visit("A-1")
    await rig.record(rig.recorder(), visit)
    assert await delivery.deliver_due() == 0
    [received] = rig.receiver.received
    assert received.signed_at is None and received.answered == "200"  # scripted 200 ...
    [row] = await rig.rows()
    # ... but a bad signature is answered 401 by the receiver: given up at once.
    assert (row.status, row.last_error) == (QueueStatus.FAILED, "bad_request:http:401")


async def test_events_without_a_schedule_visit_or_a_webhook_are_not_written(rig: Rig) -> None:
    events = rig.recorder()
    _, gamma = await rig.visit("G-1", source="gamma")  # no webhook for gamma
    async with rig.sessions() as session, session.begin():
        repo = Repository(session)
        patient = await repo.patient_by_telegram_id(1001)
        assert patient is not None
        own = await repo.add_appointment(
            patient_id=patient.id, starts_at=START + timedelta(days=1), timezone=ZONE,
            now=rig.clock.now(),
        )  # fmt: skip
        assert not await events.visit_confirmed(repo, own.id)  # booked by the patient
        assert not await events.visit_confirmed(repo, gamma)
        assert repo.after_commit == []
    # With no webhook at all, nothing is even looked up.
    idle = IntakeEvents({}, rig.clock)
    assert not idle.enabled
    async with rig.sessions() as session:
        repo = Repository(session)
        assert not await idle.visit_linked(repo, gamma)
        assert not session.in_transaction()  # no query was made
    assert await rig.rows() == []


async def test_visit_linked_is_the_function_the_intake_service_calls(rig: Rig) -> None:
    delivery = rig.delivery()
    events = rig.recorder(delivery)
    _, visit = await rig.visit("A-7")
    assert await rig.record(events, visit, "linked")
    assert await delivery.deliver_due() == 1
    [event] = rig.receiver.events("acme")
    assert (event["type"], event["external_id"], event["data"]) == ("visit.linked", "A-7", {})


async def test_a_checkin_sends_the_answers_code_never_text(rig: Rig) -> None:
    delivery = rig.delivery()
    events = rig.recorder(delivery)
    _, visit = await rig.visit("A-9", starts_at=DEFAULT_NOW - timedelta(hours=20))
    async with rig.sessions() as session:
        repo = Repository(session)
        assert await events.checkin(repo, visit, Checkin.TYPED)
        assert await events.checkin(repo, visit, Checkin.CALL)
        await session.commit()
    assert await delivery.deliver_due() == 2
    answers = [(e["type"], e["data"]) for e in rig.receiver.events("acme")]
    assert answers == [
        ("visit.checkin", {"answer": "typed"}),
        ("visit.checkin", {"answer": "call"}),
    ]


# ------------------------------------------------------------------------------------ order


async def test_order_per_source_is_kept_and_sources_do_not_wait_for_each_other(
    rig: Rig,
) -> None:
    delivery = rig.delivery()
    events = rig.recorder()
    acme = [(await rig.visit(f"A-{i}"))[1] for i in range(5)]
    beta = [(await rig.visit(f"B-{i}", source="beta", telegram_id=2002))[1] for i in range(3)]
    for a, b in zip(acme, [*beta, None, None], strict=True):
        await rig.record(events, a)
        if b is not None:
            await rig.record(events, b, "reschedule")
    rig.receiver.answer("beta", "503")  # beta's first event waits for a retry
    assert await delivery.deliver_due() == 5
    assert [e["external_id"] for e in rig.receiver.events("acme")] == [f"A-{i}" for i in range(5)]
    assert rig.receiver.events("beta") == []  # B-1 and B-2 wait behind B-0
    rig.clock.advance(timedelta(hours=1))
    assert await delivery.deliver_due() == 3
    assert [e["external_id"] for e in rig.receiver.events("beta")] == ["B-0", "B-1", "B-2"]
    assert all(r.signed_at is not None for r in rig.receiver.received)


async def test_a_second_sender_never_overtakes_a_head_another_holds(rig: Rig) -> None:
    events = rig.recorder()
    for i in range(3):
        await rig.record(events, (await rig.visit(f"A-{i}"))[1])
    store = SqlIntakeEventStore(rig.sessions)
    now = rig.clock.now()
    [head] = await store.claim(now, "replica-1", now + timedelta(seconds=60), 10)
    assert head.body.count('"A-0"') == 1
    assert await store.claim(now, "replica-2", now + timedelta(seconds=60), 10) == ()
    # replica-1 dies; after its lease another sender takes the head, then the rest in order.
    rig.clock.advance(timedelta(seconds=61))
    delivery = rig.delivery()
    assert await delivery.deliver_due() == 3
    assert [e["external_id"] for e in rig.receiver.events()] == ["A-0", "A-1", "A-2"]
    # replica-1's late outcome is fenced off.
    late = AttemptResult((head.id,), Outcome.FAILED, Reason.ERROR)
    assert await store.record("replica-1", rig.clock.now(), [late]) == 0


# ---------------------------------------------------------------------------------- retries


async def test_retried_after_a_500_and_a_dropped_connection_then_sent_once(rig: Rig) -> None:
    delivery = rig.delivery(max_attempts=5)
    events = rig.recorder()
    first, second = (await rig.visit("A-1"))[1], (await rig.visit("A-2"))[1]
    await rig.record(events, first)
    await rig.record(events, second, "reschedule")
    rig.receiver.answer("acme", "500", DROP)

    assert await delivery.deliver_due() == 0  # 500: retried later; A-2 waits behind it
    [row, behind] = await rig.rows()
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "retry:http:500")
    wait = row.next_attempt_at - rig.clock.now()
    assert timedelta(seconds=7.5) <= wait <= timedelta(seconds=15)  # 15 s, with jitter
    assert behind.attempts == 0
    assert await delivery.deliver_due() == 0  # not due yet

    rig.clock.advance(wait)
    assert await delivery.deliver_due() == 0  # the connection dropped: retried again
    [row, _] = await rig.rows()
    assert row.attempts == 2 and row.last_error is not None
    assert row.last_error.startswith("retry:") and "http" not in row.last_error
    wait = row.next_attempt_at - rig.clock.now()
    assert timedelta(seconds=15) <= wait <= timedelta(seconds=30)  # doubled

    rig.clock.advance(wait)
    assert await delivery.deliver_due() == 2
    attempts = rig.receiver.received
    assert [r.answered for r in attempts] == ["500", DROP, "200", "200"]
    # The same event, byte for byte, each time (one id to deduplicate on), then A-2.
    assert attempts[0].body == attempts[1].body == attempts[2].body
    assert [r.event["external_id"] for r in attempts] == ["A-1", "A-1", "A-1", "A-2"]
    assert all(r.signed_at is not None for r in attempts)
    assert [r.status for r in await rig.rows()] == ["sent", "sent"]
    assert rig.figures() == {("acme", "retried"): 2.0, ("acme", "sent"): 2.0}


async def test_a_timeout_is_retried(rig: Rig) -> None:
    delivery = rig.delivery(timeout=0.2)
    await rig.record(rig.recorder(), (await rig.visit("A-1"))[1])
    rig.receiver.answer("acme", SLOW)
    assert await delivery.deliver_due() == 0
    [row] = await rig.rows()
    assert (row.status, row.last_error) == ("pending", "retry:TimeoutError")
    rig.clock.advance(timedelta(minutes=1))
    assert await delivery.deliver_due() == 1


async def test_no_retry_after_a_400_and_the_next_event_goes_on(rig: Rig) -> None:
    delivery = rig.delivery()
    events = rig.recorder()
    await rig.record(events, (await rig.visit("A-1"))[1])
    await rig.record(events, (await rig.visit("A-2"))[1])
    rig.receiver.answer("acme", "400")
    assert await delivery.deliver_due() == 1
    rows = await rig.rows()
    assert [(r.status, r.attempts, r.last_error) for r in rows] == [
        ("failed", 1, "bad_request:http:400"),
        ("sent", 1, None),
    ]
    rig.clock.advance(timedelta(days=1))
    assert await delivery.deliver_due() == 0
    assert [r.answered for r in rig.receiver.received] == ["400", "200"]
    assert rig.figures() == {("acme", "failed"): 1.0, ("acme", "sent"): 1.0}


@pytest.mark.parametrize("answer", ["408", "429", "503"])
async def test_408_429_and_5xx_are_retried(rig: Rig, answer: str) -> None:
    delivery = rig.delivery()
    await rig.record(rig.recorder(), (await rig.visit("A-1"))[1])
    rig.receiver.answer("acme", answer)
    assert await delivery.deliver_due() == 0
    rig.clock.advance(timedelta(minutes=1))
    assert await delivery.deliver_due() == 1


async def test_retry_after_is_honoured(rig: Rig) -> None:
    delivery = rig.delivery()
    await rig.record(rig.recorder(), (await rig.visit("A-1"))[1])
    rig.receiver.answer("acme", "429:600")
    assert await delivery.deliver_due() == 0
    [row] = await rig.rows()
    assert row.next_attempt_at - rig.clock.now() == timedelta(seconds=600)


async def test_given_up_after_max_attempts_and_counted(rig: Rig) -> None:
    delivery = rig.delivery(max_attempts=3)
    await rig.record(rig.recorder(), (await rig.visit("A-1"))[1])
    rig.receiver.answer("acme", "502", "502", "502", "502")
    for _ in range(3):
        await delivery.deliver_due()
        rig.clock.advance(timedelta(hours=1))
    [row] = await rig.rows()
    assert (row.status, row.attempts) == ("failed", 3)
    assert row.last_error == "too_many_attempts:retry:http:502"
    assert len(rig.receiver.received) == 3
    assert rig.figures() == {("acme", "retried"): 2.0, ("acme", "failed"): 1.0}


async def test_a_source_whose_webhook_was_removed_fails_its_events(rig: Rig) -> None:
    await rig.record(rig.recorder(), (await rig.visit("A-1"))[1])
    delivery = EventDelivery(rig.sessions, {}, rig.clock)
    rig.deliveries.append(delivery)
    assert await delivery.deliver_due() == 0
    [row] = await rig.rows()
    assert (row.status, row.last_error) == ("failed", "error:no_webhook")


# ---------------------------------------------------------------------------------- restart


async def test_events_written_before_a_restart_are_delivered_after_it(tmp_path: Path) -> None:
    clock = FrozenClock(DEFAULT_NOW)
    async with app_database(tmp_path) as url, running_receiver(clock) as receiver:
        webhooks = {"acme": Webhook(receiver.url("acme"), SECRET)}
        # The first process records events and dies before sending them (one is even leased).
        engine = create_engine(url)
        await upgrade(engine)
        first = Rig(engine, create_session_factory(engine), clock, receiver)
        events = IntakeEvents(webhooks, clock)
        for i in range(3):
            await first.record(events, (await first.visit(f"A-{i}"))[1])
        now = clock.now()
        leased = await SqlIntakeEventStore(first.sessions).claim(
            now, "dead", now + timedelta(seconds=60), 5
        )
        assert len(leased) == 1
        await engine.dispose()
        assert receiver.received == []

        # The second process starts on the same database: its first pass sends them.
        clock.advance(timedelta(minutes=2))
        engine = create_engine(url)
        sessions = create_session_factory(engine)
        delivery = EventDelivery(sessions, webhooks, clock)
        try:
            await delivery.start()
            await receiver.wait_for(3)
        finally:
            await delivery.stop(grace=2.0)
            async with sessions() as session:
                statuses = (await session.execute(select(IntakeEvent.status))).scalars().all()
            await engine.dispose()
        assert [e["external_id"] for e in receiver.events("acme")] == ["A-0", "A-1", "A-2"]
        assert set(statuses) == {"sent"}


async def test_stop_closes_the_http_client_and_start_again_works(rig: Rig) -> None:
    delivery = rig.delivery()
    await delivery.start()
    await rig.record(rig.recorder(delivery), (await rig.visit("A-1"))[1])
    await rig.receiver.wait_for(1)
    await delivery.stop(grace=2.0)
    await rig.record(rig.recorder(delivery), (await rig.visit("A-2"))[1])
    await delivery.start()
    await rig.receiver.wait_for(2)
    assert [e["external_id"] for e in rig.receiver.events()] == ["A-1", "A-2"]


# ------------------------------------------------------------------------------ unreachable


async def test_blocking_the_bot_tells_the_clinic_once_per_visit(rig: Rig) -> None:
    delivery = rig.delivery()
    events = rig.recorder(delivery)
    patient, _ = await rig.visit("A-1")
    await rig.visit("A-0", starts_at=DEFAULT_NOW - timedelta(hours=20))  # the check-in's
    await rig.visit("A-OLD", starts_at=DEFAULT_NOW - timedelta(days=30))  # long past
    await rig.visit("B-1", source="beta")
    await rig.visit("G-1", source="gamma")  # no webhook
    # The reminder engine found the chat blocked (bot/db/reminder_store.py records it).
    reminders = SqlReminderStore(rig.sessions, unreachable=events)
    blocked = AttemptResult((), Outcome.FAILED, Reason.BLOCKED, unreachable_patient=patient)
    await reminders.record("engine", rig.clock.now(), [blocked])
    assert await delivery.deliver_due() == 3
    sent = sorted((e["source"], e["external_id"]) for e in rig.receiver.events())
    assert sent == [("acme", "A-0"), ("acme", "A-1"), ("beta", "B-1")]
    assert {e["type"] for e in rig.receiver.events()} == {"patient.unreachable"}
    assert {str(e["data"]) for e in rig.receiver.events()} == {"{'reason': 'blocked'}"}
    # Found blocked again (a notice this time): no second event, they were unreachable already.
    notices = SqlOutboxStore(rig.sessions, (), unreachable=events)
    await notices.record_each("alerts", rig.clock.now(), [blocked])
    assert await delivery.deliver_due() == 0
    # They come back, then block the bot again (Telegram's my_chat_member): told again.
    async with rig.sessions() as session:
        await session.execute(update(Patient).values(reachable=True))
        await session.commit()
    async with rig.sessions() as session:
        repo = Repository(session)
        patients = PatientService(repo, rig.clock, default_timezone=ZONE, events=events)
        assert await patients.mark_reachable(1001, False)
        assert not await patients.mark_reachable(1001, False)  # a second update: nothing
        await session.commit()
    for hook in repo.after_commit:
        hook()
    assert await delivery.deliver_due() == 3
    assert len(rig.receiver.events()) == 6


async def test_the_answers_the_preparation_service_records(rig: Rig) -> None:
    """The emission points: attendance, a new time asked for, "I can come after all", the
    check-in; a second tap of the same answer writes nothing."""
    events = rig.recorder()
    patient_id, visit = await rig.visit("A-1")
    async with rig.sessions() as session:
        repo = Repository(session)
        patient = await repo.patient_by_id(patient_id)
        assert patient is not None
        appointment = await repo.appointment_for_patient(visit, patient_id)
        assert appointment is not None
        content = Content(BUNDLED_MESSAGES_DIR, "en")
        prep = PreparationService(repo, content.plan_for, rig.clock, events=events)
        assert await prep.ask_new_time(appointment)
        assert not await prep.ask_new_time(appointment)
        await prep.come_after_all(patient, visit)
        await prep.come_after_all(patient, visit)
        rig.clock.advance(timedelta(days=4))
        await prep.answer_checkin(patient, visit, Checkin.OK)
        await prep.answer_checkin(patient, visit, Checkin.OK)
        await session.commit()
    types = [(r.event_type, r.body.count('"answer":"ok"')) for r in await rig.rows()]
    assert types == [
        ("visit.reschedule_requested", 0),
        ("visit.confirmed", 0),
        ("visit.checkin", 1),
    ]


async def test_repository_lists_a_patients_visits_soonest_first(rig: Rig) -> None:
    patient, later = await rig.visit("A-2", starts_at=START + timedelta(days=2))
    _, sooner = await rig.visit("A-1")
    async with rig.sessions() as session:
        found = await IntakeEventRepository(session).revise_visits_of_patients(
            [patient], DEFAULT_NOW, {"acme"}
        )
    assert [v.appointment_id for v in found] == [sooner, later]
    assert [v.revision for v in found] == [2, 2]


# ------------------------------------------------------------- through the bot, as patients do


@asynccontextmanager
async def bot_and_receiver(
    telegram: FakeTelegramServer, tmp_path: Path
) -> AsyncIterator[tuple[Harness, Receiver]]:
    """The bot on the fake Bot API, with a webhook for source ``acme`` (none for others) to
    a receiver that checks every signature, on the bot's clock."""
    async with running_receiver(FrozenClock(DEFAULT_NOW)) as receiver:
        hooks = {"acme": {"url": receiver.url("acme"), "secret": SECRET}}
        async with start_harness(telegram, tmp_path, now=DEFAULT_NOW, intake_webhooks=hooks) as h:
            receiver.clock = h.clock
            yield h, receiver


async def test_a_patients_taps_reach_the_clinic_signed_and_counted(
    telegram: FakeTelegramServer, tmp_path: Path
) -> None:
    async with bot_and_receiver(telegram, tmp_path) as (h, receiver):
        await book_linked(h, "EHR-77")
        await run_at(h, START_BOOKED - timedelta(days=2))
        coming = last_button(telegram, PAT, "I'll be there")
        reschedule = last_button(telegram, PAT, "I need to reschedule")
        await h.press(PAT, coming)
        await h.press(PAT, coming)  # a second tap: no second event
        await receiver.wait_for(1)
        await h.press(PAT, reschedule)
        await receiver.wait_for(2)
        await h.tap(PAT, "I can come after all")
        await receiver.wait_for(3)
        await run_at(h, START_BOOKED + timedelta(days=1))
        await h.send(PAT, "not great, dizzy and sad")
        await receiver.wait_for(4)
        await h.feed(updates.my_chat_member_update(PAT, new_status="kicked"))
        await receiver.wait_for(5)
        await asyncio.sleep(0.05)  # the outcome of the last POST is written
        assert await refresh_gauges(h.app)
        exposition = h.app.metrics.exposition().decode()
    events = receiver.events("acme")
    assert [(e["type"], e["data"]) for e in events] == [
        ("visit.confirmed", {}),
        ("visit.reschedule_requested", {}),
        ("visit.confirmed", {}),
        ("visit.checkin", {"answer": "typed"}),
        ("patient.unreachable", {"reason": "blocked"}),
    ]
    assert {e["external_id"] for e in events} == {"EHR-77"}
    assert all(r.signed_at is not None for r in receiver.received)
    bodies = b"".join(r.body for r in receiver.received)
    assert b"dizzy" not in bodies and str(PAT).encode() not in bodies
    assert 'companion_intake_events_total{outcome="sent",source="acme"} 5.0' in exposition
    assert "companion_intake_events_pending 0.0" in exposition


PAT = 1001
START_BOOKED = datetime(2026, 12, 3, 19, 30, tzinfo=UTC)  # "12/3 2:30pm" in New York


async def book(h: Harness) -> None:
    await h.consent(PAT)
    await h.command(PAT, "appointment")
    await h.send(PAT, "12/3 2:30pm")
    await h.tap(PAT, "Confirm")


async def book_linked(h: Harness, external_id: str, source: str = "acme") -> int:
    """The patient books December 3 at 2:30 PM, then it is linked to a visit of `source`'s
    schedule: the appointment's id."""
    await book(h)
    [appointment] = await dbcheck.appointments(h, PAT)
    await link(h, appointment.id, external_id, source)
    return appointment.id


async def link(h: Harness, appointment_id: int, external_id: str, source: str = "acme") -> None:
    """What the intake service does when the patient's visits are linked (the row only)."""
    now = h.clock.now()
    async with h.app.context.session_factory() as session, session.begin():
        session.add(
            IntakeVisit(
                source=source,
                external_id=external_id,
                patient_key="k" * 64,
                starts_at=START_BOOKED,
                timezone=ZONE,
                visit_type="infusion",
                status="booked",
                appointment_id=appointment_id,
                created_at=now,
                updated_at=now,
            )
        )


async def run_at(h: Harness, when: datetime) -> None:
    h.clock.set(when)
    await h.app.reminders.run_due()


async def test_the_intake_linker_records_visit_linked_in_its_transaction(rig: Rig) -> None:
    """The intake service's linking (bot/services/intake.py IntakeLinker.attach) is wired to
    the recorder through the service container."""
    services = rig.services()
    now = rig.clock.now()
    async with services.transaction() as svc:
        patient = await svc.repo.add_patient(
            telegram_id=1001, chat_id=1001, language="en", timezone=ZONE, now=now
        )
        visit = IntakeVisit(
            source="acme",
            external_id="EHR-5",
            patient_key="k" * 64,
            starts_at=START,
            timezone=ZONE,
            visit_type="infusion",
            status="booked",
            created_at=now,
            updated_at=now,
        )
        svc.session.add(visit)
        await svc.session.flush()
        appointment = await svc.intake_linker.attach(visit, patient, tell=False)
        assert appointment is not None
    delivery = rig.delivery()
    assert await delivery.deliver_due() == 1
    [event] = rig.receiver.events("acme")
    assert (event["type"], event["external_id"]) == ("visit.linked", "EHR-5")


# ------------------------------------------------- a patient moving or cancelling, in the bot

MOVED_TO = datetime(2026, 12, 17, 14, 0, tzinfo=UTC)  # "12/17 9am" in New York


async def offer_move(h: Harness, visit: str, typed: str) -> str:
    """The patient asks to move the visit whose button reads `visit` to `typed`: the data of
    the offer's Confirm button."""
    await h.command(PAT, "appointment")
    await h.tap(PAT, visit)
    await h.tap(PAT, "Change time")
    [reading] = await h.send(PAT, typed)
    assert "I read this as" in reading, reading
    return h.button(PAT, "Confirm")


async def offer_cancel(h: Harness, visit: str) -> str:
    """The patient asks to cancel the visit whose button reads `visit`: the data of "Yes,
    cancel it"."""
    await h.command(PAT, "appointment")
    await h.tap(PAT, visit)
    await h.tap(PAT, "Cancel visit")
    return h.button(PAT, "Yes, cancel it")


async def event_rows(h: Harness) -> list[IntakeEvent]:
    async with h.app.context.session_factory() as session:
        result = await session.execute(select(IntakeEvent).order_by(IntakeEvent.id))
        return list(result.scalars())


def exact_body(event_id: str, kind: str, occurred_at: str, revision: int, data: str) -> bytes:
    return (
        f'{{"id":"{event_id}","type":"{kind}","occurred_at":"{occurred_at}",'
        f'"source":"acme","external_id":"EHR-77","revision":{revision},"data":{data}}}'
    ).encode()


async def test_a_patient_moving_then_cancelling_a_linked_visit_tells_the_clinic_once_each(
    telegram: FakeTelegramServer, tmp_path: Path
) -> None:
    async with bot_and_receiver(telegram, tmp_path) as (h, receiver):
        await book_linked(h, "EHR-77")
        # "Moved" to the time it has: nothing moved, nothing told.
        await h.press(PAT, await offer_move(h, "Dec 3", "12/3 2:30pm"))
        assert await event_rows(h) == []
        # Moved: told once; a second tap of the same Confirm tells nothing more.
        confirm = await offer_move(h, "Dec 3", "12/17 9am")
        [moved] = await h.press(PAT, confirm)
        assert "has moved to" in moved
        await h.press(PAT, confirm)
        [visit] = await dbcheck.appointments(h, PAT)
        assert visit.starts_at == MOVED_TO
        await receiver.wait_for(1)  # kicked once the move committed
        # Cancelled: told once; a second "Yes, cancel it" tells nothing more.
        h.clock.advance(timedelta(minutes=5))
        yes = await offer_cancel(h, "Dec 17")
        [cancelled] = await h.press(PAT, yes)
        assert "Cancelled" in cancelled
        await h.press(PAT, yes)
        await receiver.wait_for(2)
        await asyncio.sleep(0.05)  # the outcome of the last POST is written
        rows = await event_rows(h)
    assert [(r.event_type, r.status) for r in rows] == [
        ("visit.moved", "sent"),
        ("visit.cancelled", "sent"),
    ]
    move, cancel = receiver.received
    assert [move.headers[EVENT_HEADER], cancel.headers[EVENT_HEADER]] == [
        "visit.moved",
        "visit.cancelled",
    ]
    assert move.body == exact_body(
        move.event["id"],
        "visit.moved",
        "2026-11-23T15:00:00Z",
        2,
        '{"start":"2026-12-17T14:00:00Z","zone":"America/New_York"}',
    )
    assert cancel.body == exact_body(
        cancel.event["id"], "visit.cancelled", "2026-11-23T15:05:00Z", 3, "{}"
    )
    assert len(move.event["id"]) == 32 and move.event["id"] != cancel.event["id"]
    assert move.body == rows[0].body.encode() and cancel.body == rows[1].body.encode()
    assert all(r.signed_at is not None for r in receiver.received)


async def test_a_self_booked_visit_or_one_of_a_source_without_a_webhook_tells_nobody(
    telegram: FakeTelegramServer, tmp_path: Path
) -> None:
    async with bot_and_receiver(telegram, tmp_path) as (h, receiver):
        await book_linked(h, "G-1", source="gamma")  # December 3; gamma has no webhook
        await h.command(PAT, "appointment")
        await h.tap(PAT, "Add an appointment")
        await h.send(PAT, "12/10 9am")  # the patient's own
        await h.tap(PAT, "Confirm")
        changes = [("Dec 3", "12/4 9am", "Dec 4"), ("Dec 10", "12/11 9am", "Dec 11")]
        for visit, typed, moved_to in changes:
            [moved] = await h.press(PAT, await offer_move(h, visit, typed))
            assert "has moved to" in moved
            [cancelled] = await h.press(PAT, await offer_cancel(h, moved_to))
            assert "Cancelled" in cancelled
        assert [a.status for a in await dbcheck.appointments(h, PAT)] == ["cancelled"] * 2
        assert await event_rows(h) == []
    assert receiver.received == []


async def clinic_moves(h: Harness, appointment_id: int, to: datetime) -> None:
    """The clinic moves the visit (its schedule's import, or staff), as every change is."""
    async with h.app.context.session_factory() as session, session.begin():
        visit = await session.get(Appointment, appointment_id)
        assert visit is not None
        assert await change_scheduled_visit(session, visit, h.clock.now(), starts_at=to)


async def test_a_change_refused_because_the_clinic_changed_the_visit_tells_nothing(
    telegram: FakeTelegramServer, tmp_path: Path
) -> None:
    async with bot_and_receiver(telegram, tmp_path) as (h, receiver):
        appointment_id = await book_linked(h, "EHR-77")
        # The patient asks to cancel; meanwhile the clinic moves the visit: not cancelled.
        yes = await offer_cancel(h, "Dec 3")
        await clinic_moves(h, appointment_id, START_BOOKED + timedelta(hours=1))
        [refused] = await h.press(PAT, yes)
        assert "Cancelled" not in refused
        # The patient asks to move it; meanwhile the clinic moves it again: not moved.
        confirm = await offer_move(h, "Dec 3", "12/17 9am")
        clinic_time = START_BOOKED + timedelta(hours=2)
        await clinic_moves(h, appointment_id, clinic_time)
        [refused] = await h.press(PAT, confirm)
        assert "has moved to" not in refused
        [still] = await dbcheck.appointments(h, PAT)
        assert (still.status, still.starts_at) == ("scheduled", clinic_time)
        assert await event_rows(h) == []
    assert receiver.received == []


async def test_the_appointment_service_records_each_change_once_through_the_container(
    rig: Rig,
) -> None:
    """Wired through the service container as the reminders' service is: a second change
    reaching the service with the version the first saw (a racing second tap) records nothing,
    nor does one of a visit already cancelled; the kick waits for the commit."""
    services = rig.services()
    patient_id, visit = await rig.visit("A-1")
    proposal = VisitTime(START + timedelta(days=1), "Europe/Madrid")
    for _ in range(2):
        async with services.transaction() as svc:
            patient = await svc.repo.patient_by_id(patient_id)
            assert patient is not None
            moved = await svc.appointments.confirm(patient, proposal, visit, 1)
            assert moved.starts_at == proposal.starts_at
            kicks = len(svc.after_commit)
    assert kicks == 0  # the second: nothing recorded, nothing to kick
    for _ in range(2):
        async with services.transaction() as svc:
            patient = await svc.repo.patient_by_id(patient_id)
            assert patient is not None
            await svc.appointments.cancel(patient, visit, 2)
    rows = await rig.rows()
    assert [r.event_type for r in rows] == ["visit.moved", "visit.cancelled"]
    assert '"data":{"start":"2026-11-27T15:00:00Z","zone":"Europe/Madrid"}' in rows[0].body
    assert rows[1].body.endswith('"external_id":"A-1","revision":3,"data":{}}')
