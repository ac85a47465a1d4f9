"""The one way the application reaches the database.

Each method is a small, portable query. The caller owns the transaction: a unit of work (one
Telegram update, one CLI command) commits once at the end or rolls back as a whole.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import (
    Select,
    Table,
    bindparam,
    case,
    delete,
    false,
    func,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.db.alert_outbox import AlertOutboxRepository
from bot.db.audit import AuditRepository
from bot.db.connection import wal_checkpoint
from bot.db.models import (
    Appointment,
    ChecklistTick,
    ConversationState,
    Invite,
    Patient,
    Reminder,
    StaffMember,
)
from bot.db.staff import StaffRepository
from bot.db.statements import rows_matched
from bot.db.visit_changes import change_scheduled_visit
from bot.domain.audit import target
from bot.domain.visits import AppointmentStatus, Attendance
from scheduler.records import ClaimedReminder, ClaimedRow, Recipient, Visit
from scheduler.statuses import ReminderStatus

SCHEDULED = AppointmentStatus.SCHEDULED
CANCELLED = AppointmentStatus.CANCELLED


# Built once: the statement every update runs (building it costs more than running it): the
# patient, the conversation state and the staff role of whoever wrote, in one round trip.
_PATIENT_AND_STATE = (
    select(Patient, ConversationState, StaffMember.role)
    .select_from(select(literal(1).label("one")).subquery())
    .outerjoin(Patient, Patient.telegram_id == bindparam("telegram_id"))
    .outerjoin(ConversationState, ConversationState.storage_key == bindparam("storage_key"))
    .outerjoin(
        StaffMember,
        (StaffMember.telegram_id == bindparam("telegram_id")) & StaffMember.removed_at.is_(None),
    )
)


@dataclass(frozen=True, slots=True)
class ForgottenPatient:
    """What /forget deleted that lives outside this transaction too: the ids of the patient's
    visits (conversations in Redis may name them)."""

    appointment_ids: tuple[int, ...]


CONVERSATION_VISIT_KEYS = ("appointment",)
"""The keys of conversation data that hold a visit's id (bot/telegram/handlers/visits.py)."""

# Ids bound per IN (...) list: well within SQLite's and asyncpg's limits on parameters.
_ID_CHUNK = 500

AfterCommit = Callable[[], Awaitable[None] | None]


class Repository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.reminders = ReminderRepository(session)
        self.alerts = AlertOutboxRepository(session)
        self.audit = AuditRepository(session)
        # Run by whoever owns the transaction, once it committed (never after a rollback):
        # wake-ups of the reminder engine and the alert outbox, WAL checkpoints.
        self.after_commit: list[AfterCommit] = []
        # Conversation-state rows read or written in this transaction, by storage key (the FSM
        # asks for the same row several times per update; None: known not to exist).
        self._states: dict[str, ConversationState | None] = {}

    # --- patients -------------------------------------------------------------------------
    async def patient_by_telegram_id(self, telegram_id: int) -> Patient | None:
        result = await self.session.execute(
            select(Patient).where(Patient.telegram_id == telegram_id)
        )
        return result.scalar_one_or_none()

    async def patient_id_by_telegram_id(self, telegram_id: int) -> int | None:
        result = await self.session.execute(
            select(Patient.id).where(Patient.telegram_id == telegram_id)
        )
        return result.scalar_one_or_none()

    async def patient_by_id(self, patient_id: int) -> Patient | None:
        return await self.session.get(Patient, patient_id)

    async def add_patient(
        self, *, telegram_id: int, chat_id: int, language: str, timezone: str, now: datetime
    ) -> Patient:
        patient = Patient(
            telegram_id=telegram_id,
            chat_id=chat_id,
            language=language,
            timezone=timezone,
            reachable=True,
            created_at=now,
        )
        self.session.add(patient)
        await self.session.flush()
        return patient

    async def set_reachable_by_telegram_id(self, telegram_id: int, reachable: bool) -> bool:
        matched = await rows_matched(
            self.session,
            update(Patient).where(Patient.telegram_id == telegram_id).values(reachable=reachable),
        )
        return matched > 0

    async def delete_patient_everything(self, telegram_id: int) -> ForgottenPatient | None:
        """Remove the patient and everything that leads back to them, in this transaction:
        their conversations (every key of theirs, and the team's conversations about their
        visits), staff alerts and notices about them, their appointments with reminders and
        checklist ticks, the invites they opened (a label, the visit's times); audit lines
        keep what staff did but lose what names the patient (their Telegram id as an actor,
        and the ids and times of their visits and invites). None when no patient row existed
        (the rest is deleted all the same). Explicit deletes (not only ON DELETE CASCADE) so
        the result does not depend on the database's FK mode."""
        patient = await self.patient_by_telegram_id(telegram_id)
        await self.session.execute(
            delete(ConversationState).where(ConversationState.user_id == telegram_id)
        )
        self._states.clear()
        # Staff alerts about them too: by Telegram id (alerts raised before they agreed to
        # storage have no patient id) and by patient id.
        await self.alerts.delete_for_patient(patient.id if patient else None, telegram_id)
        # Audit lines stay (they record what staff did), without this person's Telegram id.
        await self.audit.forget_actor(telegram_id)
        if patient is None:
            return None
        owned = select(Appointment.id).where(Appointment.patient_id == patient.id)
        visits = tuple((await self.session.execute(owned)).scalars())
        theirs = (Invite.used_by_patient_id == patient.id) | Invite.appointment_id.in_(owned)
        invites = tuple((await self.session.execute(select(Invite.id).where(theirs))).scalars())
        await self.audit.forget_targets(
            [target("appointment", i) for i in visits]
            + [target("invite", i) for i in invites]
            + [target("patient", patient.id)]
        )
        await self.session.execute(delete(Invite).where(theirs))
        await self._forget_conversations_about(visits)
        await self.session.execute(delete(Reminder).where(Reminder.appointment_id.in_(owned)))
        await self.session.execute(
            delete(ChecklistTick).where(ChecklistTick.appointment_id.in_(owned))
        )
        await self.session.execute(delete(Appointment).where(Appointment.patient_id == patient.id))
        await self.session.execute(delete(Patient).where(Patient.id == patient.id))
        self.session.expunge(patient)
        return ForgottenPatient(visits)

    async def _forget_conversations_about(self, appointment_ids: Sequence[int]) -> None:
        """Delete the conversations (staff moving or cancelling a visit) whose data names one
        of these visits: they hold its id and times. The data is JSON written with sorted
        keys and no spaces (SqlStorage), so the id is followed by ``,`` or ``}``."""
        for start in range(0, len(appointment_ids), _ID_CHUNK // 2):
            chunk = appointment_ids[start : start + _ID_CHUNK // 2]
            await self.session.execute(
                delete(ConversationState).where(
                    or_(
                        *(
                            ConversationState.data.like(f'%"{key}":{i}{end}%')
                            for i in chunk
                            for key in CONVERSATION_VISIT_KEYS
                            for end in (",", "}")
                        )
                    )
                )
            )
        self._states.clear()

    def checkpoint_after_commit(self) -> None:
        """Once this transaction committed, push SQLite's write-ahead log into the database
        file and empty it, so deleted rows leave no readable copy in the ``-wal`` file."""
        bind = self.session.bind
        if isinstance(bind, AsyncEngine):
            self.after_commit.append(lambda: wal_checkpoint(bind))

    # --- appointments ---------------------------------------------------------------------
    async def add_appointment(
        self, *, patient_id: int, starts_at: datetime, timezone: str, now: datetime
    ) -> Appointment:
        appointment = Appointment(
            patient_id=patient_id,
            starts_at=starts_at,
            timezone=timezone,
            status=SCHEDULED,
            created_at=now,
            updated_at=now,
        )
        self.session.add(appointment)
        await self.session.flush()
        return appointment

    async def appointment_for_patient(
        self, appointment_id: int, patient_id: int
    ) -> Appointment | None:
        """Only ever returns an appointment owned by `patient_id`: forged ids find nothing."""
        result = await self.session.execute(
            select(Appointment).where(
                Appointment.id == appointment_id, Appointment.patient_id == patient_id
            )
        )
        return result.scalar_one_or_none()

    async def upcoming_appointments(
        self, patient_id: int, after: datetime, limit: int = 50
    ) -> Sequence[Appointment]:
        result = await self.session.execute(
            select(Appointment)
            .where(
                Appointment.patient_id == patient_id,
                Appointment.status == SCHEDULED,
                Appointment.starts_at > after,
            )
            .order_by(Appointment.starts_at, Appointment.id)
            .limit(limit)
        )
        return result.scalars().all()

    async def scheduled_since(self, since: datetime) -> Sequence[Appointment]:
        """Every scheduled appointment (of any patient) starting after `since`, oldest first."""
        result = await self.session.execute(
            select(Appointment)
            .where(Appointment.status == SCHEDULED, Appointment.starts_at > since)
            .order_by(Appointment.starts_at, Appointment.id)
        )
        return result.scalars().all()

    async def count_upcoming(self, patient_id: int, after: datetime) -> int:
        result = await self.session.execute(
            select(func.count())
            .select_from(Appointment)
            .where(
                Appointment.patient_id == patient_id,
                Appointment.status == SCHEDULED,
                Appointment.starts_at > after,
            )
        )
        return int(result.scalar_one())

    async def appointment_at(
        self, patient_id: int, starts_at: datetime, exclude_id: int | None = None
    ) -> Appointment | None:
        query = select(Appointment).where(
            Appointment.patient_id == patient_id,
            Appointment.status == SCHEDULED,
            Appointment.starts_at == starts_at,
        )
        if exclude_id is not None:
            query = query.where(Appointment.id != exclude_id)
        result = await self.session.execute(query.limit(1))
        return result.scalar_one_or_none()

    async def change_visit(self, appointment: Appointment, now: datetime, **values: object) -> bool:
        """Change the scheduled visit (its time, zone or status) if nobody changed it since
        this transaction read it; False when someone did (see `change_scheduled_visit`)."""
        return await change_scheduled_visit(self.session, appointment, now, **values)

    async def reload(self, appointment: Appointment) -> None:
        """Read the visit again (another transaction changed it and has committed)."""
        await self.session.refresh(appointment)

    async def set_attendance(self, appointment_id: int, value: str, now: datetime) -> bool:
        """Record the patient's answer; False when it was already that (a second tap, or one
        racing the first: the conditional UPDATE lets exactly one of them change the row)."""
        matched = await rows_matched(
            self.session,
            update(Appointment)
            .where(
                Appointment.id == appointment_id,
                (Appointment.attendance.is_(None)) | (Appointment.attendance != value),
            )
            .values(attendance=value, updated_at=now)
            .execution_options(synchronize_session="fetch"),
        )
        return matched > 0

    # --- conversation state (aiogram FSM) -------------------------------------------------
    async def conversation_state(self, storage_key: str) -> ConversationState | None:
        if storage_key in self._states:
            return self._states[storage_key]
        result = await self.session.execute(
            select(ConversationState).where(ConversationState.storage_key == storage_key)
        )
        row = result.scalar_one_or_none()
        self._states[storage_key] = row
        return row

    async def patient_and_state(
        self, telegram_id: int, storage_key: str | None
    ) -> tuple[Patient | None, str | None]:
        """Who is writing (their patient row, and their role if they are an active staff
        member) and where they are in the conversation, in one round trip (the reads every
        update makes). The state row is kept for :meth:`conversation_state`."""
        if storage_key is None:
            patient = await self.patient_by_telegram_id(telegram_id)
            return patient, await StaffRepository(self.session).active_role(telegram_id)
        result = await self.session.execute(
            _PATIENT_AND_STATE, {"telegram_id": telegram_id, "storage_key": storage_key}
        )
        patient, state, role = result.one()
        self._states[storage_key] = state
        return patient, role

    async def save_conversation_state(
        self,
        *,
        storage_key: str,
        user_id: int,
        now: datetime,
        state: str | None = None,
        data: str | None = None,
        set_state: bool = False,
        set_data: bool = False,
    ) -> None:
        row = await self.conversation_state(storage_key)
        new_state = state if set_state else (row.state if row is not None else None)
        new_data = (data if data is not None else "{}") if set_data else None
        if new_data is None:
            new_data = row.data if row is not None else "{}"
        if row is None and new_state is None and new_data == "{}":
            return  # clearing a conversation that has no state: nothing to write
        if row is not None and row.state == new_state and row.data == new_data:
            return  # unchanged: a read-only update takes no write lock
        if row is None:
            row = ConversationState(storage_key=storage_key, user_id=user_id, data="{}")
            self.session.add(row)
            self._states[storage_key] = row
        row.state = new_state
        row.data = new_data
        row.updated_at = now
        if row.state is None and row.data == "{}":
            self._states[storage_key] = None
            if row in self.session.new:
                self.session.expunge(row)
            else:
                await self.session.delete(row)
        await self.session.flush()


# Statuses of a reminder row (scheduler/statuses.py), by their short names.
PENDING = ReminderStatus.PENDING
SENDING = ReminderStatus.SENDING
SENT = ReminderStatus.SENT
SKIPPED = ReminderStatus.SKIPPED
EXPIRED = ReminderStatus.EXPIRED
FAILED = ReminderStatus.FAILED


class ReminderRepository:
    """Queries of the reminder engine. Each is portable SQL and uses the (status, due_at) index,
    so claiming costs the same with 5,000 or 500,000 pending rows."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

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
        row.status, row.reason = PENDING, "snoozed"
        row.due_at = until
        row.attempts = 0
        row.updated_at = now
        await self.session.flush()

    async def skip_open_for_appointment(
        self, appointment_id: int, reason: str, now: datetime
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
        return (
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

    async def expire_overdue(self, now: datetime) -> dict[str, int]:
        """Pending rows whose useful window closed become `expired` (never sent late); how
        many, by step key (for the metrics)."""
        result = await self.session.execute(
            update(Reminder)
            .where(Reminder.status == PENDING, Reminder.due_at <= now, Reminder.expires_at <= now)
            .values(status=EXPIRED, reason="expired", updated_at=now)
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
        for rid, key, due, expires, attempts, aid, start, zone, attend, pid, chat, lang in result:
            visit = visits.get(aid) or visits.setdefault(aid, Visit(aid, start, zone, attend))
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
        closes: Iterable[tuple[Sequence[int], str, str | None, int | None, datetime | None]],
    ) -> int:
        """Close claimed rows; each item is ``(ids, status, reason, message_id, due_at)``.

        Fenced by the lease owner: a row re-planned or claimed by someone else meanwhile is
        left alone. One executemany UPDATE per kind of change (sent / rescheduled / other)
        instead of one UPDATE per message: a pass of 200 rows costs about as much as a handful
        of single updates."""
        groups: dict[tuple[bool, bool], list[dict[str, object]]] = {}
        for ids, status, reason, message_id, due_at in closes:
            rows = groups.setdefault((status == SENT, due_at is not None), [])
            rows.extend(
                {
                    "row_id": row_id,
                    "new_status": status,
                    "new_reason": reason,
                    "new_message_id": message_id,
                    "new_due_at": due_at,
                }
                for row_id in ids
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

    async def mark_unreachable(self, patient_ids: Iterable[int]) -> None:
        """Telegram refused these patients' chats: their reminders stop until they come back."""
        ids = sorted(set(patient_ids))
        if ids:
            await self.session.execute(
                update(Patient).where(Patient.id.in_(ids)).values(reachable=False)
            )

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
