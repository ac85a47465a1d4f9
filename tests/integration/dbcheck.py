"""Direct looks into the test database, to assert what was (not) stored."""

from __future__ import annotations

from typing import Protocol

from aiogram.fsm.storage.base import StorageKey
from sqlalchemy import func, select

from bot.db.models import Appointment, ConversationState, Patient, Reminder
from bot.factory import Application


class Harness(Protocol):
    """Anything running the application: the polling harness, the webhook rig."""

    app: Application


async def count(harness: Harness, model: type, **where: object) -> int:
    async with harness.app.context.session_factory() as session:
        query = select(func.count()).select_from(model)
        for column, value in where.items():
            query = query.where(getattr(model, column) == value)
        return int((await session.execute(query)).scalar_one())


async def patient(harness: Harness, telegram_id: int) -> Patient | None:
    async with harness.app.context.session_factory() as session:
        result = await session.execute(select(Patient).where(Patient.telegram_id == telegram_id))
        return result.scalar_one_or_none()


async def appointments(harness: Harness, telegram_id: int) -> list[Appointment]:
    async with harness.app.context.session_factory() as session:
        result = await session.execute(
            select(Appointment)
            .join(Patient)
            .where(Patient.telegram_id == telegram_id)
            .order_by(Appointment.starts_at)
        )
        return list(result.scalars())


async def reminders(harness: Harness, appointment_id: int) -> dict[str, Reminder]:
    """An appointment's reminder rows by plan step."""
    async with harness.app.context.session_factory() as session:
        rows = await session.execute(
            select(Reminder).where(Reminder.appointment_id == appointment_id)
        )
        return {r.step_key: r for r in rows.scalars()}


__all__ = [
    "Appointment",
    "ConversationState",
    "Patient",
    "appointments",
    "count",
    "patient",
    "reminders",
]


async def fsm_state(harness: Harness, user_id: int) -> str | None:
    """The conversation state of a private chat, as the next update would read it."""
    key = StorageKey(bot_id=harness.app.bot.id, chat_id=user_id, user_id=user_id)
    return await harness.app.dispatcher.storage.get_state(key)
