"""The patient blocked or unblocked the bot."""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.types import ChatMemberUpdated

from bot.services.patients import PatientService

log = logging.getLogger(__name__)
router = Router(name="membership")

_GONE = {"kicked", "left"}


@router.my_chat_member(F.chat.type == "private")
async def membership_changed(update: ChatMemberUpdated, patients: PatientService) -> None:
    reachable = update.new_chat_member.status not in _GONE
    changed = await patients.mark_reachable(update.from_user.id, reachable)
    if changed:
        log.info("patient reachability changed: reachable=%s", reachable)
