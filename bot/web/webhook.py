"""Telegram's webhook: aiogram's aiohttp integration, the update handled before the answer.

Telegram POSTs each update to WEBHOOK_URL with the header ``X-Telegram-Bot-Api-Secret-Token``;
it is compared with WEBHOOK_SECRET as bytes, in constant time, and a wrong or missing one (in
any encoding) is answered 401 without handling anything. A body over aiohttp's limit (1 MiB)
is answered 413, one that is not JSON 400. With ``handle_in_background=False`` the update runs
through the dispatcher before the answer, so the 200 means "handled and committed": a replica
that dies mid-update never answers, and Telegram sends the update again (to this or another
replica).

Each delivery is looked up by its ``update_id`` in the ledger every replica shares
(bot/web/update_ledger.py: Redis, or the database without it): an update handled already is
acknowledged (200) without being handled again, one being handled right now is answered 503
(Telegram tries again later; the claim is renewed every few seconds while the update runs, so
a replica that died frees its updates within seconds), and the idempotency of taps and
bookings (docs/architecture.md, "Idempotent taps") covers what the ledger cannot see (it
unreachable, or a crash between the commit and the ledger's "done").

An exception inside the update does not come out here: the unit of work rolls back and the
errors router (bot/telegram/errors.py) gives the patient the kind error, then the update
counts as handled and Telegram gets 200. That is on purpose: a retry would answer the patient
a second time, and an update that fails for a lasting reason (a bug, a refused state) would be
sent again and again, each time with an error message. What does escape (an update aiogram
cannot read, the error handler itself failing) is answered 500, logged by type only (an
exception's text may quote the message), released in the ledger, and Telegram tries again
later.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import traceback
from datetime import datetime
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.methods import GetWebhookInfo, SetWebhook, TelegramMethod
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from bot.factory import Application
from bot.metrics import Metrics
from bot.telegram.telegram_health import WebhookState
from bot.web import update_ledger as update_ledger_module
from bot.web.update_ledger import Claim, RedisUpdateLedger, SqlUpdateLedger, UpdateLedger
from scheduler.records import SendOutcome

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class WebhookHandler(SimpleRequestHandler):
    """aiogram's handler for one bot: secrets compared as bytes, repeated deliveries answered
    from the ledger, failures answered without their text."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        bot: Bot,
        *,
        secret_token: str,
        ledger: UpdateLedger | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        super().__init__(dispatcher, bot, handle_in_background=False, secret_token=secret_token)
        self._secret = secret_token.encode()
        self.ledger = ledger
        self.metrics = metrics
        self._ledger_warned = False

    def verify_secret(self, telegram_secret_token: str, bot: Bot) -> bool:
        """The header against WEBHOOK_SECRET, as bytes and in constant time: aiohttp hands
        over headers decoded as UTF-8 with surrogate escapes, so a header in any encoding is
        compared (and refused) like any other wrong secret, never an error."""
        given = telegram_secret_token.encode("utf-8", "surrogateescape")
        return hmac.compare_digest(given, self._secret)

    async def handle(self, request: web.Request) -> web.Response:
        bot = await self.resolve_bot(request)
        if not self.verify_secret(request.headers.get(SECRET_HEADER, ""), bot):
            return self._answer("unauthorized", web.Response(status=401, text="Unauthorized"))
        try:
            update = await request.json(loads=bot.session.json_loads)
        except web.HTTPRequestEntityTooLarge:
            return self._answer("too_large", web.Response(status=413, text="update too large"))
        except ValueError:
            return self._answer("unreadable", web.Response(status=400, text="not JSON"))
        update_id = update.get("update_id") if isinstance(update, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            update_id = None  # aiogram refuses it below
        if update_id is not None:
            claim = await self._claim(update_id)
            if claim is Claim.DONE:
                log.info("webhook: update %s was handled already; acknowledged", update_id)
                return self._answer("repeat", web.json_response({}))
            if claim is Claim.BUSY:
                log.info("webhook: update %s is being handled; Telegram will retry", update_id)
                return self._answer("busy", web.Response(status=503, text="being handled"))
        keeper = (
            asyncio.create_task(self._keep_claim(update_id))
            if update_id is not None and self.ledger is not None
            else None
        )
        try:
            result: TelegramMethod[Any] | None = await self.dispatcher.feed_webhook_update(
                bot, update, **self.data
            )
        except Exception as exc:
            if keeper is not None:
                keeper.cancel()
            if update_id is not None:
                await self._ledger("release", update_id)
            # The code path, never the exception's text (it may quote the update).
            frames = "".join(traceback.format_tb(exc.__traceback__))
            log.error(
                "webhook: update not handled, Telegram will retry: %s\n%s",
                type(exc).__name__,
                frames,
            )
            return self._answer("failed", web.Response(status=500, text="update not handled"))
        if keeper is not None:
            keeper.cancel()
        if update_id is not None:
            await self._ledger("done", update_id)
        body = self._build_response_writer(bot=bot, result=result)
        return self._answer("handled", web.Response(body=body))

    def _answer(self, outcome: str, response: web.Response) -> web.Response:
        if self.metrics is not None:
            self.metrics.webhook_request(outcome)
        return response

    async def _claim(self, update_id: int) -> Claim:
        if self.ledger is None:
            return Claim.HANDLE
        try:
            return await self.ledger.claim(update_id)
        except Exception as exc:  # handled anyway: a repeat is harmless, a loss is not
            self._ledger_failed("claim", exc)
            return Claim.HANDLE

    async def _keep_claim(self, update_id: int) -> None:
        """Renew the claim while the update is being handled (cancelled when it ends)."""
        assert self.ledger is not None
        while True:
            await asyncio.sleep(update_ledger_module.RENEW_EVERY)
            try:
                await self.ledger.extend(update_id)
            except Exception as exc:
                self._ledger_failed("extend", exc)

    async def _ledger(self, step: str, update_id: int) -> None:
        if self.ledger is None:
            return
        try:
            if step == "done":
                await self.ledger.done(update_id)
            else:
                await self.ledger.release(update_id)
        except Exception as exc:
            self._ledger_failed(step, exc)

    def _ledger_failed(self, step: str, exc: Exception) -> None:
        level = logging.INFO if self._ledger_warned else logging.WARNING
        self._ledger_warned = True
        log.log(
            level,
            "webhook: the ledger of handled updates failed (%s: %s); repeats are handled "
            "again until it answers",
            step,
            type(exc).__name__,
        )


def update_ledger(app: Application) -> UpdateLedger:
    """Redis when REDIS_URL is set (what the replicas share), else the database."""
    if app.redis is not None:
        return RedisUpdateLedger(app.redis, app.context.settings.redis_prefix, app.bot.id)
    return SqlUpdateLedger(app.context.session_factory, app.context.clock)


def add_webhook_route(web_app: web.Application, app: Application) -> WebhookHandler:
    """POST WEBHOOK_PATH: updates from Telegram, handled before the answer."""
    settings = app.context.settings
    if settings.webhook_secret is None:
        raise ValueError("WEBHOOK_SECRET must be set in webhook mode")
    handler = WebhookHandler(
        app.dispatcher,
        app.bot,
        secret_token=settings.webhook_secret.get_secret_value(),
        ledger=update_ledger(app),
        metrics=app.metrics,
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


async def check_webhook(app: Application) -> WebhookState | None:
    """Ask Telegram for the webhook (getWebhookInfo) and keep what it says for /healthz; None
    when Telegram could not be asked (the age of the last successful call shows that). A
    webhook that is not WEBHOOK_URL any more (deleted, or set elsewhere with this bot's token)
    is logged once when it goes, once when it is back."""
    result = await app.sender.answer(GetWebhookInfo())
    info = result.value
    if result.outcome is not SendOutcome.SENT or info is None:
        return None
    health = app.telegram
    last_error = info.last_error_date
    state = WebhookState(
        checked_at=app.context.clock.now(),
        ours=info.url == app.context.settings.webhook_url,
        pending_updates=info.pending_update_count,
        last_error_at=last_error if isinstance(last_error, datetime) else None,
    )
    before = health.webhook
    if not state.ours and (before is None or before.ours):
        log.warning(
            "Telegram does not deliver to WEBHOOK_URL now (the webhook was deleted or set "
            "elsewhere with this bot's token): no update reaches this bot"
        )
    elif state.ours and before is not None and not before.ours:
        log.info("Telegram delivers to WEBHOOK_URL again")
    health.webhook = state
    return state
