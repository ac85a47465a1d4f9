"""Every migration runs up and down, on SQLite and (when a server answers) PostgreSQL, and the
migrated schema is the one the models describe."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.connection import create_engine
from bot.db.migrate import downgrade, upgrade
from bot.db.models import Base
from tests.integration.pg import fresh_postgres_database

NEW_IN_0005 = {"staff_members", "audit_log", "invites"}


@pytest.fixture(params=["sqlite", "postgres"])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    if request.param == "sqlite":
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'migrations.db'}")
        try:
            yield engine
        finally:
            await engine.dispose()
        return
    async with fresh_postgres_database("companion_migrations") as url:
        engine = create_engine(url)
        try:
            yield engine
        finally:
            await engine.dispose()


async def tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))


async def schema_drift(engine: AsyncEngine) -> list[Any]:
    def compare(conn: Connection) -> list[Any]:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    async with engine.connect() as conn:
        return await conn.run_sync(compare)


async def test_head_matches_the_models(engine: AsyncEngine) -> None:
    await upgrade(engine)
    assert await schema_drift(engine) == []


async def test_0005_goes_down_and_up_again(engine: AsyncEngine) -> None:
    await upgrade(engine)
    assert await tables(engine) >= NEW_IN_0005
    await downgrade(engine, "0004")
    assert not NEW_IN_0005 & await tables(engine)
    assert {"patients", "appointments", "reminders", "staff_alerts"} <= await tables(engine)
    await upgrade(engine)
    assert await tables(engine) >= NEW_IN_0005
    assert await schema_drift(engine) == []


async def test_every_migration_goes_down_to_nothing_and_up_again(engine: AsyncEngine) -> None:
    await upgrade(engine)
    await downgrade(engine, "base")
    assert await tables(engine) <= {"alembic_version"}
    await upgrade(engine)
    assert await schema_drift(engine) == []


async def test_0006_goes_down_and_up_again(engine: AsyncEngine) -> None:
    await upgrade(engine)
    assert "content_versions" in await tables(engine)
    await downgrade(engine, "0005")
    assert "content_versions" not in await tables(engine)
    assert await tables(engine) >= NEW_IN_0005
    await upgrade(engine)
    assert await schema_drift(engine) == []
