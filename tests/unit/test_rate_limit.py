"""Limiter logic on virtual time: a fake clock and a fake sleep, no real waiting."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Awaitable
from typing import Any, TypeVar

import pytest

from bot.delivery.rate_limit import Limiter, RateLimiter

T = TypeVar("T")


class VirtualTime:
    """Fake clock + sleep.  ``run()`` drives tasks and jumps the clock to the next sleeper
    whenever every task is idle."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def clock(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        if delay <= 0:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + delay, next(self._seq), fut))
        await fut

    async def settle(self, rounds: int = 30) -> None:
        for _ in range(rounds):
            await asyncio.sleep(0)

    def _drop_cancelled(self) -> None:
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)

    async def advance(self, seconds: float | None = None) -> None:
        """Jump to the next sleeper (or by ``seconds``), waking everyone due."""
        await self.settle()
        self._drop_cancelled()
        if seconds is not None:
            target = self.now + seconds
        elif self._sleepers:
            target = self._sleepers[0][0]
        else:
            return
        while self._sleepers and self._sleepers[0][0] <= target:
            when, _, fut = heapq.heappop(self._sleepers)
            if not fut.done():
                self.now = max(self.now, when)
                fut.set_result(None)
                await self.settle()
        self.now = max(self.now, target)
        await self.settle()

    async def run(self, aw: Awaitable[T]) -> T:
        task = asyncio.ensure_future(aw)
        while not task.done():
            await self.settle()
            if task.done():
                break
            self._drop_cancelled()
            if not self._sleepers:
                task.cancel()
                raise AssertionError("deadlock: tasks wait but nobody sleeps")
            await self.advance()
        return task.result()


@pytest.fixture
def vt() -> VirtualTime:
    return VirtualTime()


def make_limiter(vt: VirtualTime, *, rate: float | None, interval: float = 0.0) -> Limiter:
    return Limiter(rate=rate, per_chat_interval=interval, clock=vt.clock, sleep=vt.sleep)


def max_in_window(starts: list[float], window: float = 1.0) -> int:
    """Most starts within any closed window of ``window`` seconds."""
    starts = sorted(starts)
    best = 0
    j = 0
    for i, t in enumerate(starts):
        while starts[j] < t - window - 1e-9:
            j += 1
        best = max(best, i - j + 1)
    return best


async def start_at(limiter: Limiter, vt: VirtualTime, chat_id: int, log: list[Any]) -> float:
    async with limiter.chat(chat_id) as turn:
        await turn.start()
        log.append((chat_id, vt.now))
        return vt.now


# --------------------------------------------------------------------------- global rate


async def test_global_rate_spreads_100_sends_over_10_seconds(vt: VirtualTime) -> None:
    limiter = make_limiter(vt, rate=10, interval=1.0)
    log: list[Any] = []

    async def burst() -> list[float]:
        return await asyncio.gather(*(start_at(limiter, vt, 1000 + i, log) for i in range(100)))

    starts = await vt.run(burst())
    assert len(starts) == 100
    assert 9.5 <= max(starts) <= 10.5
    assert max_in_window(starts) <= 10 + 1
    # FIFO: callers are served in arrival order.
    assert [chat for chat, _ in log] == [1000 + i for i in range(100)]
    assert limiter.rate.waiting == 0


async def test_consecutive_grants_are_spaced(vt: VirtualTime) -> None:
    limiter = RateLimiter(4, clock=vt.clock, sleep=vt.sleep)
    starts: list[float] = []

    async def one() -> None:
        await limiter.acquire()
        starts.append(vt.now)

    await vt.run(asyncio.gather(*(one() for _ in range(9))))
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert all(g >= 0.25 - 1e-9 for g in gaps)
    assert starts[-1] == pytest.approx(2.0)


async def test_unlimited_rate_does_not_wait(vt: VirtualTime) -> None:
    limiter = make_limiter(vt, rate=None)
    log: list[Any] = []
    starts = await vt.run(asyncio.gather(*(start_at(limiter, vt, i, log) for i in range(50))))
    assert set(starts) == {0.0}


async def test_pause_holds_everyone_then_respects_rate(vt: VirtualTime) -> None:
    limiter = make_limiter(vt, rate=10)
    limiter.rate.pause(5.0)
    log: list[Any] = []
    starts = await vt.run(asyncio.gather(*(start_at(limiter, vt, i, log) for i in range(20))))
    assert min(starts) >= 5.0
    assert max_in_window(starts) <= 11
    assert max(starts) == pytest.approx(6.9)


async def test_answers_go_ahead_of_the_queue_within_the_rate(vt: VirtualTime) -> None:
    """An answer (acquire_first) waits only for the next free slot, not behind 50 queued
    sends; the sends behind it yield, so the sum stays at the rate."""
    limiter = make_limiter(vt, rate=10)
    starts: list[float] = []
    answered: list[float] = []

    async def send(chat: int) -> None:
        await start_at(limiter, vt, chat, [])
        starts.append(vt.now)

    async def answer_at(when: float) -> None:
        await vt.sleep(when)
        await limiter.acquire_first()
        answered.append(vt.now)

    sends = [send(i) for i in range(50)]
    answers = [answer_at(w) for w in (0.95, 1.0, 2.5)]
    await vt.run(asyncio.gather(*sends, *answers))
    assert answered == [pytest.approx(1.0), pytest.approx(1.1), pytest.approx(2.5)]
    everything = starts + answered
    assert max_in_window(everything) <= 10 + 1
    gaps = [b - a for a, b in itertools.pairwise(sorted(everything))]
    assert min(gaps) >= 0.1 - 1e-9
    assert max(starts) == pytest.approx(5.2)  # 53 slots at 10/s: the sends yielded 3
    assert limiter.rate.waiting == 0


async def test_answers_wait_out_a_pause(vt: VirtualTime) -> None:
    limiter = make_limiter(vt, rate=None)
    limiter.rate.pause(2.0)
    await vt.run(limiter.acquire_first())
    assert vt.now == pytest.approx(2.0)


async def test_pause_during_wait_extends_it(vt: VirtualTime) -> None:
    limiter = make_limiter(vt, rate=None)
    limiter.rate.pause(1.0)
    log: list[Any] = []
    task = asyncio.ensure_future(start_at(limiter, vt, 1, log))
    await vt.advance(0.5)
    limiter.rate.pause(3.0)  # e.g. another caller got retry_after meanwhile
    limiter.rate.pause(2.0)  # never shortens
    assert await vt.run(task) == 3.0


# --------------------------------------------------------------------------- per chat


async def test_per_chat_interval_and_other_chats_proceed(vt: VirtualTime) -> None:
    limiter = make_limiter(vt, rate=None, interval=1.0)
    log: list[Any] = []

    async def scenario() -> None:
        await asyncio.gather(
            start_at(limiter, vt, 1, log),
            start_at(limiter, vt, 1, log),
            start_at(limiter, vt, 1, log),
            start_at(limiter, vt, 2, log),
        )

    await vt.run(scenario())
    chat1 = [t for chat, t in log if chat == 1]
    chat2 = [t for chat, t in log if chat == 2]
    assert chat1 == [0.0, 1.0, 2.0]
    assert chat2 == [0.0]  # not held up by chat 1


async def test_busy_chat_does_not_block_global_queue(vt: VirtualTime) -> None:
    # Chat 1 waits for its interval; meanwhile other chats take every global slot.
    limiter = make_limiter(vt, rate=4, interval=1.0)
    log: list[Any] = []

    async def scenario() -> None:
        await asyncio.gather(
            start_at(limiter, vt, 1, log),
            start_at(limiter, vt, 1, log),
            *(start_at(limiter, vt, 100 + i, log) for i in range(3)),
        )

    await vt.run(scenario())
    times = dict.fromkeys([100, 101, 102], 0.0)
    for chat, t in log:
        if chat in times:
            times[chat] = t
    assert times == {100: 0.25, 101: 0.5, 102: 0.75}
    assert [t for chat, t in log if chat == 1] == [0.0, 1.0]


async def test_interval_counts_from_actual_start(vt: VirtualTime) -> None:
    # The global queue delays chat 7's first send; its second one still waits a full interval.
    limiter = make_limiter(vt, rate=2, interval=1.0)
    log: list[Any] = []

    async def scenario() -> None:
        await asyncio.gather(
            *(start_at(limiter, vt, 100 + i, log) for i in range(3)),
            start_at(limiter, vt, 7, log),
            start_at(limiter, vt, 7, log),
        )

    await vt.run(scenario())
    chat7 = [t for chat, t in log if chat == 7]
    assert chat7[0] == pytest.approx(1.5)
    assert chat7[1] - chat7[0] >= 1.0


async def test_interval_zero_is_off(vt: VirtualTime) -> None:
    limiter = make_limiter(vt, rate=None, interval=0)
    log: list[Any] = []
    starts = await vt.run(asyncio.gather(*(start_at(limiter, vt, 1, log) for _ in range(5))))
    assert starts == [0.0] * 5
    assert len(limiter.chats) == 0


# --------------------------------------------------------------------------- memory


async def test_per_chat_entries_are_forgotten(vt: VirtualTime) -> None:
    limiter = make_limiter(vt, rate=None, interval=1.0)
    log: list[Any] = []
    for chat_id in range(20_000):
        await start_at(limiter, vt, chat_id, log)
    assert len(limiter.chats) == 20_000  # all still within the interval
    vt.now += 1.0
    await start_at(limiter, vt, -1, log)
    assert len(limiter.chats) == 1


async def test_per_chat_memory_stays_bounded_in_a_stream(vt: VirtualTime) -> None:
    # 20 msgs/s to always-new chats for 50 s: entries stay around rate * 2 * interval.
    limiter = make_limiter(vt, rate=20, interval=1.0)
    log: list[Any] = []
    peak = 0

    async def stream() -> None:
        nonlocal peak
        for chat_id in range(1000):
            await start_at(limiter, vt, chat_id, log)
            peak = max(peak, len(limiter.chats))

    await vt.run(stream())
    assert vt.now == pytest.approx(49.95)
    assert peak <= 2 * 20 + 2


# --------------------------------------------------------------------------- cancellation


async def test_cancelled_waiters_consume_no_slot(vt: VirtualTime) -> None:
    limiter = RateLimiter(1, clock=vt.clock, sleep=vt.sleep)
    starts: dict[int, float] = {}

    async def one(i: int) -> None:
        await limiter.acquire()
        starts[i] = vt.now

    tasks = [asyncio.ensure_future(one(i)) for i in range(6)]
    await vt.settle()
    assert starts == {0: 0.0}
    assert limiter.waiting == 5
    # Cancel the head (sleeping for its slot) and two waiters behind it.
    for i in (1, 2, 4):
        tasks[i].cancel()
    await vt.settle()
    assert limiter.waiting == 2
    await vt.run(asyncio.gather(*tasks, return_exceptions=True))
    assert starts == {0: 0.0, 3: 1.0, 5: 2.0}
    assert limiter.waiting == 0
    # Nothing left queued: the next caller is served at once.
    await vt.advance(5)
    await one(9)
    assert starts[9] == vt.now


async def test_cancel_all_waiters_then_fresh_start(vt: VirtualTime) -> None:
    limiter = make_limiter(vt, rate=1, interval=1.0)
    log: list[Any] = []
    tasks = [asyncio.ensure_future(start_at(limiter, vt, i % 3, log)) for i in range(30)]
    await vt.advance(2.5)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert limiter.rate.waiting == 0
    done = len(log)
    assert done == 3  # t = 0, 1, 2
    await vt.advance(3)
    # A new send to a previously contended chat goes immediately.
    assert await vt.run(start_at(limiter, vt, 0, log)) == vt.now
    assert len(log) == done + 1
    assert len(limiter.chats) == 1  # the stale entries of chats 1 and 2 were dropped


async def test_cancel_while_holding_chat_turn_releases_it(vt: VirtualTime) -> None:
    limiter = make_limiter(vt, rate=None, interval=1.0)
    limiter.rate.pause(10.0)
    log: list[Any] = []
    holder = asyncio.ensure_future(start_at(limiter, vt, 5, log))  # waits on the pause
    queued = asyncio.ensure_future(start_at(limiter, vt, 5, log))  # waits for the chat lock
    await vt.advance(1.0)
    holder.cancel()
    await vt.settle()
    assert holder.cancelled()
    # The queued one took over the chat; it never started, so no interval applies.
    assert await vt.run(queued) == 10.0
    assert log == [(5, 10.0)]


async def test_cancel_during_chat_interval_wait(vt: VirtualTime) -> None:
    limiter = make_limiter(vt, rate=None, interval=1.0)
    log: list[Any] = []
    await start_at(limiter, vt, 8, log)
    waiting = asyncio.ensure_future(start_at(limiter, vt, 8, log))
    behind = asyncio.ensure_future(start_at(limiter, vt, 8, log))
    await vt.advance(0.5)
    waiting.cancel()
    # The next sender for chat 8 still honours the interval since the last real start.
    assert await vt.run(behind) == 1.0
    assert [t for _, t in log] == [0.0, 1.0]


# --------------------------------------------------------------------------- shared rate


class RecordingShared:
    """A SharedRate standing for Redis: grants at once, remembers what it was asked."""

    def __init__(self, vt: VirtualTime, pause_for: float = 0.0) -> None:
        self.vt = vt
        self.calls: list[tuple[str, float]] = []
        self.locals: list[RateLimiter] = []
        self.pause_for = pause_for

    async def acquire(self, local: RateLimiter) -> None:
        self.locals.append(local)
        self.calls.append(("acquire", self.vt.now))

    async def acquire_first(self, local: RateLimiter) -> None:
        self.locals.append(local)
        self.calls.append(("acquire_first", self.vt.now))

    async def pause(self, seconds: float) -> None:
        self.calls.append(("pause", seconds))

    async def wait_unpaused(self) -> None:
        self.calls.append(("wait_unpaused", self.vt.now))
        await self.vt.sleep(self.pause_for)


async def test_with_a_shared_rate_slots_come_from_it_and_chats_stay_spaced_here(
    vt: VirtualTime,
) -> None:
    shared = RecordingShared(vt)
    limiter = Limiter(rate=10, per_chat_interval=1.0, clock=vt.clock, sleep=vt.sleep, shared=shared)
    log: list[Any] = []
    starts = await vt.run(asyncio.gather(*(start_at(limiter, vt, 7, log) for _ in range(3))))
    assert starts == [0.0, 1.0, 2.0]  # one chat: still 1 s apart, in this process
    assert [c for c, _ in shared.calls] == ["acquire"] * 3
    assert shared.locals == [limiter.rate] * 3  # its fallback is the process's own limiter


async def test_with_a_shared_rate_answers_take_their_slot_from_it(vt: VirtualTime) -> None:
    shared = RecordingShared(vt)
    limiter = Limiter(rate=10, per_chat_interval=0, clock=vt.clock, sleep=vt.sleep, shared=shared)
    await vt.run(limiter.acquire_first())
    assert shared.calls == [("acquire_first", 0.0)]
    assert shared.locals == [limiter.rate]


async def test_a_pause_holds_this_process_at_once_and_is_passed_on(vt: VirtualTime) -> None:
    shared = RecordingShared(vt, pause_for=2.0)
    limiter = Limiter(rate=10, per_chat_interval=0, clock=vt.clock, sleep=vt.sleep, shared=shared)
    await limiter.pause(3.0)
    assert limiter.rate.paused_until == 3.0
    assert shared.calls == [("pause", 3.0)]
    await vt.run(limiter.wait_unpaused())
    # This process's pause first, then the shared one (another replica's 429).
    assert shared.calls[-1] == ("wait_unpaused", 3.0)
    assert vt.now == 5.0


async def test_without_a_shared_rate_a_pause_only_holds_this_process(vt: VirtualTime) -> None:
    limiter = make_limiter(vt, rate=10)
    await limiter.pause(1.5)
    await vt.run(limiter.wait_unpaused())
    assert vt.now == 1.5
