"""The HTTP API for scheduling systems: ``/api/v1`` on the one aiohttp application.

Served when ``API_ENABLED`` is true, in webhook mode beside Telegram's webhook and in polling
mode on its own (both on WEB_HOST:WEB_PORT, bot/runtime.py). A sub-application, so its
middleware (bot/web/api_calls.py: tokens, rate, body size, problems, audit, Idempotency-Key)
sees the API's calls only. The routes (bot/web/api_visits.py) read and write visits through
the one intake command (``svc.intake``); ``GET /api/v1/openapi.json`` is the document they
are described by (bot/intake/api_models.py ``openapi_document``), served to anyone: it holds
no data.
"""

from __future__ import annotations

import json

from aiohttp import web

from bot.factory import Application
from bot.intake.api_models import API_PREFIX, openapi_document
from bot.web.api_calls import CallGuard
from bot.web.api_visits import add_visit_routes

__all__ = ["API_PREFIX", "add_api", "build_api_app"]

GUARD_KEY = web.AppKey("api_guard", CallGuard)
_DOCUMENT_KEY = web.AppKey("api_document", bytes)


async def _openapi(request: web.Request) -> web.Response:
    return web.Response(body=request.app[_DOCUMENT_KEY], content_type="application/json")


def build_api_app(app: Application) -> web.Application:
    """The API's own aiohttp application (mounted at API_PREFIX by :func:`add_api`)."""
    guard = CallGuard(app)
    api = web.Application(middlewares=[guard.middleware])
    api[GUARD_KEY] = guard
    api[_DOCUMENT_KEY] = json.dumps(openapi_document()).encode("utf-8")
    api.router.add_get("/openapi.json", _openapi, name="openapi", allow_head=False)
    add_visit_routes(api)
    return api


def add_api(web_app: web.Application, app: Application) -> web.Application:
    """Mount the API on the bot's web application; the API's own application."""
    api = build_api_app(app)
    web_app.add_subapp(API_PREFIX, api)
    return api
