"""Queries of the outbox (`staff_alerts`, model `StaffAlert`): alerts to the clinic team, and
notices to a patient (a visit the clinic moved or cancelled; `kind` tells them apart, and the
row's `staff_chat_id` is whoever receives it).

Alerts are written in the transaction of whatever raised them and delivered afterwards by
`bot.delivery.outbox.AlertDelivery` through :class:`SqlOutboxStore`, the leased queue of
`scheduler/queue.py` as the reminder engine's store is: claimed under a lease in one short
transaction, sent with no session open, and closed (fenced by the lease owner) in another
(the queries of bot/db/leased.py, which the events to the clinic's systems use too). Each
query is portable SQL.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.alert_visits import AlertVisitRepository, VisitRow
from bot.db.leased import LeasedRepository, LeasedStore
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


class AlertOutboxRepository(LeasedRepository):
    """The outbox's rows: queued in the caller's transaction, worked as a leased queue
    (claim, renew, close, count, purge: bot/db/leased.py; sent and failed rows are purged,
    since they hold Telegram ids of patients)."""

    model = StaffAlert

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
        """Take up to `limit` due rows under a lease (bot/db/leased.py), oldest first."""
        claimed = await self.claim_rows(
            now,
            owner,
            lease_until,
            limit,
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
        rows = [
            ClaimedAlert(rid, kind, staff, pid, subject, _load(ctx), occurrences, attempts, created)
            for rid, kind, staff, pid, subject, ctx, occurrences, attempts, created in claimed
        ]
        rows.sort(key=lambda r: (r.created_at, r.id))
        return rows

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


@dataclass(frozen=True)
class OutboxClaim:
    """What one claim of the outbox took: the rows, oldest first, the language and zone of the
    patients whose notices are among them, and the visits the alerts name (all read in the
    claim's transaction: a text is rendered as things are when it is sent)."""

    alerts: tuple[ClaimedAlert, ...] = ()
    recipients: Mapping[int, NoticeRecipient] = field(default_factory=dict)
    visits: Mapping[int, VisitRow] = field(default_factory=dict)


class SqlOutboxStore(LeasedStore):
    """The outbox as a leased queue (`scheduler.queue.LeasedQueue`, bot/db/leased.py): each
    method one short transaction, committed before it returns. `notices` are the kinds whose
    recipient is the patient (their language and zone are read with the claim); the visits
    named by the `appointment_id` of the other rows' contexts are read with it too."""

    repository = AlertOutboxRepository

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        notices: Collection[str],
        *,
        unreachable: UnreachableEvents | None = None,
    ) -> None:
        super().__init__(session_factory)
        self.notices = frozenset(notices)
        self.unreachable = unreachable

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

    async def _with_outcomes(
        self, session: AsyncSession, results: Sequence[AttemptResult], written: frozenset[int]
    ) -> Callable[[], None] | None:
        """Patients a notice found blocked are marked unreachable, and the clinic's systems
        told (kicked once that committed)."""
        blocked = {
            r.unreachable_patient
            for r in results
            if r.unreachable_patient is not None and written.intersection(r.ids)
        }
        newly = await mark_unreachable(session, blocked)
        if newly and self.unreachable is not None and await self.unreachable.record(session, newly):
            return self.unreachable.kick
        return None


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
