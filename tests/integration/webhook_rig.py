"""The real webhook mode (bot.runtime.run_webhook) on an ephemeral port, against the fake Bot
API server; updates are POSTed to it as Telegram does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bot.factory import Application, create_application, create_bot
from bot.runtime import run_webhook
from bot.telegram.session import JsonSession
from bot.web.webhook import SECRET_HEADER
from foundation.clock import FrozenClock
from tests.conftest import DEFAULT_NOW
from tests.fake_telegram.server import FakeTelegramServer, RecordedRequest
from tests.integration.harness import make_settings
from tests.integration.replicas import free_port

SECRET = "s3cret_Webhook-token"
PATH = "/telegram/webhook"


@dataclass
class Webhook:
    server: FakeTelegramServer
    app: Application
    url: str
    stop: asyncio.Event
    task: asyncio.Task[None]
    http: aiohttp.ClientSession

    async def post(
        self, update: dict[str, Any], secret: str | None = SECRET
    ) -> tuple[int, list[RecordedRequest]]:
        """POST one update as Telegram does; the status and what the bot sent meanwhile."""
        before = len(self.server.requests)
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        async with self.http.post(self.url, json=update, headers=headers) as response:
            await response.read()
            status = response.status
        return status, self.server.requests[before:]


def texts(sent: list[RecordedRequest], chat_id: int) -> list[str]:
    return [
        r.params.get("text", "")
        for r in sent
        if r.method.lower() == "sendmessage" and r.params.get("chat_id") == chat_id
    ]


@asynccontextmanager
async def start_webhook(
    server: FakeTelegramServer, tmp_path: Path, **overrides: Any
) -> AsyncIterator[Webhook]:
    port = free_port()
    settings = make_settings(
        server,
        tmp_path,
        **{
            "webhook_url": f"http://127.0.0.1:{port}{PATH}",
            "webhook_secret": SECRET,
            "web_host": "127.0.0.1",
            "web_port": port,
            "webhook_path": PATH,
            "shutdown_grace_seconds": 5,
            "ops_port": 0,  # /healthz and /metrics off: their tests are their own
            **overrides,
        },
    )
    app = create_application(
        settings,
        clock=FrozenClock(DEFAULT_NOW),
        bot=create_bot(settings, session=server.session(JsonSession)),
    )
    stop = asyncio.Event()
    set_before = len(server.calls("setWebhook"))
    task = asyncio.create_task(run_webhook(settings, app, handle_signals=False, stop=stop))
    url = f"http://127.0.0.1:{port}{PATH}"
    async with aiohttp.ClientSession() as http:
        hook = Webhook(server, app, url, stop, task, http)
        # Ready once Telegram was told where to call (after the server listens).
        wait = asyncio.create_task(server.wait_for("setWebhook", count=set_before + 1, timeout=30))
        done, _ = await asyncio.wait({wait, task}, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            wait.cancel()
            task.result()
            raise AssertionError("run_webhook returned before it was ready")
        try:
            yield hook
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)
