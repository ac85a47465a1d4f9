"""Answering a message or a button press the same way."""

from __future__ import annotations

from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message


async def respond(
    event: Message | CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Reply in the private chat. A button press is acknowledged first so its spinner stops;
    the answer is a new message because the pressed one may be too old to edit."""
    if isinstance(event, CallbackQuery):
        await event.answer()
        if event.bot is not None:
            await event.bot.send_message(event.from_user.id, text, reply_markup=markup)
        return
    await event.answer(text, reply_markup=markup)
