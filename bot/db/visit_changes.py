"""Queries of changing a visit (`appointments`): the visit with its patient and the label of
the invite it came through, and the change itself as a conditional UPDATE on the visit's
version, so of two changes of one visit made at once (two taps, or the patient's and a staff
member's) exactly one is made (PostgreSQL re-checks the condition once the other transaction
committed; SQLite lets one writer in at a time), and the other finds the visit changed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.invites import visit_label
from bot.db.models import Appointment, Patient
from bot.db.statements import rows_matched
from bot.domain.visits import AppointmentStatus

__all__ = ["ClinicVisit", "VisitChangeRepository", "change_scheduled_visit"]


@dataclass(frozen=True, slots=True)
class ClinicVisit:
    appointment: Appointment
    patient: Patient
    label: str | None
    """The label of the invite the visit came through; None for a visit the patient booked."""


class VisitChangeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def visit(self, appointment_id: int) -> ClinicVisit | None:
        """The visit, whatever its status, with its patient and invite label."""
        result = await self.session.execute(
            select(Appointment, Patient, visit_label())
            .join(Patient, Patient.id == Appointment.patient_id)
            .where(Appointment.id == appointment_id)
        )
        row = result.one_or_none()
        return ClinicVisit(*row) if row is not None else None

    async def move(
        self, appointment: Appointment, starts_at: datetime, zone: str, now: datetime
    ) -> bool:
        """Move the scheduled visit, if it is still the version read in this session, to
        `starts_at`; False when another transaction changed or cancelled it first. The
        patient's attendance answer was about the old time and is cleared."""
        return await change_scheduled_visit(
            self.session, appointment, now, starts_at=starts_at, timezone=zone, attendance=None
        )

    async def cancel(self, appointment: Appointment, now: datetime) -> bool:
        """Cancel the visit if it is still scheduled and unchanged; False otherwise."""
        return await change_scheduled_visit(
            self.session, appointment, now, status=AppointmentStatus.CANCELLED
        )

    async def reload(self, appointment: Appointment) -> None:
        """Read the visit again (after a conditional UPDATE found it changed by another
        transaction, which has committed by then)."""
        await self.session.refresh(appointment)


async def change_scheduled_visit(
    session: AsyncSession, appointment: Appointment, now: datetime, **values: object
) -> bool:
    """Write `values` to the visit if it is still scheduled and still at the version this
    session read (``appointment.version``), and count the change (version + 1); the
    session's object follows. False when another transaction changed it first: nothing is
    written (reload it to see what it is now)."""
    matched = await rows_matched(
        session,
        update(Appointment)
        .where(
            Appointment.id == appointment.id,
            Appointment.status == AppointmentStatus.SCHEDULED,
            Appointment.version == appointment.version,
        )
        .values(version=appointment.version + 1, updated_at=now, **values)
        .execution_options(synchronize_session="fetch"),
    )
    return matched == 1
