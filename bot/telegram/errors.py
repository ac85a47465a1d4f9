"""The last line of defence: an unexpected error becomes a kind answer, never silence."""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.types import ErrorEvent

from bot.telegram.context import AppContext

log = logging.getLogger(__name__)


async def on_error(event: ErrorEvent, bot: Bot, app: AppContext) -> bool:
    """aiogram's ErrorsMiddleware sits outside the UnitOfWork middleware, so by the time this
    runs the update's transaction has already been rolled back: nothing half-written stays."""
    # Log the kind of failure and where, never the message text (it may hold health details).
    log.error(
        "update %s failed: %s",
        event.update.update_id,
        type(event.exception).__name__,
        exc_info=(type(event.exception), event.exception, event.exception.__traceback__),
    )
    chat_id, language_code = None, None
    if event.update.message is not None:
        chat_id = event.update.message.chat.id
        user = event.update.message.from_user
        language_code = user.language_code if user else None
    elif event.update.callback_query is not None:
        chat_id = event.update.callback_query.from_user.id
        language_code = event.update.callback_query.from_user.language_code
    if chat_id is not None:
        lang = app.content.language_for(language_code)
        try:
            await bot.send_message(chat_id, app.content.render("error", lang))
        except Exception as exc:  # the error answer itself failed; nothing more to do
            log.warning("could not send the error answer: %s", type(exc).__name__)
    return True


def create_router() -> Router:
    """A fresh router each call: aiogram attaches a router to one dispatcher only."""
    r = Router(name="errors")
    r.errors.register(on_error)
    return r
