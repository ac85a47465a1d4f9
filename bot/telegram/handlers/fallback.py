"""Last router: everything nothing else answered still gets a kind, useful reply."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message

from bot.content.store import Content
from bot.telegram.keyboards import Keyboards
from bot.telegram.replies import respond

router = Router(name="fallback")


@router.message(F.text.startswith("/"))
async def unknown_command(message: Message, content: Content, lang: str, kb: Keyboards) -> None:
    await message.answer(content.render("unknown_command", lang), reply_markup=kb.home())


@router.message()
async def unsupported(message: Message, content: Content, lang: str, kb: Keyboards) -> None:
    await message.answer(content.render("unsupported", lang), reply_markup=kb.home())


@router.edited_message()
async def edited(message: Message, content: Content, lang: str) -> None:
    await message.answer(content.render("edited", lang))


@router.callback_query()
async def stale_button(callback: CallbackQuery, content: Content, lang: str, kb: Keyboards) -> None:
    await respond(callback, content.render("stale_button", lang), kb.home())
