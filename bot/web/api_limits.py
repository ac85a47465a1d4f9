"""The HTTP API's rate limit per token: a call is let through or refused at once, never queued.

The send limits of bot/delivery (``RateLimiter``, ``RedisSharedRate``) make a caller *wait* for
its slot, which is right for messages the bot sends and wrong for a request a scheduling
system makes: it should hear "429, try again in N seconds" (``Retry-After``) and come back.
So this is the generic cell rate algorithm (GCRA, a token bucket without a timer): each key
keeps one instant, its theoretical arrival time; a call is allowed when it comes no earlier
than ``burst - 1`` emission intervals before it, and moves it one interval on. Time comes from
the application's clock (tests move it; nothing sleeps).

* Without Redis, :class:`RateLimit` counts in the process (several replicas without Redis
  would each let a token through at the full rate).
* With ``REDIS_URL``, :class:`RedisRateLimit` keeps the instant in Redis, so every replica
  counts against one allowance: the same algorithm in a Lua script (atomic: two replicas
  never both take the last call), with the same limits, windows and ``Retry-After``. Its key
  is ``<REDIS_PREFIX>:api:<bot id>:<SHA-256 of the key>`` (the token's id, or the address of
  a call without a valid token: neither is in Redis in clear), and it expires once the bucket
  is full again (plus a minute's margin). The instant is the application's clock, not
  Redis's ``TIME``: the replicas' clocks are NTP-synchronised, and a skew of s seconds moves
  a token's window by at most s.
* **Redis away.** Any Redis error (unreachable, its 1 s timeout) makes the process count with
  its own :class:`RateLimit` (same limits) for ``retry_seconds``, with one warning when that
  starts and one line when Redis answers again, as the shared send limits do
  (bot/delivery/shared_rate.py); counted in :attr:`RedisRateLimit.stats` and the metric
  ``companion_api_limits_fallbacks_total``. A call is never refused, nor failed, because Redis
  is away (as the update ledger handles an update anyway): meanwhile each replica lets a token
  through at the full rate, and the process's count starts empty.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from bot.delivery.redis_away import RedisAway, unavailable
from bot.metrics import Metrics

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["ApiLimit", "Decision", "RateLimit", "RedisRateLimit"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    retry_after: int
    """Whole seconds until a call would be allowed (0 when it is)."""


def _retry_after(seconds: float) -> int:
    return max(1, math.ceil(seconds))


class ApiLimit(Protocol):
    async def check(self, key: str) -> Decision:
        """Count one call of `key`: allowed, or refused with the seconds to wait."""
        ...


class RateLimit:
    """At most ``per_minute`` calls a minute per key, ``burst`` of them at once."""

    def __init__(
        self,
        per_minute: float,
        burst: int,
        *,
        now: Callable[[], float],
        max_keys: int = 10_000,
    ) -> None:
        if per_minute <= 0 or burst < 1:
            raise ValueError("per_minute must be > 0 and burst >= 1")
        self.interval = 60.0 / per_minute
        self.tolerance = self.interval * (burst - 1)
        self.now = now
        self.max_keys = max_keys
        self._arrival: OrderedDict[Hashable, float] = OrderedDict()

    def hit(self, key: Hashable) -> Decision:
        """Count one call of `key`: allowed, or refused with the seconds to wait."""
        now = self.now()
        arrival = max(self._arrival.get(key, now), now)
        allowed_from = arrival - self.tolerance
        if now < allowed_from:
            return Decision(False, _retry_after(allowed_from - now))
        self._arrival[key] = arrival + self.interval
        self._arrival.move_to_end(key)
        self._forget(now)
        return Decision(True, 0)

    async def check(self, key: str) -> Decision:
        return self.hit(key)

    def _forget(self, now: float) -> None:
        """Keys whose bucket is full again carry no state; the oldest go first when there
        are too many (a flood of invented keys cannot grow the table without bound)."""
        while self._arrival:
            key, arrival = next(iter(self._arrival.items()))
            if arrival > now and len(self._arrival) <= self.max_keys:
                break
            del self._arrival[key]


# KEYS[1]: the key's theoretical arrival time (microseconds of the application's clock).
# ARGV: now, the interval, the tolerance ((burst - 1) intervals), the margin of the expiry;
# all microseconds. Returns 0 when allowed (and counted), else microseconds until it would be.
_GCRA = """
local now = tonumber(ARGV[1])
local arrival = tonumber(redis.call('GET', KEYS[1]))
if not arrival or arrival < now then arrival = now end
local allowed_from = arrival - tonumber(ARGV[3])
if now < allowed_from then return allowed_from - now end
local after = arrival + tonumber(ARGV[2])
redis.call('SET', KEYS[1], string.format('%.0f', after),
           'PX', math.floor((after - now + tonumber(ARGV[4])) / 1000) + 1)
return 0
"""

_US = 1_000_000
_MARGIN_US = 60 * _US
"""Kept this long past the moment its bucket is full again (an expired key is a full bucket,
so only a key expiring early would matter: a frozen clock in tests, a clock a little behind)."""


class RedisRateLimit:
    """The limit of :class:`RateLimit`, shared by every replica through Redis (see the
    module's doc); `local` counts while Redis is away."""

    def __init__(
        self,
        redis: Redis,
        local: RateLimit,
        *,
        key_prefix: str,
        retry_seconds: float = 5.0,
        metrics: Metrics | None = None,
    ) -> None:
        self._redis = redis
        self._local = local
        self._prefix = key_prefix
        self._interval_us = round(local.interval * _US)
        self._tolerance_us = round(local.tolerance * _US)
        self._script = redis.register_script(_GCRA)
        self._metrics = metrics
        self._unavailable = unavailable()
        # While Redis is away: the process's own count.
        self._away = RedisAway(
            "api rate limit",
            alone="counts calls on its own",
            back="counting with the other replicas",
            clock=local.now,
            retry_seconds=retry_seconds,
            log=log,
        )
        self.stats: dict[str, int] = {"fallbacks": 0, "shared": 0, "local": 0}

    def redis_key(self, key: str) -> str:
        """Where `key`'s instant lives: a hash, never the key (an address) in clear."""
        return f"{self._prefix}:{hashlib.sha256(key.encode()).hexdigest()}"

    @property
    def degraded(self) -> bool:
        """Whether the process counts on its own because Redis was away."""
        return self._away.degraded

    async def check(self, key: str) -> Decision:
        if not self.degraded:
            now_us = round(self._local.now() * _US)
            try:
                wait_us = int(
                    await self._script(
                        keys=[self.redis_key(key)],
                        args=[now_us, self._interval_us, self._tolerance_us, _MARGIN_US],
                    )
                )
            except self._unavailable as exc:
                self._went_away(exc)
            else:
                self._away.answered()
                self.stats["shared"] += 1
                return (
                    Decision(True, 0)
                    if wait_us <= 0
                    else Decision(False, _retry_after(wait_us / _US))
                )
        self.stats["local"] += 1
        return self._local.hit(key)

    def _went_away(self, exc: BaseException) -> None:
        self.stats["fallbacks"] += 1
        if self._metrics is not None:
            self._metrics.api_limits_fallback()
        self._away.failed(exc)
