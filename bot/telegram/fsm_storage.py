"""Where conversation state (aiogram FSM) lives: the database, or Redis with REDIS_URL.

Conversation state must survive a restart and be visible to every replica, so it cannot live
in process memory. :class:`SqlStorage` keeps it in the application database: inside an update
it joins the update's own transaction (so a state change commits or rolls back together with
the data it belongs to, and SQLite never sees two writers from one update); outside an update
each call is its own short transaction.

With several replicas it lives in Redis (aiogram's ``RedisStorage``), wrapped in
:class:`AfterCommitStorage`, which gives it the same "with the update's transaction" meaning:
inside an update, what a handler writes is kept by the update and reaches Redis only once the
transaction committed (right after the commit, before the reply is sent); a rolled-back or
retried attempt leaves nothing behind. Reads in the update see its own writes, and each key is
read from Redis once per update.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Collection, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import (
    BaseStorage,
    DefaultKeyBuilder,
    KeyBuilder,
    StateType,
    StorageKey,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.patients import CONVERSATION_VISIT_KEYS, Repository
from foundation.clock import Clock

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from aiogram.fsm.storage.redis import RedisStorage

current_repository: ContextVar[Repository | None] = ContextVar("current_repository", default=None)


class SqlStorage(BaseStorage):
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        clock: Clock,
        key_builder: KeyBuilder | None = None,
    ) -> None:
        self._session_factory = session_factory
        self._clock = clock
        self._key_builder = key_builder or DefaultKeyBuilder(with_destiny=True)

    def key_for(self, key: StorageKey) -> str:
        """The row key of a conversation (for reading it together with the patient)."""
        return self._key_builder.build(key)

    @asynccontextmanager
    async def _repository(self, write: bool) -> AsyncIterator[Repository]:
        joined = current_repository.get()
        if joined is not None:
            yield joined
            return
        async with self._session_factory() as session:
            if write:
                async with session.begin():
                    yield Repository(session)
            else:
                yield Repository(session)

    async def _save(self, key: StorageKey, **values: Any) -> None:
        storage_key = self._key_builder.build(key)
        for attempt in range(2):
            try:
                async with self._repository(write=True) as repo:
                    await repo.save_conversation_state(
                        storage_key=storage_key,
                        user_id=key.user_id,
                        now=self._clock.now(),
                        **values,
                    )
                return
            except IntegrityError:
                # Two updates of one user raced to create the row; the second retries as an
                # update. Inside an update's transaction the error propagates (and rolls back).
                if attempt or current_repository.get() is not None:
                    raise

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        await self._save(key, state=value, set_state=True)

    async def get_state(self, key: StorageKey) -> str | None:
        async with self._repository(write=False) as repo:
            row = await repo.conversation_state(self._key_builder.build(key))
            return row.state if row else None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        encoded = json.dumps(dict(data), separators=(",", ":"), sort_keys=True)
        await self._save(key, data=encoded, set_data=True)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        async with self._repository(write=False) as repo:
            row = await repo.conversation_state(self._key_builder.build(key))
            if row is None:
                return {}
            loaded = json.loads(row.data or "{}")
            return loaded if isinstance(loaded, dict) else {}

    async def close(self) -> None:
        """The database engine is owned and disposed by the application, not by the storage."""


@dataclass
class _UpdateWrites:
    """One attempt of one update: what it read and wrote ("state", "data"), by key."""

    known: dict[tuple[StorageKey, str], Any] = field(default_factory=dict)
    changed: dict[tuple[StorageKey, str], Any] = field(default_factory=dict)
    forget: list[_Forget] = field(default_factory=list)


@dataclass(frozen=True)
class _Forget:
    """/forget of ``key``'s user: their conversations, and the team's about their visits."""

    key: StorageKey
    visits: frozenset[int] = frozenset()
    team: frozenset[int] = frozenset()


_current_writes: ContextVar[_UpdateWrites | None] = ContextVar("fsm_writes", default=None)


class ConversationBusy(Exception):
    """Another update of the same conversation held it for too long."""


class AfterCommitStorage(BaseStorage):
    """A storage outside the database (Redis) written only after the update's commit.

    ``UnitOfWork`` opens :meth:`update` around each attempt of an update and calls
    :meth:`flush` once the transaction committed; an attempt that rolled back is dropped.
    Outside an update (a reminder pass, a test) each call goes straight to the storage."""

    def __init__(
        self, inner: RedisStorage, *, turn_ttl: float = 10.0, turn_wait: float = 10.0
    ) -> None:
        self.inner = inner
        self._turn_ttl = turn_ttl
        self._turn_wait = turn_wait

    @asynccontextmanager
    async def turn(self, key: StorageKey) -> AsyncIterator[None]:
        """One update of the conversation ``key`` at a time, in every replica: held from the
        first read of the state to the write after the commit (never while Telegram is called).

        In the database two updates racing over one conversation meet as a write conflict and
        the second runs again, seeing the first's result (a double tap on Confirm is answered
        as saved). Redis has no such conflict, so updates of one conversation take turns: a
        lock in Redis (redis-py's), polled every 20 ms; it expires after ``turn_ttl`` seconds
        if its replica dies. Waiting longer than ``turn_wait`` fails the update (the patient
        gets the kind error)."""
        from redis.exceptions import LockError, RedisError  # an optional package: REDIS_URL

        lock = self.inner.redis.lock(
            self.inner.key_builder.build(key, "lock"),
            timeout=self._turn_ttl,
            sleep=0.02,
            blocking_timeout=self._turn_wait,
        )
        if not await lock.acquire():
            raise ConversationBusy()
        try:
            yield
        finally:
            try:
                await lock.release()
            except LockError:
                log.warning("a conversation's turn outlasted its %.0fs lock", self._turn_ttl)
            except RedisError as exc:  # it expires by itself
                log.warning("could not release a conversation's turn: %s", type(exc).__name__)

    @contextmanager
    def update(self) -> Iterator[_UpdateWrites]:
        writes = _UpdateWrites()
        token = _current_writes.set(writes)
        try:
            yield writes
        finally:
            _current_writes.reset(token)

    async def flush(self, writes: _UpdateWrites) -> None:
        """Write what the committed attempt changed, then forget what /forget asked to."""
        for (key, part), value in writes.changed.items():
            await self._store(key, part, value)
        for forget in writes.forget:
            await self._forget(forget)
        writes.changed.clear()
        writes.forget.clear()

    async def forget_user(
        self, key: StorageKey, *, visits: Collection[int] = (), team: Collection[int] = ()
    ) -> None:
        """Delete every conversation of ``key``'s user (their private chat, every thread and
        destiny), and the conversations of the `team` members' chats about one of `visits`
        (a move or cancel in progress or just done holds the visit's id and times): after
        the commit inside an update, at once outside one."""
        forget = _Forget(key, frozenset(visits), frozenset(team))
        writes = _current_writes.get()
        if writes is None:
            await self._forget(forget)
        else:
            writes.forget.append(forget)

    async def _forget(self, forget: _Forget) -> None:
        await forget_redis_conversations(self.inner, forget.key)
        if forget.visits:
            await forget_redis_visits(self.inner, forget.key, forget.team, forget.visits)

    async def _read(self, key: StorageKey, part: str) -> Any:
        load = self.inner.get_state if part == "state" else self.inner.get_data
        writes = _current_writes.get()
        if writes is None:
            return await load(key)
        if (key, part) not in writes.known:
            writes.known[key, part] = await load(key)
        return writes.known[key, part]

    async def _write(self, key: StorageKey, part: str, value: Any) -> None:
        writes = _current_writes.get()
        if writes is None:
            await self._store(key, part, value)
            return
        writes.known[key, part] = writes.changed[key, part] = value

    async def _store(self, key: StorageKey, part: str, value: Any) -> None:
        if part == "state":
            await self.inner.set_state(key, value)
        else:
            await self.inner.set_data(key, value)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        await self._write(key, "state", state.state if isinstance(state, State) else state)

    async def get_state(self, key: StorageKey) -> str | None:
        state: str | None = await self._read(key, "state")
        return state

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await self._write(key, "data", dict(data))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        # A copy: the handler's changes count once it sets them.
        return dict(await self._read(key, "data"))

    async def close(self) -> None:
        """Nothing: aiogram closes the storage at the start of its shutdown, while updates
        may still be running; the Redis client (shared with the send limits) is owned and
        closed by the application, last (bot/runtime.py)."""


async def forget_redis_conversations(storage: RedisStorage, key: StorageKey) -> int:
    """Delete the keys of every conversation in ``key``'s user's private chat with this bot
    (the bot holds conversations in private chats only): a SCAN of the chat's own key prefix,
    as /forget is rare. The number of keys deleted."""
    builder = storage.key_builder
    assert isinstance(builder, DefaultKeyBuilder)
    # The user's private chat has the user's id.
    pattern = _chat_pattern(storage, key.bot_id, key.user_id)
    # Not the conversation's turn (AfterCommitStorage.turn), held by this very update: it
    # holds nothing of the patient's and expires within seconds.
    turn = (builder.separator + "lock").encode()
    deleted = 0
    batch: list[Any] = []
    async for found in storage.redis.scan_iter(match=pattern, count=500):
        if isinstance(found, bytes) and found.endswith(turn):
            continue
        batch.append(found)
        if len(batch) >= 500:
            deleted += await storage.redis.delete(*batch)
            batch.clear()
    if batch:
        deleted += await storage.redis.delete(*batch)
    return deleted


def _chat_pattern(storage: RedisStorage, bot_id: int, chat_id: int) -> str:
    """The SCAN pattern of every key of one private chat (DefaultKeyBuilder.build: prefix, bot
    id, chat id, then thread, user, destiny and part)."""
    builder = storage.key_builder
    assert isinstance(builder, DefaultKeyBuilder)
    parts = [builder.prefix, *([str(bot_id)] if builder.with_bot_id else []), str(chat_id)]
    return _glob_escape(builder.separator.join(parts) + builder.separator) + "*"


async def forget_redis_visits(
    storage: RedisStorage, key: StorageKey, team: Collection[int], visits: Collection[int]
) -> int:
    """Delete the conversations in the team members' private chats whose data names one of
    `visits` (under :data:`CONVERSATION_VISIT_KEYS`): the state and the data of each. The
    number of keys deleted."""
    builder = storage.key_builder
    assert isinstance(builder, DefaultKeyBuilder)
    separator = builder.separator
    data_suffix = (separator + "data").encode()
    deleted = 0
    for member in sorted(set(team)):
        pattern = _chat_pattern(storage, key.bot_id, member)
        async for found in storage.redis.scan_iter(match=pattern, count=500):
            name = found if isinstance(found, bytes) else str(found).encode()
            if not name.endswith(data_suffix):
                continue
            raw = await storage.redis.get(found)
            try:
                data = json.loads(raw) if raw is not None else None
            except ValueError:
                continue
            if not isinstance(data, dict) or not any(
                data.get(k) in visits for k in CONVERSATION_VISIT_KEYS
            ):
                continue
            state = name[: -len(data_suffix)] + (separator + "state").encode()
            deleted += await storage.redis.delete(found, state)
    return deleted


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


async def forget_conversations(
    storage: BaseStorage,
    key: StorageKey,
    *,
    visits: Collection[int] = (),
    team: Collection[int] = (),
) -> None:
    """/forget: the conversation state of ``key``'s user goes with everything else, and so do
    the team's conversations about their `visits`. In the database the repository deletes
    them in the update's transaction; in Redis they go after the commit."""
    if isinstance(storage, AfterCommitStorage):
        await storage.forget_user(key, visits=visits, team=team)
