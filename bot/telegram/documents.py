"""Files a team member sends the bot (a CSV export of the clinic's schedule), fetched from
Telegram before the unit of work opens its transaction.

A handler runs inside its update's transaction, and nothing talks to Telegram while one is
open (docs/architecture.md, "Who calls Telegram"). So this outer middleware, placed before
the unit of work, fetches the file (``getFile`` and the download, aiogram's
``Bot.download``) and hands the handler its bytes as ``upload``:

* for a message with a document, from a team member (STAFF_IDS or an active member, read in
  a short read of its own), in a private chat;
* for a press of the import's buttons (``IntakeCb``): the document is the one the preview
  answered (the preview is sent as a reply to it, and Telegram gives the pressed message with
  the message it replies to), fetched again, so the file is never kept between the preview
  and the import: neither in the database nor in the conversation state (it holds the
  clinic's patient references, which the bot never stores).

A file over :data:`~bot.intake.csv_import.MAX_FILE_BYTES` is not fetched (``too_big``); one
that cannot be fetched is ``download_failed``; the handler answers either.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from aiogram import BaseMiddleware, Bot
from aiogram.types import Document, TelegramObject, Update

from bot.db.staff import StaffRepository
from bot.intake.csv_import import MAX_FILE_BYTES
from bot.services.container import Services
from bot.telegram.callbacks import IntakeCb

__all__ = ["SentFile", "StaffDocuments"]

log = logging.getLogger(__name__)

Problem = Literal["too_big", "download_failed"]


@dataclass(frozen=True, slots=True)
class SentFile:
    """A file a team member sent: its name as sent, and its bytes (None with a problem)."""

    name: str
    message_id: int
    data: bytes | None = None
    problem: Problem | None = None

    def __repr__(self) -> str:  # never the bytes (patient references) in a log line
        return f"SentFile(message_id={self.message_id}, problem={self.problem})"


class StaffDocuments(BaseMiddleware):
    """See the module's doc: the outer middleware that fetches a team member's file."""

    def __init__(self, services: Services, limit: int = MAX_FILE_BYTES) -> None:
        self.services = services
        self.limit = limit

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        found = _document_of(event) if isinstance(event, Update) else None
        if found is not None:
            user_id, message_id, document = found
            if await self._is_staff(user_id):
                data["upload"] = await self._fetch(data["bot"], message_id, document)
        return await handler(event, data)

    async def _is_staff(self, telegram_id: int) -> bool:
        if telegram_id in self.services.settings.staff_ids:
            return True
        async with self.services.session_factory() as session:
            return await StaffRepository(session).active_role(telegram_id) is not None

    async def _fetch(self, bot: Bot, message_id: int, document: Document) -> SentFile:
        name = document.file_name or "file"
        if document.file_size is not None and document.file_size > self.limit:
            return SentFile(name, message_id, problem="too_big")
        buffer = io.BytesIO()
        try:
            await bot.download(document.file_id, destination=buffer)
        except Exception as exc:  # the class only; the handler says it could not be fetched
            log.warning("a team member's file could not be fetched (%s)", type(exc).__name__)
            return SentFile(name, message_id, problem="download_failed")
        if buffer.tell() > self.limit:
            return SentFile(name, message_id, problem="too_big")
        return SentFile(name, message_id, data=buffer.getvalue())


def _document_of(update: Update) -> tuple[int, int, Document] | None:
    """(sender, the document's message id, the document) of a document sent in a private
    chat, or of the document an import button's message answers; None otherwise."""
    message = update.message
    if message is not None:
        if message.document is None or message.from_user is None or message.chat.type != "private":
            return None
        return message.from_user.id, message.message_id, message.document
    callback = update.callback_query
    if callback is None or not (callback.data or "").startswith(IntakeCb.__prefix__ + ":"):
        return None
    shown = callback.message
    original = getattr(shown, "reply_to_message", None)
    if original is None or original.document is None:
        return None
    return callback.from_user.id, original.message_id, original.document
