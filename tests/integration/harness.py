"""Runs the real dispatcher, database and aiogram Bot against the fake Bot API server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.db.migrate import upgrade
from bot.factory import Application, create_application, create_bot
from bot.telegram.session import JsonSession
from foundation.clock import FrozenClock
from tests.fake_telegram import updates
from tests.fake_telegram.server import FakeTelegramServer, RecordedRequest
from tests.integration.pg import app_database
from tests.redis_support import REDIS_URL, harness_uses_redis, redis_prefix

STAFF_ID = 9001


@dataclass
class Harness:
    server: FakeTelegramServer
    app: Application
    clock: FrozenClock
    settings: Settings
    _task: asyncio.Task[None]
    _fed: int = 0

    async def feed(self, update: dict[str, Any], timeout: float = 30.0) -> list[RecordedRequest]:
        """Push one update and wait until the bot has fully handled it; return what it sent.

        ``timeout`` tells a hung handler from a slow one; it is not a measure of speed (the
        tests about speed time what they are about). 30 s, not 5: most updates take a tenth
        of a second of CPU, but one in a long-lived test process can take 1.5 s (a
        collection of its large heap, a part built on first use), and with a worker per core
        beside other work the process gets about half a core: such updates took 2.5-3.3 s,
        and two took over 5 s, in a run of two workers at a load of 4-5 on two cores."""
        return await self.feed_many([update], timeout)

    def push_many(self, batch: list[dict[str, Any]]) -> None:
        """Push updates without waiting (see :meth:`settle`)."""
        for update in batch:
            self.server.push_update(update)
        self._fed += len(batch)

    async def settle(self, timeout: float = 60.0) -> None:
        """Wait until every update pushed so far was handled."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        inflight = self.app.inflight
        while inflight.completed < self._fed or inflight.in_flight:
            if self._task.done():
                self._task.result()
            if loop.time() > deadline:
                missing = self._fed - inflight.completed
                raise AssertionError(f"{missing} updates not handled within {timeout}s")
            await asyncio.sleep(0.005)

    async def feed_many(
        self, batch: list[dict[str, Any]], timeout: float = 60.0
    ) -> list[RecordedRequest]:
        """Push updates in one burst (one getUpdates answer, handled concurrently, as from
        many people at once) and wait until every one was handled; return what was sent."""
        before = len(self.server.requests)
        self.push_many(batch)
        await self.settle(timeout)
        return [
            r
            for r in self.server.requests[before:]
            if r.method.lower() not in ("getupdates", "getme")
        ]

    async def send(self, user_id: int, text: str, **extra: Any) -> list[str]:
        sent = await self.feed(updates.message_update(user_id, text, **extra))
        return texts_to(sent, user_id)

    async def command(self, user_id: int, command: str, args: str = "") -> list[str]:
        sent = await self.feed(updates.command_update(user_id, command, args))
        return texts_to(sent, user_id)

    async def press(self, user_id: int, data: str) -> list[str]:
        sent = await self.feed(updates.callback_update(user_id, data))
        return texts_to(sent, user_id)

    def last_message(self, chat_id: int) -> RecordedRequest:
        return self.server.sent_messages(chat_id)[-1]

    def buttons(self, chat_id: int) -> list[tuple[str, str]]:
        markup = self.last_message(chat_id).params.get("reply_markup") or {}
        return [
            (b["text"], b.get("callback_data", ""))
            for row in markup.get("inline_keyboard", [])
            for b in row
        ]

    def button(self, chat_id: int, label_part: str) -> str:
        for text, data in self.buttons(chat_id):
            if label_part.lower() in text.lower():
                return data
        raise AssertionError(f"no button like {label_part!r} in {self.buttons(chat_id)}")

    async def tap(self, chat_id: int, label_part: str) -> list[str]:
        return await self.press(chat_id, self.button(chat_id, label_part))

    async def consent(self, user_id: int) -> None:
        await self.command(user_id, "start")
        await self.tap(user_id, "agree")

    async def reminders_at(self, when: datetime, user_id: int) -> list[str]:
        """Move the clock to ``when`` and run one reminder pass: the texts ``user_id`` got."""
        self.clock.set(when)
        before = len(self.server.sent_messages(user_id))
        await self.app.reminders.run_due()
        return [
            r.params["text"]
            for r in self.server.sent_messages(user_id)[before:]
            if r.response_status == 200
        ]


def last_button(server: FakeTelegramServer, chat_id: int, label_part: str) -> str:
    """The data of the newest button like ``label_part`` sent to ``chat_id`` (in any message,
    not only the last one)."""
    for request in reversed(server.sent_messages(chat_id)):
        for row in (request.params.get("reply_markup") or {}).get("inline_keyboard", []):
            for button in row:
                if label_part.lower() in button["text"].lower():
                    return str(button["callback_data"])
    raise AssertionError(f"no button like {label_part!r} was sent to {chat_id}")


def hold_upcoming(monkeypatch: Any) -> tuple[asyncio.Event, asyncio.Event]:
    """Make /appointment's list wait: ``entered`` is set when a handler reaches it, which then
    goes on once ``release`` is set (a handler in flight, for shutdown tests)."""
    from bot.services.appointments import AppointmentService

    entered, release = asyncio.Event(), asyncio.Event()
    original = AppointmentService.upcoming

    async def slow_upcoming(self: AppointmentService, *args: Any) -> Any:
        entered.set()
        await release.wait()
        return await original(self, *args)

    monkeypatch.setattr(AppointmentService, "upcoming", slow_upcoming)
    return entered, release


def texts_to(sent: list[RecordedRequest], chat_id: int) -> list[str]:
    return [
        r.params.get("text", "")
        for r in sent
        if r.method.lower() == "sendmessage" and r.params.get("chat_id") == chat_id
    ]


def make_settings(server: FakeTelegramServer, tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for the bot under test; without `database_url`, a SQLite file in `tmp_path`
    (a test on the application's database passes `app_database`'s URL)."""
    values: dict[str, Any] = {
        "bot_token": server.token,
        "telegram_api_url": server.base_url,
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'companion.db'}",
        "staff_ids": frozenset({STAFF_ID}),
        "clinic_timezone": "America/New_York",
        "polling_timeout": 1,
        # Per-chat spacing is tested in the sender's own tests; here it would only slow things.
        "send_chat_interval": 0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@asynccontextmanager
async def start_harness(
    server: FakeTelegramServer, tmp_path: Path, *, now: datetime, **overrides: Any
) -> AsyncIterator[Harness]:
    """The bot polling the fake server, on its own database (`app_database`: SQLite, or
    PostgreSQL with TEST_DATABASE=postgres) unless `database_url` is given (a second replica
    passes the first one's). With TEST_REDIS=1 (and no ``redis_url`` given) its conversation
    state and send limits are in Redis, under a key prefix of the test's own
    (tests/redis_support.py)."""
    async with AsyncExitStack() as stack:
        if "database_url" not in overrides:
            url = await stack.enter_async_context(app_database(tmp_path))
            overrides = {**overrides, "database_url": url}
        if harness_uses_redis() and "redis_url" not in overrides:
            # Named after the database: a restart on it finds the same conversations.
            prefix = await stack.enter_async_context(redis_prefix(str(tmp_path)))
            overrides = {"redis_url": REDIS_URL, "redis_prefix": prefix, **overrides}
        harness = await stack.enter_async_context(_running(server, tmp_path, now, overrides))
        yield harness


@asynccontextmanager
async def _running(
    server: FakeTelegramServer, tmp_path: Path, now: datetime, overrides: dict[str, Any]
) -> AsyncIterator[Harness]:
    settings = make_settings(server, tmp_path, **overrides)
    bot = create_bot(settings, session=server.session(JsonSession))
    clock = FrozenClock(now)
    app = create_application(settings, clock=clock, bot=bot)
    await upgrade(app.db_engine)
    task = asyncio.create_task(
        app.dispatcher.start_polling(bot, handle_signals=False, polling_timeout=1)
    )
    harness = Harness(server, app, clock, settings, task)
    await app.alerts.start()
    await app.events.start()
    try:
        yield harness
    finally:
        await app.events.stop(grace=5.0)
        await app.alerts.stop(grace=5.0)
        if not task.done():
            await app.dispatcher.stop_polling()
        await task
        await app.db_engine.dispose()
        if app.redis is not None:
            await app.redis.aclose()
