"""`infusion-companion db backup FILE`: SQLite's online backup, while another connection
writes; never over an existing file; PostgreSQL is pointed to pg_dump."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from bot.cli import main
from bot.db.backup import BackupError, backup_sqlite, backup_sqlite_in_thread

ROWS = 20_000


def _database(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        db.executemany("INSERT INTO notes (body) VALUES (?)", [("x" * 200,)] * ROWS)
    db.close()


async def test_a_backup_taken_while_another_connection_writes_is_whole(tmp_path: Path) -> None:
    source, target = tmp_path / "live.db", tmp_path / "copy.db"
    _database(source)
    stop, written = threading.Event(), [0]

    def writer() -> None:
        db = sqlite3.connect(source, timeout=30, isolation_level=None)
        try:
            while not stop.is_set():
                db.execute("INSERT INTO notes (body) VALUES (?)", ("y" * 200,))
                written[0] += 1
        finally:
            db.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while written[0] < 100:  # the writer is under way
            await _yield()
        result = await backup_sqlite_in_thread(source, target)
        while written[0] < 200:  # and it was not blocked by the backup
            await _yield()
    finally:
        stop.set()
        thread.join()
    assert result.target == target
    assert result.bytes == target.stat().st_size
    copy = sqlite3.connect(target)
    try:
        assert copy.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        copied = copy.execute("SELECT count(*) FROM notes").fetchone()[0]
    finally:
        copy.close()
    assert ROWS + 100 <= copied <= ROWS + written[0]
    assert not (tmp_path / "copy.db-wal").exists()
    assert target.stat().st_mode & 0o077 == 0  # health data: the owner's only


async def _yield() -> None:
    await asyncio.sleep(0.001)  # the writer is a thread: let it run


def test_an_existing_file_is_never_overwritten(tmp_path: Path) -> None:
    source, target = tmp_path / "live.db", tmp_path / "copy.db"
    _database(source)
    target.write_bytes(b"yesterday's backup")
    with pytest.raises(BackupError, match="already exists"):
        backup_sqlite(source, target)
    assert target.read_bytes() == b"yesterday's backup"


def test_a_missing_database_is_refused_without_leaving_a_file(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="no database"):
        backup_sqlite(tmp_path / "absent.db", tmp_path / "copy.db")
    assert not (tmp_path / "copy.db").exists()


def test_the_command_backs_up_the_bots_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env from the developer's checkout
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    assert main(["db", "upgrade"]) == 0
    target = tmp_path / "backup.db"
    assert main(["db", "backup", str(target)]) == 0
    out = capsys.readouterr().out
    assert f"backup written to {target}" in out
    with sqlite3.connect(target) as copy:
        tables = {row[0] for row in copy.execute("SELECT name FROM sqlite_master")}
    copy.close()
    assert {"patients", "appointments", "reminders", "alembic_version"} <= tables
    assert main(["db", "backup", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "already exists" in err


def test_the_command_points_postgresql_to_pg_dump(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://bot@db.invalid/companion")
    assert main(["db", "backup", str(tmp_path / "backup.db")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "pg_dump" in err
    assert not (tmp_path / "backup.db").exists()
