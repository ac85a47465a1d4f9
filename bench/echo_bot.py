"""A bare aiogram echo bot, in a process of its own: the reference of bench/updates.py.

It imports aiogram as any aiogram bot does, and nothing of infusion-companion, whose package
changes how aiogram and pydantic build and keep their models (bot/lazy_aiogram.py); an echo
bot run inside the benchmark's process would be measured with those changes. One message
handler answers ``message.answer(message.text)``; one callback handler answers
``callback.answer()`` and ``callback.message.answer("ok")``: the same Bot API calls per update
as the bot makes for a question and for a tap.

    python -m bench.echo_bot API_URL TOKEN      # polls until its standard input is closed
"""

from __future__ import annotations

import asyncio
import sys

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import CallbackQuery, Message


def build() -> Dispatcher:
    dp = Dispatcher()

    @dp.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "?")

    @dp.callback_query()
    async def tap(callback: CallbackQuery) -> None:
        await callback.answer()
        if callback.message is not None:
            await callback.message.answer("ok")

    return dp


async def main(api_url: str, token: str) -> None:
    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(api_url)))
    dp = build()
    loop = asyncio.get_running_loop()
    polling = asyncio.create_task(
        dp.start_polling(bot, handle_signals=False, polling_timeout=10, close_bot_session=True)
    )
    # Stop when the benchmark closes our standard input.
    await loop.run_in_executor(None, sys.stdin.read)
    await dp.stop_polling()
    await polling


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
