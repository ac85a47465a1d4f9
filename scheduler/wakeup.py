"""APScheduler as the clock of the reminder engine (and of the bot's nightly jobs).

There is no job per reminder (and nothing pickled): one date job wakes the engine at the next
due time, and one interval job is a safety net (another replica planned something, a clock
jumped). Every wake-up runs one engine pass; the pass then schedules the next wake-up from the
database, which is the only place that knows what is due.

:meth:`Wakeup.every_night` adds one date job per nightly task (the bot's retention), at a wall
time in a zone computed from the injected clock, re-armed after each run.

**Two clocks.** Instants come from the injected clock; APScheduler fires by the system clock.
Each job is therefore given the moment as far from the system's now as its instant is from
the injected clock's now (:meth:`Wakeup._fire_at`): the same moment in production, and with a
clock set to another day (tests, the try-out chat) a job in that clock's future stays in the
future. Handed over as it was, an instant in the system clock's past fired at once, and a job
that re-armed itself from the same frozen clock fired again, hundreds of times a second.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from foundation.clock import Clock, SystemClock
from foundation.timemath import resolve_wall

log = logging.getLogger(__name__)

DISPATCH_JOB = "reminders-dispatch"
HOUSEKEEPING_JOB = "reminders-housekeeping"


class Engine(Protocol):
    async def run_due(self) -> int: ...
    async def next_due(self) -> datetime | None: ...


class Wakeup:
    def __init__(
        self,
        engine: Engine,
        *,
        housekeeping: timedelta = timedelta(seconds=60),
        clock: Clock | None = None,
    ) -> None:
        self.engine = engine
        self.housekeeping = housekeeping
        self.clock: Clock = clock or SystemClock()
        self.scheduler = AsyncIOScheduler(
            timezone=UTC,
            # More than one instance may start: a wake-up that fires during a pass must reach
            # `_wake` (which turns it into one more pass) instead of being dropped by APScheduler.
            job_defaults={"coalesce": True, "max_instances": 3, "misfire_grace_time": None},
        )
        self._pass_task: asyncio.Task[None] | None = None
        self._again = False
        self._stopping = False
        # The instants (by the injected clock) the dispatch job and the nightly jobs are for.
        self._planned: dict[str, datetime] = {}

    def start(self) -> None:
        """Start, with an immediate first pass: reminders missed while the bot was down and
        still useful go out at once; the others are marked expired."""
        self.scheduler.start()
        self.scheduler.add_job(
            self._wake,
            "interval",
            seconds=self.housekeeping.total_seconds(),
            id=HOUSEKEEPING_JOB,
            replace_existing=True,
            next_run_time=self._fire_at(self.clock.now()),
        )

    def wake_at(self, when: datetime) -> None:
        """Make sure the engine looks no later than `when` (earlier wake-ups win)."""
        if not self.scheduler.running or self._stopping:
            return
        planned = self.next_wake()
        if planned is not None and planned <= when:
            return
        self._planned[DISPATCH_JOB] = when
        self.scheduler.add_job(
            self._wake, "date", run_date=self._fire_at(when), id=DISPATCH_JOB, replace_existing=True
        )

    @property
    def running(self) -> bool:
        """Started and not stopping: the engine is being woken."""
        return bool(self.scheduler.running) and not self._stopping

    def every_night(
        self,
        job_id: str,
        job: Callable[[], Awaitable[object]],
        *,
        at: time,
        zone: ZoneInfo,
    ) -> datetime:
        """Run `job` once a night at wall time `at` in `zone` (a quiet hour of the clinic),
        the instant computed from this scheduler's clock, and again the next night after each
        run (a failure is logged; the next night comes anyway). Returns the first run's
        instant. Call after :meth:`start`."""

        async def run() -> None:
            try:
                await job()
            except Exception as exc:  # the class only: a driver's message may carry values
                log.error(
                    "nightly job %s failed (%s); it runs again tomorrow",
                    job_id,
                    type(exc).__name__,
                )
            finally:
                if not self._stopping and self.scheduler.running:
                    arm()

        def arm() -> datetime:
            when = next_wall_time(self.clock.now(), at, zone)
            self._planned[job_id] = when
            self.scheduler.add_job(
                run, "date", run_date=self._fire_at(when), id=job_id, replace_existing=True
            )
            return when

        return arm()

    def planned(self, job_id: str) -> datetime | None:
        """The instant (by the injected clock) job `job_id` will run at; None if none is
        planned."""
        if self.scheduler.get_job(job_id) is None:
            return None
        return self._planned.get(job_id)

    def next_wake(self) -> datetime | None:
        """When the engine is next woken (besides the housekeeping job), by the clock."""
        return self.planned(DISPATCH_JOB)

    def _fire_at(self, instant: datetime) -> datetime:
        """The system-clock moment at which APScheduler must fire for `instant` of the
        injected clock (see the module's doc)."""
        return datetime.now(UTC) + (instant - self.clock.now())

    async def _wake(self) -> None:
        if self._stopping:
            return
        # A wake-up during a pass asks for one more pass instead of running two at once.
        if self._pass_task is not None and not self._pass_task.done():
            self._again = True
            return
        self._pass_task = asyncio.current_task()
        try:
            while True:
                self._again = False
                try:
                    sent = await self.engine.run_due()
                    upcoming = await self.engine.next_due()
                except Exception:
                    log.exception("reminder pass failed; the housekeeping job will retry")
                    return
                now = self.clock.now()
                # Rows that fell due during the pass are taken at once, not at the next
                # scheduled wake-up (a job cannot re-arm itself while it is running).
                due_now = upcoming is not None and upcoming <= now and sent > 0
                if self._stopping or not (self._again or due_now):
                    break
        finally:
            self._pass_task = None
        if upcoming is not None:
            # Arm the next wake-up. Something already due that could not go out in this pass
            # is looked at again in a second, rather than in a busy loop.
            self.wake_at(upcoming if upcoming > now else now + timedelta(seconds=1))

    async def shutdown(self, grace: float = 20.0) -> None:
        """Stop waking, let a pass in progress record its outcomes, then stop the scheduler.

        The order matters: APScheduler's shutdown cancels running coroutine jobs, and a pass
        cancelled between sending and recording would leave its rows leased, to be sent again
        after a restart."""
        self._stopping = True
        task = self._pass_task
        if task is not None and not task.done():
            try:
                await asyncio.wait_for(asyncio.shield(task), grace)
            except TimeoutError:
                log.warning("reminder pass still running at shutdown; its leases will expire")
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)


def next_wall_time(now: datetime, at: time, zone: ZoneInfo) -> datetime:
    """The first instant after `now` whose wall time in `zone` is `at` (UTC). On a night
    whose clocks skip `at`, the instant just after the gap; when `at` happens twice, the
    first."""
    day = now.astimezone(zone).date()
    for offset in range(3):
        candidate = resolve_wall(datetime.combine(day + timedelta(days=offset), at), zone)
        if candidate > now:
            return candidate
    raise AssertionError("unreachable: a wall time recurs within three days")  # pragma: no cover
