"""The one interface for messages the bot sends on its own initiative.

Staff alerts and reminders go through `bot.delivery.sender.Sender`, which implements it with
Telegram's rate limits, pauses on `retry_after`, and bounded retries.
"""

from __future__ import annotations

from typing import Protocol


class Notifier(Protocol):
    async def notify(self, chat_id: int, html: str) -> bool:
        """Deliver one HTML message; True when Telegram accepted it."""
        ...
