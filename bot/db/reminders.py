"""Queries of the reminder rows (`reminders`, model `Reminder`) and the checklist ticks of a
visit: planning (bot/services/reminders.py) and the reminder engine's claims, leases and
outcomes (through bot/db/reminder_store.py, the engine's store).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import (
    Select,
    Table,
    bindparam,
    case,
    exists,
    false,
    func,
    select,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import (
    Appointment,
    ChecklistTick,
    Patient,
    Reminder,
    StaffAlert,
)
from bot.db.outbox import mark_unreachable
from bot.db.statements import rows_matched
from bot.domain.visits import AppointmentStatus, Attendance
from scheduler.queue import AttemptResult, QueueStatus, Reason
from scheduler.records import ClaimedReminder, ClaimedRow, Recipient, Visit

SCHEDULED = AppointmentStatus.SCHEDULED

# Ids bound per IN (...) list: well within SQLite's and asyncpg's limits on parameters.
_ID_CHUNK = 500


# Statuses of a reminder row (scheduler/queue.py), by their short names.
PENDING = QueueStatus.PENDING
SENDING = QueueStatus.SENDING
SENT = QueueStatus.SENT
SKIPPED = QueueStatus.SKIPPED
EXPIRED = QueueStatus.EXPIRED
FAILED = QueueStatus.FAILED


class ReminderRepository:
    """Queries of the reminder engine. Each is portable SQL and uses the (status, due_at) index,
    so claiming costs the same with 5,000 or 500,000 pending rows.

    `notices`: the outbox kinds of notices to a patient (bot/services/patient_notices.py). A
    patient's reminders are not claimed while a notice to them is still to be sent (pending in
    the outbox, leased or waiting for a retry): a visit moved close makes a reminder due at
    once in the transaction that queues "your visit has moved", and the patient must read
    that first, whichever sender looks first. Sent or given up, the notice lets them go (the
    outbox wakes the engine then)."""

    def __init__(self, session: AsyncSession, *, notices: Collection[str] = ()) -> None:
        self.session = session
        self.notices = tuple(sorted(notices))

    # --- planning -------------------------------------------------------------------------
    async def for_appointment(self, appointment_id: int) -> dict[str, Reminder]:
        result = await self.session.execute(
            select(Reminder).where(Reminder.appointment_id == appointment_id)
        )
        return {row.step_key: row for row in result.scalars()}

    async def for_appointments(
        self, appointment_ids: Sequence[int]
    ) -> dict[int, dict[str, Reminder]]:
        """The rows of these appointments: appointment id -> step key -> row."""
        rows: dict[int, dict[str, Reminder]] = {}
        for start in range(0, len(appointment_ids), _ID_CHUNK):
            chunk = appointment_ids[start : start + _ID_CHUNK]
            result = await self.session.execute(
                select(Reminder).where(Reminder.appointment_id.in_(chunk))
            )
            for row in result.scalars():
                rows.setdefault(row.appointment_id, {})[row.step_key] = row
        return rows

    def new_row(self, appointment_id: int, step_key: str) -> Reminder:
        """A new row of this appointment's step, added to the transaction (written at the next
        :meth:`flush` or the commit)."""
        row = Reminder(appointment_id=appointment_id, step_key=step_key, attempts=0)
        self.session.add(row)
        return row

    async def flush(self) -> None:
        """Write the rows changed in this transaction now, so a conflict surfaces here."""
        await self.session.flush()

    async def snooze(self, row: Reminder, until: datetime, now: datetime) -> None:
        """Due again at `until`, with fresh attempts."""
        row.status, row.reason = PENDING, Reason.SNOOZED
        row.due_at = until
        row.attempts = 0
        row.updated_at = now
        await self.session.flush()

    async def skip_open_for_appointment(
        self, appointment_id: int, reason: Reason, now: datetime
    ) -> None:
        await self.session.execute(
            update(Reminder)
            .where(
                Reminder.appointment_id == appointment_id,
                Reminder.status.in_((PENDING, SENDING)),
            )
            .values(
                status=SKIPPED, reason=reason, lease_owner=None, lease_until=None, updated_at=now
            )
        )

    async def open_checkin(
        self, patient_id: int, steps: Collection[str], now: datetime
    ) -> Appointment | None:
        """The patient's visit whose check-in (a row of one of `steps`) was sent and is
        within its expiry, unanswered; the latest such visit."""
        result = await self.session.execute(
            select(Appointment)
            .join(Reminder, Reminder.appointment_id == Appointment.id)
            .where(
                Appointment.patient_id == patient_id,
                Appointment.status == SCHEDULED,
                Appointment.checkin.is_(None),
                Reminder.step_key.in_(sorted(steps)),
                Reminder.status == SENT,
                Reminder.expires_at > now,
            )
            .order_by(Appointment.starts_at.desc())
            .limit(1)
        )
        return result.scalars().first()

    async def get_owned(self, reminder_id: int, patient_id: int) -> Reminder | None:
        """A reminder of this patient's appointment; forged ids find nothing."""
        result = await self.session.execute(
            select(Reminder)
            .join(Appointment, Appointment.id == Reminder.appointment_id)
            .where(Reminder.id == reminder_id, Appointment.patient_id == patient_id)
        )
        return result.scalar_one_or_none()

    # --- dispatching ----------------------------------------------------------------------
    def _claimable(self) -> Select[int]:
        claimable = (
            select(Reminder.id)
            .join(Appointment, Appointment.id == Reminder.appointment_id)
            .join(Patient, Patient.id == Appointment.patient_id)
            .where(
                Appointment.status == SCHEDULED,
                # A visit the patient asked to move: its reminders wait until staff move it
                # or the patient says they can come after all.
                Appointment.attendance.is_distinct_from(Attendance.RESCHEDULE),
                Patient.reachable.is_(True),
                Patient.reminders_paused.is_(False),
            )
        )
        if not self.notices:
            return claimable
        # A notice to the patient still to be sent goes first (the class's doc). The
        # outbox's patient_id index finds it, one look-up per candidate row.
        notice_first = exists().where(
            StaffAlert.patient_id == Patient.id,
            StaffAlert.kind.in_(self.notices),
            StaffAlert.status == QueueStatus.PENDING,
        )
        return claimable.where(~notice_first)

    async def expire_overdue(self, now: datetime) -> dict[str, int]:
        """Pending rows whose useful window closed become `expired` (never sent late); how
        many, by step key (for the metrics)."""
        result = await self.session.execute(
            update(Reminder)
            .where(Reminder.status == PENDING, Reminder.due_at <= now, Reminder.expires_at <= now)
            .values(status=EXPIRED, reason=Reason.EXPIRED, updated_at=now)
            .returning(Reminder.step_key)
            .execution_options(synchronize_session=False)
        )
        return dict(Counter(result.scalars()))

    async def claim(
        self, now: datetime, owner: str, lease_until: datetime, limit: int
    ) -> list[int]:
        """Take up to `limit` due rows under a lease (a row whose claimer died is due again
        once its lease ran out): those first, since they were due before any pending row
        and have waited a lease already; then pending rows, oldest due first.

        On PostgreSQL the candidates are selected ``FOR UPDATE OF reminders SKIP LOCKED``:
        replicas claiming at once lock disjoint rows, so each gets a full batch instead of
        meeting the other's rows (and the patients and appointments stay unlocked). SQLite
        has one writer at a time and no such clause (SQLAlchemy leaves it out there). On both,
        the UPDATE re-checks the status, so a row is claimed by one claimer only: the one that
        gets it back from RETURNING."""
        stale = await self.session.execute(
            self._claimable()
            .where(Reminder.status == SENDING, Reminder.lease_until < now)
            .order_by(Reminder.due_at)
            .limit(limit)
            .with_for_update(skip_locked=True, of=Reminder)
        )
        ids = list(stale.scalars())
        if len(ids) < limit:
            due = await self.session.execute(
                self._claimable()
                .where(Reminder.status == PENDING, Reminder.due_at <= now)
                .order_by(Reminder.due_at)
                .limit(limit - len(ids))
                .with_for_update(skip_locked=True, of=Reminder)
            )
            ids.extend(due.scalars())
        if not ids:
            return []
        # The re-check is a CASE, not `status = 'pending' OR (...)`: with an indexable OR,
        # SQLite (no statistics) walks the (status, due_at) index over *every* pending row
        # instead of looking the ids up by primary key, six times slower at 500,000 pending
        # rows (bench/README.md). Same meaning: a NULL lease_until never matches.
        still_free = case(
            (Reminder.status == PENDING, true()),
            (Reminder.status == SENDING, Reminder.lease_until < now),
            else_=false(),
        )
        claimed = await self.session.execute(
            update(Reminder)
            .where(Reminder.id.in_(ids), still_free)
            .values(
                status=SENDING,
                lease_owner=owner,
                lease_until=lease_until,
                attempts=Reminder.attempts + 1,
                updated_at=now,
            )
            .returning(Reminder.id)
        )
        return list(claimed.scalars())

    async def extend_lease(self, owner: str, now: datetime, lease_until: datetime) -> int:
        """Every row `owner` holds is its own until `lease_until`; how many. A row whose lease
        already ran out and was claimed by another meanwhile has another owner: not touched."""
        return await rows_matched(
            self.session,
            update(Reminder)
            .where(Reminder.status == SENDING, Reminder.lease_owner == owner)
            .values(lease_until=lease_until, updated_at=now)
            .execution_options(synchronize_session=False),
        )

    async def load_claimed(self, ids: Sequence[int]) -> list[ClaimedReminder]:
        """The claimed rows with their appointment and patient, oldest due first. One
        `Visit` / `Recipient` per appointment / patient, shared by that one's rows."""
        result = await self.session.execute(
            select(
                Reminder.id,
                Reminder.step_key,
                Reminder.due_at,
                Reminder.expires_at,
                Reminder.attempts,
                Appointment.id,
                Appointment.starts_at,
                Appointment.timezone,
                Appointment.attendance,
                Appointment.visit_type,
                Patient.id,
                Patient.chat_id,
                Patient.language,
            )
            .join(Appointment, Appointment.id == Reminder.appointment_id)
            .join(Patient, Patient.id == Appointment.patient_id)
            .where(Reminder.id.in_(ids))
            .order_by(Reminder.due_at, Reminder.id)
        )
        visits: dict[int, Visit] = {}
        recipients: dict[int, Recipient] = {}
        claimed: list[ClaimedReminder] = []
        for row in result:
            rid, key, due, expires, attempts, aid, start, zone, attend, kind, pid, chat, lang = row
            visit = visits.get(aid) or visits.setdefault(aid, Visit(aid, start, zone, attend, kind))
            recipient = recipients.get(pid) or recipients.setdefault(
                pid, Recipient(pid, chat, lang)
            )
            claimed.append(
                ClaimedReminder(ClaimedRow(rid, key, due, expires, attempts), visit, recipient)
            )
        return claimed

    async def finish_many(
        self,
        owner: str,
        now: datetime,
        results: Iterable[AttemptResult],
    ) -> int:
        """Close claimed rows as each result says (a `retry_at` is the row's new due time).

        Fenced by the lease owner: a row re-planned or claimed by someone else meanwhile is
        left alone. One executemany UPDATE per kind of change (sent / rescheduled / other)
        instead of one UPDATE per message: a pass of 200 rows costs about as much as a handful
        of single updates."""
        groups: dict[tuple[bool, bool], list[dict[str, object]]] = {}
        for result in results:
            status = result.status
            rows = groups.setdefault((status == SENT, result.retry_at is not None), [])
            rows.extend(
                {
                    "row_id": row_id,
                    "new_status": status,
                    "new_reason": result.stored_reason,
                    "new_message_id": result.message_id,
                    "new_due_at": result.retry_at,
                }
                for row_id in result.ids
            )
        table = cast(Table, Reminder.__table__)
        changed = 0
        for (sent, retimed), rows in groups.items():
            if not rows:
                continue
            values: dict[str, object] = {
                "status": bindparam("new_status", type_=table.c.status.type),
                "reason": bindparam("new_reason", type_=table.c.reason.type),
                "lease_owner": None,
                "lease_until": None,
                "updated_at": now,
            }
            if sent:
                values["sent_at"] = now
                values["message_id"] = bindparam("new_message_id", type_=table.c.message_id.type)
            if retimed:
                values["due_at"] = bindparam("new_due_at", type_=table.c.due_at.type)
            matched = await rows_matched(
                self.session,
                update(table)
                .where(
                    table.c.id == bindparam("row_id", type_=table.c.id.type),
                    table.c.status == SENDING,
                    table.c.lease_owner == owner,
                )
                .values(values),
                rows,
            )
            changed += matched
        return changed

    async def mark_unreachable(self, patient_ids: Iterable[int]) -> list[int]:
        """Telegram refused these patients' chats: their reminders stop until they come back.
        The ids of those who were reachable until now."""
        return await mark_unreachable(self.session, patient_ids)

    async def next_due(self) -> datetime | None:
        """The earliest moment something may need sending (a due row or a lease running out)."""
        pending = await self.session.execute(
            self._claimable()
            .with_only_columns(func.min(Reminder.due_at))
            .where(Reminder.status == PENDING)
        )
        leased = await self.session.execute(
            select(func.min(Reminder.lease_until)).where(Reminder.status == SENDING)
        )
        candidates = [v for v in (pending.scalar_one_or_none(), leased.scalar_one_or_none()) if v]
        return min(candidates) if candidates else None

    # --- checklist ------------------------------------------------------------------------
    async def ticks(self, appointment_id: int) -> set[str]:
        result = await self.session.execute(
            select(ChecklistTick.item).where(ChecklistTick.appointment_id == appointment_id)
        )
        return set(result.scalars())

    async def ticks_for(self, appointment_ids: Sequence[int]) -> dict[int, set[str]]:
        result = await self.session.execute(
            select(ChecklistTick.appointment_id, ChecklistTick.item).where(
                ChecklistTick.appointment_id.in_(appointment_ids)
            )
        )
        ticks: dict[int, set[str]] = {}
        for appointment_id, item in result.all():
            ticks.setdefault(appointment_id, set()).add(item)
        return ticks

    async def set_tick(self, appointment_id: int, item: str, done: bool, now: datetime) -> None:
        existing = await self.session.get(ChecklistTick, (appointment_id, item))
        if done and existing is None:
            self.session.add(ChecklistTick(appointment_id=appointment_id, item=item, done_at=now))
        elif not done and existing is not None:
            await self.session.delete(existing)
        await self.session.flush()
