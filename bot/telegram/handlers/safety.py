"""Crisis screening. Registered first, with no state filter, so it wins in every state."""

from __future__ import annotations

import logging
from typing import Any

from aiogram import Router
from aiogram.filters import Filter
from aiogram.types import Message

from bot.content.store import Content
from bot.db.models import Patient
from bot.services.safety import CrisisMatch
from bot.services.staff_alerts import StaffAlerts
from scheduler.clock import Clock

log = logging.getLogger(__name__)


class CrisisFilter(Filter):
    async def __call__(self, message: Message, content: Content) -> bool | dict[str, Any]:
        match = content.crisis_detector.check(message.text or message.caption)
        return {"crisis": match} if match else False


async def crisis(
    message: Message,
    crisis: CrisisMatch,
    content: Content,
    lang: str,
    patient: Patient | None,
    staff_alerts: StaffAlerts,
    clock: Clock,
) -> None:
    # Resources first: nothing (not even the staff alert) may delay them.
    await message.answer(
        content.render("crisis", lang, staff_notified=bool(staff_alerts.staff_ids))
    )
    log.warning("crisis screen matched (category=%s)", crisis.category)
    user = message.from_user
    if user is None:
        return
    await staff_alerts.crisis(
        patient_id=patient.id if patient else None,
        telegram_id=user.id,
        display_name=user.full_name,
        at=clock.now(),
    )


def create_router() -> Router:
    """A fresh router each call: aiogram attaches a router to one dispatcher only."""
    r = Router(name="safety")
    r.message.register(crisis, CrisisFilter())
    r.edited_message.register(crisis, CrisisFilter())
    return r
