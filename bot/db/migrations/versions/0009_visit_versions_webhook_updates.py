"""a version per visit; the webhook's handled updates

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 10:00:00

`appointments.version` counts the changes of a visit's time, zone or status, so a patient's
change and a staff member's change of one visit made at once serialise: each is a
conditional UPDATE on the version its author saw (existing visits start at 1). The new table
`webhook_updates` holds the `update_id`s delivered to the webhook (when there is no Redis), so
a delivery Telegram repeats is acknowledged once, by any replica, without being handled again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.db.types

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False)
        )
    op.create_table(
        "webhook_updates",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("claimed_at", bot.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lease_until", bot.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("done_at", bot.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_webhook_updates")),
    )
    op.create_index(
        "ix_webhook_updates_claimed_at", "webhook_updates", ["claimed_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_updates_claimed_at", table_name="webhook_updates")
    op.drop_table("webhook_updates")
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_column("version")
