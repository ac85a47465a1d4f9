"""Queries of the outbox (`staff_alerts`, model `StaffAlert`): alerts to the clinic team, and
notices to a patient (a visit the clinic moved or cancelled; `kind` tells them apart, and the
row's `staff_chat_id` is whoever receives it).

Alerts are written in the transaction of whatever raised them and delivered afterwards by
`bot.delivery.outbox.AlertDelivery` through :class:`SqlOutboxStore`, the leased queue of
`scheduler/queue.py` as the reminder engine's store is: claimed under a lease in one short
transaction, sent with no session open, and closed (fenced by the lease owner) in another.
Each query is portable SQL (claims add ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, left out on
SQLite); claiming and `next_due` use the (status, next_attempt_at) index.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.alert_visits import AlertVisitRepository, VisitRow
from bot.db.models import Patient, StaffAlert
from bot.db.statements import rows_matched
from scheduler.queue import AttemptResult, QueueStatus

__all__ = [
    "AlertOutboxRepository",
    "ClaimedAlert",
    "NoticeRecipient",
    "OutboxClaim",
    "Queued",
    "SqlOutboxStore",
    "UnreachableEvents",
    "mark_unreachable",
]

# Statuses of an outbox row (scheduler/queue.py). A claimed row stays pending, under a lease.
PENDING = QueueStatus.PENDING
SENT = QueueStatus.SENT
FAILED = QueueStatus.FAILED


@dataclass(frozen=True, slots=True)
class ClaimedAlert:
    """A claimed outbox row as plain values: it outlives the claim's session."""

    id: int
    kind: str
    staff_chat_id: int
    patient_id: int | None
    subject_telegram_id: int | None
    context: Mapping[str, Any] = field(hash=False)
    occurrences: int
    attempts: int
    """Attempts including the one this claim is for."""
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NoticeRecipient:
    """What a notice to a patient is rendered with, read when it is sent."""

    language: str
    timezone: str


@dataclass(frozen=True, slots=True)
class Queued:
    """What `AlertOutboxRepository.add` did: rows written, and rows it counted into instead."""

    inserted: int
    coalesced: int


def _dump(context: Mapping[str, Any] | None) -> str:
    return json.dumps(dict(context or {}), sort_keys=True, separators=(",", ":"))


def _load(raw: str | None) -> dict[str, Any]:
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


class AlertOutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        *,
        kind: str,
        staff_chat_ids: Collection[int],
        now: datetime,
        context: Mapping[str, Any] | None = None,
        patient_id: int | None = None,
        subject_telegram_id: int | None = None,
        dedupe_key: str | None = None,
        sent_since: datetime | None = None,
    ) -> Queued:
        """Queue one alert for each staff member, in the caller's transaction.

        With a `dedupe_key`, a staff member who already has a row with that key (and kind)
        that is still pending, or was created at or after `sent_since` and sent, gets that
        row's `occurrences` incremented instead of a new row.

        Concurrent callers end up with one pending row per key and staff member. On SQLite the
        increment comes first and takes the write lock, so the second caller waits and counts
        into the first one's row. On PostgreSQL the second caller's insert meets the unique
        index on pending rows (`uq_staff_alerts_pending_dedupe`), waits for the first to
        commit, fails inside a savepoint, and counts into the row it can now see.
        """
        staff = sorted(set(staff_chat_ids))
        if not staff:
            return Queued(0, 0)
        if dedupe_key is None:
            await self._insert(staff, kind, now, context, patient_id, subject_telegram_id, None)
            return Queued(inserted=len(staff), coalesced=0)
        covered: set[int] = set()
        for attempt in range(3):
            remaining = [s for s in staff if s not in covered]
            covered |= await self._count_into(kind, dedupe_key, remaining, sent_since)
            fresh = [s for s in staff if s not in covered]
            if not fresh:
                break
            try:
                async with self.session.begin_nested():
                    await self._insert(
                        fresh, kind, now, context, patient_id, subject_telegram_id, dedupe_key
                    )
            except IntegrityError:
                if attempt == 2:
                    raise
                continue  # another transaction committed an equivalent pending row meanwhile
            break
        return Queued(inserted=len(staff) - len(covered), coalesced=len(covered))

    async def add_notice(
        self,
        *,
        kind: str,
        chat_id: int,
        patient_id: int,
        now: datetime,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        """Queue one notice to a patient (their chat in `staff_chat_id`, the row's recipient),
        in the caller's transaction. Not coalesced: each is a change the patient is told of."""
        await self._insert([chat_id], kind, now, context, patient_id, None, None)

    async def recipients(self, patient_ids: Collection[int]) -> dict[int, NoticeRecipient]:
        """The language and zone of these patients (as they are now, for rendering), by id;
        a patient deleted meanwhile is absent."""
        if not patient_ids:
            return {}
        result = await self.session.execute(
            select(Patient.id, Patient.language, Patient.timezone).where(
                Patient.id.in_(sorted(set(patient_ids)))
            )
        )
        return {pid: NoticeRecipient(lang, zone) for pid, lang, zone in result}

    async def _count_into(
        self, kind: str, dedupe_key: str, staff: list[int], sent_since: datetime | None
    ) -> set[int]:
        """Add one occurrence to the newest open row of each staff member; who had one."""
        if not staff:
            return set()
        still_open = StaffAlert.status == PENDING
        if sent_since is not None:
            still_open = or_(
                still_open,
                (StaffAlert.status == SENT) & (StaffAlert.created_at >= sent_since),
            )
        newest = (
            select(func.max(StaffAlert.id))
            .where(
                StaffAlert.dedupe_key == dedupe_key,
                StaffAlert.kind == kind,
                StaffAlert.staff_chat_id.in_(staff),
                still_open,
            )
            .group_by(StaffAlert.staff_chat_id)
        )
        result = await self.session.execute(
            update(StaffAlert)
            .where(StaffAlert.id.in_(newest.scalar_subquery()))
            .values(occurrences=StaffAlert.occurrences + 1)
            .returning(StaffAlert.staff_chat_id)
            .execution_options(synchronize_session=False)
        )
        return set(result.scalars())

    async def _insert(
        self,
        staff: list[int],
        kind: str,
        now: datetime,
        context: Mapping[str, Any] | None,
        patient_id: int | None,
        subject_telegram_id: int | None,
        dedupe_key: str | None,
    ) -> None:
        payload = _dump(context)
        await self.session.execute(
            insert(StaffAlert),
            [
                {
                    "kind": kind,
                    "staff_chat_id": staff_id,
                    "patient_id": patient_id,
                    "subject_telegram_id": subject_telegram_id,
                    "context": payload,
                    "dedupe_key": dedupe_key,
                    "occurrences": 1,
                    "status": PENDING,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for staff_id in staff
            ],
        )

    async def claim(
        self, now: datetime, owner: str, lease_until: datetime, limit: int
    ) -> list[ClaimedAlert]:
        """Take up to `limit` due rows under a lease, oldest due first.

        The claim moves `next_attempt_at` to the end of the lease: a row whose sender died is
        due again once the lease ran out, with no second condition on `lease_until`. On
        PostgreSQL the candidates are selected ``FOR UPDATE SKIP LOCKED``, so replicas claiming
        at once take disjoint rows; SQLite (one writer at a time) has no such clause. On both,
        the UPDATE re-checks status and due time, so when two replicas race for a row only one
        of them gets it back from RETURNING. Rows lost to another replica are looked for again
        (a few times), so an empty answer means nothing is due rather than a lost race."""
        for _ in range(3):
            rows = await self._claim_once(now, owner, lease_until, limit)
            if rows is None or rows:
                return rows or []
        return []

    async def _claim_once(
        self, now: datetime, owner: str, lease_until: datetime, limit: int
    ) -> list[ClaimedAlert] | None:
        """The claimed rows; None when nothing was due (an empty list: all were taken)."""
        due = await self.session.execute(
            select(StaffAlert.id)
            .where(StaffAlert.status == PENDING, StaffAlert.next_attempt_at <= now)
            .order_by(StaffAlert.next_attempt_at, StaffAlert.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        ids = list(due.scalars())
        if not ids:
            return None
        claimed = await self.session.execute(
            update(StaffAlert)
            .where(
                StaffAlert.id.in_(ids),
                StaffAlert.status == PENDING,
                StaffAlert.next_attempt_at <= now,
            )
            .values(
                lease_owner=owner,
                lease_until=lease_until,
                next_attempt_at=lease_until,
                attempts=StaffAlert.attempts + 1,
            )
            .returning(
                StaffAlert.id,
                StaffAlert.kind,
                StaffAlert.staff_chat_id,
                StaffAlert.patient_id,
                StaffAlert.subject_telegram_id,
                StaffAlert.context,
                StaffAlert.occurrences,
                StaffAlert.attempts,
                StaffAlert.created_at,
            )
            .execution_options(synchronize_session=False)
        )
        rows = [
            ClaimedAlert(rid, kind, staff, pid, subject, _load(ctx), occurrences, attempts, created)
            for rid, kind, staff, pid, subject, ctx, occurrences, attempts, created in claimed
        ]
        rows.sort(key=lambda r: (r.created_at, r.id))
        return rows

    async def finish(self, owner: str, now: datetime, result: AttemptResult) -> frozenset[int]:
        """Close claimed rows as `result` says: `sent`, `failed`, or `pending` again at its
        `retry_at`; the ids written.

        Fenced by the lease owner: a row claimed by someone else meanwhile (or deleted with its
        patient) is left alone."""
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
            update(StaffAlert)
            .where(
                StaffAlert.id.in_(result.ids),
                StaffAlert.status == PENDING,
                StaffAlert.lease_owner == owner,
            )
            .values(values)
            .returning(StaffAlert.id)
            .execution_options(synchronize_session=False)
        )
        return frozenset(written.scalars())

    async def extend_lease(self, owner: str, lease_until: datetime) -> int:
        """Every row `owner` holds is its own until `lease_until` (and not due before); how
        many. A row claimed by another meanwhile has another owner: not touched."""
        return await rows_matched(
            self.session,
            update(StaffAlert)
            .where(StaffAlert.status == PENDING, StaffAlert.lease_owner == owner)
            .values(lease_until=lease_until, next_attempt_at=lease_until)
            .execution_options(synchronize_session=False),
        )

    async def next_due(self) -> datetime | None:
        """The earliest moment a row may need sending (a retry, or a lease running out)."""
        result = await self.session.execute(
            select(func.min(StaffAlert.next_attempt_at)).where(StaffAlert.status == PENDING)
        )
        return result.scalar_one_or_none()

    async def delete_for_patient(self, patient_id: int | None, telegram_id: int | None) -> int:
        """Every row about this person: by patient id, and by Telegram id (alerts raised before
        they agreed to storage have no patient id)."""
        conditions = []
        if patient_id is not None:
            conditions.append(StaffAlert.patient_id == patient_id)
        if telegram_id is not None:
            conditions.append(StaffAlert.subject_telegram_id == telegram_id)
        if not conditions:
            return 0
        matched = await rows_matched(
            self.session,
            delete(StaffAlert).where(or_(*conditions)).execution_options(synchronize_session=False),
        )
        return matched

    async def pending_count(self) -> int:
        result = await self.session.execute(
            select(func.count()).select_from(StaffAlert).where(StaffAlert.status == PENDING)
        )
        return int(result.scalar_one())

    async def purge_finished(self, before: datetime) -> int:
        """Forget sent and failed rows created before `before` (the outbox is not an archive:
        it holds Telegram ids of patients)."""
        matched = await rows_matched(
            self.session,
            delete(StaffAlert)
            .where(
                StaffAlert.status.in_((SENT, FAILED)),
                StaffAlert.created_at < before,
            )
            .execution_options(synchronize_session=False),
        )
        return matched


@dataclass(frozen=True)
class OutboxClaim:
    """What one claim of the outbox took: the rows, oldest first, the language and zone of the
    patients whose notices are among them, and the visits the alerts name (all read in the
    claim's transaction: a text is rendered as things are when it is sent)."""

    alerts: tuple[ClaimedAlert, ...] = ()
    recipients: Mapping[int, NoticeRecipient] = field(default_factory=dict)
    visits: Mapping[int, VisitRow] = field(default_factory=dict)


class SqlOutboxStore:
    """The outbox as a leased queue (`scheduler.queue.LeasedQueue`): each method one short
    transaction, committed before it returns. `notices` are the kinds whose recipient is the
    patient (their language and zone are read with the claim); the visits named by the
    `appointment_id` of the other rows' contexts are read with it too."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        notices: Collection[str],
        *,
        unreachable: UnreachableEvents | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.notices = frozenset(notices)
        self.unreachable = unreachable

    async def next_due(self) -> datetime | None:
        async with self.session_factory() as session:
            return await AlertOutboxRepository(session).next_due()

    async def claim(
        self, now: datetime, owner: str, lease_until: datetime, limit: int
    ) -> OutboxClaim:
        async with self.session_factory() as session, session.begin():
            outbox = AlertOutboxRepository(session)
            claimed = await outbox.claim(now, owner, lease_until, limit)
            if not claimed:
                return OutboxClaim()
            patients = {a.patient_id for a in claimed if a.kind in self.notices}
            recipients = await outbox.recipients({p for p in patients if p is not None})
            named = {a.context.get("appointment_id") for a in claimed if a.kind not in self.notices}
            visits = await AlertVisitRepository(session).visits(
                {v for v in named if isinstance(v, int)}
            )
        return OutboxClaim(tuple(claimed), recipients, visits)

    async def extend(self, owner: str, now: datetime, lease_until: datetime) -> int:
        async with self.session_factory() as session, session.begin():
            return await AlertOutboxRepository(session).extend_lease(owner, lease_until)

    async def record(self, owner: str, now: datetime, results: Sequence[AttemptResult]) -> int:
        return len(await self.record_each(owner, now, results))

    async def record_each(
        self, owner: str, now: datetime, results: Sequence[AttemptResult]
    ) -> frozenset[int]:
        """:meth:`record`, answering which rows were written (the others were fenced off)."""
        written: set[int] = set()
        async with self.session_factory() as session, session.begin():
            outbox = AlertOutboxRepository(session)
            for result in results:
                written |= await outbox.finish(owner, now, result)
            blocked = {
                r.unreachable_patient
                for r in results
                if r.unreachable_patient is not None and written.intersection(r.ids)
            }
            newly = await mark_unreachable(session, blocked)
            recorded = 0
            if newly and self.unreachable is not None:
                recorded = await self.unreachable.record(session, newly)
        if recorded and self.unreachable is not None:
            self.unreachable.kick()
        return frozenset(written)


class UnreachableEvents(Protocol):
    """Told of patients who have just become unreachable, in the transaction that marks them
    (bot/services/intake_events.py records `patient.unreachable` for the clinic's systems)."""

    async def record(self, session: AsyncSession, patient_ids: Sequence[int]) -> int:
        """Write what goes with it in `session`'s transaction; how many rows were written."""
        ...

    def kick(self) -> None:
        """Called once that transaction committed, when `record` wrote something."""
        ...


async def mark_unreachable(session: AsyncSession, patient_ids: Iterable[int]) -> list[int]:
    """Telegram refused these patients' chats: their reminders stop until they come back (a
    reminder or a notice found them so). The ids of those who were reachable until now."""
    ids = sorted(set(patient_ids))
    if not ids:
        return []
    result = await session.execute(
        update(Patient)
        .where(Patient.id.in_(ids), Patient.reachable.is_(True))
        .values(reachable=False)
        .returning(Patient.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(result.scalars())
