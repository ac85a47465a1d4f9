"""Questions and answers from templates; free text is matched to a prompt by keywords."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.types import CallbackQuery, Message

from bot.content.store import Content
from bot.telegram.callbacks import FaqCb, MenuCb
from bot.telegram.keyboards import Keyboards
from bot.telegram.replies import respond


def _topics(content: Content, lang: str) -> list[tuple[str, str]]:
    return [(e.key, e.title) for e in content.faq(lang).entries]


async def faq_menu(
    event: Message | CallbackQuery, content: Content, lang: str, kb: Keyboards
) -> None:
    await respond(event, content.render("faq_menu", lang), kb.faq(_topics(content, lang)))


async def faq_answer(
    callback: CallbackQuery, callback_data: FaqCb, content: Content, lang: str, kb: Keyboards
) -> None:
    entry = content.faq(lang).by_key(callback_data.key)
    if entry is None:
        await respond(
            callback, content.render("faq_no_match", lang), kb.faq(_topics(content, lang))
        )
        return
    await respond(callback, content.render(entry.template, lang), kb.faq_answer())


async def free_text(message: Message, content: Content, lang: str, kb: Keyboards) -> None:
    entry = content.faq(lang).matcher.match(message.text or "")
    if entry is None:
        await message.answer(
            content.render("faq_no_match", lang), reply_markup=kb.faq(_topics(content, lang))
        )
        return
    await message.answer(content.render(entry.template, lang), reply_markup=kb.faq_answer())


def create_router() -> Router:
    """A fresh router each call: aiogram attaches a router to one dispatcher only."""
    r = Router(name="faq")
    r.message.register(faq_menu, Command("faq", "questions"))
    r.callback_query.register(faq_menu, MenuCb.filter(F.to == "faq"))
    r.callback_query.register(faq_answer, FaqCb.filter())
    r.message.register(free_text, StateFilter(None), F.text & ~F.text.startswith("/"))
    return r
