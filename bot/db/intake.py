"""Queries of visits from the clinic's schedule (issue 21): `intake_patients` (a patient of
the schedule, known by the keyed hash of the clinic's reference, linked once) and
`intake_visits` (a visit by the clinic's own id, `source` and `external_id`).

Reads of many rows at once (an import of thousands) go by chunks of ids, within the
parameter limits of SQLite and asyncpg. Linking a patient is a conditional UPDATE: of two
redemptions racing for one patient, exactly one links them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import ColumnElement, Select, and_, bindparam, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from bot.db.models import (
    Appointment,
    ChecklistTick,
    IntakePatient,
    IntakeVisit,
    Invite,
    Patient,
    Reminder,
)
from bot.db.reminders import FAILED, PENDING, SENDING, SENT
from bot.db.statements import rows_matched

__all__ = ["IntakeRepository", "ReminderTally", "VisitContext", "revise_visits"]

_CHUNK = 500
_TALLY_WORDS: dict[str, str] = {
    str(SENT): "sent",
    str(FAILED): "failed",
    str(PENDING): "pending",
    str(SENDING): "pending",
}


def _chunks(values: Sequence[str] | Sequence[int]) -> Iterable[Sequence[str] | Sequence[int]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


async def revise_visits(
    session: AsyncSession, *where: ColumnElement[bool]
) -> list[tuple[int, int | None, str, str, int]]:
    """Give the visits `where` names one more revision: ``revision + 1`` in SQL, never a
    value read before (PostgreSQL re-reads the row a concurrent transaction committed, and
    the row stays held until this one commits, so one visit's revisions follow its commits:
    bot/intake/events.py). Each visit's (id, appointment id, source, external id, new
    revision); a copy the session holds gets the new revision as the database returned it
    (SQLAlchemy's own synchronisation would add one to the copy's value, which a concurrent
    change made stale)."""
    result = await session.execute(
        update(IntakeVisit)
        .where(*where)
        .values(revision=IntakeVisit.revision + 1)
        .returning(
            IntakeVisit.id,
            IntakeVisit.appointment_id,
            IntakeVisit.source,
            IntakeVisit.external_id,
            IntakeVisit.revision,
        )
        .execution_options(synchronize_session=False)
    )
    rows = [tuple(row) for row in result.all()]
    held = session.sync_session.identity_map
    for row in rows:
        visit = held.get(identity_key(IntakeVisit, row[0]))
        if visit is not None:
            set_committed_value(visit, "revision", row[4])
    return rows  # type: ignore[return-value]


class ReminderTally(dict[str, int]):
    """A visit's reminders by status (sent, failed, pending), for the API's state."""


@dataclass(frozen=True, slots=True)
class VisitContext:
    """What writing one visit needs, read in one query (:meth:`IntakeRepository.context`):
    the stored visit, its row's patient of the schedule and their newest open invite, the
    visit's appointment, and the bot's patient the schedule's patient is linked to."""

    visit: IntakeVisit | None
    patient: IntakePatient | None
    invite: Invite | None
    appointment: Appointment | None
    linked: Patient | None


@cache
def _context_query() -> Select[IntakeVisit, IntakePatient, Invite, Appointment, Patient]:
    """:meth:`IntakeRepository.context`'s statement, built once (building it took as long as
    running it): its values are bound parameters."""
    key = bindparam("key", type_=IntakePatient.patient_key.type)
    one = select(literal(1).label("one")).subquery()
    return (
        select(IntakeVisit, IntakePatient, Invite, Appointment, Patient)
        .select_from(one)
        .outerjoin(
            IntakeVisit,
            and_(
                IntakeVisit.source == bindparam("source"),
                IntakeVisit.external_id == bindparam("external_id"),
            ),
        )
        .outerjoin(IntakePatient, IntakePatient.patient_key == key)
        .outerjoin(
            Invite,
            and_(
                Invite.patient_key == key,
                Invite.used_at.is_(None),
                Invite.expires_at > bindparam("now", type_=Invite.expires_at.type),
            ),
        )
        .outerjoin(Appointment, Appointment.id == IntakeVisit.appointment_id)
        .outerjoin(Patient, Patient.id == IntakePatient.patient_id)
        .order_by(Invite.id.desc())
        .limit(1)
    )


class IntakeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def context(
        self, source: str, external_id: str, patient_key: str, now: datetime
    ) -> VisitContext:
        """One visit (the API's PUT) and what writing it needs, in one statement instead of
        five: outer joins from a one-row select, so each part is None when absent. The
        invite is the newest unused, unexpired one of the patient (as :meth:`open_invites`
        gives); every other join matches one row at most (unique keys)."""
        params = {"source": source, "external_id": external_id, "key": patient_key, "now": now}
        row = (await self.session.execute(_context_query(), params)).one()
        return VisitContext(row[0], row[1], row[2], row[3], row[4])

    # --- visits ---------------------------------------------------------------------------
    async def visit(self, source: str, external_id: str) -> IntakeVisit | None:
        result = await self.session.execute(
            select(IntakeVisit).where(
                IntakeVisit.source == source, IntakeVisit.external_id == external_id
            )
        )
        return result.scalar_one_or_none()

    async def visits(self, source: str, external_ids: Collection[str]) -> dict[str, IntakeVisit]:
        """The visits of `source` with these ids, by id (the ones not stored are absent)."""
        found: dict[str, IntakeVisit] = {}
        for chunk in _chunks(sorted(set(external_ids))):
            result = await self.session.execute(
                select(IntakeVisit).where(
                    IntakeVisit.source == source, IntakeVisit.external_id.in_(chunk)
                )
            )
            found.update((v.external_id, v) for v in result.scalars())
        return found

    async def length_of(self, appointment_id: int) -> timedelta | None:
        """How long the clinic's schedule says this appointment's visit lasts (its end less
        its start), if the visit came from the schedule with an end."""
        result = await self.session.execute(
            select(IntakeVisit.starts_at, IntakeVisit.ends_at)
            .where(IntakeVisit.appointment_id == appointment_id, IntakeVisit.ends_at.is_not(None))
            .order_by(IntakeVisit.id.desc())
            .limit(1)
        )
        row = result.first()
        if row is None or row[1] is None:
            return None
        return row[1] - row[0]

    def add_visit(self, visit: IntakeVisit) -> None:
        """A new visit, written at the next flush."""
        self.session.add(visit)

    async def revise(self, visit: IntakeVisit) -> None:
        """One more revision of the visit (the clinic changed it), after its other changes
        are flushed, in the caller's transaction; `visit.revision` follows."""
        await revise_visits(self.session, IntakeVisit.id == visit.id)

    async def flush(self) -> None:
        await self.session.flush()

    async def visits_of(self, patient_key: str) -> Sequence[IntakeVisit]:
        """Every visit of a patient of the schedule, of any source, earliest first."""
        result = await self.session.execute(
            select(IntakeVisit)
            .where(IntakeVisit.patient_key == patient_key)
            .order_by(IntakeVisit.starts_at, IntakeVisit.id)
        )
        return result.scalars().all()

    async def visits_between(
        self, source: str, start: datetime, end: datetime
    ) -> Sequence[IntakeVisit]:
        """The visits of `source` starting in [start, end), earliest first."""
        result = await self.session.execute(
            select(IntakeVisit)
            .where(
                IntakeVisit.source == source,
                IntakeVisit.starts_at >= start,
                IntakeVisit.starts_at < end,
            )
            .order_by(IntakeVisit.starts_at, IntakeVisit.id)
        )
        return result.scalars().all()

    # --- patients of the schedule ---------------------------------------------------------
    async def patients(self, keys: Collection[str]) -> dict[str, IntakePatient]:
        found: dict[str, IntakePatient] = {}
        for chunk in _chunks(sorted(set(keys))):
            result = await self.session.execute(
                select(IntakePatient).where(IntakePatient.patient_key.in_(chunk))
            )
            found.update((p.patient_key, p) for p in result.scalars())
        return found

    async def patient(self, key: str) -> IntakePatient | None:
        return await self.session.get(IntakePatient, key)

    def add_patient(self, key: str, now: datetime) -> IntakePatient:
        """A patient of the schedule not linked yet, written at the next flush."""
        row = IntakePatient(patient_key=key, created_at=now)
        self.session.add(row)
        return row

    async def link(self, key: str, patient_id: int, now: datetime) -> bool:
        """Link the schedule's patient to the bot's patient, if nobody is linked yet; False
        when someone is (another redemption came first)."""
        matched = await rows_matched(
            self.session,
            update(IntakePatient)
            .where(IntakePatient.patient_key == key, IntakePatient.patient_id.is_(None))
            .values(patient_id=patient_id, linked_at=now)
            .execution_options(synchronize_session="fetch"),
        )
        return matched == 1

    # --- invites --------------------------------------------------------------------------
    async def open_invites(self, keys: Collection[str], now: datetime) -> dict[str, Invite]:
        """The newest unused, unexpired invite of each of these patients (a link already given
        to the clinic, reused by their further visits)."""
        found: dict[str, Invite] = {}
        for chunk in _chunks(sorted(set(keys))):
            result = await self.session.execute(
                select(Invite)
                .where(
                    Invite.patient_key.in_(chunk),
                    Invite.used_at.is_(None),
                    Invite.expires_at > now,
                )
                .order_by(Invite.id)
            )
            for invite in result.scalars():
                assert invite.patient_key is not None
                found[invite.patient_key] = invite  # the newest last
        return found

    async def set_invite_key(self, invite_id: int, key: str, visit_type: str) -> None:
        await self.session.execute(
            update(Invite)
            .where(Invite.id == invite_id)
            .values(patient_key=key, visit_type=visit_type)
            .execution_options(synchronize_session="fetch")
        )

    # --- what the patient did, for the state of a visit -------------------------------------
    async def appointments(self, ids: Collection[int]) -> dict[int, Appointment]:
        found: dict[int, Appointment] = {}
        for chunk in _chunks(sorted(set(ids))):
            result = await self.session.execute(
                select(Appointment).where(Appointment.id.in_(chunk))
            )
            found.update((a.id, a) for a in result.scalars())
        return found

    async def bot_patients(self, ids: Collection[int]) -> dict[int, Patient]:
        """The bot's patients with these ids (those linked to the schedule's patients)."""
        found: dict[int, Patient] = {}
        for chunk in _chunks(sorted(set(ids))):
            result = await self.session.execute(select(Patient).where(Patient.id.in_(chunk)))
            found.update((p.id, p) for p in result.scalars())
        return found

    async def reminder_tallies(self, appointment_ids: Collection[int]) -> dict[int, ReminderTally]:
        tallies: dict[int, ReminderTally] = {}
        for chunk in _chunks(sorted(set(appointment_ids))):
            result = await self.session.execute(
                select(Reminder.appointment_id, Reminder.status, func.count())
                .where(Reminder.appointment_id.in_(chunk))
                .group_by(Reminder.appointment_id, Reminder.status)
            )
            for appointment_id, status, count in result:
                tally = tallies.setdefault(appointment_id, ReminderTally())
                word = _TALLY_WORDS.get(str(status))
                if word is not None:
                    tally[word] = tally.get(word, 0) + int(count)
        return tallies

    async def ticks(self, appointment_ids: Collection[int]) -> dict[int, int]:
        """Checklist items ticked, by visit."""
        counts: dict[int, int] = {}
        for chunk in _chunks(sorted(set(appointment_ids))):
            result = await self.session.execute(
                select(ChecklistTick.appointment_id, func.count())
                .where(ChecklistTick.appointment_id.in_(chunk))
                .group_by(ChecklistTick.appointment_id)
            )
            counts.update((a, int(c)) for a, c in result)
        return counts
