"""The deletes of the nightly retention job (bot/services/retention.py), in bounded batches.

Each sweep picks at most `limit` ids of rows older than the cutoff, then deletes (or blanks)
exactly those, by id: a batch is one short transaction, and two replicas sweeping at once
take different rows (on PostgreSQL the candidates are locked, and rows another sweeper holds
are skipped; on SQLite one writer goes at a time). Explicit deletes of the children, not only
ON DELETE CASCADE, so the result does not depend on the database's foreign-key mode.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import (
    ApiIdempotency,
    Appointment,
    AuditEntry,
    ChecklistTick,
    Invite,
    Reminder,
    StaffAlert,
    StaffInvite,
)
from scheduler.queue import QueueStatus


class Sweep(enum.StrEnum):
    """What the job clears, in this order."""

    APPOINTMENTS = "appointments"
    """Visits that start (now: after any move) before the cutoff, with their reminders,
    checklist ticks and the invite each came through."""
    INVITES = "invites"
    """Patients' invite links no visit holds (never opened, or their visit is gone) made for
    a time before the cutoff (their labels name a patient)."""
    STAFF_INVITES = "staff_invites"
    """Team invite links that expired before the cutoff."""
    ALERTS = "alerts"
    """Outbox rows (staff alerts, patient notices) sent or failed, created before it."""
    AUDIT_DETAIL = "audit_detail"
    """The `before` / `after` of audit lines written before it; the lines stay."""
    IDEMPOTENCY_KEYS = "idempotency_keys"
    """The HTTP API's `Idempotency-Key` responses, after a day (IDEMPOTENCY_KEEP), whatever
    RETENTION_DAYS says: an integration retries within minutes, and a key is not kept longer
    than it is of use."""


class RetentionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def sweep(self, sweep: Sweep, cutoff: datetime, limit: int) -> int:
        """One batch: up to `limit` rows of `sweep` older than `cutoff` deleted (or blanked).
        Returns how many were picked (a batch smaller than `limit` was the last one)."""
        # SKIP LOCKED (PostgreSQL; SQLite has one writer and no such clause): sweepers of
        # several replicas take disjoint batches instead of deleting the same rows' children
        # in different orders, which deadlocked.
        result = await self.session.execute(
            _candidates(sweep, cutoff).limit(limit).with_for_update(skip_locked=True)
        )
        ids = list(result.scalars())
        if ids:
            await self._clear(sweep, ids)
        return len(ids)

    async def _clear(self, sweep: Sweep, ids: Sequence[int]) -> None:
        run = self.session.execute
        if sweep is Sweep.APPOINTMENTS:
            # The invite a visit came through goes with it (its label names the patient).
            await run(delete(Invite).where(Invite.appointment_id.in_(ids)))
            await run(delete(Reminder).where(Reminder.appointment_id.in_(ids)))
            await run(delete(ChecklistTick).where(ChecklistTick.appointment_id.in_(ids)))
            await run(delete(Appointment).where(Appointment.id.in_(ids)))
        elif sweep is Sweep.INVITES:
            await run(delete(Invite).where(Invite.id.in_(ids)))
        elif sweep is Sweep.STAFF_INVITES:
            await run(delete(StaffInvite).where(StaffInvite.id.in_(ids)))
        elif sweep is Sweep.ALERTS:
            await run(delete(StaffAlert).where(StaffAlert.id.in_(ids)))
        elif sweep is Sweep.IDEMPOTENCY_KEYS:
            await run(delete(ApiIdempotency).where(ApiIdempotency.id.in_(ids)))
        else:
            await run(
                update(AuditEntry).where(AuditEntry.id.in_(ids)).values(before=None, after=None),
            )


def _candidates(sweep: Sweep, cutoff: datetime) -> Select[int]:
    if sweep is Sweep.APPOINTMENTS:
        return select(Appointment.id).where(Appointment.starts_at < cutoff).order_by(Appointment.id)
    if sweep is Sweep.INVITES:
        # By the time it was made for, only when no visit holds it: a visit staff moved keeps
        # its invite (and the roster its label) until the visit itself is that old.
        return (
            select(Invite.id)
            .where(Invite.appointment_id.is_(None), Invite.starts_at < cutoff)
            .order_by(Invite.id)
        )
    if sweep is Sweep.STAFF_INVITES:
        return (
            select(StaffInvite.id).where(StaffInvite.expires_at < cutoff).order_by(StaffInvite.id)
        )
    if sweep is Sweep.ALERTS:
        return (
            select(StaffAlert.id)
            .where(
                StaffAlert.status.in_((QueueStatus.SENT, QueueStatus.FAILED)),
                StaffAlert.created_at < cutoff,
            )
            .order_by(StaffAlert.id)
        )
    if sweep is Sweep.IDEMPOTENCY_KEYS:
        return (
            select(ApiIdempotency.id)
            .where(ApiIdempotency.created_at < cutoff)
            .order_by(ApiIdempotency.id)
        )
    return (
        select(AuditEntry.id)
        .where(
            AuditEntry.at < cutoff,
            or_(AuditEntry.before.is_not(None), AuditEntry.after.is_not(None)),
        )
        .order_by(AuditEntry.id)
    )
