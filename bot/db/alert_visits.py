"""The visit an alert is about (`appointments`, with the label of the invite it came through):
found when the alert is queued, described when it is sent."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.invites import visit_label
from bot.db.models import Appointment
from bot.domain.visits import AppointmentStatus

__all__ = ["AlertVisitRepository", "VisitRow"]


@dataclass(frozen=True, slots=True)
class VisitRow:
    appointment_id: int
    starts_at: datetime
    label: str | None
    """The label staff gave the visit's invite; None for a visit the patient booked."""


class AlertVisitRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def first_scheduled_since(self, patient_id: int, since: datetime) -> int | None:
        """The patient's first scheduled visit starting at or after `since`."""
        result = await self.session.execute(
            select(Appointment.id)
            .where(
                Appointment.patient_id == patient_id,
                Appointment.status == AppointmentStatus.SCHEDULED,
                Appointment.starts_at >= since,
            )
            .order_by(Appointment.starts_at, Appointment.id)
            .limit(1)
        )
        return result.scalar_one_or_none()

    async def visits(self, appointment_ids: Collection[int]) -> dict[int, VisitRow]:
        """These visits (whatever their status) by id; one deleted meanwhile is absent."""
        if not appointment_ids:
            return {}
        result = await self.session.execute(
            select(Appointment.id, Appointment.starts_at, visit_label()).where(
                Appointment.id.in_(sorted(set(appointment_ids)))
            )
        )
        return {aid: VisitRow(aid, starts, label) for aid, starts, label in result}
