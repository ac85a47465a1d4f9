"""Sending messages that are not replies (staff alerts now, reminders later).

Everything the bot sends on its own initiative goes through a `Notifier`, so rate limits,
retries and "patient blocked the bot" are handled in one place.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)

log = logging.getLogger(__name__)


class Notifier(Protocol):
    async def send(self, chat_id: int, html: str) -> bool:
        """Deliver one HTML message; True when Telegram accepted it."""
        ...


class BotNotifier:
    """Sends through aiogram with bounded retries: one pause for `retry_after`, a few backoffs
    for 5xx and network errors, none for 4xx (those will not heal by trying again)."""

    def __init__(self, bot: Bot, *, attempts: int = 3, base_delay: float = 0.5) -> None:
        self.bot = bot
        self.attempts = attempts
        self.base_delay = base_delay

    async def send(self, chat_id: int, html: str) -> bool:
        for attempt in range(1, self.attempts + 1):
            try:
                await self.bot.send_message(chat_id, html)
                return True
            except TelegramRetryAfter as exc:
                await asyncio.sleep(min(exc.retry_after, 60))
            except (TelegramServerError, TelegramNetworkError) as exc:
                log.warning("send failed (attempt %d): %s", attempt, type(exc).__name__)
                await asyncio.sleep(self.base_delay * 2 ** (attempt - 1))
            except (TelegramForbiddenError, TelegramBadRequest) as exc:
                log.warning("send refused by Telegram: %s", type(exc).__name__)
                return False
        return False
