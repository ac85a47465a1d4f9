"""Leases and claims of the reminder engine with time that passes: what a dead replica costs.

Two engines on one store (the bot's SQLite store: no PostgreSQL or Redis needed), each with a
clock that runs at real speed from the seeded instant, so a lease of a fraction of a second
runs out during the test as a 10 s lease does in production. A frozen clock never lets a
lease pass: a lease that ended at once would go unnoticed there.

* a claim being sent stays its engine's past its lease (renewed), and no other engine sends
  its rows;
* an engine that dies mid-claim costs its rows one lease, and repeats at most its claim,
  which the send rate bounds (not the batch).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot.db.models import Appointment, Patient, Reminder
from foundation.clock import Clock
from scheduler.engine import ReminderEngine
from scheduler.records import SendOutcome, SendResult
from tests.integration import dbcheck
from tests.integration.harness import Harness
from tests.integration.replicas import seed_due_reminders

FIRST_CHAT = 800_000
SEEDED = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
LEASE = timedelta(seconds=1.2)
"""Renewed every 0.4 s: a stall of the test's event loop (a full garbage collection of
pytest's and aiogram's objects takes a few tenths of a second) must not let it run out."""


class RunningClock:
    """Real time from `start`: leases run out as they do in production."""

    def __init__(self, start: datetime) -> None:
        self._start = start
        self._t0 = time.monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._t0)


@dataclass
class Sends:
    """Stand-ins for the bot's sender, one per engine, each message taking `seconds`: who
    sent what, and when (time.monotonic())."""

    log: list[tuple[str, int, float]] = field(default_factory=list)

    def sender(self, name: str, *, seconds: float = 0.0, hang_after: int | None = None) -> Any:
        sends = self

        class Sender:
            count = 0

            async def send(self, chat_id: int, text: str, **options: Any) -> SendResult:
                if hang_after is not None and self.count >= hang_after:
                    await asyncio.Event().wait()  # the process is gone: never answers
                self.count += 1
                await asyncio.sleep(seconds)
                sends.log.append((name, chat_id, time.monotonic()))
                return SendResult(SendOutcome.SENT, message_id=len(sends.log))

        return Sender()

    def chats(self, name: str | None = None) -> Counter[int]:
        return Counter(chat for who, chat, _ in self.log if name is None or who == name)


class DeadStore:
    """The store as a killed process sees it: every call after `die()` fails."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self.dead = False

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._store, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            if self.dead:
                raise ConnectionError("the process is gone")
            return await method(*args, **kwargs)

        return call


def engine(
    h: Harness, name: str, store: Any, sender: Any, clock: Clock, **options: Any
) -> ReminderEngine:
    first = h.app.reminders
    return ReminderEngine(
        store=store,
        plan=first.plan,
        render=first.render,
        sender=sender,
        clock=clock,
        lease=LEASE,
        owner=name,
        **options,
    )


async def keep_running(engine: ReminderEngine, until: asyncio.Event) -> None:
    """Another replica: a pass every 50 ms (its wake-ups), until told to stop."""
    while not until.is_set():
        await engine.run_due()
        await asyncio.sleep(0.05)


async def held_by(h: Harness, owner: str) -> set[int]:
    """The chats whose reminder rows `owner` holds (claimed, not written back)."""
    async with h.app.context.session_factory() as session:
        result = await session.execute(
            select(Patient.chat_id)
            .join(Appointment, Appointment.patient_id == Patient.id)
            .join(Reminder, Reminder.appointment_id == Appointment.id)
            .where(Reminder.status == "sending", Reminder.lease_owner == owner)
        )
        return set(result.scalars())


async def wait_for(predicate: Callable[[], Awaitable[bool]], timeout: float = 10) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await predicate():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_a_claim_being_sent_stays_its_engines_past_its_lease(harness: Harness) -> None:
    """Engine a needs 3 leases to send its claim; b, passing every 50 ms meanwhile, never
    gets a row of it: a renews the lease while it sends. (A lease that ends at once, or one
    that is not renewed, lets b send a's rows a second time.)"""
    await seed_due_reminders(harness.settings.database_url, 10, first_chat=FIRST_CHAT, now=SEEDED)
    sends = Sends()
    clock = RunningClock(SEEDED)
    store = harness.app.reminders.store
    a = engine(harness, "engine-a", store, sends.sender("a", seconds=0.35), clock, concurrency=1)
    b = engine(harness, "engine-b", store, sends.sender("b"), clock)
    a_pass = asyncio.create_task(a.run_due())

    async def a_sending() -> bool:
        return bool(sends.log)

    await wait_for(a_sending)  # a holds all 10
    done = asyncio.Event()
    other = asyncio.create_task(keep_running(b, done))
    try:
        assert await a_pass == 10
    finally:
        done.set()
        await other
    assert sends.log[-1][2] - sends.log[0][2] > 2.5 * LEASE.total_seconds()
    assert sends.chats() == Counter({FIRST_CHAT + i: 1 for i in range(10)})
    assert await dbcheck.count(harness, Reminder, status="sent") == 10


async def test_an_engine_that_dies_costs_its_claim_one_lease(harness: Harness) -> None:
    """a claims what it sends in `claim_seconds` at `rate` (5 of 40 rows), sends 2, and
    dies. b, sending the 35 others a few at a time (2 s in all), takes a's 5 once their
    lease ran out, not before, and ahead of the rows still waiting: the 2 a sent are
    repeated, nothing else."""
    await seed_due_reminders(harness.settings.database_url, 40, first_chat=FIRST_CHAT, now=SEEDED)
    sends = Sends()
    clock = RunningClock(SEEDED)
    store = harness.app.reminders.store
    dying = DeadStore(store)
    rate, claim_seconds = 10.0, 0.5
    bound = math.ceil(rate * claim_seconds)  # 5: what a may hold, whatever happens
    a = engine(
        harness, "engine-a", dying, sends.sender("a", hang_after=2), clock,
        rate=rate, claim_seconds=claim_seconds,
    )  # fmt: skip
    b = engine(
        harness, "engine-b", store, sends.sender("b", seconds=0.06), clock,
        rate=20, claim_seconds=0.2, concurrency=1,
    )  # fmt: skip
    a_pass = asyncio.create_task(a.run_due())

    async def a_sent_two() -> bool:
        return len(sends.log) == 2

    await wait_for(a_sent_two)
    held = await held_by(harness, "engine-a")
    dying.dead = True  # kill -9: no more lease renewals, no outcome written
    died = time.monotonic()
    a_pass.cancel()
    await asyncio.gather(a_pass, return_exceptions=True)
    assert len(held) == bound
    assert set(sends.chats("a")) <= held

    async def all_sent() -> bool:
        return await dbcheck.count(harness, Reminder, status="sent") == 40

    done = asyncio.Event()
    other = asyncio.create_task(keep_running(b, done))
    try:
        await wait_for(all_sent)
    finally:
        done.set()
        await other
    assert set(sends.chats()) == {FIRST_CHAT + i for i in range(40)}
    repeated = {chat for chat, n in sends.chats().items() if n > 1}
    assert repeated == set(sends.chats("a"))  # sent by a, never written back
    # a's rows waited for their lease (renewed until the kill), and no longer.
    lease = LEASE.total_seconds()
    recovered = [at - died for who, chat, at in sends.log if who == "b" and chat in held]
    others = [at - died for who, chat, at in sends.log if who == "b" and chat not in held]
    assert len(recovered) == bound
    # (2 s of slack past the lease: on a loaded 2-core machine, b's passes themselves run late;
    # seen once at 2.7 s with the PostgreSQL suite running beside it.)
    assert lease / 4 < min(recovered) and max(recovered) < lease + 2.0
    assert max(recovered) < max(others)  # ahead of the rows still waiting


async def test_claims_follow_the_engines_own_pace(harness: Harness) -> None:
    """The first claim is what `rate` sends in `claim_seconds`; the next ones what this
    engine actually sent in that time (its share, when replicas share the rate)."""
    await seed_due_reminders(harness.settings.database_url, 30, first_chat=FIRST_CHAT, now=SEEDED)
    limits: list[int] = []
    store = harness.app.reminders.store

    class Counting(DeadStore):
        async def claim(self, now: datetime, owner: str, until: datetime, limit: int) -> Any:
            limits.append(limit)
            return await store.claim(now, owner, until, limit)

    sends = Sends()
    # Told 100 messages a second, it manages 20 (50 ms each, one at a time).
    a = engine(
        harness, "engine-a", Counting(store), sends.sender("a", seconds=0.05), RunningClock(SEEDED),
        rate=100, claim_seconds=0.2, concurrency=1,
    )  # fmt: skip
    assert await a.run_due() == 30
    assert limits[0] == 20
    assert a.pace is not None and 10 < a.pace < 21
    assert all(2 <= limit <= 5 for limit in limits[1:]), limits
