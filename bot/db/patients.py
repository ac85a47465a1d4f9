"""The patients' own data: patients, their visits, their conversation state, and /forget;
and :class:`Repository`, what a unit of work holds for its transaction: these queries, the
other query modules it uses most (`reminders`, `alerts`, `audit`) and its after-commit hooks.

The other tables have query modules of their own (bot/db/: reminders, outbox, staff, audit,
invites, roster, content versions, ...). Each method is a small, portable query. The caller
owns the transaction: a unit of work (one Telegram update, one CLI command) commits once at
the end or rolls back as a whole.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    bindparam,
    delete,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.db.audit import AuditRepository
from bot.db.connection import wal_checkpoint
from bot.db.models import (
    Appointment,
    ChecklistTick,
    ConversationState,
    IntakePatient,
    IntakeVisit,
    Invite,
    Patient,
    Reminder,
    StaffMember,
)
from bot.db.outbox import AlertOutboxRepository
from bot.db.reminders import ReminderRepository
from bot.db.staff import StaffRepository
from bot.db.statements import flushed, rows_matched
from bot.db.visit_changes import change_scheduled_visit
from bot.domain.audit import target
from bot.domain.visits import DEFAULT_VISIT_TYPE, AppointmentStatus

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


CONVERSATION_VISIT_KEYS = ("appointment", "visit")
"""The keys of conversation data that hold a visit's id, at its top level or in an object of
it (an offer's, bot/services/offers.py; bot/telegram/handlers/visits.py)."""

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
        return await flushed(self.session, patient)

    async def set_reachable_by_telegram_id(self, telegram_id: int, reachable: bool) -> int | None:
        """Mark the patient (un)reachable; their id when this changed it, else None (no such
        patient, or already so: a second update writes nothing)."""
        result = await self.session.execute(
            update(Patient)
            .where(Patient.telegram_id == telegram_id, Patient.reachable.is_not(reachable))
            .values(reachable=reachable)
            .returning(Patient.id)
            .execution_options(synchronize_session="fetch")
        )
        return result.scalar_one_or_none()

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
        # The clinic's schedule keeps its visits (they come again with the next export), but
        # not the link to this patient: a later import starts afresh with a new invite.
        await self.session.execute(
            update(IntakeVisit)
            .where(IntakeVisit.appointment_id.in_(owned))
            .values(appointment_id=None)
            .execution_options(synchronize_session=False)
        )
        await self.session.execute(
            update(IntakeVisit)
            .where(IntakeVisit.invite_id.in_(select(Invite.id).where(theirs)))
            .values(invite_id=None)
            .execution_options(synchronize_session=False)
        )
        await self.session.execute(
            delete(IntakePatient).where(IntakePatient.patient_id == patient.id)
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
        self,
        *,
        patient_id: int,
        starts_at: datetime,
        timezone: str,
        now: datetime,
        visit_type: str = DEFAULT_VISIT_TYPE,
    ) -> Appointment:
        appointment = Appointment(
            patient_id=patient_id,
            starts_at=starts_at,
            timezone=timezone,
            visit_type=visit_type,
            status=SCHEDULED,
            created_at=now,
            updated_at=now,
        )
        return await flushed(self.session, appointment)

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

    async def scheduled_since(
        self, since: datetime, visit_type: str | None = None
    ) -> Sequence[Appointment]:
        """Every scheduled appointment (of any patient) starting after `since`, oldest first;
        with `visit_type`, those of that type only."""
        query = select(Appointment).where(
            Appointment.status == SCHEDULED, Appointment.starts_at > since
        )
        if visit_type is not None:
            query = query.where(Appointment.visit_type == visit_type)
        result = await self.session.execute(query.order_by(Appointment.starts_at, Appointment.id))
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
