"""Questions and answers from templates; free text is matched to a prompt by keywords."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.content.catalogue import ChatCommand, FaqAnswer, FaqMenu, FaqNoMatch
from bot.telegram.callbacks import FaqCb, MenuCb, MenuTarget
from bot.telegram.filters import PlainText
from bot.telegram.reply import Reply


def _topics(reply: Reply) -> InlineKeyboardMarkup:
    return reply.kb.faq((e.key, e.title) for e in reply.content.faq(reply.lang).entries)


async def faq_menu(event: Message | CallbackQuery, reply: Reply) -> None:
    reply.send(FaqMenu(), _topics(reply))


async def faq_answer(callback: CallbackQuery, callback_data: FaqCb, reply: Reply) -> None:
    entry = reply.content.faq(reply.lang).by_key(callback_data.key)
    if entry is None:
        reply.send(FaqNoMatch(), _topics(reply))
        return
    reply.send(FaqAnswer(template_name=entry.template), reply.kb.faq_answer())


async def free_text(message: Message, reply: Reply) -> None:
    entry = reply.content.faq(reply.lang).matcher.match(message.text or "")
    if entry is None:
        reply.send(FaqNoMatch(), _topics(reply))
        return
    reply.send(FaqAnswer(template_name=entry.template), reply.kb.faq_answer())


def create_router() -> Router:
    """A fresh router each call: aiogram attaches a router to one dispatcher only."""
    r = Router(name="faq")
    r.message.register(faq_menu, Command(ChatCommand.FAQ, "questions"))
    r.callback_query.register(faq_menu, MenuCb.filter(F.to == MenuTarget.FAQ))
    r.callback_query.register(faq_answer, FaqCb.filter())
    r.message.register(free_text, StateFilter(None), PlainText())
    return r
