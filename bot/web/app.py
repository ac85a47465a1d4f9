"""The one aiohttp application of the bot: every HTTP route it serves is added here."""

from __future__ import annotations

from aiohttp import web

from bot.factory import Application
from bot.web.webhook import add_webhook_route


def build_web_app(app: Application) -> web.Application:
    """The web application on WEB_HOST:WEB_PORT: Telegram's webhook at WEBHOOK_PATH in
    webhook mode (later pages add their routes beside it). Its start and stop are the
    runtime's (bot/runtime.py `run_webhook`)."""
    web_app = web.Application()
    if app.context.settings.webhook_mode:
        add_webhook_route(web_app, app)
    return web_app
