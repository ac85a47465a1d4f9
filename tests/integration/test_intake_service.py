"""The intake command (bot/services/intake.py) over a real database, SQLite and PostgreSQL
(``TEST_DATABASE=postgres`` runs PostgreSQL alone): idempotent rows, invites made once per
patient and reused, linking once on redemption (every visit attaches, later ones at once and
the patient told), moves that re-plan without resending, cancels that stop reminders and tell
the patient through the outbox, row errors, the API's methods, and forget."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.db.models import (
    Appointment,
    IntakePatient,
    IntakeVisit,
    Invite,
    Reminder,
    StaffAlert,
)
from bot.domain.audit import Actor, Surface
from bot.domain.visits import AppointmentStatus
from bot.intake.rows import IntakeRow, RawRow, RowError, RowErrorCode, build_row
from bot.services.errors import NotAllowed
from bot.services.intake import IntakeUnavailable, RowResult
from bot.services.invites import Expired, Linked
from bot.services.patient_notices import VISIT_ADDED, VISIT_CANCELLED, VISIT_MOVED
from foundation.clock import FrozenClock
from scheduler.queue import QueueStatus
from tests.integration.pg import DATABASE_KINDS
from tests.integration.staff_rig import ENV_ADMIN, Clinic, clinic_on, patient_of

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # Monday 10:00 in New York
SECRET = "k" * 40
SETTINGS: dict[str, Any] = {
    "intake_patient_key": SECRET,
    "intake_statuses": {"acme": {"Scheduled": "booked", "Canceled": "cancelled"}},
    "intake_visit_types": {"acme": {"KET-IV": "infusion", "Spravato": "esketamine"}},
}
CLI = Surface.CLI
PAT = 7001


@pytest.fixture(params=DATABASE_KINDS)
async def clinic(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Clinic]:
    async with clinic_on(request.param, tmp_path, FrozenClock(NOW), **SETTINGS) as c:
        yield c


def raw(
    external_id: str,
    patient: str,
    start: str | None = "2026-11-25 09:30",
    *,
    visit_type: str = "infusion",
    status: str = "booked",
    label: str | None = None,
) -> RawRow:
    return RawRow(
        source="acme",
        external_id=external_id,
        patient=patient,
        visit_type=visit_type,
        status=status,
        start=start,
        label=label,
    )


async def rows(clinic: Clinic, *raws: RawRow) -> list[IntakeRow | RowError]:
    async with clinic.unit() as u:
        rules, keyer = u.intake.rules, u.intake.keyer
    return [build_row(r, rules, keyer, line=n) for n, r in enumerate(raws, start=2)]


async def apply(clinic: Clinic, *raws: RawRow) -> list[RowResult]:
    built = await rows(clinic, *raws)
    async with clinic.unit() as u:
        report = await u.intake.apply(built, CLI)
    return [o.result for o in report.outcomes]


async def all_of(clinic: Clinic, model: type) -> list[Any]:
    async with clinic.sessions() as session:
        return list((await session.execute(select(model))).scalars())


TOMORROW = [
    raw("A-1", "MRN-1", "2026-11-25 09:30", label="Chair 1"),
    raw("A-2", "MRN-1", "2026-12-02 09:30", visit_type="Spravato"),
    raw("A-3", "MRN-2", "2026-11-25T14:00:00-05:00", visit_type="consultation"),
]


async def test_first_import_makes_one_invite_per_patient_and_again_changes_nothing(
    clinic: Clinic,
) -> None:
    built = await rows(clinic, *TOMORROW)
    async with clinic.unit() as u:
        preview = await u.intake.preview(built)
    assert [o.result for o in preview.outcomes] == [RowResult.CREATED] * 3
    assert preview.new_links == 2 and not preview.applied
    assert await all_of(clinic, IntakeVisit) == [] and await all_of(clinic, Invite) == []

    async with clinic.unit() as u:
        report = await u.intake.apply(built, CLI)
    assert [o.result for o in report.outcomes] == [RowResult.CREATED] * 3
    invites = report.invites
    assert len(invites) == 2 and report.new_links == 2
    by_ids = {i.external_ids: i for i in invites}
    assert set(by_ids) == {("A-1", "A-2"), ("A-3",)}
    assert by_ids[("A-1", "A-2")].link("ClinicBot").startswith("https://t.me/ClinicBot?start=")
    assert by_ids[("A-1", "A-2")].label == "Chair 1"
    stored = {i.patient_key: i for i in await all_of(clinic, Invite)}
    assert len(stored) == 2 and all(i.used_at is None for i in stored.values())
    assert "MRN-1" not in repr(stored) and all(len(k) == 64 for k in stored)
    visits = {v.external_id: v for v in await all_of(clinic, IntakeVisit)}
    assert visits["A-2"].visit_type == "esketamine" and visits["A-3"].visit_type == "consultation"
    assert visits["A-1"].invite_id == visits["A-2"].invite_id != visits["A-3"].invite_id
    assert len(await all_of(clinic, IntakePatient)) == 2
    assert await all_of(clinic, Appointment) == []

    # The same file again: nothing changes, no new link (the first ones are still unopened).
    assert await apply(clinic, *TOMORROW) == [RowResult.UNCHANGED] * 3
    built = await rows(clinic, *TOMORROW)
    async with clinic.unit() as u:
        again = await u.intake.apply(built, CLI)
    assert again.invites == () and again.new_links == 0
    assert all(o.invite_pending for o in again.outcomes)
    assert len(await all_of(clinic, Invite)) == 2
    assert [v.revision for v in await all_of(clinic, IntakeVisit)] == [1, 1, 1]


async def test_unknown_type_or_status_is_an_error_for_that_row_only(clinic: Clinic) -> None:
    built = await rows(
        clinic,
        raw("B-1", "MRN-1", visit_type="massage"),
        raw("B-2", "MRN-1", status="maybe"),
        raw("B-3", "MRN-1", status="Scheduled", visit_type="KET-IV"),
    )
    async with clinic.unit() as u:
        report = await u.intake.apply(built, CLI)
    results = [(o.result, o.error.code if o.error else None) for o in report.outcomes]
    assert results == [
        (RowResult.ERROR, RowErrorCode.UNKNOWN_VISIT_TYPE),
        (RowResult.ERROR, RowErrorCode.UNKNOWN_STATUS),
        (RowResult.CREATED, None),
    ]
    assert [v.external_id for v in await all_of(clinic, IntakeVisit)] == ["B-3"]


async def link(clinic: Clinic, code: str, telegram_id: int = PAT) -> Linked | Expired:
    await clinic.add_patient(telegram_id)
    async with clinic.unit() as u:
        result = await u.invites.redeem(code, await patient_of(u, telegram_id))
    assert isinstance(result, Linked | Expired)
    return result


async def imported_and_linked(clinic: Clinic) -> None:
    built = await rows(clinic, *TOMORROW)
    async with clinic.unit() as u:
        report = await u.intake.apply(built, CLI)
    [first] = [i for i in report.invites if "A-1" in i.external_ids]
    result = await link(clinic, first.code)
    assert isinstance(result, Linked)
    assert result.starts_at == datetime(2026, 11, 25, 14, 30, tzinfo=UTC)


async def test_opening_the_link_attaches_every_visit_and_later_ones_at_once(
    clinic: Clinic,
) -> None:
    await imported_and_linked(clinic)
    appointments = sorted(await all_of(clinic, Appointment), key=lambda a: a.starts_at)
    assert [(a.visit_type, a.status) for a in appointments] == [
        ("infusion", "scheduled"),
        ("esketamine", "scheduled"),
    ]
    [linked] = [p for p in await all_of(clinic, IntakePatient) if p.patient_id is not None]
    visits = {v.external_id: v for v in await all_of(clinic, IntakeVisit)}
    assert {visits["A-1"].appointment_id, visits["A-2"].appointment_id} == {
        a.id for a in appointments
    }
    assert visits["A-3"].appointment_id is None  # another patient's
    assert await all_of(clinic, Reminder)  # planned as every visit is
    # Staff see imported visits by the schedule's label, else the clinic's appointment id.
    async with clinic.unit() as u:
        first = await u.roster.day(Actor(ENV_ADMIN), date(2026, 11, 25))
        second = await u.roster.day(Actor(ENV_ADMIN), date(2026, 12, 2))
    assert [(e.kind, e.label) for e in first.entries if e.kind == "visit"] == [("visit", "Chair 1")]
    assert [e.label for e in second.entries] == ["A-2"]

    # A later visit of the same patient attaches without a link, and the patient is told.
    built = await rows(clinic, raw("A-4", "MRN-1", "2026-12-09 11:00"))
    async with clinic.unit() as u:
        report = await u.intake.apply(built, CLI)
    [outcome] = report.outcomes
    assert outcome.result is RowResult.CREATED and outcome.linked and outcome.invite is None
    assert report.invites == ()
    notices = [a for a in await all_of(clinic, StaffAlert) if a.kind == VISIT_ADDED]
    assert len(notices) == 1 and notices[0].patient_id == linked.patient_id
    assert len(await all_of(clinic, Appointment)) == 3
    assert len(await all_of(clinic, Invite)) == 2


async def test_a_move_replans_without_resending_and_a_cancel_stops_reminders(
    clinic: Clinic,
) -> None:
    await imported_and_linked(clinic)
    visits = {v.external_id: v for v in await all_of(clinic, IntakeVisit)}
    appointment_id = visits["A-1"].appointment_id
    async with clinic.sessions() as session:
        rows_ = list(
            (
                await session.execute(
                    select(Reminder).where(Reminder.appointment_id == appointment_id)
                )
            ).scalars()
        )
        sent = rows_[0]
        sent.status, sent.sent_at = QueueStatus.SENT, NOW
        sent_key = sent.step_key
        await session.commit()

    moved = [raw("A-1", "MRN-1", "2026-11-26 10:00", label="Chair 1"), *TOMORROW[1:]]
    assert await apply(clinic, *moved) == [
        RowResult.MOVED,
        RowResult.UNCHANGED,
        RowResult.UNCHANGED,
    ]
    async with clinic.sessions() as session:
        appointment = await session.get(Appointment, appointment_id)
        assert appointment is not None
        assert appointment.starts_at == datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
        assert appointment.version == 2 and appointment.visit_type == "infusion"
        kept = (
            await session.execute(
                select(Reminder).where(
                    Reminder.appointment_id == appointment_id, Reminder.step_key == sent_key
                )
            )
        ).scalar_one()
        assert kept.status == QueueStatus.SENT
    assert len([a for a in await all_of(clinic, StaffAlert) if a.kind == VISIT_MOVED]) == 1
    assert await apply(clinic, *moved) == [RowResult.UNCHANGED] * 3  # idempotent

    # The type changes: the appointment gets the row's type.
    retyped = [moved[0], raw("A-2", "MRN-1", "2026-12-02 09:30", visit_type="consultation")]
    assert await apply(clinic, *retyped) == [RowResult.UNCHANGED, RowResult.UPDATED]
    visits = {v.external_id: v for v in await all_of(clinic, IntakeVisit)}
    async with clinic.sessions() as session:
        second = await session.get(Appointment, visits["A-2"].appointment_id)
        assert second is not None and second.visit_type == "consultation"

    cancelled = [raw("A-1", "MRN-1", None, status="Canceled", label="Chair 1")]
    assert await apply(clinic, *cancelled) == [RowResult.CANCELLED]
    assert await apply(clinic, *cancelled) == [RowResult.UNCHANGED]
    async with clinic.sessions() as session:
        appointment = await session.get(Appointment, appointment_id)
        assert appointment is not None and appointment.status == AppointmentStatus.CANCELLED
        statuses = {
            r.status
            for r in (
                await session.execute(
                    select(Reminder).where(Reminder.appointment_id == appointment_id)
                )
            ).scalars()
        }
        assert QueueStatus.PENDING not in statuses
    assert len([a for a in await all_of(clinic, StaffAlert) if a.kind == VISIT_CANCELLED]) == 1

    # Booked again: a new appointment, and the patient is told.
    assert await apply(clinic, raw("A-1", "MRN-1", "2026-11-27 10:00", label="Chair 1")) == [
        RowResult.CREATED
    ]
    assert len([a for a in await all_of(clinic, StaffAlert) if a.kind == VISIT_ADDED]) == 1


async def test_put_cancel_state_and_visits_on_are_the_apis_names(clinic: Clinic) -> None:
    [row] = await rows(clinic, raw("C-1", "MRN-9", "2026-11-25 09:30"))
    assert isinstance(row, IntakeRow)
    async with clinic.unit() as u:
        outcome = await u.intake.put(row, Actor(0, Surface.API))
    assert outcome.result is RowResult.CREATED and outcome.invite is not None
    assert outcome.state is not None and outcome.state.zone_assumed
    assert outcome.state.linked is False and outcome.state.reminders.pending == 0
    async with clinic.unit() as u:
        again = await u.intake.put(row, Actor(0, Surface.API))
        state = await u.intake.state("acme", "C-1")
        day = await u.intake.visits_on("acme", date(2026, 11, 25))
        other_day = await u.intake.visits_on("acme", date(2026, 11, 26))
        missing = await u.intake.state("acme", "nope")
    assert again.result is RowResult.UNCHANGED and again.invite is None
    assert state is not None and state.start == datetime(2026, 11, 25, 14, 30, tzinfo=UTC)
    assert state.visit_type == "infusion" and state.status == "booked"
    assert [s.external_id for s in day] == ["C-1"] and other_day == [] and missing is None

    result = await link(clinic, outcome.invite.code)
    assert isinstance(result, Linked)
    async with clinic.unit() as u:
        state = await u.intake.state("acme", "C-1")
        assert state is not None and state.linked and state.reminders.pending > 0
        cancelled = await u.intake.cancel("acme", "C-1", Actor(0, Surface.API))
        unknown = await u.intake.cancel("acme", "nope", Actor(0, Surface.API))
    assert cancelled.result is RowResult.CANCELLED
    assert cancelled.state is not None and cancelled.state.status == "cancelled"
    assert cancelled.state.reminders.pending == 0
    assert unknown.result is RowResult.NOT_FOUND


async def test_staff_in_telegram_need_the_permission(clinic: Clinic) -> None:
    built = await rows(clinic, raw("D-1", "MRN-1"))
    with pytest.raises(NotAllowed):
        async with clinic.unit() as u:
            await u.intake.apply(built, Actor(PAT, Surface.TELEGRAM))
    assert await all_of(clinic, IntakeVisit) == []


async def test_a_link_whose_visits_are_gone_cannot_be_used(clinic: Clinic) -> None:
    built = await rows(clinic, raw("E-1", "MRN-5"))
    async with clinic.unit() as u:
        [invite] = (await u.intake.apply(built, CLI)).invites
    assert await apply(clinic, raw("E-1", "MRN-5", None, status="cancelled")) == [
        RowResult.CANCELLED
    ]
    assert isinstance(await link(clinic, invite.code), Expired)
    [stored] = await all_of(clinic, Invite)
    assert stored.used_at is None
    assert all(p.patient_id is None for p in await all_of(clinic, IntakePatient))


async def test_forget_removes_the_link_and_the_appointments(clinic: Clinic) -> None:
    await imported_and_linked(clinic)
    async with clinic.unit() as u:
        await u.patients.forget(PAT)
    assert await all_of(clinic, Appointment) == []
    patients = await all_of(clinic, IntakePatient)
    assert len(patients) == 1 and patients[0].patient_id is None  # MRN-2's, never linked
    visits = {v.external_id: v for v in await all_of(clinic, IntakeVisit)}
    assert visits["A-1"].appointment_id is None and visits["A-1"].invite_id is None
    # The next import of the schedule starts afresh: a new link for the patient.
    built = await rows(clinic, *TOMORROW)
    async with clinic.unit() as u:
        report = await u.intake.apply(built, CLI)
    assert [o.result for o in report.outcomes] == [RowResult.UNCHANGED] * 3
    assert [i.external_ids for i in report.invites] == [("A-1", "A-2")]


async def test_without_the_secret_intake_is_refused_in_one_line(tmp_path: Path) -> None:
    async with clinic_on("sqlite", tmp_path, FrozenClock(NOW)) as clinic, clinic.unit() as u:
        with pytest.raises(IntakeUnavailable) as refused:
            await u.intake.preview([])
    assert "INTAKE_PATIENT_KEY is not set" in refused.value.detail
    assert "\n" not in refused.value.detail


async def test_the_rules_and_keyer_are_built_once_not_per_unit_of_work(clinic: Clinic) -> None:
    async with clinic.unit() as first:
        rules, keyer = first.intake.rules, first.intake.keyer
    async with clinic.unit() as second:
        assert second.intake.rules is rules and second.intake.keyer is keyer
        assert second.intake is not first.intake  # a service per unit of work, as before


async def test_past_visits_are_kept_but_make_no_link(clinic: Clinic) -> None:
    past = (NOW - timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
    built = await rows(
        clinic, raw("F-1", "MRN-1", past, status="fulfilled"), raw("F-2", "MRN-1", past)
    )
    async with clinic.unit() as u:
        report = await u.intake.apply(built, CLI)
    assert [o.result for o in report.outcomes] == [RowResult.UPDATED, RowResult.CREATED]
    assert report.invites == ()


async def test_new_links_end_the_unopened_ones(clinic: Clinic) -> None:
    built = await rows(clinic, *TOMORROW)
    async with clinic.unit() as u:
        old = {i.patient_key: i for i in (await u.intake.apply(built, CLI)).invites}
    async with clinic.unit() as u:
        report = await u.intake.apply(built, CLI, new_links=True)
    assert [o.result for o in report.outcomes] == [RowResult.UNCHANGED] * 3
    new = {i.patient_key: i for i in report.invites}
    assert new.keys() == old.keys() and new[next(iter(new))].code != old[next(iter(old))].code
    assert isinstance(await link(clinic, old[next(iter(old))].code), Expired)
    assert isinstance(await link(clinic, new[next(iter(new))].code, PAT + 1), Linked)
