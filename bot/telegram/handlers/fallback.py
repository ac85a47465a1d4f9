"""Last router: everything nothing else answered still gets a kind, useful reply."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery, Message

from bot.content.catalogue import Edited, StaleButton, UnknownCommand, Unsupported
from bot.telegram.filters import CommandLike
from bot.telegram.reply import Reply


async def unknown_command(message: Message, reply: Reply) -> None:
    reply.send(UnknownCommand(), reply.kb.home())


async def unsupported(message: Message, reply: Reply) -> None:
    reply.send(Unsupported(), reply.kb.home())


async def edited(message: Message, reply: Reply) -> None:
    reply.send(Edited())


async def stale_button(callback: CallbackQuery, reply: Reply) -> None:
    reply.send(StaleButton(), reply.kb.home())


def create_router() -> Router:
    """A fresh router each call: aiogram attaches a router to one dispatcher only."""
    r = Router(name="fallback")
    r.message.register(unknown_command, CommandLike())
    r.message.register(unsupported)
    r.edited_message.register(edited)
    r.callback_query.register(stale_button)
    return r
