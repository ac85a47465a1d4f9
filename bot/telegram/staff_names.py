"""The team's names: a team member's Telegram name is kept (bot/services/staff.py
``remember_name``) whenever one of the team's handlers answers them, so a text's history and
the team list say who rather than a number. An inner middleware of the team's routers: it runs
only for updates one of their handlers takes, inside the unit of work."""

from __future__ import annotations

from typing import Any

from aiogram import BaseMiddleware, Router
from aiogram.types import TelegramObject, User

from bot.services.container import ServiceScope
from bot.telegram.middlewares import Handler


class RememberStaffName(BaseMiddleware):
    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        svc: ServiceScope | None = data.get("svc")
        if user is not None and svc is not None:
            await svc.staff.remember_name(user.id, user.full_name, data.get("staff_role"))
        return await handler(event, data)


def remember_names(router: Router) -> Router:
    """`router` with the middleware on its messages and button presses."""
    router.message.middleware(RememberStaffName())
    router.callback_query.middleware(RememberStaffName())
    return router
