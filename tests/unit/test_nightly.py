"""The nightly job on the engine's scheduler: at a wall time in the clinic's zone, by the
injected clock, again every night (also after a failure)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, time, timedelta

import pytest

from foundation.clock import FrozenClock
from foundation.timemath import load_zone
from scheduler.wakeup import Wakeup, next_wall_time

NEW_YORK = load_zone("America/New_York")
AT = time(3, 30)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # 10:00 EST: tomorrow 03:30 EST
        (datetime(2026, 11, 23, 15, 0, tzinfo=UTC), datetime(2026, 11, 24, 8, 30, tzinfo=UTC)),
        # a minute before: today
        (datetime(2026, 11, 24, 8, 29, tzinfo=UTC), datetime(2026, 11, 24, 8, 30, tzinfo=UTC)),
        # at the very moment: the next night
        (datetime(2026, 11, 24, 8, 30, tzinfo=UTC), datetime(2026, 11, 25, 8, 30, tzinfo=UTC)),
        # summer time: 03:30 EDT
        (datetime(2026, 7, 1, 12, 0, tzinfo=UTC), datetime(2026, 7, 2, 7, 30, tzinfo=UTC)),
    ],
)
def test_next_wall_time(now: datetime, expected: datetime) -> None:
    assert next_wall_time(now, AT, NEW_YORK) == expected


def test_a_wall_time_the_clocks_skip_runs_just_after_the_gap() -> None:
    # 8 March 2026, New York: 02:00 EST jumps to 03:00 EDT.
    night = datetime(2026, 3, 8, 5, 0, tzinfo=UTC)  # 00:00 EST
    assert next_wall_time(night, time(2, 30), NEW_YORK) == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)


def test_a_wall_time_that_happens_twice_runs_once_at_the_first() -> None:
    # 1 November 2026, New York: 02:00 EDT goes back to 01:00 EST.
    night = datetime(2026, 11, 1, 4, 0, tzinfo=UTC)  # 00:00 EDT
    first = next_wall_time(night, time(1, 30), NEW_YORK)
    assert first == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT
    assert next_wall_time(first, time(1, 30), NEW_YORK) == datetime(2026, 11, 2, 6, 30, tzinfo=UTC)


class _Idle:
    async def run_due(self) -> int:
        return 0

    async def next_due(self) -> datetime | None:
        return None


async def test_every_night_runs_by_the_injected_clock_and_re_arms(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A frozen clock days behind the system's, as in the tests and the try-out chat: the job
    # must wait its turn by that clock, not fire at once because its instant is in the
    # system clock's past (APScheduler fires by the system clock), again at every re-arm.
    clock = FrozenClock(datetime(2026, 11, 23, 15, 0, tzinfo=UTC))
    wake = Wakeup(_Idle(), housekeeping=timedelta(hours=1), clock=clock)
    wake.start()
    runs: list[datetime] = []
    fail = False

    async def job() -> None:
        runs.append(clock.now())
        if fail:
            raise RuntimeError("database went away")

    try:
        first = wake.every_night("nightly", job, at=AT, zone=NEW_YORK)
        assert first == datetime(2026, 11, 24, 8, 30, tzinfo=UTC)
        assert wake.planned("nightly") == first
        scheduled = wake.scheduler.get_job("nightly")
        assert scheduled is not None
        # 17.5 hours from the clock's now: as far from the system's now.
        fires_in = scheduled.next_run_time - datetime.now(UTC)
        assert abs(fires_in - (first - clock.now())) < timedelta(seconds=5)
        await asyncio.sleep(0)  # APScheduler's turn: nothing is due
        assert runs == []
        # APScheduler would call it at that instant; here time is moved and it is called.
        clock.set(first)
        await scheduled.func()
        assert runs == [first]
        assert wake.planned("nightly") == first + timedelta(days=1)
        fail = True
        clock.set(first + timedelta(days=1))
        with caplog.at_level(logging.ERROR, logger="scheduler.wakeup"):
            await wake.scheduler.get_job("nightly").func()
        assert "nightly job nightly failed (RuntimeError)" in caplog.text
        assert wake.planned("nightly") == first + timedelta(days=2)
        assert runs == [first, first + timedelta(days=1)]
    finally:
        await wake.shutdown(grace=1)
    assert not wake.running
