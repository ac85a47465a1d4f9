"""visit types; the clinic's schedule (intake), the HTTP API's tokens, events to integrations

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 15:32:04

`appointments.visit_type` and `invites.visit_type` (existing rows: `infusion`, the plan they
had); `invites.patient_key` for the invite of a patient of the clinic's schedule. New tables:
`intake_patients` (a schedule's patient by keyed hash, linked once), `intake_visits` (a visit
by the clinic's own id, unique per source), `api_tokens` and `api_idempotency` (the HTTP API),
`intake_events` (the outbox of signed events to integrations' webhooks).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.db.types

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", bot.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", bot.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", bot.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("name", name=op.f("uq_api_tokens_name")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_table(
        "intake_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", bot.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lease_owner", sa.String(length=40), nullable=True),
        sa.Column("lease_until", bot.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", bot.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", bot.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=120), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_events")),
    )
    with op.batch_alter_table("intake_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_intake_events_source"), ["source"], unique=False)
        batch_op.create_index(
            "ix_intake_events_status_next", ["status", "next_attempt_at"], unique=False
        )

    op.create_table(
        "api_idempotency",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("created_at", bot.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["token_id"],
            ["api_tokens.id"],
            name=op.f("fk_api_idempotency_token_id_api_tokens"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_idempotency")),
        sa.UniqueConstraint("token_id", "key", name="uq_api_idempotency_token_id_key"),
    )
    with op.batch_alter_table("api_idempotency", schema=None) as batch_op:
        batch_op.create_index("ix_api_idempotency_created_at", ["created_at"], unique=False)

    op.create_table(
        "intake_patients",
        sa.Column("patient_key", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("created_at", bot.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("linked_at", bot.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_intake_patients_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("patient_key", name=op.f("pk_intake_patients")),
    )
    with op.batch_alter_table("intake_patients", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_intake_patients_patient_id"), ["patient_id"], unique=False
        )

    op.create_table(
        "intake_visits",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("patient_key", sa.String(length=64), nullable=False),
        sa.Column("starts_at", bot.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", bot.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("visit_type", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("label", sa.String(length=80), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("invite_id", sa.Integer(), nullable=True),
        sa.Column("created_at", bot.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", bot.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_intake_visits_appointment_id_appointments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["invite_id"],
            ["invites.id"],
            name=op.f("fk_intake_visits_invite_id_invites"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_visits")),
        sa.UniqueConstraint("source", "external_id", name="uq_intake_visits_source_external_id"),
    )
    with op.batch_alter_table("intake_visits", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_intake_visits_appointment_id"), ["appointment_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_intake_visits_invite_id"), ["invite_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_intake_visits_patient_key"), ["patient_key"], unique=False
        )
        batch_op.create_index("ix_intake_visits_starts_at", ["starts_at"], unique=False)

    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "visit_type",
                sa.String(length=32),
                server_default=sa.text("'infusion'"),
                nullable=False,
            )
        )

    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "visit_type",
                sa.String(length=32),
                server_default=sa.text("'infusion'"),
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column("patient_key", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_invites_patient_key"), ["patient_key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invites_patient_key"))
        batch_op.drop_column("patient_key")
        batch_op.drop_column("visit_type")

    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_column("visit_type")

    with op.batch_alter_table("intake_visits", schema=None) as batch_op:
        batch_op.drop_index("ix_intake_visits_starts_at")
        batch_op.drop_index(batch_op.f("ix_intake_visits_patient_key"))
        batch_op.drop_index(batch_op.f("ix_intake_visits_invite_id"))
        batch_op.drop_index(batch_op.f("ix_intake_visits_appointment_id"))

    op.drop_table("intake_visits")
    with op.batch_alter_table("intake_patients", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_intake_patients_patient_id"))

    op.drop_table("intake_patients")
    with op.batch_alter_table("api_idempotency", schema=None) as batch_op:
        batch_op.drop_index("ix_api_idempotency_created_at")

    op.drop_table("api_idempotency")
    with op.batch_alter_table("intake_events", schema=None) as batch_op:
        batch_op.drop_index("ix_intake_events_status_next")
        batch_op.drop_index(batch_op.f("ix_intake_events_source"))

    op.drop_table("intake_events")
    op.drop_table("api_tokens")
