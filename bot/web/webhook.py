"""Telegram's webhook: aiogram's aiohttp integration, the update handled before the answer.

Telegram POSTs each update to WEBHOOK_URL with the header ``X-Telegram-Bot-Api-Secret-Token``;
aiogram's ``SimpleRequestHandler`` compares it with WEBHOOK_SECRET in constant time and answers
401 without handling anything when it differs or is missing. With
``handle_in_background=False`` the update runs through the dispatcher before the answer, so
the 200 means "handled and committed": a replica that dies mid-update never answers, and
Telegram sends the update again (to this or another replica), where the idempotency of taps
and bookings (docs/architecture.md, "Idempotent taps") makes the second run harmless.

An exception inside the update does not come out here: the unit of work rolls back and the
errors router (bot/telegram/errors.py) gives the patient the kind error, then the update
counts as handled and Telegram gets 200. That is on purpose: a retry would answer the patient
a second time, and an update that fails for a lasting reason (a bug, a refused state) would be
sent again and again, each time with an error message. What does escape (an update aiogram
cannot read, the error handler itself failing) is answered 500, logged by type only (an
exception's text may quote the message), and Telegram tries again later.
"""

from __future__ import annotations

import logging
import traceback

from aiogram.methods import SetWebhook
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from bot.factory import Application
from scheduler.records import SendOutcome

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class WebhookHandler(SimpleRequestHandler):
    """aiogram's handler for one bot, with failures answered 500 without their text."""

    async def handle(self, request: web.Request) -> web.Response:
        try:
            return await super().handle(request)
        except Exception as exc:
            # The code path, never the exception's text (it may quote the update).
            frames = "".join(traceback.format_tb(exc.__traceback__))
            log.error(
                "webhook: update not handled, Telegram will retry: %s\n%s",
                type(exc).__name__,
                frames,
            )
            return web.Response(status=500, text="update not handled")


def add_webhook_route(web_app: web.Application, app: Application) -> WebhookHandler:
    """POST WEBHOOK_PATH: updates from Telegram, handled before the answer."""
    settings = app.context.settings
    if settings.webhook_secret is None:
        raise ValueError("WEBHOOK_SECRET must be set in webhook mode")
    handler = WebhookHandler(
        app.dispatcher,
        app.bot,
        handle_in_background=False,
        secret_token=settings.webhook_secret.get_secret_value(),
    )
    # Not handler.register(): that would close the bot's session when the server starts to
    # stop, before the updates in flight and the last alerts have been sent; the runtime
    # closes it last.
    web_app.router.add_post(settings.webhook_path, handler.handle)
    return handler


class WebhookRefused(Exception):
    """Telegram refused WEBHOOK_URL (its description says why)."""


async def set_webhook(app: Application) -> bool:
    """Ask Telegram to deliver to WEBHOOK_URL, with the secret and the update types the
    dispatcher uses, keeping the updates that wait (``drop_pending_updates=False``).

    The same call from every replica is harmless (Telegram keeps one webhook, and the last
    call, identical, wins); a 429 from replicas starting at once is waited out by the sender.
    True once set; False when Telegram could not be reached (the caller tries again later);
    :class:`WebhookRefused` when Telegram refuses the address."""
    settings = app.context.settings
    assert settings.webhook_url is not None and settings.webhook_secret is not None
    method = SetWebhook(
        url=settings.webhook_url,
        secret_token=settings.webhook_secret.get_secret_value(),
        allowed_updates=app.dispatcher.resolve_used_update_types(),
        drop_pending_updates=False,
    )
    result = await app.sender.answer(method)
    if result.outcome is SendOutcome.SENT:
        log.info("webhook set")
        return True
    if result.outcome is SendOutcome.BAD_REQUEST:
        raise WebhookRefused(result.error or "bad request")
    return False
