"""one scheduled appointment per patient and start time

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 09:00:00

Before the index, duplicates that a double tap on Confirm could store are cancelled (the oldest
row of each group is kept) and their open reminders skipped, so the index can be built.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_SCHEDULED = sa.text("status = 'scheduled'")


def upgrade() -> None:
    op.execute(
        """
        UPDATE appointments SET status = 'cancelled'
        WHERE status = 'scheduled' AND id NOT IN (
            SELECT MIN(id) FROM appointments WHERE status = 'scheduled'
            GROUP BY patient_id, starts_at
        )
        """
    )
    op.execute(
        """
        UPDATE reminders SET status = 'skipped', reason = 'duplicate',
            lease_owner = NULL, lease_until = NULL
        WHERE status IN ('pending', 'sending') AND appointment_id IN (
            SELECT id FROM appointments WHERE status = 'cancelled'
        )
        """
    )
    op.create_index(
        "uq_appointments_patient_start_scheduled",
        "appointments",
        ["patient_id", "starts_at"],
        unique=True,
        sqlite_where=_SCHEDULED,
        postgresql_where=_SCHEDULED,
    )


def downgrade() -> None:
    op.drop_index("uq_appointments_patient_start_scheduled", table_name="appointments")
