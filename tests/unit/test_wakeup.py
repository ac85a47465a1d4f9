"""APScheduler as the engine's clock: one date job at the next due time, earlier wins,
a wake-up during a pass asks for another pass, and a failing pass does not kill the clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from scheduler.wakeup import DISPATCH_JOB, HOUSEKEEPING_JOB, Wakeup


class FakeEngine:
    def __init__(self) -> None:
        self.passes = 0
        self.upcoming: datetime | None = None
        self.gate: asyncio.Event | None = None
        self.entered = asyncio.Event()
        self.fail = False
        self.ran = asyncio.Event()
        self.backlog = 0  # passes that find more work already due when they finish

    async def run_due(self) -> int:
        self.passes += 1
        if self.backlog:
            self.backlog -= 1
            self.upcoming = datetime.now(UTC) - timedelta(seconds=1) if self.backlog else None
            return 1
        self.entered.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            raise RuntimeError("database went away")
        self.ran.set()
        return 0

    async def next_due(self) -> datetime | None:
        return self.upcoming


@pytest.fixture
async def wakeup() -> AsyncIterator[tuple[Wakeup, FakeEngine]]:
    engine = FakeEngine()
    wake = Wakeup(engine, housekeeping=timedelta(hours=1))
    wake.start()
    await asyncio.wait_for(engine.ran.wait(), 5)  # the first pass runs at start
    yield wake, engine
    await wake.shutdown(grace=1)


async def test_start_runs_a_first_pass_and_keeps_a_housekeeping_job(
    wakeup: tuple[Wakeup, FakeEngine],
) -> None:
    wake, engine = wakeup
    assert engine.passes == 1
    assert wake.scheduler.get_job(HOUSEKEEPING_JOB) is not None


async def test_earlier_wake_up_wins(wakeup: tuple[Wakeup, FakeEngine]) -> None:
    wake, _ = wakeup
    now = datetime.now(UTC)
    wake.wake_at(now + timedelta(hours=1))
    assert wake.next_wake() == now + timedelta(hours=1)
    wake.wake_at(now + timedelta(hours=2))
    assert wake.next_wake() == now + timedelta(hours=1)
    wake.wake_at(now + timedelta(minutes=30))
    assert wake.next_wake() == now + timedelta(minutes=30)
    assert len([j for j in wake.scheduler.get_jobs() if j.id == DISPATCH_JOB]) == 1


async def test_a_pass_schedules_the_next_due_time_from_the_database(
    wakeup: tuple[Wakeup, FakeEngine],
) -> None:
    wake, engine = wakeup
    engine.upcoming = datetime.now(UTC) + timedelta(minutes=10)
    engine.ran.clear()
    wake.wake_at(datetime.now(UTC))
    await asyncio.wait_for(engine.ran.wait(), 5)
    for _ in range(100):
        if wake.next_wake() == engine.upcoming:
            break
        await asyncio.sleep(0.01)
    assert wake.next_wake() == engine.upcoming


async def test_wake_during_a_pass_runs_one_more_pass(wakeup: tuple[Wakeup, FakeEngine]) -> None:
    wake, engine = wakeup
    engine.gate = asyncio.Event()
    engine.entered.clear()
    first = asyncio.create_task(wake._wake())
    await asyncio.wait_for(engine.entered.wait(), 5)
    await wake._wake()  # returns at once: a pass is running
    assert engine.passes == 2
    engine.gate.set()
    await asyncio.wait_for(first, 5)
    assert engine.passes == 3  # the pending wake-up became one more pass, not a parallel one


async def test_a_failing_pass_does_not_stop_the_clock(wakeup: tuple[Wakeup, FakeEngine]) -> None:
    wake, engine = wakeup
    engine.fail = True
    await wake._wake()
    assert wake.scheduler.running
    assert wake.scheduler.get_job(HOUSEKEEPING_JOB) is not None


async def test_shutdown_lets_a_running_pass_finish(wakeup: tuple[Wakeup, FakeEngine]) -> None:
    wake, engine = wakeup
    engine.gate = asyncio.Event()
    engine.entered.clear()
    running = asyncio.create_task(wake._wake())
    await asyncio.wait_for(engine.entered.wait(), 5)
    stopping = asyncio.create_task(wake.shutdown(grace=5))
    await asyncio.sleep(0.05)
    assert not stopping.done()
    engine.gate.set()
    await asyncio.wait_for(stopping, 5)
    await running
    assert not wake.scheduler.running
    wake.wake_at(datetime.now(UTC))  # after shutdown: ignored, no error


async def test_work_that_fell_due_during_a_pass_is_taken_at_once(
    wakeup: tuple[Wakeup, FakeEngine],
) -> None:
    wake, engine = wakeup
    engine.backlog = 3
    before = engine.passes
    await wake._wake()
    assert engine.passes == before + 3  # each busy pass leaves work due: straight to the next
    next_wake = wake.next_wake()
    assert next_wake is None or next_wake > datetime.now(UTC) - timedelta(seconds=1)


async def test_shutdown_does_not_cancel_a_pass_run_by_the_scheduler(
    wakeup: tuple[Wakeup, FakeEngine],
) -> None:
    """APScheduler cancels running jobs when it shuts down; a pass cut between sending and
    recording would leave leased rows to be sent twice after a restart."""
    wake, engine = wakeup
    engine.gate = asyncio.Event()
    engine.entered.clear()
    engine.ran.clear()
    wake.wake_at(datetime.now(UTC))  # the pass runs as an APScheduler job
    await asyncio.wait_for(engine.entered.wait(), 5)
    stopping = asyncio.create_task(wake.shutdown(grace=5))
    await asyncio.sleep(0.05)
    engine.gate.set()
    await asyncio.wait_for(stopping, 5)
    assert engine.ran.is_set()
