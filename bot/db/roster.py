"""The roster's queries: a day's visits with what staff need to see about each, and the invites
of that day nobody has opened yet. Two statements, whatever the number of visits (the label,
the checklist ticks and the reminder outcomes are correlated subqueries, not a query each)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, ScalarSelect, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from bot.db.invites import visit_label
from bot.db.models import Appointment, ChecklistTick, Invite, Patient, Reminder
from bot.domain.visits import AppointmentStatus
from scheduler.queue import QueueStatus

__all__ = ["OpenInviteRow", "RosterRepository", "VisitRow"]


@dataclass(frozen=True, slots=True)
class VisitRow:
    appointment_id: int
    patient_id: int
    starts_at: datetime
    label: str | None
    """The label of the invite the patient was linked through; None for a visit they booked."""
    attendance: str | None
    reachable: bool
    ticked: int
    """Checklist items of the plan ticked off (ticks of items the plan no longer has do not
    count)."""
    reminders_sent: int
    reminders_failed: int
    checkin: str | None
    """The answer to the day-after check-in (a Checkin), None while unanswered."""
    visit_type: str
    """The visit's type (its plan's checklist is the one counted)."""


@dataclass(frozen=True, slots=True)
class OpenInviteRow:
    invite_id: int
    starts_at: datetime
    label: str
    expires_at: datetime
    visit_type: str


def _count(
    appointment_id: InstrumentedAttribute[int], *where: ColumnElement[bool]
) -> ScalarSelect[int]:
    """How many rows of the table of `appointment_id` belong to the visit and match `where`."""
    return (
        select(func.count())
        .where(appointment_id == Appointment.id, *where)
        .correlate(Appointment)
        .scalar_subquery()
    )


class RosterRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def visits(
        self, start: datetime, end: datetime, checklist: Collection[str]
    ) -> list[VisitRow]:
        """Scheduled visits starting in [start, end), in order of start; `ticked` counts the
        ticks of items in `checklist` (every visit type's items: a visit is ticked only on
        its own type's)."""
        query = (
            select(
                Appointment.id,
                Appointment.patient_id,
                Appointment.starts_at,
                visit_label(),
                Appointment.attendance,
                Patient.reachable,
                _count(ChecklistTick.appointment_id, ChecklistTick.item.in_(list(checklist))),
                _count(Reminder.appointment_id, Reminder.status == QueueStatus.SENT),
                _count(Reminder.appointment_id, Reminder.status == QueueStatus.FAILED),
                Appointment.checkin,
                Appointment.visit_type,
            )
            .join(Patient, Patient.id == Appointment.patient_id)
            .where(
                Appointment.status == AppointmentStatus.SCHEDULED,
                Appointment.starts_at >= start,
                Appointment.starts_at < end,
            )
            .order_by(Appointment.starts_at, Appointment.id)
        )
        result = await self.session.execute(query)
        # Eleven columns: past the arity SQLAlchemy's typed rows spell out.
        return [VisitRow(*cast(tuple[Any, ...], row)) for row in result.all()]

    async def open_invites(self, start: datetime, end: datetime) -> list[OpenInviteRow]:
        """Invites to visits starting in [start, end) that nobody has opened yet."""
        result = await self.session.execute(
            select(Invite.id, Invite.starts_at, Invite.label, Invite.expires_at, Invite.visit_type)
            .where(Invite.used_at.is_(None), Invite.starts_at >= start, Invite.starts_at < end)
            .order_by(Invite.starts_at, Invite.id)
        )
        return [OpenInviteRow(*row) for row in result.all()]
