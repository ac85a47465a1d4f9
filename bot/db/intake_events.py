"""Queries of the outbox of signed events to the clinic's systems (`intake_events`, model
`IntakeEvent`), and the visits of the clinic's schedule an event names (`intake_visits`).

An event is written in the transaction of what raised it (bot/services/intake_events.py)
and POSTed afterwards by `bot.delivery.intake_events.EventDelivery` through
:class:`SqlIntakeEventStore`, a leased queue of `scheduler/queue.py` as the staff outbox
(bot/db/outbox.py) is: claimed under a lease in one short transaction, sent with no session
open, closed (fenced by the lease owner) in another.

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

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from bot.db.models import Appointment, IntakeEvent, IntakeVisit
from bot.db.statements import rows_matched
from bot.domain.visits import AppointmentStatus
from scheduler.queue import AttemptResult, QueueStatus

__all__ = [
    "ClaimedEvent",
    "IntakeEventRepository",
    "LinkedVisit",
    "SqlIntakeEventStore",
]

PENDING = QueueStatus.PENDING
SENT = QueueStatus.SENT
FAILED = QueueStatus.FAILED


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


class IntakeEventRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

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

    # --- the queue --------------------------------------------------------------------------
    async def claim(
        self, now: datetime, owner: str, lease_until: datetime, limit: int
    ) -> list[ClaimedEvent]:
        """Take the due head of up to `limit` sources under a lease, oldest due first.

        As the staff outbox's claim (bot/db/outbox.py): `next_attempt_at` moves to the end of
        the lease (a dead sender's row is due again then), candidates are selected ``FOR
        UPDATE SKIP LOCKED`` on PostgreSQL, and the UPDATE re-checks status and due time so
        only one of two racing senders gets a row. A head another sender holds is not due, and
        its source's later rows are no heads: nobody overtakes it."""
        for _ in range(3):
            rows = await self._claim_once(now, owner, lease_until, limit)
            if rows is None or rows:
                return rows or []
        return []

    async def _claim_once(
        self, now: datetime, owner: str, lease_until: datetime, limit: int
    ) -> list[ClaimedEvent] | None:
        due = await self.session.execute(
            select(IntakeEvent.id)
            .where(
                IntakeEvent.status == PENDING,
                IntakeEvent.next_attempt_at <= now,
                IntakeEvent.id == _heads(),
            )
            .order_by(IntakeEvent.next_attempt_at, IntakeEvent.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        ids = list(due.scalars())
        if not ids:
            return None
        claimed = await self.session.execute(
            update(IntakeEvent)
            .where(
                IntakeEvent.id.in_(ids),
                IntakeEvent.status == PENDING,
                IntakeEvent.next_attempt_at <= now,
            )
            .values(
                lease_owner=owner,
                lease_until=lease_until,
                next_attempt_at=lease_until,
                attempts=IntakeEvent.attempts + 1,
            )
            .returning(
                IntakeEvent.id,
                IntakeEvent.source,
                IntakeEvent.event_type,
                IntakeEvent.body,
                IntakeEvent.attempts,
                IntakeEvent.created_at,
            )
            .execution_options(synchronize_session=False)
        )
        rows = [ClaimedEvent(*row) for row in claimed]
        rows.sort(key=lambda r: r.id)
        return rows

    async def finish(self, owner: str, now: datetime, result: AttemptResult) -> frozenset[int]:
        """Close claimed rows as `result` says (sent, failed, or pending again at its
        `retry_at`); the ids written. Fenced by the lease owner."""
        status = result.status
        values: dict[str, Any] = {"status": status, "lease_owner": None, "lease_until": None}
        if status == SENT:
            values["sent_at"] = now
            values["last_error"] = None
        else:
            values["last_error"] = result.stored_reason
        if result.retry_at is not None:
            values["next_attempt_at"] = result.retry_at
        written = await self.session.execute(
            update(IntakeEvent)
            .where(
                IntakeEvent.id.in_(result.ids),
                IntakeEvent.status == PENDING,
                IntakeEvent.lease_owner == owner,
            )
            .values(values)
            .returning(IntakeEvent.id)
            .execution_options(synchronize_session=False)
        )
        return frozenset(written.scalars())

    async def extend_lease(self, owner: str, lease_until: datetime) -> int:
        return await rows_matched(
            self.session,
            update(IntakeEvent)
            .where(IntakeEvent.status == PENDING, IntakeEvent.lease_owner == owner)
            .values(lease_until=lease_until, next_attempt_at=lease_until)
            .execution_options(synchronize_session=False),
        )

    async def next_due(self) -> datetime | None:
        """The earliest moment a head may need sending (a retry, a lease running out, a new
        event). Rows behind a head are not counted: they wait for it."""
        result = await self.session.execute(
            select(func.min(IntakeEvent.next_attempt_at)).where(
                IntakeEvent.status == PENDING, IntakeEvent.id == _heads()
            )
        )
        return result.scalar_one_or_none()

    async def pending_count(self) -> int:
        result = await self.session.execute(
            select(func.count()).select_from(IntakeEvent).where(IntakeEvent.status == PENDING)
        )
        return int(result.scalar_one())

    async def purge_finished(self, before: datetime) -> int:
        """Forget sent and failed events created before `before`."""
        return await rows_matched(
            self.session,
            delete(IntakeEvent)
            .where(IntakeEvent.status.in_((SENT, FAILED)), IntakeEvent.created_at < before)
            .execution_options(synchronize_session=False),
        )


class SqlIntakeEventStore:
    """The events as a leased queue (`scheduler.queue.LeasedQueue`): each method one short
    transaction, committed before it returns."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self.session_factory = session_factory

    async def next_due(self) -> datetime | None:
        async with self.session_factory() as session:
            return await IntakeEventRepository(session).next_due()

    async def claim(
        self, now: datetime, owner: str, lease_until: datetime, limit: int
    ) -> tuple[ClaimedEvent, ...]:
        async with self.session_factory() as session, session.begin():
            rows = await IntakeEventRepository(session).claim(now, owner, lease_until, limit)
        return tuple(rows)

    async def extend(self, owner: str, now: datetime, lease_until: datetime) -> int:
        async with self.session_factory() as session, session.begin():
            return await IntakeEventRepository(session).extend_lease(owner, lease_until)

    async def record(self, owner: str, now: datetime, results: Sequence[AttemptResult]) -> int:
        return len(await self.record_each(owner, now, results))

    async def record_each(
        self, owner: str, now: datetime, results: Iterable[AttemptResult]
    ) -> frozenset[int]:
        """:meth:`record`, answering which rows were written (the others were fenced off)."""
        written: set[int] = set()
        async with self.session_factory() as session, session.begin():
            events = IntakeEventRepository(session)
            for result in results:
                written |= await events.finish(owner, now, result)
        return frozenset(written)

    async def pending_count(self) -> int:
        async with self.session_factory() as session:
            return await IntakeEventRepository(session).pending_count()

    async def purge_finished(self, before: datetime) -> int:
        async with self.session_factory() as session, session.begin():
            return await IntakeEventRepository(session).purge_finished(before)
