"""a revision per visit of the clinic's schedule, carried by its events

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-12 10:00:00

`intake_visits.version` becomes `intake_visits.revision` and counts every change of the
visit, the clinic's (import, API) and, from now on, the patient's (each answer that is told
to the clinic's systems as an event: linked, confirmed, reschedule requested, moved,
cancelled, check-in, unreachable). Events and the API's visit carry it, so a receiver can
ignore an event older than what it has (bot/intake/events.py). A rename keeps each visit's
count: existing visits go on from where they are, never back.
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("intake_visits", schema=None) as batch_op:
        batch_op.alter_column("version", new_column_name="revision")


def downgrade() -> None:
    with op.batch_alter_table("intake_visits", schema=None) as batch_op:
        batch_op.alter_column("revision", new_column_name="version")
