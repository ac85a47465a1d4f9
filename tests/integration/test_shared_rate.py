"""The send rate and Telegram's pauses shared by replicas through Redis (REDIS_URL).

Two :class:`RedisSharedRate` objects with clients of their own stand for two replicas. Slots
are spaced in Redis's clock, so these tests wait real time (short: a fast rate), against a
real Redis (TEST_REDIS_URL; skipped when none answers), under a key prefix of their own."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from redis.asyncio import Redis

from bot.config import Settings
from bot.delivery.rate_limit import RateLimiter
from bot.delivery.sender import Sender
from bot.delivery.shared_rate import RedisSharedRate
from bot.factory import connect_redis
from bot.metrics import Metrics
from scheduler.records import SendOutcome
from tests.fake_telegram.server import FakeTelegramServer
from tests.redis_support import REDIS_URL, redis_prefix


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    async with redis_prefix() as name:
        yield name


@pytest.fixture
async def clients() -> AsyncIterator[Callable[[], Redis]]:
    """Redis clients, one per replica, closed at the end."""
    made: list[Redis] = []

    def make() -> Redis:
        client = Redis.from_url(REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.aclose()


def local(rate: float) -> RateLimiter:
    return RateLimiter(rate, clock=time.monotonic, sleep=asyncio.sleep)


async def grants(shared: RedisSharedRate, own: RateLimiter, n: int, who: str, log: list) -> None:
    async def one() -> None:
        await shared.acquire(own)
        log.append((time.monotonic(), who))

    await asyncio.gather(*(one() for _ in range(n)))


async def test_two_replicas_together_keep_one_rate_and_share_it_fairly(
    clients: Callable[[], Redis], prefix: str
) -> None:
    rate, n = 50.0, 40
    a = RedisSharedRate(clients(), rate=rate, key_prefix=prefix)
    b = RedisSharedRate(clients(), rate=rate, key_prefix=prefix)
    log: list[tuple[float, str]] = []
    await asyncio.gather(grants(a, local(rate), n, "a", log), grants(b, local(rate), n, "b", log))
    times = sorted(t for t, _ in log)
    assert len(times) == 2 * n
    # Slots are 1/rate apart in Redis time: the 80 grants take at least 79 intervals (each
    # replica alone would have taken half as long), a grant is never early, only late.
    assert times[-1] - times[0] >= (2 * n - 1) / rate - 0.03
    # Over any one-second window, at most rate + 1 (and a little for a late grant).
    for i, start in enumerate(times):
        in_window = sum(1 for t in times[i:] if t - start <= 1.0)
        assert in_window <= rate + 3, (i, in_window)
    # Both busy: served in the order they asked, so each gets about half all along.
    first_half = [who for _, who in sorted(log)[:n]]
    assert first_half.count("a") >= n // 3 and first_half.count("b") >= n // 3, first_half
    assert a.stats["shared_grants"] == n and a.stats["fallbacks"] == 0


async def test_an_answer_goes_ahead_of_its_replicas_queue_within_the_shared_rate(
    clients: Callable[[], Redis], prefix: str
) -> None:
    rate, n = 20.0, 30
    a = RedisSharedRate(clients(), rate=rate, key_prefix=prefix)
    b = RedisSharedRate(clients(), rate=rate, key_prefix=prefix)
    own = local(rate)
    log: list[tuple[float, str]] = []
    queued = asyncio.gather(grants(a, own, n, "a", log), grants(b, local(rate), n, "b", log))
    await asyncio.sleep(0.3)  # both replicas have sends queued, some 1.5 s worth each
    asked = time.monotonic()
    await a.acquire_first(own)  # an answer in replica a
    waited = time.monotonic() - asked
    log.append((time.monotonic(), "answer"))
    await queued
    # Only the slots already reserved (one per replica) came first, not a's 25 queued sends.
    assert waited <= 3 / rate + 0.05, waited
    times = sorted(t for t, _ in log)
    assert times[-1] - times[0] >= (2 * n) / rate - 0.03  # it spent a slot of the rate
    assert a.stats["shared_grants"] == n + 1


async def test_a_pause_seen_by_one_replica_holds_back_the_other(
    clients: Callable[[], Redis], prefix: str
) -> None:
    a = RedisSharedRate(clients(), rate=100, key_prefix=prefix)
    b = RedisSharedRate(clients(), rate=100, key_prefix=prefix)
    await b.acquire(local(100))  # not paused: at once
    started = time.monotonic()
    await a.pause(0.4)  # Telegram told replica a "retry after"
    await b.acquire(local(100))
    assert time.monotonic() - started >= 0.38
    await a.pause(0.3)
    started = time.monotonic()
    await b.wait_unpaused()  # answers to updates wait the pause out too
    assert time.monotonic() - started >= 0.28


async def test_a_slot_reserved_before_a_pause_waits_for_its_end(
    clients: Callable[[], Redis], prefix: str
) -> None:
    rate = 5.0  # slots 0.2 s apart
    reserved = asyncio.Event()

    async def sleep_until_the_slot(seconds: float) -> None:
        reserved.set()
        await asyncio.sleep(seconds)

    a = RedisSharedRate(clients(), rate=rate, key_prefix=prefix)
    b = RedisSharedRate(clients(), rate=rate, key_prefix=prefix, sleep=sleep_until_the_slot)
    own = local(rate)
    await a.acquire(own)
    started = time.monotonic()
    waiting = asyncio.create_task(b.acquire(local(rate)))
    await asyncio.wait_for(reserved.wait(), 5)  # b reserved the slot 0.2 s ahead
    await a.pause(0.5)  # a 429 meanwhile
    await waiting
    assert time.monotonic() - started >= 0.5


async def test_grants_are_fifo_within_a_process_and_a_cancelled_caller_leaves(
    clients: Callable[[], Redis], prefix: str
) -> None:
    rate = 40.0
    shared = RedisSharedRate(clients(), rate=rate, key_prefix=prefix)
    own = local(rate)
    order: list[int] = []

    async def caller(i: int) -> None:
        await shared.acquire(own)
        order.append(i)

    tasks = []
    for i in range(8):
        tasks.append(asyncio.create_task(caller(i)))
        await asyncio.sleep(0)  # each joins the queue before the next
    await asyncio.sleep(0.01)
    tasks[5].cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(results[5], asyncio.CancelledError)
    assert order == [0, 1, 2, 3, 4, 6, 7]
    # The keys outlive their use by about a second, not forever.
    redis = clients()
    for key in shared.keys[:1]:
        assert 0 < await redis.pttl(key) <= 2_000


# --------------------------------------------------------------------- through the Sender


@pytest.fixture
async def telegram_bots() -> AsyncIterator[tuple[FakeTelegramServer, list[Bot]]]:
    async with AsyncExitStack() as stack:
        server = await stack.enter_async_context(FakeTelegramServer())
        bots = []
        for _ in range(2):
            bot = Bot(server.token, session=server.session(), default=DefaultBotProperties())
            stack.push_async_callback(bot.session.close)
            bots.append(bot)
        yield server, bots


async def test_a_429_at_one_replica_pauses_the_other_replicas_sends(
    telegram_bots: tuple[FakeTelegramServer, list[Bot]],
    clients: Callable[[], Redis],
    prefix: str,
) -> None:
    server, (bot_a, bot_b) = telegram_bots
    shared_a = RedisSharedRate(clients(), rate=100, key_prefix=prefix)
    paused = asyncio.Event()
    pause = shared_a.pause

    async def pause_and_tell(seconds: float) -> None:
        await pause(seconds)
        paused.set()

    shared_a.pause = pause_and_tell  # type: ignore[method-assign]
    a = Sender(bot_a, rate=100, shared=shared_a)
    b = Sender(bot_b, rate=100, shared=RedisSharedRate(clients(), rate=100, key_prefix=prefix))
    server.fail_next("sendMessage", "retry_after", retry_after=1)
    first = asyncio.create_task(a.send(1001, "one"))
    await server.wait_for("sendMessage", lambda r: r.response_status == 429)
    await asyncio.wait_for(paused.wait(), 5)  # replica a has written the pause to Redis
    paused_at = time.monotonic()
    result = await b.send(1002, "two")
    assert result.outcome is SendOutcome.SENT
    assert (await first).outcome is SendOutcome.SENT
    [two] = [r for r in server.sent_messages(1002)]
    assert two.at - paused_at >= 0.85  # b waited out a's retry_after (1 s from the 429)
    assert b.stats["retry_after_pauses"] == 0  # b never met the 429 itself


class _Proxy:
    """A TCP proxy to Redis that can be cut (Redis unreachable) and restored on its port."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    def client(self) -> Redis:
        """A client through the proxy, made as the application makes its own (bot/factory.py,
        `connect_redis`: its timeouts, and its retry policy of one retry at once). With
        redis-py's default policy (from 6.0: three retries, backing off about 1, 2 and 4 s)
        each call once the proxy was cut sat in the backoff for up to 10 s, which is nothing
        the tests are about: what the limits do when Redis does not answer."""
        client = connect_redis(
            Settings(_env_file=None, redis_url=f"redis://127.0.0.1:{self.port}/0")
        )
        assert client is not None
        return client

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        await self._server.wait_closed()
        self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.transport.abort()
                self._writers.discard(dst)

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


async def test_redis_lost_mid_run_falls_back_without_losing_or_repeating_a_message(
    telegram_bots: tuple[FakeTelegramServer, list[Bot]],
    prefix: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server, (bot, _) = telegram_bots
    proxy = _Proxy(int(REDIS_URL.rsplit(":", 1)[1].split("/")[0]))
    await proxy.start()
    now = [0.0]  # the fallback's clock: when to try Redis again
    client = proxy.client()
    metrics = Metrics()
    shared = RedisSharedRate(
        client,
        rate=100,
        key_prefix=prefix,
        retry_seconds=10,
        clock=lambda: now[0],
        metrics=metrics,
    )
    sender = Sender(bot, rate=100, per_chat_interval=0, shared=shared)
    caplog.set_level(logging.INFO, logger="bot.delivery.shared_rate")
    try:
        first = [asyncio.create_task(sender.send(2000 + i, f"m{i}")) for i in range(40)]
        await server.wait_for("sendMessage", count=10)
        await proxy.cut()  # Redis gone mid-run
        rest = [asyncio.create_task(sender.send(3000 + i, f"n{i}")) for i in range(20)]
        results = await asyncio.gather(*first, *rest)
        assert all(r.outcome is SendOutcome.SENT for r in results)
        texts = server.sent_texts()
        assert sorted(texts) == sorted([f"m{i}" for i in range(40)] + [f"n{i}" for i in range(20)])
        assert shared.degraded and shared.stats["fallbacks"] >= 1
        fallbacks = metrics.registry.get_sample_value("companion_send_limits_fallbacks_total")
        assert fallbacks == shared.stats["fallbacks"]
        assert shared.stats["local_grants"] >= 1
        went = [r for r in caplog.records if "Redis unavailable" in r.getMessage()]
        assert len(went) == 1 and went[0].levelno == logging.WARNING

        await proxy.start()  # back on the same port
        now[0] = 11.0  # past retry_seconds
        before = shared.stats["shared_grants"]
        assert (await sender.send(4000, "back")).outcome is SendOutcome.SENT
        assert shared.stats["shared_grants"] == before + 1 and not shared.degraded
        assert any("answers again" in r.getMessage() for r in caplog.records)
    finally:
        await client.aclose()
        if proxy._server is not None:
            await proxy.cut()
