"""The patient blocked or unblocked the bot."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.types import ChatMemberUpdated

from bot.services.container import ServiceScope
from bot.telegram.filters import InPrivateChat

log = logging.getLogger(__name__)

_GONE = {"kicked", "left"}


async def membership_changed(update: ChatMemberUpdated, svc: ServiceScope) -> None:
    reachable = update.new_chat_member.status not in _GONE
    changed = await svc.patients.mark_reachable(update.from_user.id, reachable)
    if changed:
        log.info("patient reachability changed: reachable=%s", reachable)


def create_router() -> Router:
    """A fresh router each call: aiogram attaches a router to one dispatcher only."""
    r = Router(name="membership")
    r.my_chat_member.register(membership_changed, InPrivateChat())
    return r
