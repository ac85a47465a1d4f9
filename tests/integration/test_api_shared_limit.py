"""The HTTP API's rate limit shared by replicas through Redis (REDIS_URL), against a real Redis
(TEST_REDIS_URL; skipped when none answers), under a key prefix of each test's own.

Two applications on one database and one Redis stand for two replicas behind a balancer:
together they let a token through exactly its limit. Time is the applications' frozen
clocks (moved by the tests); nothing sleeps."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from bot.intake.api_models import API_PREFIX
from bot.metrics import Metrics
from bot.web.api_limits import RateLimit, RedisRateLimit
from tests.conftest import DEFAULT_NOW
from tests.fake_telegram.server import FakeTelegramServer
from tests.integration.api_rig import Api, start_api
from tests.integration.test_api import assert_problem
from tests.integration.test_shared_rate import _Proxy
from tests.redis_support import REDIS_URL, redis_prefix

PATH = f"{API_PREFIX}/visits?date=2026-11-26"
LIMITS: dict[str, Any] = {"api_rate_per_minute": 30, "api_burst": 3}  # one call every 2 s


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    async with redis_prefix() as name:
        yield name


@pytest.fixture
async def client() -> AsyncIterator[Redis]:
    made = Redis.from_url(REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
    yield made
    await made.aclose()


@asynccontextmanager
async def two_replicas(
    telegram: FakeTelegramServer, tmp_path: Path, prefix: str
) -> AsyncIterator[tuple[Api, Api]]:
    """Two applications on one database and one Redis, the second with the first's token."""
    redis = {"redis_url": REDIS_URL, "redis_prefix": prefix, **LIMITS}
    async with start_api(telegram, tmp_path / "a", now=DEFAULT_NOW, **redis) as a:
        shared = {"database_url": a.harness.settings.database_url, **redis}
        async with start_api(
            telegram, tmp_path / "b", now=DEFAULT_NOW, token=a.token, **shared
        ) as b:
            yield a, b


def advance(seconds: float, *replicas: Api) -> None:
    for replica in replicas:
        replica.harness.clock.advance(timedelta(seconds=seconds))


def refused(status: int, body: Any, headers: Any, retry_after: int) -> None:
    problem = assert_problem(status, body, headers, 429)
    assert problem["type"].endswith("rate-limited")
    assert headers["Retry-After"] == str(retry_after)
    assert problem["detail"] == f"Try again in {retry_after} s."


async def test_two_replicas_together_let_a_token_through_its_limit_once(
    telegram: FakeTelegramServer, tmp_path: Path, prefix: str, client: Redis
) -> None:
    async with two_replicas(telegram, tmp_path, prefix) as (a, b):
        # The balancer alternates: the burst of 3 is shared, not 3 on each.
        for replica in (a, b, a):
            assert (await replica.call("GET", PATH))[0] == 200
        refused(*await b.call("GET", PATH), retry_after=2)
        refused(*await a.call("GET", PATH), retry_after=2)
        # A refused call takes nothing: one interval later, exactly one more, anywhere.
        advance(2, a, b)
        assert (await b.call("GET", PATH))[0] == 200
        refused(*await a.call("GET", PATH), retry_after=2)
        # Another token has its own allowance, on both replicas.
        other = await a.make_token("second")
        assert (await b.call("GET", PATH, token=other))[0] == 200
        # The window resets by the clock: after a full burst's time, 3 again.
        advance(6, a, b)
        for replica in (b, a, b):
            assert (await replica.call("GET", PATH))[0] == 200
        refused(*await a.call("GET", PATH), retry_after=2)
        # Keys: hashed (no token, id or address in clear), expiring.
        keys = [k.decode() async for k in client.scan_iter(match=f"{prefix}:api:*")]
        assert len(keys) == 2, keys
        for key in keys:
            digest = key.rsplit(":", 1)[1]
            assert len(digest) == 64 and all(c in "0123456789abcdef" for c in digest)
            assert a.token not in key and other not in key
            assert 0 < await client.pttl(key) <= (6 + 60 + 1) * 1000


async def test_unauthenticated_calls_are_counted_per_address_across_replicas(
    telegram: FakeTelegramServer, tmp_path: Path, prefix: str
) -> None:
    async with two_replicas(telegram, tmp_path, prefix) as (a, b):
        for replica in (a, b, a):
            assert (await replica.call("GET", PATH, token="wrong"))[0] == 401
        refused(*await b.call("GET", PATH, token="wrong"), retry_after=2)


async def test_redis_unreachable_each_replica_counts_alone_and_never_fails_a_call(
    telegram: FakeTelegramServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Nothing listens on port 1: every Redis call fails at once.
    down = {"redis_url": "redis://127.0.0.1:1/0", "redis_prefix": "ic-test-down", **LIMITS}
    caplog.set_level(logging.INFO, logger="bot.web.api_limits")
    async with start_api(telegram, tmp_path, now=DEFAULT_NOW, **down) as api:
        for _ in range(3):
            assert (await api.call("GET", PATH))[0] == 200
        refused(*await api.call("GET", PATH), retry_after=2)  # the process's own count
        advance(2, api)
        assert (await api.call("GET", PATH))[0] == 200
        went = [r for r in caplog.records if "Redis unavailable" in r.getMessage()]
        assert len(went) == 1 and went[0].levelno == logging.WARNING
        registry = api.harness.app.metrics.registry
        fallbacks = registry.get_sample_value("companion_api_limits_fallbacks_total")
        assert fallbacks is not None and fallbacks >= 1


def _limits(
    redis: Redis, prefix: str, now: list[float], **options: Any
) -> tuple[RedisRateLimit, RateLimit]:
    clock: Callable[[], float] = lambda: now[0]  # noqa: E731
    local = RateLimit(per_minute=20, burst=3, now=clock)
    return RedisRateLimit(redis, local, key_prefix=f"{prefix}:api", **options), local


async def test_the_shared_limit_decides_as_the_process_one(client: Redis, prefix: str) -> None:
    """Same calls, same clock: the same decisions and Retry-After as :class:`RateLimit`."""
    now = [1_700_000_000.0]
    shared, _ = _limits(client, prefix, now)
    alone = RateLimit(per_minute=20, burst=3, now=lambda: now[0])  # one call every 3 s
    steps = [0, 0, 0, 0, 0.5, 2.4, 0.1, 1, 3, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0.7, 2.3]
    for i, step in enumerate(steps):
        now[0] += step
        for key in ("token:1", "peer:10.0.0.9"):
            assert await shared.check(key) == alone.hit(key), (i, key)
    assert shared.stats == {"fallbacks": 0, "shared": 2 * len(steps), "local": 0}


async def test_concurrent_calls_on_two_clients_take_exactly_the_burst(prefix: str) -> None:
    """Atomic: 40 calls at once through two replicas' own clients, one instant: 3 pass."""
    now = [1_700_000_000.0]
    clients = [Redis.from_url(REDIS_URL, socket_timeout=1) for _ in range(2)]
    try:
        limits = [_limits(c, prefix, now)[0] for c in clients]
        decisions = await asyncio.gather(*(limits[i % 2].check("token:7") for i in range(40)))
        assert sum(d.allowed for d in decisions) == 3
        assert {d.retry_after for d in decisions if not d.allowed} == {3}
    finally:
        for c in clients:
            await c.aclose()


async def test_redis_lost_then_back(prefix: str, caplog: pytest.LogCaptureFixture) -> None:
    proxy = _Proxy(int(REDIS_URL.rsplit(":", 1)[1].split("/")[0]))
    await proxy.start()
    client = proxy.client()
    now = [1_700_000_000.0]
    metrics = Metrics()
    caplog.set_level(logging.INFO, logger="bot.web.api_limits")
    shared, _ = _limits(client, prefix, now, retry_seconds=10, metrics=metrics)
    try:
        assert (await shared.check("token:1")).allowed  # shared: 1 of 3 taken in Redis
        await proxy.cut()
        # Alone: the process's count starts full (3 more), never an error.
        decisions = [await shared.check("token:1") for _ in range(4)]
        assert [d.allowed for d in decisions] == [True, True, True, False]
        assert decisions[-1].retry_after == 3
        assert shared.degraded and shared.stats["fallbacks"] == 1  # then not asked again
        assert metrics.registry.get_sample_value("companion_api_limits_fallbacks_total") == 1
        await proxy.start()  # back on the same port
        now[0] += 10  # past retry_seconds: Redis is asked again
        assert not shared.degraded
        assert (await shared.check("token:1")).allowed
        assert shared.stats["shared"] == 2
        assert any("answers again" in r.getMessage() for r in caplog.records)
        went = [r for r in caplog.records if "Redis unavailable" in r.getMessage()]
        assert len(went) == 1
    finally:
        await client.aclose()
        with contextlib.suppress(AssertionError):  # cut already
            await proxy.cut()
