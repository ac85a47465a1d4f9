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

Revisions. What a receiver orders by is the visit's ``revision`` in the body, not the
delivery order: each event's transaction adds one to `intake_visits.revision` first
(:meth:`IntakeEventRepository.revise`, an ``UPDATE ... SET revision = revision + 1`` that
holds the visit's row until the commit), so of two transactions changing one visit the
second waits for the first, and the revisions of one visit follow its commits on both
databases, whatever order the events are sent in (bot/intake/events.py).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, insert, select
from sqlalchemy.orm import aliased

from bot.db.intake import revise_visits
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
    """A patient's appointment that is a visit of a clinic's schedule, at the revision this
    transaction gave it."""

    appointment_id: int
    source: str
    external_id: str
    revision: int


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

    async def revise(self, *where: ColumnElement[bool]) -> list[LinkedVisit]:
        """:meth:`_revise`, oldest visit first."""
        return [visit for _, visit in sorted((await self._revise(*where)).items())]

    async def _revise(self, *where: ColumnElement[bool]) -> dict[int, LinkedVisit]:
        """One more revision for each visit of a clinic's schedule `where` names, in the
        caller's transaction (``revision + 1`` in SQL: the row stays held until the commit, so
        a concurrent change of the visit waits and counts on from this one); the visits with
        their new revision, by the visit's id. The session's copies follow."""
        rows = await revise_visits(self.session, *where)
        return {i: LinkedVisit(a or 0, s, e, r) for i, a, s, e, r in rows}

    async def revise_appointment(self, appointment_id: int) -> list[LinkedVisit]:
        """:meth:`revise` the schedule's visits this appointment is (usually one)."""
        return await self.revise(IntakeVisit.appointment_id == appointment_id)

    async def revise_visit(self, source: str, external_id: str) -> LinkedVisit | None:
        """:meth:`revise` one visit by the clinic's id."""
        found = await self.revise(
            IntakeVisit.source == source, IntakeVisit.external_id == external_id
        )
        return found[0] if found else None

    async def revise_visits_of_patients(
        self, patient_ids: Collection[int], since: datetime, sources: Collection[str] | None
    ) -> list[LinkedVisit]:
        """:meth:`revise` the scheduled visits of these patients starting after `since` (of
        `sources`' schedules; None: of every schedule), soonest first."""
        if not patient_ids or (sources is not None and not sources):
            return []
        query = (
            select(IntakeVisit.id)
            .join(Appointment, Appointment.id == IntakeVisit.appointment_id)
            .where(
                Appointment.patient_id.in_(sorted(set(patient_ids))),
                Appointment.status == AppointmentStatus.SCHEDULED,
                Appointment.starts_at > since,
            )
            .order_by(Appointment.starts_at, Appointment.id)
        )
        if sources is not None:
            query = query.where(IntakeVisit.source.in_(sorted(sources)))
        ids = list((await self.session.execute(query)).scalars())
        if not ids:
            return []
        revised = await self._revise(IntakeVisit.id.in_(ids))
        return [revised[i] for i in ids if i in revised]

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
