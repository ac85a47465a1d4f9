"""Small filters for the routers.

Written as ``Filter`` classes rather than ``F.text & ...``: aiogram runs a magic filter, like
any plain callable, through ``asyncio.to_thread``, a hand-off to a worker thread (and back)
for a string test, on every message that reaches the handler.
"""

from __future__ import annotations

from aiogram.filters import Filter
from aiogram.types import ChatMemberUpdated, Message, TelegramObject

from bot.domain.staff import Permission, Role, allows


class PlainText(Filter):
    """A text message that is not a command."""

    async def __call__(self, message: Message) -> bool:
        text = message.text
        return text is not None and text != "" and not text.startswith("/")


class CommandLike(Filter):
    """A text that starts like a command (known or not)."""

    async def __call__(self, message: Message) -> bool:
        return bool(message.text) and message.text.startswith("/")  # type: ignore[union-attr]


class InPrivateChat(Filter):
    """A membership change in the private chat with a user (blocked, unblocked)."""

    async def __call__(self, update: ChatMemberUpdated) -> bool:
        return update.chat.type == "private"


class StaffMay(Filter):
    """Staff whose role grants `permission` (`staff_role` comes from the unit of work); for
    everyone else the update goes on to the other routers, as if the feature did not exist."""

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    async def __call__(self, event: TelegramObject, staff_role: Role | None = None) -> bool:
        return allows(staff_role, self.permission)
