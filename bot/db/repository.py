"""The one way the application reaches the database.

Each method is a small, portable query. The caller owns the transaction: a unit of work (one
Telegram update, one CLI command) commits once at the end or rolls back as a whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Appointment, ConversationState, Patient

SCHEDULED = "scheduled"
CANCELLED = "cancelled"


class Repository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- patients -------------------------------------------------------------------------
    async def patient_by_telegram_id(self, telegram_id: int) -> Patient | None:
        result = await self.session.execute(
            select(Patient).where(Patient.telegram_id == telegram_id)
        )
        return result.scalar_one_or_none()

    async def patient_by_id(self, patient_id: int) -> Patient | None:
        return await self.session.get(Patient, patient_id)

    async def add_patient(
        self, *, telegram_id: int, chat_id: int, language: str, timezone: str, now: datetime
    ) -> Patient:
        patient = Patient(
            telegram_id=telegram_id,
            chat_id=chat_id,
            language=language,
            timezone=timezone,
            reachable=True,
            created_at=now,
        )
        self.session.add(patient)
        await self.session.flush()
        return patient

    async def set_reachable_by_telegram_id(self, telegram_id: int, reachable: bool) -> bool:
        result = await self.session.execute(
            update(Patient).where(Patient.telegram_id == telegram_id).values(reachable=reachable)
        )
        return bool(result.rowcount)

    async def delete_patient_everything(self, telegram_id: int) -> bool:
        """Remove the patient, their appointments and any conversation state. Explicit deletes
        (not only ON DELETE CASCADE) so the result does not depend on the database's FK mode."""
        patient = await self.patient_by_telegram_id(telegram_id)
        await self.session.execute(
            delete(ConversationState).where(ConversationState.user_id == telegram_id)
        )
        if patient is None:
            return False
        await self.session.execute(delete(Appointment).where(Appointment.patient_id == patient.id))
        await self.session.execute(delete(Patient).where(Patient.id == patient.id))
        self.session.expunge(patient)
        return True

    # --- appointments ---------------------------------------------------------------------
    async def add_appointment(
        self, *, patient_id: int, starts_at: datetime, timezone: str, now: datetime
    ) -> Appointment:
        appointment = Appointment(
            patient_id=patient_id,
            starts_at=starts_at,
            timezone=timezone,
            status=SCHEDULED,
            created_at=now,
            updated_at=now,
        )
        self.session.add(appointment)
        await self.session.flush()
        return appointment

    async def appointment_for_patient(
        self, appointment_id: int, patient_id: int
    ) -> Appointment | None:
        """Only ever returns an appointment owned by `patient_id`: forged ids find nothing."""
        result = await self.session.execute(
            select(Appointment).where(
                Appointment.id == appointment_id, Appointment.patient_id == patient_id
            )
        )
        return result.scalar_one_or_none()

    async def upcoming_appointments(
        self, patient_id: int, after: datetime, limit: int = 50
    ) -> Sequence[Appointment]:
        result = await self.session.execute(
            select(Appointment)
            .where(
                Appointment.patient_id == patient_id,
                Appointment.status == SCHEDULED,
                Appointment.starts_at > after,
            )
            .order_by(Appointment.starts_at, Appointment.id)
            .limit(limit)
        )
        return result.scalars().all()

    async def count_upcoming(self, patient_id: int, after: datetime) -> int:
        result = await self.session.execute(
            select(func.count())
            .select_from(Appointment)
            .where(
                Appointment.patient_id == patient_id,
                Appointment.status == SCHEDULED,
                Appointment.starts_at > after,
            )
        )
        return int(result.scalar_one())

    async def appointment_at(
        self, patient_id: int, starts_at: datetime, exclude_id: int | None = None
    ) -> Appointment | None:
        query = select(Appointment).where(
            Appointment.patient_id == patient_id,
            Appointment.status == SCHEDULED,
            Appointment.starts_at == starts_at,
        )
        if exclude_id is not None:
            query = query.where(Appointment.id != exclude_id)
        result = await self.session.execute(query.limit(1))
        return result.scalar_one_or_none()

    # --- conversation state (aiogram FSM) -------------------------------------------------
    async def conversation_state(self, storage_key: str) -> ConversationState | None:
        result = await self.session.execute(
            select(ConversationState).where(ConversationState.storage_key == storage_key)
        )
        return result.scalar_one_or_none()

    async def save_conversation_state(
        self,
        *,
        storage_key: str,
        user_id: int,
        now: datetime,
        state: str | None = None,
        data: str | None = None,
        set_state: bool = False,
        set_data: bool = False,
    ) -> None:
        row = await self.conversation_state(storage_key)
        if row is None:
            row = ConversationState(storage_key=storage_key, user_id=user_id, data="{}")
            self.session.add(row)
        if set_state:
            row.state = state
        if set_data:
            row.data = data if data is not None else "{}"
        row.updated_at = now
        if row.state is None and row.data == "{}":
            if row in self.session.new:
                self.session.expunge(row)
            else:
                await self.session.delete(row)
        await self.session.flush()
