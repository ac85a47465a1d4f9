"""Retention: the nightly job deletes what is older than RETENTION_DAYS, in batches, harmless
when replicas run it at once; /forget stays immediate. Time is a FrozenClock."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.db.connection import wal_checkpoint
from bot.db.models import (
    Appointment,
    AuditEntry,
    ChecklistTick,
    Invite,
    Patient,
    Reminder,
    StaffAlert,
    StaffInvite,
)
from bot.runtime import RETENTION_JOB, schedule_retention
from bot.services.retention import RetentionService, Sweep
from bot.web.ops import health, refresh_gauges
from tests.conftest import DEFAULT_NOW
from tests.fake_telegram.server import FakeTelegramServer
from tests.integration.harness import Harness, start_harness
from tests.integration.pg import fresh_postgres_database

PATIENTS = [1001, 1002, 1003]
VISIT = datetime(2026, 12, 3, 19, 30, tzinfo=UTC)
LATER = VISIT + timedelta(days=181)  # the visit is 181 days old: past the default 180


async def count(h: Harness, model: type, *where: object) -> int:
    async with h.app.context.session_factory() as session:
        query = select(func.count()).select_from(model)
        for condition in where:
            query = query.where(condition)  # type: ignore[arg-type]
        return int((await session.execute(query)).scalar_one())


async def book(h: Harness, user: int, text: str = "12/3 2:30pm") -> None:
    await h.command(user, "appointment")
    await h.send(user, text)
    await h.tap(user, "Confirm")


async def old_history(h: Harness) -> None:
    """Three patients with the visit of December 3 (one ticked an item), a crisis alert sent
    to staff, a patient's invite, a team invite and an audit line with detail, all of then."""
    for user in PATIENTS:
        await h.consent(user)
        await book(h, user)
    await h.command(PATIENTS[0], "prepare")
    await h.tap(PATIENTS[0], "Ride")
    await h.send(PATIENTS[0], "I want to kill myself")
    await h.app.alerts.deliver_due()
    # Stopped: the outbox's own hourly purge (30 days) would otherwise race the job here.
    await h.app.alerts.stop(grace=1)
    now = h.clock.now()
    async with h.app.context.session_factory() as session:
        session.add_all(
            [
                Invite(
                    code_hash="a" * 64,
                    label="ZQ",
                    starts_at=VISIT,
                    timezone="America/New_York",
                    created_by=9001,
                    created_at=now,
                    expires_at=VISIT,
                ),
                StaffInvite(
                    code_hash="b" * 64,
                    role="staff",
                    created_by=9001,
                    created_at=now,
                    expires_at=now + timedelta(days=7),
                ),
                AuditEntry(
                    at=now,
                    actor_telegram_id=9001,
                    surface="telegram",
                    action="appointment_moved",
                    target="appointment:1",
                    before=json.dumps({"starts_at": VISIT.isoformat()}),
                    after=json.dumps({"starts_at": (VISIT + timedelta(hours=1)).isoformat()}),
                    outcome="done",
                ),
            ]
        )
        await session.commit()


OLD_HISTORY = {
    Sweep.APPOINTMENTS: 3,
    Sweep.INVITES: 1,
    Sweep.STAFF_INVITES: 1,
    Sweep.ALERTS: 1,
    Sweep.AUDIT_DETAIL: 1,
    Sweep.IDEMPOTENCY_KEYS: 0,
}
"""What retention deletes of `old_history`, by sweep."""


async def recent_audit_line(h: Harness) -> None:
    async with h.app.context.session_factory() as session:
        session.add(
            AuditEntry(
                at=h.clock.now(),
                actor_telegram_id=9001,
                surface="telegram",
                action="text_saved",
                target="en/welcome",
                before=None,
                after=json.dumps({"version": 2}),
                outcome="done",
            )
        )
        await session.commit()


def service(
    h: Harness, *, batch: int = 2, checkpoints: list[int] | None = None
) -> RetentionService:
    engine = h.app.db_engine

    async def checkpoint() -> None:
        if checkpoints is not None:
            checkpoints.append(1)
        await wal_checkpoint(engine)

    return RetentionService(
        h.app.context.session_factory,
        h.clock,
        days=h.settings.retention_days,
        batch=batch,
        checkpoint=checkpoint,
    )


async def test_old_visits_alerts_invites_and_audit_detail_go_recent_ones_stay(
    harness: Harness, tmp_path: Path
) -> None:
    h = harness
    await old_history(h)
    assert await count(h, Reminder) == 3 * 5
    assert await count(h, ChecklistTick) == 1
    h.clock.set(LATER)
    # Since then: patient 1002 booked again (tomorrow), staff saved a text.
    await book(h, PATIENTS[1], "tomorrow 10am")
    await recent_audit_line(h)
    checkpoints: list[int] = []
    done = await service(h, checkpoints=checkpoints).run()
    assert done == OLD_HISTORY
    # The old visits went with their reminders and ticks; the new one is whole.
    assert await count(h, Appointment) == 1
    assert await count(h, Appointment, Appointment.starts_at < LATER) == 0
    assert await count(h, Reminder) == await count(h, Reminder, Reminder.due_at > VISIT)
    assert await count(h, Reminder) > 0
    assert await count(h, ChecklistTick) == 0
    assert await count(h, Invite) == 0
    assert await count(h, StaffInvite) == 0
    assert await count(h, StaffAlert) == 0
    # Patients stay until /forget; audit lines stay, the old one without its detail.
    assert await count(h, Patient) == 3
    async with h.app.context.session_factory() as session:
        lines = (await session.execute(select(AuditEntry).order_by(AuditEntry.id))).scalars()
        audit = [(a.action, a.before, a.after) for a in lines]
    assert audit == [
        ("appointment_moved", None, None),
        ("text_saved", None, json.dumps({"version": 2})),
    ]
    # The deleted rows are not left readable in the write-ahead log.
    assert checkpoints == [1]
    wal = tmp_path / "companion.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0
    # Again: nothing more to do, no checkpoint needed.
    assert set((await service(h, checkpoints=checkpoints).run()).values()) == {0}
    assert checkpoints == [1]


async def test_nothing_younger_than_the_retention_is_touched(harness: Harness) -> None:
    h = harness
    await old_history(h)
    # 179 days after it was all written (the visit itself is later still): nothing is due.
    h.clock.advance(timedelta(days=179))
    assert set((await service(h).run()).values()) == {0}
    assert await count(h, Appointment) == 3
    assert await count(h, AuditEntry, AuditEntry.before.is_not(None)) == 1


async def test_two_replicas_running_it_at_once_delete_each_row_once(harness: Harness) -> None:
    h = harness
    await old_history(h)
    h.clock.set(LATER)
    first, second = await asyncio.gather(service(h, batch=1).run(), service(h, batch=1).run())
    # Between them, what one alone deletes: each row once.
    assert {sweep: first[sweep] + second[sweep] for sweep in Sweep} == OLD_HISTORY
    assert await count(h, Appointment) == 0
    assert await count(h, Reminder) == 0
    assert await count(h, StaffAlert) == 0
    assert await count(h, AuditEntry, AuditEntry.after.is_not(None)) == 0


async def test_the_runtime_schedules_it_at_half_past_three_in_the_clinics_zone(
    harness: Harness,
) -> None:
    h = harness
    await old_history(h)
    wakeup = h.app.wakeup
    wakeup.start()
    try:
        schedule_retention(h.app)
        job = wakeup.scheduler.get_job(RETENTION_JOB)
        assert job is not None
        # 23 November, 10:00 in New York: the next 03:30 EST is 08:30 UTC the day after.
        assert wakeup.planned(RETENTION_JOB) == datetime(2026, 11, 24, 8, 30, tzinfo=UTC)
        h.clock.set(LATER)  # APScheduler would call it then; the test calls it
        await job.func()
        assert await count(h, Appointment) == 0
        tomorrow = wakeup.planned(RETENTION_JOB)
        assert tomorrow is not None
        assert tomorrow > LATER
        assert tomorrow - LATER < timedelta(days=1)
    finally:
        await wakeup.shutdown(grace=1)


async def test_retention_and_the_ops_reads_on_postgres(
    telegram: FakeTelegramServer, tmp_path: Path
) -> None:
    pytest.importorskip("asyncpg")
    async with (
        fresh_postgres_database("companion_retention") as url,
        start_harness(telegram, tmp_path, now=DEFAULT_NOW, database_url=url) as h,
    ):
        await old_history(h)
        # (unhealthy as a whole: the harness does not start the engine's scheduler)
        _, report = await health(h.app)
        assert report["checks"]["database"] == {"ok": True}
        assert await refresh_gauges(h.app)
        h.clock.set(LATER)
        first, second = await asyncio.gather(service(h).run(), service(h, batch=1).run())
        assert {sweep: first[sweep] + second[sweep] for sweep in Sweep} == OLD_HISTORY
        assert await count(h, Appointment) == 0
        assert await count(h, Reminder) == 0
        assert await count(h, Invite) == 0
        assert await count(h, AuditEntry, AuditEntry.before.is_not(None)) == 0
        assert await count(h, AuditEntry) == 1


async def test_a_visit_staff_moved_far_out_keeps_its_invite_and_label_until_it_is_old(
    harness: Harness,
) -> None:
    """Retention goes by when a visit is now, never by the date its invite was first made
    for: the roster keeps the label and the Move and Cancel buttons of the moved visit."""
    from tests.integration.test_staff_telegram import NURSE
    from tests.integration.test_visit_changes import OLD, linked_patient

    h = harness
    appointment = await linked_patient(h)
    await h.command(NURSE, "tomorrow")
    await h.tap(NURSE, "Move 10:00 AM J.D.")
    await h.send(NURSE, "2027-11-15 10:00")
    [moved] = await h.tap(NURSE, "Move it")
    assert "Moved" in moved
    moved_to = datetime(2027, 11, 15, 15, 0, tzinfo=UTC)
    h.clock.set(OLD + timedelta(days=181))  # the first date is past the retention, the visit not
    done = await service(h).run()
    assert done[Sweep.APPOINTMENTS] == 0
    assert done[Sweep.INVITES] == 0
    assert await count(h, Invite, Invite.appointment_id == appointment.id) == 1
    [roster] = await h.command(NURSE, "roster", "2027-11-15")
    assert "J.D." in roster
    labels = " ".join(t for t, _ in h.buttons(NURSE))
    assert "Move 10:00 AM J.D." in labels and "Cancel 10:00 AM J.D." in labels
    # Once the visit itself is older than the retention, it goes, its invite with it.
    h.clock.set(moved_to + timedelta(days=181))
    done = await service(h).run()
    assert done[Sweep.APPOINTMENTS] == 1
    assert await count(h, Invite) == 0
    assert await count(h, Appointment) == 0
