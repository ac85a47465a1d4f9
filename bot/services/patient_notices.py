"""Notices to a patient about their visit that the clinic changed, queued durably.

Staff act in their own chat; the patient is told in theirs, and not through the staff
member's reply (the wrong chat, and lost if the process stops right after the commit). The
notice is a row of the outbox (`staff_alerts`, a kind of its own) written in the transaction
of the change, so the two commit or roll back together, and delivered after the commit by
`bot.delivery.outbox.AlertDelivery`: rendered then, in the patient's language and zone.

A notice is not a reminder: it goes out even while the patient has paused reminders. The row
stores instants and ids, never text.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.db.models import Appointment, Patient
from bot.db.patients import Repository
from foundation.clock import Clock

__all__ = [
    "PATIENT_NOTICES",
    "VISIT_ADDED",
    "VISIT_CANCELLED",
    "VISIT_MOVED",
    "PatientNotices",
]

VISIT_MOVED = "visit_moved"
VISIT_CANCELLED = "visit_cancelled"
VISIT_ADDED = "visit_added"
"""A visit of the clinic's schedule attached to a patient linked before (bot/services/intake.py)."""
PATIENT_NOTICES = frozenset({VISIT_MOVED, VISIT_CANCELLED, VISIT_ADDED})
"""The outbox kinds that go to a patient rather than to the team."""


class PatientNotices:
    def __init__(self, clock: Clock, kick: Callable[[], None] = lambda: None) -> None:
        self.clock = clock
        self.kick = kick

    async def visit_moved(
        self, repo: Repository, patient: Patient, appointment: Appointment, before: datetime
    ) -> None:
        """The clinic moved this visit from `before` to its start now."""
        await self._queue(
            repo,
            VISIT_MOVED,
            patient,
            {
                "appointment_id": appointment.id,
                "before": before.isoformat(),
                "after": appointment.starts_at.isoformat(),
            },
        )

    async def visit_cancelled(
        self, repo: Repository, patient: Patient, appointment: Appointment
    ) -> None:
        """The clinic cancelled this visit."""
        await self._queue(
            repo,
            VISIT_CANCELLED,
            patient,
            {"appointment_id": appointment.id, "starts_at": appointment.starts_at.isoformat()},
        )

    async def visit_added(
        self, repo: Repository, patient: Patient, appointment: Appointment
    ) -> None:
        """The clinic's schedule has a new visit for this patient (linked before)."""
        await self._queue(
            repo,
            VISIT_ADDED,
            patient,
            {"appointment_id": appointment.id, "starts_at": appointment.starts_at.isoformat()},
        )

    async def _queue(
        self, repo: Repository, kind: str, patient: Patient, context: dict[str, object]
    ) -> None:
        await repo.alerts.add_notice(
            kind=kind,
            chat_id=patient.chat_id,
            patient_id=patient.id,
            now=self.clock.now(),
            context=context,
        )
        if self.kick not in repo.after_commit:
            repo.after_commit.append(self.kick)
