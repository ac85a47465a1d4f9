"""The global send rate and Telegram's pauses, shared by every replica through Redis.

Telegram allows about 30 messages a second per *bot*, and a ``retry_after`` it gives one
process holds for all of them. :class:`RedisSharedRate` is the :class:`SharedRate` of
``bot/delivery/rate_limit.py`` that several processes share:

* **Slots are reserved, first come first served.** One key holds the next free moment, in
  Redis's own clock (``TIME``, microseconds), so the replicas' clocks never matter. A Lua
  script (atomic) gives the caller ``max(now, next free, pause end)`` and moves the next free
  moment one interval (``1 / SEND_RATE``) past it; the caller sleeps until its slot. So two
  slots are never closer than the interval, whoever asks, and the replicas are served in the
  order they asked (round robin when all are busy). Within a process callers queue FIFO
  (an ``asyncio.Lock``, which is fair and cancellation-safe), and only the head reserves: a
  process holds at most one reservation, and a cancelled caller leaves at most one slot
  unused (never an extra one).
* **A pause is a key** with the moment it ends (``retry_after`` from now, in Redis time,
  extended and never shortened). Reservations start after it; a caller that slept until a
  slot reserved before the pause began asks again, so nobody sends inside a pause. Answers to
  updates (not rate limited) wait it out too (:meth:`wait_unpaused`).
* **Answers go first, within the same rate.** A message answering an update reserves its slot
  in Redis at once, without queueing behind the process's reminders (:meth:`acquire_first`):
  it waits for the slots already reserved (one per replica at most, a few tens of ms) and the
  reminders behind it yield, so replies and reminders together stay at SEND_RATE, under
  Telegram's cap, and a patient's reply never meets a 429.
* **Redis away.** Any Redis error (unreachable, timeout) makes the process use its own
  limiter (same rate, and the pauses it saw itself) for ``retry_seconds``, with one warning
  when that starts and one line when the shared state is back. The limiter only ever decides
  *when* a message goes, never *whether*: a send is not lost or repeated because Redis failed.
  While on its own each replica keeps the full rate; Telegram's 429s (each pausing that
  replica) then hold the sum back. :attr:`stats` counts the fallbacks, as does the metric
  ``companion_send_limits_fallbacks_total``.

Keys carry a hash tag (``{...}``), so both live in one slot of a Redis Cluster, and expire
soon after they stop mattering.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis

from bot.delivery.rate_limit import RateLimiter
from bot.delivery.redis_away import RedisAway, unavailable
from bot.metrics import Metrics

__all__ = ["RedisSharedRate"]

log = logging.getLogger(__name__)

# Every script starts from Redis's clock, in microseconds: one clock for every replica.
_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
"""

# KEYS[1]: next free moment, KEYS[2]: end of the pause (both microseconds of Redis's TIME).
# ARGV[1]: the interval between two slots, microseconds. Returns microseconds until the slot.
_RESERVE = (
    _NOW
    + """
local slot = now
local free = tonumber(redis.call('GET', KEYS[1]))
if free and free > slot then slot = free end
local pause = tonumber(redis.call('GET', KEYS[2]))
if pause and pause > slot then slot = pause end
local after = slot + tonumber(ARGV[1])
redis.call('SET', KEYS[1], string.format('%.0f', after),
           'PX', math.floor((after - now) / 1000) + 1000)
return slot - now
"""
)

# KEYS[1]: end of the pause. ARGV[1]: its length, microseconds. Returns microseconds left.
_PAUSE = (
    _NOW
    + """
local pause_end = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]))
if current and current > pause_end then pause_end = current end
redis.call('SET', KEYS[1], string.format('%.0f', pause_end),
           'PX', math.floor((pause_end - now) / 1000) + 1000)
return pause_end - now
"""
)

# KEYS[1]: end of the pause. Returns microseconds left (0: no pause).
_PAUSE_LEFT = (
    _NOW
    + """
local pause = tonumber(redis.call('GET', KEYS[1]))
if pause and pause > now then return pause - now end
return 0
"""
)

_US = 1_000_000

_UNAVAILABLE = unavailable()


class RedisSharedRate:
    """The send rate and pauses of one bot, shared through Redis (see the module's doc)."""

    def __init__(
        self,
        redis: Redis,
        *,
        rate: float | None,
        key_prefix: str,
        retry_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        metrics: Metrics | None = None,
    ) -> None:
        if rate is not None and rate < 0:
            raise ValueError("rate must be >= 0")
        self._redis = redis
        self._interval_us = math.ceil(_US / rate) if rate else 0
        # One hash tag for both keys: one Redis Cluster slot, so one script may touch both.
        self._next_key = f"{key_prefix}:{{send}}:next"
        self._pause_key = f"{key_prefix}:{{send}}:pause"
        self._reserve = redis.register_script(_RESERVE)
        self._pause = redis.register_script(_PAUSE)
        self._pause_left = redis.register_script(_PAUSE_LEFT)
        self._sleep = sleep
        self._turn = asyncio.Lock()
        # While Redis is away: the process's own limiter.
        self._away = RedisAway(
            "shared send limits",
            alone="keeps its own rate and pauses,",
            back="using the shared rate",
            clock=clock,
            retry_seconds=retry_seconds,
            log=log,
        )
        self._metrics = metrics
        self.stats: dict[str, int] = {"fallbacks": 0, "shared_grants": 0, "local_grants": 0}

    @property
    def keys(self) -> tuple[str, str]:
        """The Redis keys of the next free slot and of the pause."""
        return self._next_key, self._pause_key

    @property
    def degraded(self) -> bool:
        """Whether the process is on its own limiter because Redis was away."""
        return self._away.degraded

    async def acquire(self, local: RateLimiter) -> None:
        async with self._turn:  # FIFO within the process: only the head talks to Redis
            await self._slot(local, local.acquire)

    async def acquire_first(self, local: RateLimiter) -> None:
        """A shared slot without queueing behind this process's other callers (an answer):
        it reserves the next free moment in Redis at once, so it waits only for the slots
        already reserved (at most one per replica) and any pause."""
        await self._slot(local, local.acquire_first)

    async def _slot(self, local: RateLimiter, alone: Callable[[], Awaitable[None]]) -> None:
        """A shared slot, or `alone` (the process's own limiter) while Redis is away."""
        # A pause this process saw itself holds even if Redis lost it (or never got it).
        await local.wait_unpaused()
        if not self.degraded:
            try:
                await self._shared_slot()
            except _UNAVAILABLE as exc:
                self._went_away(exc)
            else:
                self.stats["shared_grants"] += 1
                return
        await alone()
        self.stats["local_grants"] += 1

    async def _shared_slot(self) -> None:
        while True:
            wait_us = int(
                await self._call(
                    self._reserve, [self._next_key, self._pause_key], [self._interval_us]
                )
            )
            if wait_us <= 0:
                return
            await self._sleep(wait_us / _US)
            # The slot was reserved before; a 429 since then moves everybody past its pause.
            if int(await self._call(self._pause_left, [self._pause_key], [])) <= 0:
                return

    async def pause(self, seconds: float) -> None:
        if self.degraded:
            return  # the process's own limiter has it (Limiter.pause)
        try:
            await self._call(self._pause, [self._pause_key], [math.ceil(seconds * _US)])
        except _UNAVAILABLE as exc:
            self._went_away(exc)

    async def wait_unpaused(self) -> None:
        while not self.degraded:
            try:
                left_us = int(await self._call(self._pause_left, [self._pause_key], []))
            except _UNAVAILABLE as exc:
                self._went_away(exc)
                return
            if left_us <= 0:
                return
            await self._sleep(left_us / _US)

    async def _call(self, script: Any, keys: list[str], args: list[int]) -> Any:
        result = await script(keys=keys, args=args)
        self._away.answered()
        return result

    def _went_away(self, exc: BaseException) -> None:
        self.stats["fallbacks"] += 1
        if self._metrics is not None:
            self._metrics.send_limits_fallback()
        self._away.failed(exc)
