"""SQLite for the asyncio bot without a thread per connection.

SQLAlchemy's ``sqlite+aiosqlite`` driver runs every call (cursor, execute, fetch, close,
commit) on a worker thread and waits for it, five hand-offs for the smallest query, and the
worker and the event loop then contend for the GIL, which made the bot's own socket writes
far dearer than an echo bot's. A lookup by key in SQLite takes less than one hand-off
(bench/README.md, "Measurements behind the design").

This module gives SQLAlchemy (through ``create_async_engine(async_creator=...)``, its
documented hook) connection and cursor objects with aiosqlite's awaitable interface that run
``sqlite3`` directly, in the event loop's thread. Nothing awaits inside them, so a unit of
work's statements run back to back, and two transactions of this process never interleave:
SQLite meets one writer at a time, and "database is locked" cannot come from the bot itself.
What remains a wait is another *process* holding the write lock (a backup, an operator's
``sqlite3`` shell): SQLite's busy handler then blocks the loop, so the busy timeout is kept
short (:data:`BUSY_TIMEOUT_MS`); a longer lock fails the update, which is retried and, failing
again, answered with the kind error. Several replicas need PostgreSQL, not SQLite, anyway.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

__all__ = ["BUSY_TIMEOUT_MS", "InlineConnection", "InlineCursor", "connect"]

BUSY_TIMEOUT_MS = 250
"""How long a statement waits for another process's write lock, blocking the event loop."""


class InlineCursor:
    """An aiosqlite-style cursor whose coroutines finish without suspending."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> InlineCursor:
        if parameters is None:
            self._cursor.execute(sql)
        else:
            self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> InlineCursor:
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._rows()

    async def _rows(self) -> AsyncIterator[Any]:
        for row in self._cursor:
            yield row

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class InlineConnection:
    """An aiosqlite-style connection over a ``sqlite3`` connection of the loop's thread."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn = connection

    @property
    def _connection(self) -> sqlite3.Connection | None:
        """What SQLAlchemy's adapter checks before commit and rollback (as for aiosqlite)."""
        return self._conn

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction

    def cursor(self) -> InlineCursor:
        return InlineCursor(self._conn.cursor())

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> InlineCursor:
        return await self.cursor().execute(sql, parameters)

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        self._conn.close()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    def stop(self) -> None:
        """Force-close (SQLAlchemy's terminate): nothing runs elsewhere, so close now."""
        self._conn.close()


def connect(database: str, **kwargs: Any) -> InlineConnection:
    """Open ``database`` as SQLAlchemy's pysqlite dialect would (legacy transaction control:
    ``BEGIN`` only before the first write, so reads take no lock)."""
    kwargs.setdefault("check_same_thread", False)  # pool clean-up may run in the GC's thread
    kwargs.setdefault("timeout", BUSY_TIMEOUT_MS / 1000)
    kwargs.setdefault("detect_types", 0)
    kwargs.setdefault("isolation_level", "")
    return InlineConnection(sqlite3.connect(database, **kwargs))
