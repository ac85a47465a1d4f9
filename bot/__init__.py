"""infusion-companion: a Telegram companion that prepares infusion patients for each visit."""

from bot.lazy_aiogram import import_aiogram, keep_response_models

# Before any module of the bot imports aiogram: see bot/lazy_aiogram.py.
import_aiogram()
keep_response_models()
