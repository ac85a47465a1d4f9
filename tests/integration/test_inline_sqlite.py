"""SQLite runs in the event loop's thread (bot/db/inline_sqlite.py): no worker threads, the
same results, and a lock held by another process fails an update in seconds, kindly."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.db.connection import create_engine
from bot.db.inline_sqlite import BUSY_TIMEOUT_MS, InlineConnection
from tests.fake_telegram import updates
from tests.integration.harness import Harness, texts_to

PAT = 1001

pytestmark = pytest.mark.sqlite_only("the inline SQLite driver")


async def test_file_databases_use_the_inline_driver_and_start_no_thread(tmp_path: Path) -> None:
    before = threading.active_count()
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT)"))
            await connection.execute(text("INSERT INTO t (b) VALUES ('x'), ('y')"))
        async with engine.connect() as connection:
            rows = (await connection.execute(text("SELECT b FROM t ORDER BY a"))).scalars().all()
            raw = await connection.get_raw_connection()
            assert isinstance(raw.driver_connection, InlineConnection)
        assert rows == ["x", "y"]
        assert threading.active_count() == before
    finally:
        await engine.dispose()


async def test_memory_databases_keep_aiosqlite() -> None:
    engine = create_engine("sqlite+aiosqlite:///:memory:")
    try:
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            assert not isinstance(raw.driver_connection, InlineConnection)
    finally:
        await engine.dispose()


async def test_a_lock_held_by_another_process_fails_the_update_kindly_and_soon(
    harness: Harness, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    await harness.consent(PAT)
    other = sqlite3.connect(tmp_path / "companion.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process's write transaction
    try:
        started = time.monotonic()
        with caplog.at_level(logging.INFO):
            sent = await harness.feed(updates.command_update(PAT, "pause"), timeout=30)
        replies = texts_to(sent, PAT)
        waited = time.monotonic() - started
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert "went wrong" in replies[0]
    # Retried a few times, each waiting the short busy timeout: seconds, not minutes.
    assert waited < 6 * BUSY_TIMEOUT_MS / 1000
    [again] = await harness.command(PAT, "pause")
    assert "paused" in again.lower()
