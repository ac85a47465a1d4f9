"""The one aiohttp application of the bot: every HTTP route it serves is added here."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from bot.factory import Application
from bot.web.api import add_api
from bot.web.webhook import add_webhook_route

log = logging.getLogger(__name__)


def build_web_app(app: Application) -> web.Application:
    """The web application on WEB_HOST:WEB_PORT: Telegram's webhook at WEBHOOK_PATH in
    webhook mode, and the HTTP API for scheduling systems at /api/v1 when API_ENABLED
    (bot/web/api.py). Its start and stop are the runtime's (bot/runtime.py)."""
    web_app = web.Application()
    settings = app.context.settings
    if settings.webhook_mode:
        add_webhook_route(web_app, app)
    if settings.api_enabled:
        add_api(web_app, app)
    return web_app


class WebServerError(Exception):
    """The web application cannot listen where the settings say; one line for the operator."""


@asynccontextmanager
async def serve_api_while_polling(
    app: Application, *, port: int | None = None
) -> AsyncIterator[int | None]:
    """Polling mode: the web application (the HTTP API) on WEB_HOST:WEB_PORT while the block
    runs, when API_ENABLED; yields the port it listens on, or None when off. `port`
    overrides WEB_PORT (0: any free port, for tests). Webhook mode serves it anyway
    (bot/runtime.py `run_webhook`). Requests still open when the block ends get
    SHUTDOWN_GRACE_SECONDS."""
    settings = app.context.settings
    if not settings.api_enabled or settings.webhook_mode:
        yield None
        return
    listen = settings.web_port if port is None else port
    runner = web.AppRunner(
        build_web_app(app),
        access_log=None,
        handle_signals=False,
        shutdown_timeout=settings.shutdown_grace_seconds,
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.web_host, listen)
        try:
            await site.start()
        except OSError as exc:
            raise WebServerError(
                f"the HTTP API cannot listen on {settings.web_host}:{listen} "
                f"(WEB_HOST, WEB_PORT): {exc.strerror or type(exc).__name__}"
            ) from None
        bound = next(
            (int(a[1]) for a in runner.addresses if isinstance(a, tuple) and len(a) >= 2),
            listen,
        )
        log.info("HTTP API on %s:%d (/api/v1)", settings.web_host, bound)
        yield bound
    finally:
        await runner.cleanup()
