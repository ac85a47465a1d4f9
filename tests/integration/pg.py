"""The database of a test: SQLite by default, PostgreSQL with TEST_DATABASE=postgres.

`app_database(tmp_path)` is what every test that builds the application's database uses (the
harness, the alert outbox's rig, the staff rig, ...): a SQLite file in the test's folder, or,
with ``TEST_DATABASE=postgres``, a fresh PostgreSQL database of its own and dropped afterwards;
either way already migrated to head. The migrated database is a copy (of a file, or
``CREATE DATABASE … TEMPLATE``) of one template migrated once per session: copying it and
dropping the copy take about 30 ms on an idle PostgreSQL server, well under a millisecond for
SQLite, a migration run from scratch about 200 ms. The templates are removed when the session
ends (`drop_template` and `drop_sqlite_template`, from tests/conftest.py). Migrating from
scratch is tested by tests/integration/test_migrations.py, and on start-up by the runtime's
tests that give it a database of their own (tests/integration/test_runtime.py).

`fresh_postgres_database(prefix)` gives an empty database, for the tests that are about
PostgreSQL whatever the switch says (they are skipped when no server answers, except with
``TEST_DATABASE=postgres``, where a missing server is an error).

The server is TEST_POSTGRES_URL (default: the local server on 127.0.0.1:5432 as user postgres).
Every name made there carries the pytest-xdist worker's id (tests/workers.py): each worker
migrates a template of its own and copies only that one.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.workers import worker_id

ADMIN_DSN = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

TEST_DATABASE = os.environ.get("TEST_DATABASE", "sqlite").strip().lower() or "sqlite"
if TEST_DATABASE not in ("sqlite", "postgres"):
    raise RuntimeError(f"TEST_DATABASE must be sqlite or postgres, not {TEST_DATABASE!r}")
ON_POSTGRES = TEST_DATABASE == "postgres"
"""True when the suite runs on PostgreSQL (TEST_DATABASE=postgres)."""

DATABASE_KINDS = ("postgres",) if ON_POSTGRES else ("sqlite", "postgres")
"""What a test about both databases runs on: both, or with TEST_DATABASE=postgres only
PostgreSQL (the run without the switch covers SQLite)."""

# The session's migrated template database, made by the first test that needs it.
_template: str | None = None
# The same for SQLite: a migrated file, copied for each test (a copy takes well under a
# millisecond, migrating from scratch about a tenth of a second of CPU).
_sqlite_template_path: Path | None = None


def sqlalchemy_url(database: str) -> str:
    """The asyncpg SQLAlchemy URL of `database` on the test server."""
    base = ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{database}"


async def _admin() -> Any:
    try:
        import asyncpg  # type: ignore[import-untyped]
    except ImportError:
        if ON_POSTGRES:
            pytest.fail("TEST_DATABASE=postgres needs asyncpg (pip install -e .[test])")
        pytest.skip("asyncpg is not installed")
    try:
        return await asyncpg.connect(ADMIN_DSN, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        if ON_POSTGRES:
            pytest.fail(f"TEST_DATABASE=postgres but no PostgreSQL server: {type(exc).__name__}")
        pytest.skip(f"no PostgreSQL server: {type(exc).__name__}")


async def _migrated_template(admin: Any) -> str:
    """The session's template: a database migrated to head, made once."""
    global _template
    if _template is None:
        from bot.db.connection import create_engine
        from bot.db.migrate import upgrade

        name = f"test_template_{worker_id()}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        await admin.execute(f'CREATE DATABASE "{name}"')
        engine = create_engine(sqlalchemy_url(name))
        try:
            await upgrade(engine)
        except BaseException:
            await engine.dispose()
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            raise
        # A template must have no connection open while it is copied.
        await engine.dispose()
        _template = name
    return _template


async def drop_template() -> None:
    """Drop the session's template, if one was made (at the end of the session)."""
    global _template
    if _template is None:
        return
    name, _template = _template, None
    admin = await _admin()
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@asynccontextmanager
async def fresh_postgres_database(prefix: str, *, migrated: bool = False) -> AsyncIterator[str]:
    """The SQLAlchemy URL of a new database, dropped afterwards: empty, or `migrated` to head
    (a copy of the session's template)."""
    admin = await _admin()
    name = f"{prefix}_{worker_id()}_{uuid.uuid4().hex[:10]}"
    try:
        if migrated:
            template = await _migrated_template(admin)
            await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        else:
            await admin.execute(f'CREATE DATABASE "{name}"')
        yield sqlalchemy_url(name)
    finally:
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def _sqlite_template() -> Path:
    """The session's migrated SQLite file, made once: a test's database is a copy of it."""
    global _sqlite_template_path
    if _sqlite_template_path is None:
        from bot.db.connection import create_engine
        from bot.db.migrate import upgrade

        folder = Path(tempfile.mkdtemp(prefix="companion-template-"))
        path = folder / "template.db"
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        try:
            await upgrade(engine)
        finally:
            # Closing the last connection checkpoints the write-ahead log into the file.
            await engine.dispose()
        if path.with_name(f"{path.name}-wal").exists():
            raise RuntimeError(f"{path}: the write-ahead log was not checkpointed")
        _sqlite_template_path = path
    return _sqlite_template_path


def drop_sqlite_template() -> None:
    """Remove the session's SQLite template, if one was made (at the end of the session)."""
    global _sqlite_template_path
    if _sqlite_template_path is not None:
        shutil.rmtree(_sqlite_template_path.parent, ignore_errors=True)
        _sqlite_template_path = None


@asynccontextmanager
async def app_database(tmp_path: Path, name: str = "companion") -> AsyncIterator[str]:
    """The URL of the application's database for one test, migrated to head (running
    `upgrade` on it again is a no-op): the SQLite file ``tmp_path/<name>.db``, a copy of the
    session's template unless the file is already there (a restart on the same folder finds
    its database as it was), or with TEST_DATABASE=postgres a fresh PostgreSQL database,
    dropped afterwards."""
    if not ON_POSTGRES:
        path = tmp_path / f"{name}.db"
        if not path.exists():
            # The folder too, as the engine makes it for a database file of its own.
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(await _sqlite_template(), path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    async with fresh_postgres_database(f"test_{name}", migrated=True) as url:
        yield url


async def postgres_answers() -> str | None:
    """None when the test server answers; otherwise why not, in a few words."""
    try:
        import asyncpg
    except ImportError:
        return "asyncpg is not installed"
    try:
        connection = await asyncpg.connect(ADMIN_DSN, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"no PostgreSQL server at {ADMIN_DSN.split('@')[-1]} ({type(exc).__name__})"
    await connection.close()
    return None
