"""Redis for tests: TEST_REDIS_URL (default the local server on 127.0.0.1:6379, database 0).

A test that needs Redis is skipped, saying why, when no server answers. Other test runs share
the server: each test works under a key prefix of its own and deletes its keys at the end (the
prefix names the pytest-xdist worker, tests/workers.py; all use database 0).
``TEST_REDIS=1`` runs the integration harness (tests/integration/harness.py) with Redis:
conversation state in aiogram's RedisStorage and the shared send limits.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from tests.workers import worker_id

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def harness_uses_redis() -> bool:
    return os.environ.get("TEST_REDIS", "").strip().lower() in {"1", "true", "yes"}


# This process's: the worker's id (tests/workers.py) and a random part (other runs).
_RUN = f"{worker_id()}-{uuid.uuid4().hex[:8]}"


def new_prefix(name: str | None = None) -> str:
    """A key prefix no other test run uses; the same ``name`` gives the same prefix within
    this run (a restarted application finds its state)."""
    suffix = hashlib.sha1(name.encode()).hexdigest()[:10] if name else uuid.uuid4().hex[:10]
    return f"ic-test-{_RUN}-{suffix}"


async def delete_keys(url: str, prefix: str) -> int:
    """Delete every key under ``prefix:``; the number deleted."""
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    try:
        keys = [k async for k in client.scan_iter(match=f"{prefix}:*", count=1000)]
        return int(await client.delete(*keys)) if keys else 0
    finally:
        await client.aclose()


@asynccontextmanager
async def redis_prefix(name: str | None = None) -> AsyncIterator[str]:
    """A key prefix of this test's own (:func:`new_prefix`) on a Redis that answers (else the
    test is skipped); its keys are deleted afterwards."""
    try:
        from redis.asyncio import Redis
        from redis.exceptions import RedisError
    except ImportError:
        pytest.skip("the redis package is not installed (pip install -e '.[test]')")
    client = Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        pytest.skip(f"no Redis answers at TEST_REDIS_URL ({REDIS_URL}): {type(exc).__name__}")
    finally:
        await client.aclose()
    prefix = new_prefix(name)
    try:
        yield prefix
    finally:
        await delete_keys(REDIS_URL, prefix)
