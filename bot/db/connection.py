"""Engine and session factory. SQLite gets the pragmas that make it safe for a bot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bot.db import inline_sqlite


def ensure_sqlite_folder(database_url: str) -> None:
    """Create the folder of a file-backed SQLite database on first run."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return
    database = url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _file_database(url: URL) -> str | None:
    """The file of a plain file-backed SQLite URL; None for memory or URI databases."""
    database = url.database
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:") or url.query:
        return None
    return str(Path(database).expanduser())


def create_engine(database_url: str, **kwargs: Any) -> AsyncEngine:
    ensure_sqlite_folder(database_url)
    url = make_url(database_url)
    # An error's text must never carry the values of a statement (Telegram ids, times).
    kwargs.setdefault("hide_parameters", True)
    sqlite = url.get_backend_name() == "sqlite"
    busy_ms = 30000
    if sqlite:
        # Every session and connection here ends with its own commit or rollback (Session and
        # Connection close roll back what is open), so the pool's extra rollback on check-in
        # is a second call into SQLite for nothing, on every update.
        kwargs.setdefault("pool_reset_on_return", None)
        path = _file_database(url)
        if path is not None and "async_creator" not in kwargs:
            # In the event loop's thread, not aiosqlite's worker (see bot/db/inline_sqlite.py).
            busy_ms = inline_sqlite.BUSY_TIMEOUT_MS

            async def connect_inline() -> inline_sqlite.InlineConnection:
                return inline_sqlite.connect(path)

            kwargs["async_creator"] = connect_inline
        else:
            kwargs.setdefault("connect_args", {}).setdefault("timeout", 30)
    engine = create_async_engine(database_url, **kwargs)
    if sqlite:

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
            if url.database not in (None, "", ":memory:"):
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            # Deleted rows are overwritten, not only unlinked: /forget leaves no readable trace.
            cursor.execute("PRAGMA secure_delete=ON")
            cursor.close()

    return engine


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def wal_checkpoint(engine: AsyncEngine) -> None:
    """Copy SQLite's write-ahead log into the database file and empty it.

    After /forget the deleted rows would otherwise stay readable in the ``-wal`` file until
    SQLite's next automatic checkpoint; with ``secure_delete`` the database pages they leave
    are zeroed too. TRUNCATE waits (busy_timeout) for readers still using the log. A no-op on
    other databases."""
    if engine.url.get_backend_name() != "sqlite":
        return
    async with engine.connect() as connection:
        await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
