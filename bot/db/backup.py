"""`infusion-companion db backup FILE`: a copy of a SQLite database, safe while the bot runs.

SQLite's online backup API (`sqlite3.Connection.backup`) copies the database page by page
through a read transaction of its own, in one step: in WAL mode (the bot's) that is a
consistent snapshot, and the bot's writes go on meanwhile. The copy is checked with
`PRAGMA integrity_check` before it is reported done. FILE is created with owner-only
permissions (it holds health data) and never overwritten. PostgreSQL is backed up with its own
tools (`pg_dump`; see docs/operations.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BackupError", "BackupResult", "backup_sqlite", "backup_sqlite_in_thread"]

BUSY_TIMEOUT = 30.0
"""Seconds to wait for a lock another process holds (a checkpoint, a migration)."""


class BackupError(Exception):
    """A backup that cannot be made; the message is one line for the operator."""


@dataclass(frozen=True)
class BackupResult:
    target: Path
    pages: int
    bytes: int


def backup_sqlite(source: Path, target: Path) -> BackupResult:
    """Copy the SQLite database `source` into the new file `target` (blocking)."""
    if not source.is_file():
        raise BackupError(f"no database at {source}")
    try:
        # O_EXCL: an existing file (or one created meanwhile) is never overwritten.
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise BackupError(f"{target} already exists; choose a new file name") from None
    except OSError as exc:
        raise BackupError(f"cannot create {target}: {exc.strerror}") from None
    os.close(fd)
    try:
        return _copy(source, target)
    except BaseException:
        with contextlib.suppress(OSError):
            target.unlink()
        raise


def _copy(source: Path, target: Path) -> BackupResult:
    with (
        contextlib.closing(sqlite3.connect(source, timeout=BUSY_TIMEOUT)) as src,
        contextlib.closing(sqlite3.connect(target)) as dst,
    ):
        try:
            src.backup(dst)  # all pages in one step: one consistent snapshot
        except sqlite3.Error as exc:
            raise BackupError(f"backup failed: {exc}") from None
        # The copy is a plain database file, not a WAL one with a log beside it.
        dst.execute("PRAGMA journal_mode=DELETE")
        check = dst.execute("PRAGMA integrity_check").fetchall()
        if check != [("ok",)]:
            raise BackupError(f"the copy failed its integrity check: {check[0][0]}")
        pages = int(dst.execute("PRAGMA page_count").fetchone()[0])
    return BackupResult(target, pages, target.stat().st_size)


async def backup_sqlite_in_thread(source: Path, target: Path) -> BackupResult:
    """:func:`backup_sqlite` in a worker thread: the event loop (the bot) keeps going."""
    return await asyncio.to_thread(backup_sqlite, source, target)
