"""Schema migrations, run by `infusion-companion db upgrade` and automatically by `run`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Key of the PostgreSQL advisory lock that makes replicas starting together migrate one at a
# time (an arbitrary constant: "infusion" in ASCII).
MIGRATION_LOCK_KEY = 0x696E667573696F6E


def alembic_config(database_url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if database_url:
        cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the database to `revision` over the given engine, inside the running loop."""
    await _run(engine, command.upgrade, revision)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    """Take the database back to `revision` (an operator's undo; the tests run every
    migration down and up again)."""
    await _run(engine, command.downgrade, revision)


async def schema_revision(engine: AsyncEngine) -> tuple[str | None, str | None]:
    """The database's revision (None: never migrated) and the newest this version has."""

    def current(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as connection:
        found = await connection.run_sync(current)
    return found, ScriptDirectory.from_config(alembic_config()).get_current_head()


async def _run(engine: AsyncEngine, step: Callable[[Config, str], None], revision: str) -> None:
    def _step(connection: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        step(cfg, revision)

    await in_migration_transaction(engine, _step)


async def in_migration_transaction(
    engine: AsyncEngine, migrate: Callable[[Connection], None]
) -> None:
    """Run `migrate` (alembic, on the connection it is given) in one transaction, committed
    when it returns: on PostgreSQL under the migrations' advisory lock, on SQLite with foreign
    keys off. Also the way migrations/env.py runs them when alembic is given a URL."""
    async with engine.connect() as connection:
        if connection.dialect.name != "sqlite":
            if connection.dialect.name == "postgresql":
                # Every replica migrates at start-up. PostgreSQL runs the migrations inside
                # this transaction, so the first replica holds the lock until its migrations
                # commit and the others then find the schema at head and do nothing. (SQLite
                # serves one process, and its write lock already serialises.)
                await connection.exec_driver_sql(
                    f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})"
                )
            await connection.run_sync(migrate)
            await connection.commit()
            return
        # SQLite changes a table by copying it, dropping it and renaming the copy (alembic's
        # batch mode). With foreign keys on, dropping `patients` deletes every appointment
        # through ON DELETE CASCADE: they are off while migrating (the pragma works only
        # before the transaction's first write: the driver begins it there), the result is
        # checked before the commit, and they are on again for the pool's next user.
        await connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        try:
            await connection.run_sync(migrate)
            dangling = (await connection.exec_driver_sql("PRAGMA foreign_key_check")).all()
            if dangling:
                raise RuntimeError(f"the migration left {len(dangling)} dangling foreign keys")
            await connection.commit()
        finally:
            await connection.rollback()
            await connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            await connection.commit()
