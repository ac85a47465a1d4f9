"""The API's rate limit (GCRA): a burst at once, then one call an interval, a refusal saying
how long to wait, keys apart, and a table that cannot grow without bound."""

from __future__ import annotations

import pytest

from bot.web.api_limits import RateLimit


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_a_burst_then_one_call_each_interval_and_retry_after_in_whole_seconds() -> None:
    clock = Clock()
    limit = RateLimit(per_minute=20, burst=3, now=clock)  # one call every 3 s
    assert [limit.hit("a").allowed for _ in range(3)] == [True, True, True]
    refused = limit.hit("a")
    assert (refused.allowed, refused.retry_after) == (False, 3)
    clock.t += 1.5
    assert limit.hit("a").retry_after == 2  # rounded up, never 0
    clock.t += 1.5
    assert limit.hit("a").allowed
    assert not limit.hit("a").allowed
    assert limit.hit("b").allowed  # each key its own bucket
    clock.t += 60
    assert [limit.hit("a").allowed for _ in range(4)] == [True, True, True, False]


def test_refused_calls_do_not_use_up_the_allowance() -> None:
    clock = Clock()
    limit = RateLimit(per_minute=60, burst=1, now=clock)
    assert limit.hit("a").allowed
    for _ in range(100):
        assert not limit.hit("a").allowed
    clock.t += 1
    assert limit.hit("a").allowed


def test_the_table_of_keys_stays_bounded() -> None:
    clock = Clock()
    limit = RateLimit(per_minute=60, burst=5, now=clock, max_keys=100)
    for key in range(10_000):
        limit.hit(key)
    assert len(limit._arrival) <= 101
    clock.t += 10  # every bucket full again: no state kept
    limit.hit("x")
    assert len(limit._arrival) == 1


def test_nonsense_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="per_minute"):
        RateLimit(per_minute=0, burst=1, now=Clock())
    with pytest.raises(ValueError, match="burst"):
        RateLimit(per_minute=1, burst=0, now=Clock())
