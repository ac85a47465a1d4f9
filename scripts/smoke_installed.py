"""A patient's /start answered by the *installed* bot (a wheel in a fresh venv), with the
content bundled in the wheel, through the tests' fake Bot API. Run by .ci/run:

    VENV/bin/python scripts/smoke_installed.py      # PYTHONPATH: a copy of tests/ only

Exits 0 when the welcome text came back, 1 otherwise.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path


def installed_where() -> Path | None:
    """Where the bot was imported from, when that is an installed wheel with its texts."""
    import bot
    from bot.config import BUNDLED_MESSAGES_DIR
    from bot.lazy_aiogram import prepare_aiogram

    prepare_aiogram(True)  # as the entry point does, before aiogram is imported

    where = Path(bot.__file__).resolve()
    if "site-packages" not in where.parts:
        print(f"smoke: bot imported from {where}, not from an installed wheel")
        return None
    if not (BUNDLED_MESSAGES_DIR / "en" / "welcome.html.j2").is_file():
        print(f"smoke: no bundled texts in {BUNDLED_MESSAGES_DIR}")
        return None
    return where


async def main(where: Path) -> int:
    from bot.config import Settings
    from bot.factory import create_application
    from bot.runtime import run_polling
    from tests.fake_telegram.server import FakeTelegramServer
    from tests.fake_telegram.updates import command_update

    with tempfile.TemporaryDirectory() as tmp:
        async with FakeTelegramServer() as server:
            settings = Settings(
                _env_file=None,
                bot_token=server.token,
                telegram_api_url=server.base_url,
                database_url=f"sqlite+aiosqlite:///{Path(tmp) / 'smoke.db'}",
                polling_timeout=1,
            )
            app = create_application(settings)
            polling = asyncio.create_task(run_polling(settings, app, handle_signals=False))
            server.push_update(command_update(1001, "start"))
            try:
                [answer] = await server.wait_for(
                    "sendMessage", lambda r: r.params.get("chat_id") == 1001, timeout=60
                )
            finally:
                await app.dispatcher.stop_polling()
                await polling
    text = str(answer.params.get("text", ""))
    if "Welcome" not in text:
        print("smoke: /start was not answered with the welcome text")
        return 1
    print(f"smoke: /start answered by the installed bot ({where.parent})")
    return 0


if __name__ == "__main__":
    installed = installed_where()
    sys.exit(1 if installed is None else asyncio.run(main(installed)))
