"""The fake Bot API's flood control across callers and its webhook side (setWebhook, delivery of
pushed updates to replicas), driven by the real aiogram Bot and small aiohttp receivers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramConflictError, TelegramRetryAfter
from aiogram.types import BufferedInputFile, Message
from aiohttp import web

from tests.fake_telegram import updates as u
from tests.fake_telegram.server import FakeTelegramServer
from tests.fake_telegram.webhook import SECRET_HEADER, chat_of
from tests.integration.replicas import free_port

SECRET = "s3cret_-token"


@pytest.fixture
def server(telegram: FakeTelegramServer) -> FakeTelegramServer:
    return telegram


@pytest.fixture
async def bot(telegram: FakeTelegramServer) -> AsyncIterator[Bot]:
    async with Bot(telegram.token, session=telegram.session()) as bot:
        yield bot


@dataclass
class Receiver:
    """A webhook endpoint: records (update_id, secret header) and answers ``status()``."""

    status: Callable[[dict[str, Any]], Awaitable[int]]
    received: list[tuple[int, str | None]] = field(default_factory=list)
    url: str = ""
    runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        update = await request.json()
        self.received.append((update["update_id"], request.headers.get(SECRET_HEADER)))
        status = await self.status(update)
        return web.json_response({}, status=status)


@pytest.fixture
async def receivers() -> AsyncIterator[Callable[..., Awaitable[Receiver]]]:
    started: list[Receiver] = []

    async def make(status: Callable[[dict[str, Any]], Awaitable[int]] | None = None) -> Receiver:
        async def ok(update: dict[str, Any]) -> int:
            return 200

        receiver = Receiver(status or ok)
        app = web.Application()
        app.router.add_post("/hook", receiver.handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        receiver.url, receiver.runner = f"http://127.0.0.1:{port}/hook", runner
        started.append(receiver)
        return receiver

    yield make
    for receiver in started:
        assert receiver.runner is not None
        await receiver.runner.cleanup()


# --------------------------------------------------------------------------- flood control


async def test_rate_limit_counts_every_kind_of_message(
    server: FakeTelegramServer, bot: Bot
) -> None:
    server.rate_limit = 3
    server.rate_limit_retry_after = 7
    photo = BufferedInputFile(b"png", "p.png")
    results = await asyncio.gather(
        bot.send_message(1, "a"),
        bot.send_photo(2, photo),
        bot.send_message(3, "c"),
        bot.send_document(4, BufferedInputFile(b"doc", "d.txt")),
        bot.send_message(5, "e"),
        return_exceptions=True,
    )
    limited = [r for r in results if isinstance(r, TelegramRetryAfter)]
    assert sum(isinstance(r, Message) for r in results) == 3
    assert [e.retry_after for e in limited] == [7, 7]
    refused = [r for r in server.requests if r.response_status == 429]
    assert [r.response for r in refused] == [
        {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 7",
            "parameters": {"retry_after": 7},
        }
    ] * 2
    assert server.flood_refusals == 2
    accepted = server.accepted_sends()
    assert len(accepted) == 3
    assert [r.at for r in accepted] == sorted(r.at for r in accepted)
    # Edits and callback answers are not messages: never refused.
    assert await bot.answer_callback_query("cbq") is True
    server.reset()
    assert server.flood_refusals == 0
    assert server.accepted_sends() == []


async def test_rate_limit_admits_again_after_a_second(server: FakeTelegramServer, bot: Bot) -> None:
    server.rate_limit = 2
    await bot.send_message(1, "a")
    await bot.send_message(1, "b")
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(1, "c")
    await asyncio.sleep(1.05)
    await bot.send_message(1, "d")
    assert server.flood_refusals == 1
    assert [r.params["text"] for r in server.accepted_sends()] == ["a", "b", "d"]


# --------------------------------------------------------------------------- registration


async def test_set_webhook_is_recorded_and_blocks_get_updates(
    server: FakeTelegramServer, bot: Bot
) -> None:
    assert (await bot.get_webhook_info()).url == ""
    with pytest.raises(TelegramBadRequest, match="HTTPS URL must be provided"):
        await bot.set_webhook("http://bot.example.org/hook")
    assert await bot.set_webhook(
        "http://127.0.0.1:1/hook",
        secret_token=SECRET,
        max_connections=5,
        allowed_updates=["message", "callback_query"],
    )
    hook = server.webhook_config
    assert hook is not None
    assert (hook.url, hook.secret_token, hook.max_connections) == (
        "http://127.0.0.1:1/hook",
        SECRET,
        5,
    )
    assert hook.allowed_updates == ["message", "callback_query"]
    info = await bot.get_webhook_info()
    assert (info.url, info.max_connections, info.pending_update_count) == (
        "http://127.0.0.1:1/hook",
        5,
        0,
    )
    with pytest.raises(TelegramConflictError, match="webhook is active"):
        await bot.get_updates()
    assert await bot.delete_webhook()
    assert server.webhook == {}
    assert server.webhook_config is None
    assert await bot.get_updates(timeout=0) == []


async def test_drop_pending_updates_forgets_the_queue(server: FakeTelegramServer, bot: Bot) -> None:
    server.push_update(u.message_update(1, "old"))
    await bot.set_webhook("http://127.0.0.1:1/hook", drop_pending_updates=True)
    await bot.delete_webhook()
    assert await bot.get_updates(timeout=0) == []
    [new] = server.push_updates([u.message_update(1, "new")])
    assert [x.update_id for x in await bot.get_updates(timeout=0)] == [new]


# --------------------------------------------------------------------------- delivery


async def test_delivery_round_robin_with_the_secret(
    server: FakeTelegramServer, bot: Bot, receivers: Callable[..., Awaitable[Receiver]]
) -> None:
    first, second = await receivers(), await receivers()
    delivery = await server.deliver_webhooks([first.url, second.url])
    ids = server.push_updates([u.message_update(100 + i, f"m{i}") for i in range(6)])
    await asyncio.sleep(0.2)
    assert first.received == second.received == []  # nothing before setWebhook: they wait
    assert (await bot.get_webhook_info()).pending_update_count == 6
    assert delivery.pending == 0
    await bot.set_webhook("https://lb.example.org/hook", secret_token=SECRET)
    await server.wait_delivered(timeout=5)
    assert sorted(i for i, _ in first.received + second.received) == ids
    assert len(first.received) == len(second.received) == 3
    # Deleted: what arrives waits for getUpdates again; set again: it is delivered.
    await bot.delete_webhook()
    [later] = server.push_updates([u.message_update(300, "later")])
    assert [x.update_id for x in await bot.get_updates(timeout=0)] == [later]
    await bot.set_webhook("https://lb.example.org/hook", secret_token=SECRET)
    await server.wait_delivered(timeout=5)
    assert later in delivery.acknowledged
    assert {secret for _, secret in first.received + second.received} == {SECRET}
    assert set(delivery.acknowledged) == {*ids, later}
    assert delivery.pending == 0
    assert all(a.status == 200 and a.answered_at is not None for a in delivery.attempts)


async def test_failed_delivery_goes_to_the_next_replica(
    server: FakeTelegramServer, bot: Bot, receivers: Callable[..., Awaitable[Receiver]]
) -> None:
    async def broken(update: dict[str, Any]) -> int:
        return 500

    failing, healthy = await receivers(broken), await receivers()
    dead = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens: connection refused
    await bot.set_webhook("https://lb.example.org/hook", secret_token=SECRET)
    delivery = await server.deliver_webhooks([failing.url, dead, healthy.url])
    ids = server.push_updates([u.message_update(200 + i, f"m{i}") for i in range(9)])
    await server.wait_delivered(timeout=10)
    assert sorted(i for i, _ in healthy.received) == ids
    assert set(delivery.acknowledged.values()) == {healthy.url}
    failures = [a for a in delivery.attempts if not a.acknowledged]
    assert {a.target for a in failures} == {failing.url, dead}
    assert {a.status for a in failures if a.target == failing.url} == {500}
    assert {(a.status, a.error is not None) for a in failures if a.target == dead} == {(0, True)}


async def test_one_chat_at_a_time_in_order_others_concurrently(
    server: FakeTelegramServer, bot: Bot, receivers: Callable[..., Awaitable[Receiver]]
) -> None:
    running: dict[int, int] = {}
    overlap: list[int] = []
    seen: dict[int, list[str]] = {}

    async def slow(update: dict[str, Any]) -> int:
        chat = chat_of(update)
        assert chat is not None
        running[chat] = running.get(chat, 0) + 1
        overlap.append(sum(1 for n in running.values() if n))
        seen.setdefault(chat, []).append(update["message"]["text"])
        await asyncio.sleep(0.05)
        running[chat] -= 1
        return 200

    receiver = await receivers(slow)
    await bot.set_webhook("https://lb.example.org/hook", secret_token=SECRET)
    await server.deliver_webhooks([receiver.url])
    server.push_updates(
        [u.message_update(chat, f"{chat}-{k}") for k in range(3) for chat in (1, 2, 3, 4)]
    )
    await server.wait_delivered(timeout=5)
    assert seen == {chat: [f"{chat}-{k}" for k in range(3)] for chat in (1, 2, 3, 4)}
    assert max(running.values()) == 0
    assert max(overlap) == 4  # four chats at once, never two updates of one chat


async def test_delivery_default_target_and_inline_answers_are_noticed(
    server: FakeTelegramServer, bot: Bot
) -> None:
    async def answer_inline(request: web.Request) -> web.Response:
        update = await request.json()
        body = {"method": "sendMessage", "chat_id": update["message"]["chat"]["id"], "text": "x"}
        return web.json_response(body)

    app = web.Application()
    app.router.add_post("/hook", answer_inline)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
        with pytest.raises(RuntimeError, match="no webhook registered"):
            await server.deliver_webhooks()
        await bot.set_webhook(url, secret_token=SECRET)
        delivery = await server.deliver_webhooks()
        [update_id] = server.push_updates([u.message_update(7, "hi")])
        await server.wait_delivered(timeout=5)
        assert delivery.targets == [url]
        [(replied_to, body)] = delivery.replies
        assert replied_to == update_id
        assert json.loads(body)["method"] == "sendMessage"
    finally:
        await runner.cleanup()


async def test_wait_delivered_times_out_with_a_report(server: FakeTelegramServer, bot: Bot) -> None:
    await bot.set_webhook("https://lb.example.org/hook", secret_token=SECRET)
    await server.deliver_webhooks([f"http://127.0.0.1:{free_port()}/hook"], max_backoff=0.05)
    server.push_update(u.message_update(9, "lost"))
    with pytest.raises(AssertionError, match="1 of 1 pushed updates not acknowledged"):
        await server.wait_delivered(timeout=0.5)


def test_chat_of_each_kind_of_update() -> None:
    assert chat_of(u.message_update(11, "hi")) == 11
    assert chat_of(u.callback_update(12, "m:faq")) == 12
    assert chat_of(u.edited_message_update(13, "hi")) == 13
    assert chat_of({"update_id": 1, "poll": {"id": "p"}}) is None
