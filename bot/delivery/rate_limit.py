"""Send-rate limiting for messages the bot sends on its own initiative.

Two independent limits, both driven by an injectable clock and sleep (so tests run on
virtual time):

* :class:`RateLimiter` - one global limit shared by every concurrent caller: a FIFO queue in
  which two grants are always at least ``1 / rate`` seconds apart (GCRA without burst), plus
  a global *pause* (Telegram's ``retry_after``) that holds everybody back.
* :class:`ChatSpacer` - at least ``interval`` seconds between the starts of two sends to the
  same chat; sends to one chat are serialized in FIFO order while other chats go ahead.

:class:`Limiter` combines them: a caller first waits for its chat's turn (without occupying
the global queue), then for a global slot.  Both are cancellation-safe: a cancelled waiter
leaves the queue and consumes no slot.

With several replicas the global rate and the pauses must be shared (Telegram counts per bot,
not per process): :class:`Limiter` then takes its slots and pauses from a :class:`SharedRate`
(``bot/delivery/shared_rate.py``, in Redis), and its own :class:`RateLimiter` is the fallback
while that is unreachable. Per-chat spacing stays in the process (see docs/architecture.md).
"""

from __future__ import annotations

import asyncio
import math
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextlib import asynccontextmanager
from typing import Protocol

__all__ = ["ChatSpacer", "ChatTurn", "Limiter", "RateLimiter", "SharedRate"]

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class _Waiter:
    __slots__ = ("cancelled", "event")

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.cancelled = False


class RateLimiter:
    """Global FIFO limiter: grants are spaced ``1 / rate`` seconds apart; no bursts.

    Over any closed one-second window at most ``rate + 1`` grants happen.  ``rate`` of ``0``
    or ``None`` means unlimited (only :meth:`pause` holds callers back).
    """

    def __init__(self, rate: float | None, *, clock: Clock, sleep: Sleep) -> None:
        if rate is not None and rate < 0:
            raise ValueError("rate must be >= 0")
        self._interval = 1.0 / rate if rate else 0.0
        self._clock = clock
        self._sleep = sleep
        self._next_free = -math.inf
        self._paused_until = -math.inf
        # Invariant: _waiters[0] (if any) is a live waiter, the one allowed to take the next
        # slot; cancelled waiters further back are skipped lazily when they reach the front.
        self._waiters: deque[_Waiter] = deque()
        self._live = 0
        self._first = 0  # callers of acquire_first() waiting: the queue's head lets them go

    @property
    def interval(self) -> float:
        return self._interval

    @property
    def paused_until(self) -> float:
        """Monotonic time until which all grants are paused (``-inf`` if never paused)."""
        return self._paused_until

    @property
    def waiting(self) -> int:
        """Callers currently queued in :meth:`acquire`."""
        return self._live

    def pause(self, until: float) -> None:
        """No grant before ``until`` (extends, never shortens, an existing pause)."""
        self._paused_until = max(self._paused_until, until)

    async def wait_unpaused(self) -> None:
        """Return once no pause holds callers back (at once when none does)."""
        while (delay := self._paused_until - self._clock()) > 0:
            await self._sleep(delay)

    def _ready_at(self) -> float:
        return max(self._next_free, self._paused_until)

    async def acquire_first(self) -> None:
        """A slot ahead of every queued caller (an answer to a patient must not queue behind a
        reminder burst, but spends the same budget): it waits only for the next free moment
        and any pause, then the queue goes on one interval later."""
        self._first += 1
        try:
            while (delay := self._ready_at() - self._clock()) > 0:
                await self._sleep(delay)
            self._grant()
        finally:
            self._first -= 1
            self._wake_head()

    async def acquire(self) -> None:
        """Wait for a slot (FIFO).  Returns at the moment the caller may start."""
        if not self._waiters and not self._first and self._clock() >= self._ready_at():
            self._grant()
            return
        me = _Waiter()
        self._waiters.append(me)
        self._live += 1
        try:
            while True:
                if self._waiters[0] is me:
                    delay = self._ready_at() - self._clock()
                    if delay > 0:
                        await self._sleep(delay)
                    elif not self._first:
                        break
                    else:  # an acquire_first() goes ahead; it wakes the head when done
                        me.event.clear()
                        await me.event.wait()
                else:
                    await me.event.wait()
        except BaseException:
            self._live -= 1
            if self._waiters and self._waiters[0] is me:
                self._waiters.popleft()
                self._wake_head()
            else:
                me.cancelled = True
            raise
        self._live -= 1
        self._waiters.popleft()
        self._grant()
        self._wake_head()

    def _grant(self) -> None:
        self._next_free = self._clock() + self._interval

    def _wake_head(self) -> None:
        while self._waiters and self._waiters[0].cancelled:
            self._waiters.popleft()
        if self._waiters:
            self._waiters[0].event.set()


class _ChatEntry:
    __slots__ = ("last_start", "lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.last_start = -math.inf
        self.users = 0


class ChatSpacer:
    """Per-chat spacing: ``interval`` seconds between the starts of two sends to one chat.

    Memory is bounded: an entry is forgotten once nobody uses it and its last start is older
    than ``interval`` (checked at most once per ``interval``, so stale entries live for less
    than ``2 * interval``).
    """

    def __init__(self, interval: float, *, clock: Clock, sleep: Sleep) -> None:
        if interval < 0:
            raise ValueError("interval must be >= 0")
        self._interval = interval
        self._clock = clock
        self._sleep = sleep
        # Ordered by last_start (oldest first): entries move to the end when they start.
        self._entries: OrderedDict[Hashable, _ChatEntry] = OrderedDict()
        self._next_prune = -math.inf

    @property
    def interval(self) -> float:
        return self._interval

    def __len__(self) -> int:
        return len(self._entries)

    @asynccontextmanager
    async def hold(self, chat_id: Hashable) -> AsyncIterator[_ChatEntry]:
        """Exclusive, FIFO access to ``chat_id`` for the duration of the block."""
        self._prune()
        entry = self._entries.get(chat_id)
        if entry is None:
            entry = self._entries[chat_id] = _ChatEntry()
        entry.users += 1
        try:
            async with entry.lock:
                yield entry
        finally:
            entry.users -= 1
            if entry.users == 0 and self._expired(entry) and self._entries.get(chat_id) is entry:
                del self._entries[chat_id]

    async def wait(self, entry: _ChatEntry) -> None:
        """Sleep until ``interval`` has passed since the chat's last start."""
        while (delay := entry.last_start + self._interval - self._clock()) > 0:
            await self._sleep(delay)

    def started(self, chat_id: Hashable, entry: _ChatEntry) -> None:
        entry.last_start = self._clock()
        if self._entries.get(chat_id) is entry:
            self._entries.move_to_end(chat_id)

    def _expired(self, entry: _ChatEntry) -> bool:
        return entry.last_start + self._interval <= self._clock()

    def _prune(self) -> None:
        now = self._clock()
        if now < self._next_prune:
            return
        self._next_prune = now + self._interval
        stale = []
        for chat_id, entry in self._entries.items():
            if entry.last_start + self._interval > now:
                break  # the rest started later
            if entry.users == 0:
                stale.append(chat_id)
        for chat_id in stale:
            del self._entries[chat_id]


class SharedRate(Protocol):
    """A global rate and pause shared by every process of the bot (several replicas).

    ``local`` is the process's own :class:`RateLimiter` (same rate, and every pause this process
    saw): an implementation falls back to it while the shared state cannot be reached, so a
    message is never lost or sent twice because of the limiter."""

    async def acquire(self, local: RateLimiter) -> None:
        """Wait for a slot of the shared rate (FIFO within the process)."""

    async def pause(self, seconds: float) -> None:
        """Hold every process back for ``seconds`` (Telegram's ``retry_after``)."""

    async def wait_unpaused(self) -> None:
        """Return once no shared pause holds this process back."""

    async def acquire_first(self, local: RateLimiter) -> None:
        """A slot of the shared rate ahead of this process's queue (an answer; see
        :meth:`RateLimiter.acquire_first`)."""


class ChatTurn:
    """One caller's exclusive turn on a chat (see :meth:`Limiter.chat`)."""

    def __init__(self, limiter: Limiter, chat_id: Hashable, entry: _ChatEntry | None) -> None:
        self._limiter = limiter
        self._chat_id = chat_id
        self._entry = entry
        self._started = False

    async def start(self) -> None:
        """Wait until the next request of this turn may start; call right before each request.

        The first request waits for the chat's interval (before joining the global queue, so a
        busy chat never holds the queue up); retries within the same turn replace a request
        that failed, so they skip the per-chat wait.  Every request takes a global slot and
        counts as a start for the chat's interval.
        """
        chats = self._limiter.chats
        if self._entry is not None and not self._started:
            await chats.wait(self._entry)
        await self._limiter.acquire()
        self._started = True
        if self._entry is not None:
            chats.started(self._chat_id, self._entry)


class Limiter:
    """Global rate + per-chat spacing.  Usage::

    async with limiter.chat(chat_id) as turn:
        await turn.start()
        ...  # one request
    """

    def __init__(
        self,
        *,
        rate: float | None,
        per_chat_interval: float,
        clock: Clock,
        sleep: Sleep,
        shared: SharedRate | None = None,
    ) -> None:
        self.rate = RateLimiter(rate, clock=clock, sleep=sleep)
        self.chats = ChatSpacer(per_chat_interval or 0.0, clock=clock, sleep=sleep)
        self.shared = shared
        self._clock = clock

    async def acquire(self) -> None:
        """A global slot: the process's own, or the replicas' shared one."""
        if self.shared is None:
            await self.rate.acquire()
        else:
            await self.shared.acquire(self.rate)

    async def pause(self, seconds: float) -> None:
        """Telegram said ``retry_after``: no grant for ``seconds``, in this process at once
        and, when shared, in every other."""
        self.rate.pause(self._clock() + seconds)
        if self.shared is not None:
            await self.shared.pause(seconds)

    async def wait_unpaused(self) -> None:
        """Wait out a pause (this process's, and the shared one) without taking a slot."""
        await self.rate.wait_unpaused()
        if self.shared is not None:
            await self.shared.wait_unpaused()

    async def acquire_first(self) -> None:
        """A global slot ahead of the queue (an answer): only the next free moment of the
        rate (this process's, or the replicas' shared one) and any pause are waited for."""
        if self.shared is None:
            await self.rate.acquire_first()
        else:
            await self.shared.acquire_first(self.rate)

    @asynccontextmanager
    async def chat(self, chat_id: Hashable) -> AsyncIterator[ChatTurn]:
        if self.chats.interval <= 0:
            yield ChatTurn(self, chat_id, None)
            return
        async with self.chats.hold(chat_id) as entry:
            yield ChatTurn(self, chat_id, entry)
