"""staff alert outbox

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 10:12:41.208513
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.db.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    op.create_table(
        "staff_alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("staff_chat_id", sa.BigInteger(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("subject_telegram_id", sa.BigInteger(), nullable=True),
        sa.Column("context", sa.Text(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=160), nullable=True),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", bot.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lease_owner", sa.String(length=40), nullable=True),
        sa.Column("lease_until", bot.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", bot.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", bot.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=120), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_staff_alerts_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_alerts")),
    )
    with op.batch_alter_table("staff_alerts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_staff_alerts_status_next", ["status", "next_attempt_at"], unique=False
        )
        batch_op.create_index("ix_staff_alerts_dedupe", ["dedupe_key"], unique=False)
        batch_op.create_index(
            "uq_staff_alerts_pending_dedupe",
            ["dedupe_key", "staff_chat_id"],
            unique=True,
            sqlite_where=_PENDING,
            postgresql_where=_PENDING,
        )
        batch_op.create_index("ix_staff_alerts_patient", ["patient_id"], unique=False)
        batch_op.create_index("ix_staff_alerts_subject", ["subject_telegram_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("staff_alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_staff_alerts_subject")
        batch_op.drop_index("ix_staff_alerts_patient")
        batch_op.drop_index("uq_staff_alerts_pending_dedupe")
        batch_op.drop_index("ix_staff_alerts_dedupe")
        batch_op.drop_index("ix_staff_alerts_status_next")

    op.drop_table("staff_alerts")
