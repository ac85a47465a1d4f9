"""Every migration runs up and down, on SQLite and (when a server answers) PostgreSQL, and the
migrated schema is the one the models describe.

A database at any revision, with rows in it, upgrades to the same schema as a fresh upgrade to
head, keeps its rows, and goes back down to exactly that revision's schema
(`test_upgrading_from_every_revision_with_rows_gives_the_head_schema`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, MetaData, Table, func, insert, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.connection import create_engine
from bot.db.migrate import alembic_config, downgrade, upgrade
from bot.db.models import Base
from tests.integration.pg import DATABASE_KINDS, fresh_postgres_database

NEW_IN_0005 = {"staff_members", "audit_log", "invites"}


# Every revision, oldest first.
REVISIONS = [
    script.revision
    for script in reversed(list(ScriptDirectory.from_config(alembic_config()).walk_revisions()))
]


@asynccontextmanager
async def empty_database(kind: str, tmp_path: Path, name: str) -> AsyncIterator[AsyncEngine]:
    """An engine on a new, empty database of this kind (a SQLite file, or PostgreSQL)."""
    if kind == "sqlite":
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / f'{name}.db'}")
        try:
            yield engine
        finally:
            await engine.dispose()
        return
    async with fresh_postgres_database(f"companion_{name}") as url:
        engine = create_engine(url)
        try:
            yield engine
        finally:
            await engine.dispose()


@pytest.fixture(params=DATABASE_KINDS)
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async with empty_database(request.param, tmp_path, "migrations") as engine:
        yield engine


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


async def test_0009_gives_existing_visits_a_version_and_goes_down_and_up_again(
    engine: AsyncEngine,
) -> None:
    await upgrade(engine, "0008")
    await seed(engine, "0008")
    await upgrade(engine)
    async with engine.connect() as conn:
        versions = await conn.execute(select(Base.metadata.tables["appointments"].c.version))
        assert list(versions.scalars()) == [1, 1]  # no version before: each starts at 1
    assert "webhook_updates" in await tables(engine)
    await downgrade(engine, "0008")
    assert "webhook_updates" not in await tables(engine)
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


# --- upgrade from every revision, with rows ------------------------------------------------

T0 = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
BIG_ID = 7_345_912_867  # Telegram ids exceed 32 bits
# A row for each table, in every column the models have; a revision stores the columns it has.
SAMPLES: dict[str, list[dict[str, Any]]] = {
    "patients": [
        {
            "id": 1,
            "telegram_id": BIG_ID,
            "chat_id": BIG_ID,
            "language": "en",
            "timezone": "America/New_York",
            "consented_at": T0,
            "reachable": True,
            "reminders_paused": False,
            "created_at": T0,
        }
    ],
    "appointments": [
        {
            "id": id_,
            "patient_id": 1,
            "starts_at": T0 + timedelta(days=10),
            "timezone": "America/New_York",
            "status": "scheduled",
            "attendance": None,
            "created_at": T0,
            "updated_at": T0,
            "checkin": None,
            "version": 3,
            "visit_type": "esketamine",
        }
        for id_ in (1, 2)  # a double tap before 0004: one is cancelled there
    ],
    "reminders": [
        {
            "id": 1,
            "appointment_id": 1,
            "step_key": "playlist",
            "due_at": T0 + timedelta(days=7),
            "expires_at": T0 + timedelta(days=8),
            "status": "pending",
            "attempts": 0,
            "message_id": BIG_ID,
            "updated_at": T0,
        }
    ],
    "checklist_ticks": [{"appointment_id": 1, "item": "playlist", "done_at": T0}],
    "conversation_states": [
        {
            "id": 1,
            "storage_key": f"bot:{BIG_ID}:{BIG_ID}",
            "user_id": BIG_ID,
            "state": "Booking:when",
            "data": "{}",
            "updated_at": T0,
        }
    ],
    "staff_alerts": [
        {
            "id": 1,
            "kind": "crisis",
            "staff_chat_id": BIG_ID,
            "patient_id": 1,
            "subject_telegram_id": BIG_ID,
            "context": "{}",
            "dedupe_key": f"crisis:{BIG_ID}",
            "occurrences": 1,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": T0,
            "created_at": T0,
        }
    ],
    "staff_members": [
        {"id": 1, "telegram_id": BIG_ID, "role": "staff", "added_by": BIG_ID, "added_at": T0}
    ],
    "audit_log": [
        {
            "id": 1,
            "at": T0,
            "actor_telegram_id": BIG_ID,
            "surface": "telegram",
            "action": "staff_add",
            "target": f"staff:{BIG_ID}",
            "outcome": "done",
        }
    ],
    "invites": [
        {
            "id": 1,
            "code_hash": "a" * 64,
            "label": "J.D.",
            "starts_at": T0 + timedelta(days=10),
            "timezone": "America/New_York",
            "created_by": BIG_ID,
            "created_at": T0,
            "expires_at": T0 + timedelta(days=7),
            "appointment_id": 1,
            "request_key": "r1",
            "visit_type": "esketamine",
            "patient_key": "c" * 64,
        }
    ],
    "content_versions": [
        {
            "id": 1,
            "kind": "template",
            "key": "en/welcome",
            "number": 1,
            "body": "Hello",
            "author_telegram_id": BIG_ID,
            "created_at": T0,
        }
    ],
    "webhook_updates": [
        {
            "update_id": BIG_ID,
            "claimed_at": T0,
            "lease_until": T0 + timedelta(minutes=2),
            "done_at": T0,
        }
    ],
    "staff_invites": [
        {
            "id": 1,
            "code_hash": "b" * 64,
            "role": "staff",
            "created_by": BIG_ID,
            "created_at": T0,
            "expires_at": T0 + timedelta(days=7),
        }
    ],
    "staff_names": [{"telegram_id": BIG_ID, "name": "Lucía Pérez", "updated_at": T0}],
    "intake_patients": [
        {"patient_key": "c" * 64, "patient_id": 1, "created_at": T0, "linked_at": T0}
    ],
    "intake_visits": [
        {
            "id": 1,
            "source": "clinic-ehr",
            "external_id": "A-1001",
            "patient_key": "c" * 64,
            "starts_at": T0 + timedelta(days=10),
            "ends_at": T0 + timedelta(days=10, hours=2),
            "timezone": "America/New_York",
            "visit_type": "esketamine",
            "status": "booked",
            "label": "J.D. chair 2",
            "language": "es",
            "appointment_id": 1,
            "invite_id": 1,
            "created_at": T0,
            "updated_at": T0,
            "revision": 2,
        }
    ],
    "api_tokens": [
        {
            "id": 1,
            "name": "ehr",
            "source": "clinic-ehr",
            "token_hash": "d" * 64,
            "created_by": BIG_ID,
            "created_at": T0,
            "revoked_at": None,
            "last_used_at": T0,
        }
    ],
    "api_idempotency": [
        {
            "id": 1,
            "token_id": 1,
            "key": "k-1",
            "request_hash": "e" * 64,
            "status_code": 201,
            "response": "{}",
            "created_at": T0,
        }
    ],
    "intake_events": [
        {
            "id": 1,
            "source": "clinic-ehr",
            "event_type": "visit.confirmed",
            "body": "{}",
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": T0,
            "created_at": T0,
        }
    ],
}


def test_every_table_has_sample_rows() -> None:
    assert set(SAMPLES) == set(Base.metadata.tables)


def _describe(conn: Connection) -> dict[str, Any]:
    """The schema as the database reports it: tables, columns (in order), keys, indexes."""
    inspector = inspect(conn)
    schema: dict[str, Any] = {}
    for table in sorted(inspector.get_table_names()):
        schema[table] = {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"], str(c.get("default")))
                for c in inspector.get_columns(table)
            ],
            "primary key": inspector.get_pk_constraint(table)["constrained_columns"],
            "foreign keys": sorted(
                (
                    tuple(fk["constrained_columns"]),
                    fk["referred_table"],
                    tuple(fk["referred_columns"]),
                    str(sorted(fk.get("options", {}).items())),
                )
                for fk in inspector.get_foreign_keys(table)
            ),
            "indexes": sorted(
                (
                    str(ix["name"]),
                    tuple(str(c) for c in ix["column_names"]),
                    bool(ix["unique"]),
                    str(sorted((k, str(v)) for k, v in ix.get("dialect_options", {}).items())),
                )
                for ix in inspector.get_indexes(table)
            ),
            "unique constraints": sorted(
                (str(u["name"]), tuple(u["column_names"]))
                for u in inspector.get_unique_constraints(table)
            ),
        }
    return schema


async def describe(engine: AsyncEngine) -> dict[str, Any]:
    async with engine.connect() as conn:
        schema = await conn.run_sync(_describe)
        version = await conn.execute(
            select(Table("alembic_version", MetaData(), Column("version_num")))
        )
        schema["alembic_version rows"] = sorted(version.scalars())
    return schema


async def seed(engine: AsyncEngine, revision: str) -> dict[str, int]:
    """The sample rows, in the tables and columns this revision has; rows per table. From
    0004 on, the second visit is an hour later (the double tap is no longer storable)."""

    def insert_samples(conn: Connection) -> dict[str, int]:
        inspector = inspect(conn)
        present = set(inspector.get_table_names())
        counts: dict[str, int] = {}
        for model in Base.metadata.sorted_tables:
            if model.name not in present:
                continue
            columns = {c["name"] for c in inspector.get_columns(model.name)}
            # The models' column types (UTC instants on both databases), no Python defaults:
            # a column this revision lacks is not written.
            table = Table(
                model.name,
                MetaData(),
                *(Column(c.name, c.type) for c in model.c if c.name in columns),
            )
            rows = [{k: v for k, v in row.items() if k in columns} for row in SAMPLES[model.name]]
            if model.name == "appointments" and revision >= "0004":
                rows[1]["starts_at"] += timedelta(hours=1)
            conn.execute(insert(table), rows)
            counts[model.name] = len(rows)
        return counts

    async with engine.begin() as conn:
        counts = await conn.run_sync(insert_samples)
        if conn.dialect.name == "postgresql":
            # Explicit ids do not move the sequences; the bot's next rows must not collide.
            for name in counts:
                if "id" in Base.metadata.tables[name].c:
                    await conn.exec_driver_sql(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), 100)"
                    )
    return counts


async def row_counts(engine: AsyncEngine, tables: list[str]) -> dict[str, int]:
    async with engine.connect() as conn:
        return {
            name: (
                await conn.execute(select(func.count()).select_from(Base.metadata.tables[name]))
            ).scalar_one()
            for name in tables
        }


_head_schema: dict[str, dict[str, Any]] = {}


async def head_schema(kind: str, tmp_path: Path) -> dict[str, Any]:
    """The schema of a fresh database upgraded straight to head (once per kind)."""
    if kind not in _head_schema:
        async with empty_database(kind, tmp_path, "head") as engine:
            await upgrade(engine)
            _head_schema[kind] = await describe(engine)
    return _head_schema[kind]


@pytest.mark.parametrize("revision", REVISIONS[:-1])
@pytest.mark.parametrize("kind", DATABASE_KINDS)
async def test_upgrading_from_every_revision_with_rows_gives_the_head_schema(
    kind: str, revision: str, tmp_path: Path
) -> None:
    expected = await head_schema(kind, tmp_path)
    async with empty_database(kind, tmp_path, "from_revision") as engine:
        await upgrade(engine, revision)
        at_revision = await describe(engine)
        counts = await seed(engine, revision)
        await upgrade(engine)
        assert await describe(engine) == expected
        assert await schema_drift(engine) == []
        assert await row_counts(engine, list(counts)) == counts  # no row lost on the way
        async with engine.connect() as conn:
            patient = (await conn.execute(select(Base.metadata.tables["patients"]))).one()
            appointments = (
                await conn.execute(
                    select(Base.metadata.tables["appointments"].c.status).order_by("id")
                )
            ).scalars()
            assert patient.telegram_id == BIG_ID
            assert patient.consented_at == T0  # an aware UTC instant on both databases
            # Before 0004 a double tap could store one visit twice; 0004 cancels the second.
            assert list(appointments) == (
                ["scheduled", "cancelled"] if revision < "0004" else ["scheduled", "scheduled"]
            )
        # And back: down to the revision gives exactly the schema it had.
        await downgrade(engine, revision)
        assert await describe(engine) == at_revision
        await upgrade(engine)
        assert await describe(engine) == expected


@pytest.mark.sqlite_only("alembic's table copies on SQLite")
def test_alembic_given_a_url_keeps_the_rows_of_child_tables(tmp_path: Path) -> None:
    # The way migrations/env.py runs when alembic is given a URL (not the bot's engine): a
    # table copy (0002 adds a column to `patients`) must not cascade-delete the appointments.
    import sqlite3

    from alembic import command

    database = tmp_path / "by_url.db"
    config = alembic_config(f"sqlite+aiosqlite:///{database}")
    command.upgrade(config, "0001")
    with sqlite3.connect(database) as conn:
        conn.execute(
            "INSERT INTO patients (id, telegram_id, chat_id, language, timezone, reachable,"
            " created_at) VALUES (1, ?, ?, 'en', 'UTC', 1, '2026-11-23 15:00:00')",
            (BIG_ID, BIG_ID),
        )
        conn.execute(
            "INSERT INTO appointments (id, patient_id, starts_at, timezone, status, created_at,"
            " updated_at) VALUES (1, 1, '2026-12-03 15:00:00', 'UTC', 'scheduled',"
            " '2026-11-23 15:00:00', '2026-11-23 15:00:00')"
        )
    command.upgrade(config, "head")
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT count(*) FROM appointments").fetchone() == (1,)
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
