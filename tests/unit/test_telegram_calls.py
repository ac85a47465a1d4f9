"""Which modules call Telegram: exactly those docs/architecture.md names ("Who calls
Telegram"), each for the calls it names. An AST scan of bot/: a Bot API method called on
something named like the bot (`bot`, `self.bot`, `app.bot`), the bot itself called with a
method object, and aiogram's shortcuts on an update's objects (`message.answer`, ...), which
call Telegram too."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from aiogram import Bot

ROOT = Path(__file__).resolve().parents[2]

ALLOWED: dict[str, set[str]] = {
    # Every message, answer, edit, upload, command menu and the webhook's set-up and check:
    # `self.bot(method)` behind Sender.send and Sender.answer.
    "bot/delivery/sender.py": {"bot(...)"},
    # The patient's name for a staff alert, and the STAFF_IDS check at start-up.
    "bot/delivery/outbox.py": {"get_chat"},
    # The patients' command menus at start-up.
    "bot/factory.py": {"set_my_commands"},
    # Before polling: a webhook left set is removed.
    "bot/runtime.py": {"get_webhook_info", "delete_webhook"},
    # The bot's username, at start-up or before the unit of work.
    "bot/telegram/identity.py": {"me"},
    # A CSV a team member sent (getFile and the download), before the unit of work.
    "bot/telegram/documents.py": {"download"},
}

BOT_METHODS = {
    name
    for name in dir(Bot)
    if not name.startswith("_") and name.islower() and callable(getattr(Bot, name))
} - {"context"}
SHORTCUTS = {
    "answer",
    "reply",
    "edit_text",
    "edit_reply_markup",
    "edit_caption",
    "delete",
    "forward",
    "copy_to",
    "send_copy",
    "answer_photo",
    "answer_document",
    "reply_photo",
    "pin",
    "unpin",
}
UPDATE_OBJECTS = {"message", "callback", "query", "event", "update", "chat", "callback_query"}


def _receiver(node: ast.expr) -> str:
    return node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")


def telegram_calls(source: str) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if _receiver(func) == "bot":  # bot(SendMessage(...)), self.bot(...)
            found.add("bot(...)")
        elif isinstance(func, ast.Attribute):
            owner = _receiver(func.value)
            if func.attr in BOT_METHODS and owner.endswith("bot"):
                found.add(func.attr)
            elif func.attr in SHORTCUTS and owner in UPDATE_OBJECTS:
                found.add(f"{owner}.{func.attr}")
    return found


def test_the_scan_sees_each_way_of_calling_telegram() -> None:
    source = """
async def f(bot, app, message, callback):
    await bot.send_message(1, "x")
    await app.bot.get_chat(1)
    await self.bot(method)
    await message.answer("x")
    await callback.message.edit_text("x")
    await sender.answer(method)
    await reply.send_photo(b"")
    await app.bot.session.close()
"""
    assert telegram_calls(source) == {
        "send_message",
        "get_chat",
        "bot(...)",
        "message.answer",
        "message.edit_text",
    }


def test_only_the_modules_the_architecture_names_call_telegram() -> None:
    calls = {}
    for path in sorted((ROOT / "bot").rglob("*.py")):
        found = telegram_calls(path.read_text(encoding="utf-8"))
        if found:
            calls[path.relative_to(ROOT).as_posix()] = found
    assert calls == ALLOWED


def test_the_architecture_names_them() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = text.split("**Who calls Telegram.**", 1)[1].split("\n- **", 1)[0]
    named = set(re.findall(r"`(bot/[\w/]+\.py)`", section))
    assert named == set(ALLOWED)
