"""Queries of the outbox of signed events to the clinic's systems (`intake_events`, model
`IntakeEvent`), and the visits of the clinic's schedule an event names (`intake_visits`).

An event is written in the transaction of what raised it (bot/services/intake_events.py)
and POSTed afterwards by `bot.delivery.intake_events.EventDelivery` through
:class:`SqlIntakeEventStore`, a leased queue of `scheduler/queue.py` as the staff outbox
(bot/db/outbox.py) is, with the same queries (bot/db/leased.py): claimed under a lease in one
short transaction, sent with no session open, closed (fenced by the lease owner) in another.

Order. Only the *head* of each source is ever claimed: its pending row with the lowest id.
The next row of that source becomes claimable once the head is sent or given up (failed),
so one source's events are POSTed one at a time, in the order of their ids, each tried until
it is sent or given up before the next is tried; a head waiting for a retry holds its
source's later events back (other sources go on). On SQLite (one writer at a time) the ids
follow the commits; on PostgreSQL two transactions recording events at the same moment
may commit in the other order than their ids, so such events may go either way. Delivery is
at least once: a crash after a POST and before its outcome is written sends that event again
(same ``id`` in the body).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, insert, select
from sqlalchemy.orm import aliased

from bot.db.leased import LeasedRepository, LeasedStore
from bot.db.models import Appointment, IntakeEvent, IntakeVisit
from bot.domain.visits import AppointmentStatus
from scheduler.queue import QueueStatus

__all__ = [
    "ClaimedEvent",
    "IntakeEventRepository",
    "LinkedVisit",
    "SqlIntakeEventStore",
]

PENDING = QueueStatus.PENDING


@dataclass(frozen=True, slots=True)
class ClaimedEvent:
    """A claimed event as plain values: it outlives the claim's session."""

    id: int
    source: str
    event_type: str
    body: str
    attempts: int
    """Attempts including the one this claim is for."""
    created_at: datetime


@dataclass(frozen=True, slots=True)
class LinkedVisit:
    """A patient's appointment that is a visit of a clinic's schedule."""

    appointment_id: int
    source: str
    external_id: str


def _heads() -> Any:
    """The lowest pending id of the outer row's source (the head of its queue)."""
    other = aliased(IntakeEvent)
    return (
        select(func.min(other.id))
        .where(other.status == PENDING, other.source == IntakeEvent.source)
        .correlate(IntakeEvent)
        .scalar_subquery()
    )


class IntakeEventRepository(LeasedRepository):
    """The events: queued in the caller's transaction, worked as a leased queue of heads."""

    model = IntakeEvent

    # --- what raises events -----------------------------------------------------------------
    async def add(self, *, source: str, event_type: str, body: str, now: datetime) -> None:
        """Queue one event, in the caller's transaction, due now."""
        await self.session.execute(
            insert(IntakeEvent).values(
                source=source,
                event_type=event_type,
                body=body,
                status=PENDING,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )

    async def linked_visit(
        self, appointment_id: int, sources: Collection[str]
    ) -> LinkedVisit | None:
        """The schedule's visit this appointment is, if its source is one of `sources`."""
        if not sources:
            return None
        result = await self.session.execute(
            select(IntakeVisit.source, IntakeVisit.external_id)
            .where(
                IntakeVisit.appointment_id == appointment_id,
                IntakeVisit.source.in_(sorted(sources)),
            )
            .order_by(IntakeVisit.id)
            .limit(1)
        )
        row = result.first()
        return LinkedVisit(appointment_id, row[0], row[1]) if row is not None else None

    async def visits_of_patients(
        self, patient_ids: Collection[int], since: datetime, sources: Collection[str]
    ) -> list[LinkedVisit]:
        """The scheduled visits of these patients starting after `since` that are visits of
        `sources`' schedules, soonest first."""
        if not patient_ids or not sources:
            return []
        result = await self.session.execute(
            select(IntakeVisit.appointment_id, IntakeVisit.source, IntakeVisit.external_id)
            .join(Appointment, Appointment.id == IntakeVisit.appointment_id)
            .where(
                Appointment.patient_id.in_(sorted(set(patient_ids))),
                Appointment.status == AppointmentStatus.SCHEDULED,
                Appointment.starts_at > since,
                IntakeVisit.source.in_(sorted(sources)),
            )
            .order_by(Appointment.starts_at, Appointment.id)
        )
        return [LinkedVisit(a, s, e) for a, s, e in result if a is not None]

    # --- the queue (bot/db/leased.py) -------------------------------------------------------
    def _claimable(self) -> ColumnElement[bool]:
        """Only the head of its source is claimed, and counted by `next_due`: the rows behind
        a head wait for it. A head another sender holds is not due, and its source's later
        rows are no heads: nobody overtakes it."""
        head: ColumnElement[bool] = IntakeEvent.id == _heads()
        return head

    async def claim(
        self, now: datetime, owner: str, lease_until: datetime, limit: int
    ) -> list[ClaimedEvent]:
        """Take the due head of up to `limit` sources under a lease, oldest due first."""
        claimed = await self.claim_rows(
            now,
            owner,
            lease_until,
            limit,
            IntakeEvent.id,
            IntakeEvent.source,
            IntakeEvent.event_type,
            IntakeEvent.body,
            IntakeEvent.attempts,
            IntakeEvent.created_at,
        )
        return sorted((ClaimedEvent(*row) for row in claimed), key=lambda r: r.id)


class SqlIntakeEventStore(LeasedStore):
    """The events as a leased queue (`scheduler.queue.LeasedQueue`, bot/db/leased.py)."""

    repository = IntakeEventRepository

    async def claim(
        self, now: datetime, owner: str, lease_until: datetime, limit: int
    ) -> tuple[ClaimedEvent, ...]:
        async with self.session_factory() as session, session.begin():
            rows = await IntakeEventRepository(session).claim(now, owner, lease_until, limit)
        return tuple(rows)
