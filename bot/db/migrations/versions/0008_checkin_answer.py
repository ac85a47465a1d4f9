"""the check-in's answer on a visit

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 10:00:00

One nullable column: `appointments.checkin`, the patient's answer to the day-after check-in
("ok", "off", "call", or "typed" when they wrote instead of tapping), for the roster.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("appointments") as batch:
        batch.add_column(sa.Column("checkin", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("appointments") as batch:
        batch.drop_column("checkin")
