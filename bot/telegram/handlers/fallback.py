"""Last router: everything nothing else answered still gets a kind, useful reply."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message

from bot.content.store import Content
from bot.telegram.keyboards import Keyboards
from bot.telegram.replies import respond


async def unknown_command(message: Message, content: Content, lang: str, kb: Keyboards) -> None:
    await message.answer(content.render("unknown_command", lang), reply_markup=kb.home())


async def unsupported(message: Message, content: Content, lang: str, kb: Keyboards) -> None:
    await message.answer(content.render("unsupported", lang), reply_markup=kb.home())


async def edited(message: Message, content: Content, lang: str) -> None:
    await message.answer(content.render("edited", lang))


async def stale_button(callback: CallbackQuery, content: Content, lang: str, kb: Keyboards) -> None:
    await respond(callback, content.render("stale_button", lang), kb.home())


def create_router() -> Router:
    """A fresh router each call: aiogram attaches a router to one dispatcher only."""
    r = Router(name="fallback")
    r.message.register(unknown_command, F.text.startswith("/"))
    r.message.register(unsupported)
    r.edited_message.register(edited)
    r.callback_query.register(stale_button)
    return r
