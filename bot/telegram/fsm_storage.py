"""aiogram FSM storage in the application database.

Conversation state must survive a restart and be visible to every replica, so it cannot live
in process memory. Inside an update it joins the update's own transaction (so a state change
commits or rolls back together with the data it belongs to, and SQLite never sees two writers
from one update); outside an update each call is its own short transaction.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

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

from bot.db.repository import Repository
from scheduler.clock import Clock

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
