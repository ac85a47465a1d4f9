"""The HTTP API's rate limit per token: a call is let through or refused at once, never queued.

The send limits of bot/delivery (``RateLimiter``, ``RedisSharedRate``) make a caller *wait* for
its slot, which is right for messages the bot sends and wrong for a request a scheduling
system makes: it should hear "429, try again in N seconds" (``Retry-After``) and come back.
So this is the generic cell rate algorithm (GCRA, a token bucket without a timer): each key
keeps one instant, its theoretical arrival time; a call is allowed when it comes no earlier
than ``burst - 1`` emission intervals before it, and moves it one interval on. Time comes from
the application's clock (tests move it; nothing sleeps). Counted per process: with several
replicas each lets a token through at the full rate (docs/api.md says so).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

__all__ = ["Decision", "RateLimit"]


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    retry_after: int
    """Whole seconds until a call would be allowed (0 when it is)."""


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
            return Decision(False, max(1, math.ceil(allowed_from - now)))
        self._arrival[key] = arrival + self.interval
        self._arrival.move_to_end(key)
        self._forget(now)
        return Decision(True, 0)

    def _forget(self, now: float) -> None:
        """Keys whose bucket is full again carry no state; the oldest go first when there
        are too many (a flood of invented keys cannot grow the table without bound)."""
        while self._arrival:
            key, arrival = next(iter(self._arrival.items()))
            if arrival > now and len(self._arrival) <= self.max_keys:
                break
            del self._arrival[key]
