"""The per-update reply: what a handler answers is collected, and sent after the commit.

A handler never talks to Telegram itself. It renders its answer into the :class:`Reply` of
the update (the content, the patient's language and the keyboards travel with it), and the
unit of work sends what was collected once the transaction has committed. So no database lock
or pooled connection is held while Telegram takes its 100-1,000 ms, a rolled-back update sends
nothing but the kind error, and an update retried after a write conflict answers once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aiogram.methods import (
    AnswerCallbackQuery,
    DeleteMyCommands,
    EditMessageText,
    LeaveChat,
    SendDocument,
    SendMessage,
    SendPhoto,
    SetMyCommands,
)
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BufferedInputFile,
    InlineKeyboardMarkup,
    ReplyParameters,
)
from aiogram.utils.callback_answer import CallbackAnswer

from bot.content.catalogue import Message
from bot.content.store import Content
from bot.delivery.sender import Sender
from bot.telegram.keyboards import Keyboards
from scheduler.records import SendOutcome


@dataclass(frozen=True)
class _Send:
    html: str
    markup: InlineKeyboardMarkup | None
    reply_to: int | None = None
    """The message of the chat this one answers (quoted above it)."""


@dataclass(frozen=True)
class _Edit:
    message_id: int
    html: str
    markup: InlineKeyboardMarkup | None


@dataclass(frozen=True)
class _Leave:
    pass


@dataclass(frozen=True)
class _Photo:
    png: bytes
    filename: str
    caption: str
    markup: InlineKeyboardMarkup | None


@dataclass(frozen=True)
class _Document:
    data: bytes
    filename: str
    caption: str


@dataclass(frozen=True)
class _Menu:
    """The command menu of one chat (not necessarily this update's): `commands`, or None for
    the default one (the chat's own list deleted)."""

    chat_id: int
    commands: tuple[BotCommand, ...] | None


_ChatAction = _Send | _Edit | _Leave | _Photo | _Document
"""What goes to the chat of the update."""
_Action = _ChatAction | _Menu


class Reply:
    """Everything one update answers, in order; sent by :meth:`flush` after the commit.

    ``chat_id`` is where answers go (the private chat of the patient); ``callback_id`` is the
    button press to acknowledge, always first, so the spinner on the patient's phone stops
    even when the rest of the answer fails. ``callback_answer`` is how: aiogram's
    :class:`CallbackAnswer` (a notice on the button, an alert), which handlers receive as
    ``callback_answer`` (bot/telegram/middlewares.py, AnswerCallbackAfterCommit)."""

    def __init__(
        self,
        content: Content,
        lang: str,
        *,
        chat_id: int | None,
        callback_id: str | None = None,
    ) -> None:
        self.content = content
        self.lang = lang
        self.kb = Keyboards(content, lang)
        self.chat_id = chat_id
        self.callback_id = callback_id
        self.callback_answer = CallbackAnswer(answered=False)
        self._actions: list[_Action] = []

    # --- what handlers call ---------------------------------------------------------------
    def use_language(self, lang: str) -> None:
        """Answer in `lang` from here on (the patient has just chosen it)."""
        self.lang = lang
        self.kb = Keyboards(self.content, lang)

    def answer_in(self, lang: str | None) -> None:
        """Answer this update in `lang`, the language a question was written in, rather than
        the patient's: the FAQ topics under the answer keep it when tapped. The patient's
        language stays for None, for their own, and for a language the bot does not have (a
        forged or stale button)."""
        if lang is None or lang == self.lang or lang not in self.content.languages:
            return
        self.lang = lang
        self.kb = Keyboards(self.content, lang, faq_lang=lang)

    def render(self, message: Message) -> str:
        return self.content.render_message(message, self.lang)

    def send(
        self,
        message: Message,
        markup: InlineKeyboardMarkup | None = None,
        *,
        reply_to: int | None = None,
    ) -> None:
        """Answer with a message rendered now (a template error fails the update, which
        rolls back), sent after the commit; `reply_to`: as an answer to that message of the
        chat (quoted above it; sent all the same if it is gone)."""
        self.send_html(self.render(message), markup, reply_to=reply_to)

    def send_html(
        self,
        html: str,
        markup: InlineKeyboardMarkup | None = None,
        *,
        reply_to: int | None = None,
    ) -> None:
        self._actions.append(_Send(html, markup, reply_to))

    def send_document(self, data: bytes, filename: str, caption: Message) -> None:
        """Answer with a file (uploaded after the commit) and a rendered caption."""
        self._actions.append(_Document(data, filename, self.render(caption)))

    def edit_or_send(
        self, message_id: int | None, html: str, markup: InlineKeyboardMarkup | None = None
    ) -> None:
        """Replace the message a button sits under; if it is too old or gone, send anew."""
        if message_id:
            self._actions.append(_Edit(message_id, html, markup))
        else:
            self._actions.append(_Send(html, markup))

    def send_photo(
        self,
        png: bytes,
        caption: Message,
        markup: InlineKeyboardMarkup | None = None,
        *,
        filename: str = "image.png",
    ) -> None:
        """Answer with a PNG picture (uploaded after the commit) and a rendered caption."""
        self._actions.append(_Photo(png, filename, self.render(caption), markup))

    def set_chat_menu(self, chat_id: int, commands: Sequence[BotCommand] | None) -> None:
        """After the commit, give the private chat `chat_id` its own command menu (None: take
        it away, so the chat shows the default list again)."""
        self._actions.append(_Menu(chat_id, tuple(commands) if commands is not None else None))

    def leave_chat(self) -> None:
        self._actions.append(_Leave())

    # --- sending, after the commit ----------------------------------------------------------
    async def flush(self, sender: Sender) -> None:
        """Send what was collected, in order. Failures are logged by the sender (never the
        text) and do not raise: the update's data is committed, and an error answer now
        would tell the patient something untrue."""
        if self.callback_id is not None:
            callback_id, self.callback_id = self.callback_id, None
            answer = self.callback_answer
            if not answer.disabled:
                await sender.answer(
                    AnswerCallbackQuery(
                        callback_query_id=callback_id,
                        text=answer.text[:200] if answer.text else answer.text,
                        show_alert=answer.show_alert,
                        url=answer.url,
                        cache_time=answer.cache_time,
                    )
                )
        actions, self._actions = self._actions, []
        for action in actions:
            if isinstance(action, _Menu):
                await _set_menu(sender, action)
            elif self.chat_id is not None:
                await self._perform(sender, action)

    async def _perform(self, sender: Sender, action: _ChatAction) -> None:
        assert self.chat_id is not None
        if isinstance(action, _Photo):
            await sender.answer(
                SendPhoto(
                    chat_id=self.chat_id,
                    photo=BufferedInputFile(action.png, filename=action.filename),
                    caption=action.caption,
                    reply_markup=action.markup,
                )
            )
            return
        if isinstance(action, _Document):
            await sender.answer(
                SendDocument(
                    chat_id=self.chat_id,
                    document=BufferedInputFile(action.data, filename=action.filename),
                    caption=action.caption,
                )
            )
            return
        if isinstance(action, _Leave):
            await sender.answer(LeaveChat(chat_id=self.chat_id))
            return
        if isinstance(action, _Edit):
            edited = await sender.answer(
                EditMessageText(
                    chat_id=self.chat_id,
                    message_id=action.message_id,
                    text=action.html,
                    reply_markup=action.markup,
                )
            )
            if edited.outcome is SendOutcome.SENT or "not modified" in edited.description:
                return
            if edited.outcome is not SendOutcome.BAD_REQUEST:
                return  # blocked, or Telegram is down: a second try would fare no better
        reply_to = action.reply_to if isinstance(action, _Send) else None
        await sender.answer(
            SendMessage(
                chat_id=self.chat_id,
                text=action.html,
                reply_markup=action.markup,
                reply_parameters=ReplyParameters(
                    message_id=reply_to, allow_sending_without_reply=True
                )
                if reply_to is not None
                else None,
            )
        )


async def _set_menu(sender: Sender, menu: _Menu) -> None:
    scope = BotCommandScopeChat(chat_id=menu.chat_id)
    if menu.commands is None:
        await sender.answer(DeleteMyCommands(scope=scope))
    else:
        await sender.answer(SetMyCommands(commands=list(menu.commands), scope=scope))
