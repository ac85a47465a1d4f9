"""How the crisis screen's cost grows with a message, measured so that it holds on any machine.

The screen runs on every update, so a pattern whose cost grows faster than the message (a
regular expression that backtracks) would let one long message stall the bot. The tests check
the growth, a ratio of two timings in one process, not a number of milliseconds: what a message
costs is bench/safety_screen.py's to report (bench/README.md), and a fixed limit fails on a
busy or slower machine while saying nothing of the shape.

Both timings are CPU time of the measuring thread (without its garbage collections,
foundation/work_time.py), not the clock: the check is pure computation, and on a machine with
more runnable processes than cores (the suite's workers, one per core, and whatever else runs)
the clock also counts the time the process waited for a core. A long check outlasts the
scheduler's time slice and is nearly always interrupted, a short one seldom, so on the clock
the best of the long timings grew more than the short ones': 11x for 4x the text, past
:data:`LINEAR`, in a run of two workers beside other work. CPU time counts only the work.
"""

from __future__ import annotations

from collections.abc import Callable

from foundation.work_time import work_time

__all__ = ["LINEAR", "growth"]

LINEAR = 10.0
"""The most a message four times as long may cost, in times the shorter one's: a linear screen
is at about 4 (less, with its fixed cost), a quadratic one at 16; the margin is for a machine
busy with other work while it measures."""


def growth(check: Callable[[str], object], short: str, long: str, rounds: int = 15) -> float:
    """How many times more CPU time ``check`` takes on ``long`` than on ``short``: the best
    of ``rounds`` timings of each, taken in turns, so that a busy moment slows both alike."""
    check(short)
    check(long)
    best = {short: float("inf"), long: float("inf")}
    for _ in range(rounds):
        for text in (short, long):
            start = work_time()
            check(text)
            best[text] = min(best[text], work_time() - start)
    return best[long] / best[short]
