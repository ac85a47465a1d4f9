"""The per-update reply: what a handler answers is collected, and sent after the commit.

A handler never talks to Telegram itself. It renders its answer into the :class:`Reply` of
the update (the content, the patient's language and the keyboards travel with it), and the
unit of work sends what was collected once the transaction has committed. So no database lock
or pooled connection is held while Telegram takes its 100-1,000 ms, a rolled-back update sends
nothing but the kind error, and an update retried after a write conflict answers once.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageText,
    LeaveChat,
    SendMessage,
)
from aiogram.types import InlineKeyboardMarkup
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


@dataclass(frozen=True)
class _Edit:
    message_id: int
    html: str
    markup: InlineKeyboardMarkup | None


@dataclass(frozen=True)
class _Leave:
    pass


_Action = _Send | _Edit | _Leave


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
    def render(self, message: Message) -> str:
        return self.content.render_message(message, self.lang)

    def send(self, message: Message, markup: InlineKeyboardMarkup | None = None) -> None:
        """Answer with a message rendered now (a template error fails the update, which
        rolls back), sent after the commit."""
        self.send_html(self.render(message), markup)

    def send_html(self, html: str, markup: InlineKeyboardMarkup | None = None) -> None:
        self._actions.append(_Send(html, markup))

    def edit_or_send(
        self, message_id: int | None, html: str, markup: InlineKeyboardMarkup | None = None
    ) -> None:
        """Replace the message a button sits under; if it is too old or gone, send anew."""
        if message_id:
            self._actions.append(_Edit(message_id, html, markup))
        else:
            self._actions.append(_Send(html, markup))

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
        if self.chat_id is None:
            return
        for action in actions:
            await self._perform(sender, action)

    async def _perform(self, sender: Sender, action: _Action) -> None:
        assert self.chat_id is not None
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
        await sender.answer(
            SendMessage(chat_id=self.chat_id, text=action.html, reply_markup=action.markup)
        )
