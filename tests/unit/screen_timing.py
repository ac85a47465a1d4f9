"""How the crisis screen's cost grows with a message, measured so that it holds on any machine.

The screen runs on every update, so a pattern whose cost grows faster than the message (a
regular expression that backtracks) would let one long message stall the bot. The tests check
the growth, a ratio of two timings in one process, not a number of milliseconds: what a message
costs is bench/safety_screen.py's to report (bench/README.md), and a fixed limit fails on a
busy or slower machine while saying nothing of the shape.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["LINEAR", "best_seconds", "growth"]

LINEAR = 8.0
"""The most a message four times as long may cost, in times the shorter one's: a linear screen
is at about 4 (less, with its fixed cost), a quadratic one at 16."""


def best_seconds(check: Callable[[str], object], text: str, rounds: int = 9) -> float:
    """The best of ``rounds`` timings of ``check(text)``, after one to warm up."""
    check(text)
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        check(text)
        best = min(best, time.perf_counter() - start)
    return best


def growth(check: Callable[[str], object], short: str, long: str, rounds: int = 9) -> float:
    """How many times longer ``check`` takes on ``long`` than on ``short``."""
    return best_seconds(check, long, rounds) / best_seconds(check, short, rounds)
