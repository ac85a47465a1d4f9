"""The last line of defence: an unexpected error becomes a kind answer, never silence."""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.types import ErrorEvent

from bot.content.store import Content
from bot.db.repository import Repository

log = logging.getLogger(__name__)
router = Router(name="errors")


@router.errors()
async def on_error(
    event: ErrorEvent, bot: Bot, content: Content, lang: str, repo: Repository | None = None
) -> bool:
    # Undo whatever the failed handler wrote before anything else touches the session.
    if repo is not None:
        await repo.session.rollback()
    # Log the kind of failure and where, never the message text (it may hold health details).
    log.error(
        "update %s failed: %s",
        event.update.update_id,
        type(event.exception).__name__,
        exc_info=(type(event.exception), event.exception, event.exception.__traceback__),
    )
    chat_id = None
    if event.update.message is not None:
        chat_id = event.update.message.chat.id
    elif event.update.callback_query is not None:
        chat_id = event.update.callback_query.from_user.id
    if chat_id is not None:
        try:
            await bot.send_message(chat_id, content.render("error", lang))
        except Exception as exc:  # the error answer itself failed; nothing more to do
            log.warning("could not send the error answer: %s", type(exc).__name__)
    return True
