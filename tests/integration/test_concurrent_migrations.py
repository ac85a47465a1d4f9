"""Replicas that start together all migrate: on PostgreSQL they take turns, and every one of
them starts (skipped when no PostgreSQL server answers)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from bot.db.connection import create_engine
from bot.db.migrate import upgrade
from tests.integration.pg import fresh_postgres_database

pytest.importorskip("asyncpg")


async def test_three_replicas_migrate_a_fresh_database_at_once() -> None:
    async with fresh_postgres_database("companion_migrate") as url:
        engines = [create_engine(url) for _ in range(3)]
        try:
            # Without the lock they interleave and wait on each other's tables for ever.
            async with asyncio.timeout(60):
                await asyncio.gather(*(upgrade(engine) for engine in engines))
            async with engines[0].connect() as connection:
                versions = (
                    (await connection.execute(text("SELECT version_num FROM alembic_version")))
                    .scalars()
                    .all()
                )
                tables = (
                    await connection.execute(
                        text(
                            "SELECT count(*) FROM information_schema.tables "
                            "WHERE table_schema = 'public'"
                        )
                    )
                ).scalar_one()
        finally:
            for engine in engines:
                await engine.dispose()
    assert len(versions) == 1
    assert tables > 5
