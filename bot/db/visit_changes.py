"""Queries of staff changing a visit (`appointments`): the visit with its patient and the label
of the invite it came through, and the change itself as a conditional UPDATE, so of two taps
racing to change one visit exactly one changes it (PostgreSQL re-checks the condition once the
other transaction committed; SQLite lets one writer in at a time)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.invites import visit_label
from bot.db.models import Appointment, Patient
from bot.db.statements import rows_matched
from bot.domain.visits import AppointmentStatus

__all__ = ["ClinicVisit", "VisitChangeRepository"]


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
        """Move the scheduled visit from the start it has in this session to `starts_at`;
        False when another transaction changed or cancelled it first. The patient's
        attendance answer was about the old time and is cleared."""
        return await self._change(
            appointment,
            Appointment.starts_at == appointment.starts_at,
            starts_at=starts_at,
            timezone=zone,
            attendance=None,
            updated_at=now,
        )

    async def cancel(self, appointment: Appointment, now: datetime) -> bool:
        """Cancel the visit if it is still scheduled; False when another transaction did."""
        return await self._change(appointment, status=AppointmentStatus.CANCELLED, updated_at=now)

    async def _change(
        self, appointment: Appointment, *where: ColumnElement[bool], **values: object
    ) -> bool:
        """Update the visit if it is still scheduled (and `where`); whether this did."""
        matched = await rows_matched(
            self.session,
            update(Appointment)
            .where(
                Appointment.id == appointment.id,
                Appointment.status == AppointmentStatus.SCHEDULED,
                *where,
            )
            .values(**values)
            .execution_options(synchronize_session="fetch"),
        )
        return matched == 1

    async def reload(self, appointment: Appointment) -> None:
        """Read the visit again (after a conditional UPDATE found it changed by another
        transaction, which has committed by then)."""
        await self.session.refresh(appointment)
