"""The bot's session sends requests as JSON bodies, and files as aiogram's multipart form."""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup

from bot.telegram.session import JsonSession
from tests.fake_telegram.server import FakeTelegramServer


async def test_requests_go_as_json_and_files_as_multipart(telegram: FakeTelegramServer) -> None:
    bot = Bot(telegram.token, session=telegram.session(JsonSession))
    try:
        markup = InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text="Done ✅", callback_data="r:done:7")]]
        )
        text = "<b>Ça va?</b> 50% & more — «quotes» 🎧"
        sent = await bot.send_message(1001, text, reply_markup=markup, parse_mode="HTML")
        assert sent.text == text
        await bot.send_document(1001, BufferedInputFile(b"plan", filename="plan.txt"))
        await bot.answer_callback_query("cbq-1")
    finally:
        await bot.session.close()
    message, document, answer = telegram.requests[-3:]
    assert message.content_type == "application/json"
    assert message.params["text"] == text
    assert message.params["chat_id"] == 1001
    assert message.params["reply_markup"] == {
        "inline_keyboard": [[{"text": "Done ✅", "callback_data": "r:done:7"}]]
    }
    assert "disable_notification" not in message.params  # empty fields are left out
    assert document.content_type == "multipart/form-data"
    assert answer.content_type == "application/json"
    assert answer.params == {"callback_query_id": "cbq-1"}
