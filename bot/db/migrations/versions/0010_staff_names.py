"""staff names: what the team's screens call a member

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 09:00:00

One new table, nothing existing changes: `staff_names`, a team member's Telegram name as last
seen (staff are not patients; their names may be stored), by Telegram id.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.db.types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_names",
        sa.Column("telegram_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("updated_at", bot.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("telegram_id", name=op.f("pk_staff_names")),
    )


def downgrade() -> None:
    op.drop_table("staff_names")
