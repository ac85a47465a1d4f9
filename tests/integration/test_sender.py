"""Sender against the fake Bot API server with a real aiogram Bot."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.delivery.sender import Sender
from bot.logs import chat_ref
from scheduler.records import SendOutcome
from tests.fake_telegram.server import FakeTelegramServer

SECRET = "Reminder for Alice: infusion tomorrow at 09:30 <b>secret-marker-42</b>"


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer() as fake:
        yield fake


@pytest.fixture
async def bot(server: FakeTelegramServer) -> AsyncIterator[Bot]:
    bot = Bot(
        server.token,
        session=server.session(),
        default=DefaultBotProperties(parse_mode="HTML"),
    )
    try:
        yield bot
    finally:
        await bot.session.close()


def make_sender(bot: Bot, **kwargs: object) -> Sender:
    options: dict[object, object] = {
        "backoff_base": 0.01,
        "backoff_max": 0.05,
        "per_chat_interval": 0.05,
    }
    options.update(kwargs)
    return Sender(bot, **options)  # type: ignore[arg-type]


async def test_sent_with_message_id(server: FakeTelegramServer, bot: Bot) -> None:
    sender = make_sender(bot)
    markup = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="OK", callback_data="ok")]]
    )
    result = await sender.send(1001, SECRET, reply_markup=markup, disable_notification=True)
    assert result.outcome is SendOutcome.SENT
    assert result.message_id == 1
    assert result.error is None
    [request] = server.sent_messages()
    assert request.params["text"] == SECRET
    assert request.params["parse_mode"] == "HTML"
    assert request.params["disable_notification"] is True
    assert "protect_content" not in request.params
    assert request.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "ok"
    second = await sender.send(1001, "again")
    assert second.message_id == 2
    assert sender.stats["sent"] == 2


async def test_retry_after_pauses_everyone(
    server: FakeTelegramServer, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    sender = make_sender(bot, rate=0)
    server.fail_next("sendMessage", "retry_after", retry_after=1)
    paused = asyncio.Event()
    pause = sender._limiter.pause

    async def pause_and_tell(seconds: float) -> None:
        await pause(seconds)
        paused.set()

    monkeypatch.setattr(sender._limiter, "pause", pause_and_tell)

    first = asyncio.create_task(sender.send(1001, "first"))
    [limited] = await server.wait_for("sendMessage", lambda r: r.response_status == 429)
    await asyncio.wait_for(paused.wait(), 5)  # the sender saw the 429
    assert sender.paused_until > time.monotonic()
    # A send to another chat, started during the pause, waits for it too.
    second = asyncio.create_task(sender.send(2002, "second"))
    results = await asyncio.gather(first, second)

    assert [r.outcome for r in results] == [SendOutcome.SENT, SendOutcome.SENT]
    delivered = [r for r in server.sent_messages() if r.response_status == 200]
    assert sorted(r.params["chat_id"] for r in delivered) == [1001, 2002]
    for request in delivered:
        assert request.at - limited.at >= 0.95
    assert len(server.sent_messages(1001)) == 2  # the 429 and the retry
    assert len(server.sent_messages(2002)) == 1
    assert sender.stats["retry_after_pauses"] == 1
    assert sender.paused_until == 0


async def test_retry_after_pauses_concurrent_sends(server: FakeTelegramServer, bot: Bot) -> None:
    # Two sends in flight at once (rate 5/s puts the second 0.2 s after the first): the
    # first gets 429 and both wait out the pause.
    sender = make_sender(bot, rate=5)
    server.fail_next("sendMessage", "retry_after", retry_after=1)
    results = await asyncio.gather(sender.send(1001, "a"), sender.send(2002, "b"))
    assert [r.outcome for r in results] == [SendOutcome.SENT, SendOutcome.SENT]
    [limited] = [r for r in server.sent_messages() if r.response_status == 429]
    delivered = [r for r in server.sent_messages() if r.response_status == 200]
    assert Counter(r.params["chat_id"] for r in delivered) == {1001: 1, 2002: 1}
    assert all(r.at - limited.at >= 0.95 for r in delivered)


async def test_retry_after_gives_up_after_five_pauses(server: FakeTelegramServer, bot: Bot) -> None:
    # Pauses capped at 0.05 s keep the test fast; retry_in reports Telegram's own value.
    sender = make_sender(bot, rate=0, max_retry_after=0.05)
    server.fail_next("sendMessage", "retry_after", retry_after=1, times=6)
    result = await sender.send(1001, SECRET)
    assert result.outcome is SendOutcome.RETRY
    assert result.retry_in == 1
    assert len(server.sent_messages()) == 6
    assert sender.stats["retry_after_pauses"] == 6
    assert SECRET not in (result.error or "")


async def test_retry_after_is_capped(server: FakeTelegramServer, bot: Bot) -> None:
    sender = make_sender(bot, rate=0, max_retry_after=0.2)
    server.fail_next("sendMessage", "retry_after", retry_after=30)
    started = time.monotonic()
    result = await sender.send(1001, "x")
    assert result.outcome is SendOutcome.SENT
    assert 0.15 <= time.monotonic() - started < 2.0


async def test_forbidden_is_blocked_without_retry(server: FakeTelegramServer, bot: Bot) -> None:
    sender = make_sender(bot)
    server.fail_next("sendMessage", "blocked")
    result = await sender.send(1001, SECRET)
    assert result.outcome is SendOutcome.BLOCKED
    assert result.message_id is None
    assert result.error is not None
    assert result.error.startswith("TelegramForbiddenError")
    assert "blocked by the user" in result.error
    assert "secret-marker-42" not in result.error
    assert len(server.sent_messages()) == 1
    assert sender.stats["blocked"] == 1


async def test_chat_not_found_is_blocked(server: FakeTelegramServer, bot: Bot) -> None:
    sender = make_sender(bot)
    server.fail_next("sendMessage", "chat_not_found")
    result = await sender.send(1001, SECRET)
    assert result.outcome is SendOutcome.BLOCKED
    assert result.error is not None
    assert "chat not found" in result.error
    assert "secret-marker-42" not in result.error
    assert len(server.sent_messages()) == 1


@pytest.mark.parametrize(
    "description", ["Bad Request: PEER_ID_INVALID", "Bad Request: user is deactivated"]
)
async def test_other_unreachable_descriptions(
    server: FakeTelegramServer, bot: Bot, description: str
) -> None:
    sender = make_sender(bot)
    server.fail_next("sendMessage", "bad_request", description=description)
    assert (await sender.send(1001, "x")).outcome is SendOutcome.BLOCKED


async def test_bad_request_is_not_retried(server: FakeTelegramServer, bot: Bot) -> None:
    sender = make_sender(bot)
    server.fail_next("sendMessage", "bad_request")
    result = await sender.send(1001, SECRET)
    assert result.outcome is SendOutcome.BAD_REQUEST
    assert result.error == "TelegramBadRequest: Bad Request: injected failure"
    assert len(server.sent_messages()) == 1
    assert sender.stats["bad_request"] == 1


async def test_bad_request_echoing_text_is_scrubbed(server: FakeTelegramServer, bot: Bot) -> None:
    def refuse(params: dict) -> dict:
        raise server.error(400, f"Bad Request: can't parse entities in {params['text']}")

    server.set_handler("sendMessage", refuse)
    result = await make_sender(bot).send(1001, SECRET)
    assert result.outcome is SendOutcome.BAD_REQUEST
    assert result.error is not None
    assert "can't parse entities" in result.error
    assert "secret-marker-42" not in result.error


async def test_server_errors_then_ok(server: FakeTelegramServer, bot: Bot) -> None:
    sender = make_sender(bot)
    server.fail_next("sendMessage", "server_error", times=2)
    result = await sender.send(1001, "x")
    assert result.outcome is SendOutcome.SENT
    assert [r.response_status for r in server.sent_messages()] == [500, 500, 200]
    assert sender.stats["transient_errors"] == 2
    assert sender.stats["sent"] == 1


async def test_dropped_connection_is_retried(server: FakeTelegramServer, bot: Bot) -> None:
    sender = make_sender(bot)
    server.fail_next("sendMessage", "drop")
    result = await sender.send(1001, "x")
    assert result.outcome is SendOutcome.SENT
    assert [r.response_status for r in server.sent_messages()] == [0, 200]


async def test_persistent_server_error_gives_retry(
    server: FakeTelegramServer, bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    # Virtual time: sleeps are recorded and advance the clock instead of waiting.
    now = 0.0
    sleeps: list[float] = []

    async def virtual_sleep(delay: float) -> None:
        nonlocal now
        sleeps.append(delay)
        now += delay
        await asyncio.sleep(0)

    sender = make_sender(
        bot,
        attempts=4,
        backoff_base=0.5,
        backoff_max=1.5,
        clock=lambda: now,
        sleep=virtual_sleep,
    )
    server.fail_next("sendMessage", "bad_gateway", times=10)
    with caplog.at_level(logging.DEBUG, logger="bot.delivery.sender"):
        result = await sender.send(1001, SECRET)
    assert result.outcome is SendOutcome.RETRY
    assert result.retry_in == 1.5  # 0.5 * 2**3 = 4.0, capped
    assert sleeps == [0.5, 1.0, 1.5]  # backoff, capped at backoff_max
    assert len(server.sent_messages()) == 4
    assert result.error is not None
    assert result.error.startswith("TelegramServerError")
    assert SECRET not in result.error
    assert sender.stats["retry"] == 1
    assert sender.stats["transient_errors"] == 4
    assert "secret-marker-42" not in caplog.text
    assert "1001" not in caplog.text  # chats appear as a keyed digest, never as the id
    assert chat_ref(1001) in caplog.text


async def test_unauthorized_is_retry_and_logged_once_at_error(
    server: FakeTelegramServer, bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    sender = make_sender(bot)
    server.fail_next("sendMessage", "unauthorized", times=2)
    with caplog.at_level(logging.INFO, logger="bot.delivery.sender"):
        first = await sender.send(1001, SECRET)
        second = await sender.send(1002, SECRET)
    assert first.outcome is second.outcome is SendOutcome.RETRY
    assert first.retry_in is not None
    assert len(server.sent_messages()) == 2  # no retry in place
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "secret-marker-42" not in caplog.text


async def test_rate_limited_server_loses_nothing(server: FakeTelegramServer, bot: Bot) -> None:
    server.rate_limit = 30
    sender = make_sender(bot, rate=30)
    chats = list(range(5000, 5090))
    results = await asyncio.gather(*(sender.send(c, f"reminder {c}") for c in chats))

    assert all(r.outcome is SendOutcome.SENT for r in results), Counter(r.outcome for r in results)
    delivered = Counter(
        r.params["chat_id"] for r in server.sent_messages() if r.response_status == 200
    )
    assert delivered == dict.fromkeys(chats, 1)
    assert sender.stats["sent"] == 90
    assert {r.response_status for r in server.sent_messages()} <= {200, 429}


async def test_per_chat_interval_against_server(server: FakeTelegramServer, bot: Bot) -> None:
    sender = make_sender(bot, rate=0, per_chat_interval=0.3)
    results = await asyncio.gather(
        sender.send(1001, "one"), sender.send(1001, "two"), sender.send(2002, "other")
    )
    assert all(r.outcome is SendOutcome.SENT for r in results)
    first, second = server.sent_messages(1001)
    [other] = server.sent_messages(2002)
    assert [first.params["text"], second.params["text"]] == ["one", "two"]  # order kept
    assert second.at - first.at >= 0.28
    assert other.at - first.at < 0.2  # another chat is not held up


async def test_flood_waits_blocked_chats_and_call_times_reach_the_metrics(
    server: FakeTelegramServer, bot: Bot
) -> None:
    from bot.metrics import Metrics

    now = 0.0

    async def virtual_sleep(delay: float) -> None:  # time moves only when slept
        nonlocal now
        now += delay
        await asyncio.sleep(0)

    metrics = Metrics()
    sender = make_sender(bot, rate=0, clock=lambda: now, sleep=virtual_sleep, metrics=metrics)
    server.fail_next("sendMessage", "retry_after", retry_after=3)
    assert (await sender.send(1001, "x")).outcome is SendOutcome.SENT
    server.block_chat(2002)
    assert (await sender.send(2002, "x")).outcome is SendOutcome.BLOCKED

    def sample(name: str, **labels: str) -> float | None:
        return metrics.registry.get_sample_value(name, labels)

    assert sample("companion_telegram_429_total") == 1
    assert sample("companion_telegram_results_total", kind="send", outcome="sent") == 1
    assert sample("companion_telegram_results_total", kind="send", outcome="blocked") == 1
    assert sample("companion_telegram_unreachable_total") == 1
    # three calls (the 429, its retry, the blocked one), timed by the sender's clock
    assert sample("companion_telegram_request_duration_seconds_count", kind="send") == 3
