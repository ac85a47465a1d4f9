"""The last line of defence: an unexpected error becomes a kind answer, never silence."""

from __future__ import annotations

import logging
import traceback

from aiogram import Router
from aiogram.types import ErrorEvent

from bot.content.catalogue import UpdateFailed
from bot.metrics import mark_update
from bot.telegram.context import AppContext
from bot.telegram.reply import Reply

log = logging.getLogger(__name__)


async def on_error(event: ErrorEvent, app: AppContext) -> bool:
    """aiogram's ErrorsMiddleware sits outside the UnitOfWork middleware, so by the time this
    runs the update's transaction has already been rolled back and its reply discarded:
    nothing half-written stays, and the patient gets the kind error and nothing else.
    (Refusals never come here: bot/telegram/refusals.py answers them inside the unit of work.)"""
    # The kind of failure and the code path, never the exception's message: it can quote the
    # message text or (from a database driver) the statement's values.
    exc = event.exception
    mark_update("error")
    frames = "".join(traceback.format_tb(exc.__traceback__))
    log.error("update %s failed: %s\n%s", event.update.update_id, type(exc).__name__, frames)
    update = event.update
    chat_id, language_code, callback_id = None, None, None
    if update.message is not None and update.message.chat.type == "private":
        chat_id = update.message.chat.id
        user = update.message.from_user
        language_code = user.language_code if user else None
    elif update.callback_query is not None:
        callback_id = update.callback_query.id
        chat_id = update.callback_query.from_user.id
        language_code = update.callback_query.from_user.language_code
    if chat_id is None:
        return True
    reply = Reply(
        app.content,
        app.content.language_for(language_code),
        chat_id=chat_id,
        callback_id=callback_id,
    )
    try:
        reply.send(UpdateFailed())
    except Exception as render_exc:  # the error template itself is broken: say it plainly
        log.error("the error answer could not be rendered: %s", type(render_exc).__name__)
        reply.send_html("Sorry, something went wrong. Please try again in a moment.")
    await reply.flush(app.sender)
    return True


def create_router() -> Router:
    """A fresh router each call: aiogram attaches a router to one dispatcher only."""
    r = Router(name="errors")
    r.errors.register(on_error)
    return r
