"""Whether Telegram answers, and (in webhook mode) holds this bot's webhook: what /healthz and
/metrics say about Telegram (bot/web/ops.py).

:class:`TelegramHealth` is told of every Bot API call that succeeded, by a request middleware
on the bot's session (:class:`RecordSuccess`): every call the bot makes (getUpdates in
polling mode, every few seconds even when nobody writes; replies, reminders, alerts) passes
there. In webhook mode the bot may call nothing for hours, so the runtime asks Telegram for
the webhook every :data:`WEBHOOK_CHECK_SECONDS` (``getWebhookInfo``), which also tells
whether Telegram still holds WEBHOOK_URL (someone may have deleted or replaced it: updates
then go elsewhere, or nowhere). Times are the application's clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.methods import Response, TelegramMethod

from foundation.clock import Clock

__all__ = [
    "STALE_SECONDS",
    "WEBHOOK_CHECK_SECONDS",
    "RecordSuccess",
    "TelegramHealth",
    "WebhookState",
]

STALE_SECONDS = 300.0
"""No successful Bot API call for this long: Telegram counts as unreachable. Polling calls
every POLLING_TIMEOUT seconds; webhook mode checks every WEBHOOK_CHECK_SECONDS."""

WEBHOOK_CHECK_SECONDS = 60.0
"""How often webhook mode asks Telegram for the webhook (getWebhookInfo)."""


@dataclass(frozen=True, slots=True)
class WebhookState:
    """What Telegram said of the webhook at `checked_at`."""

    checked_at: datetime
    ours: bool
    """Telegram delivers to WEBHOOK_URL (not to nowhere, not to another address)."""
    pending_updates: int
    last_error_at: datetime | None
    """When Telegram last failed to deliver to it (its own report)."""


class TelegramHealth:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.started_at = clock.now()
        self.last_success: datetime | None = None
        self.webhook: WebhookState | None = None

    def succeeded(self) -> None:
        self.last_success = self.clock.now()

    def last_success_age(self) -> float:
        """Seconds since the last Bot API call that succeeded (since start, before the
        first)."""
        return (self.clock.now() - (self.last_success or self.started_at)).total_seconds()


class RecordSuccess(BaseRequestMiddleware):
    """A request middleware of the bot's session: every call that returned tells `health`."""

    def __init__(self, health: TelegramHealth) -> None:
        self.health = health

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[Any],
        bot: Bot,
        method: TelegramMethod[Any],
    ) -> Response[Any]:
        response = await make_request(bot, method)
        self.health.succeeded()
        return response
