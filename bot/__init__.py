"""infusion-companion: a Telegram companion that prepares infusion patients for each visit.

Importing the package has no side effect: the entry point (`bot.cli.main`) decides how
aiogram is imported (see `bot.lazy_aiogram.prepare_aiogram`)."""
