"""The bot's own username, which the deep links of invites and team links carry.

Telegram tells it (`getMe`, which aiogram then keeps) only when asked, and a handler must not
ask: it runs inside its update's transaction, and nothing talks to Telegram while one is open.
So it is asked at start-up (bot/runtime.py), and, when Telegram could not be reached then, by
:class:`BotIdentity` as a middleware before the unit of work opens its transaction: in webhook
mode nothing else would (aiogram's polling asks once before it polls, a webhook replica never).
Handlers read :attr:`BotIdentity.username`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.types import TelegramObject

__all__ = ["BotIdentity"]

log = logging.getLogger(__name__)


class BotIdentity(BaseMiddleware):
    """Knows the bot's username once Telegram said it; an outer middleware that asks, outside
    any transaction, while it does not."""

    def __init__(self) -> None:
        self._username: str | None = None

    @property
    def username(self) -> str:
        """The bot's username; LookupError while Telegram has not said it (the update is then
        rolled back and answered with the kind error, as any failure inside it)."""
        if self._username is None:
            raise LookupError("the bot's username is not known yet")
        return self._username

    async def learn(self, bot: Bot) -> None:
        """Ask Telegram (getMe; aiogram keeps the answer, so one request per process)."""
        self._username = (await bot.me()).username or ""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if self._username is None:
            try:
                await self.learn(data["bot"])
            except Exception as exc:  # the class only; the update goes on (most need no name)
                log.warning("the bot's username is not known yet (%s)", type(exc).__name__)
        return await handler(event, data)
