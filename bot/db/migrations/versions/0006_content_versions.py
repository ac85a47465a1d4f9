"""content versions: texts staff edit live

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 09:12:00

One new table, nothing existing changes: `content_versions`, every saved version of a text
staff edited (templates, button labels, FAQ files, the plan). The shipped files stay version 0
and are not stored; the newest row of a key is the live text.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.db.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "content_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("author_telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", bot.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("base_version_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_versions")),
        sa.UniqueConstraint("kind", "key", "number", name="uq_content_versions_kind_key_number"),
    )
    with op.batch_alter_table("content_versions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_content_versions_kind_key_id", ["kind", "key", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("content_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_content_versions_kind_key_id")
    op.drop_table("content_versions")
