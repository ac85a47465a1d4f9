"""Visits from the clinic's schedule: the one intake command every source goes through
(a CSV export, the command line, a file sent to the bot, the HTTP API).

A visit is named by the clinic's own id (`source`, `external_id`) and stored in
`intake_visits`; its patient by the keyed hash of the clinic's reference (`intake_patients`),
never the reference. Rows are :class:`~bot.intake.rows.IntakeRow` (bot/intake/ reads and
checks them); here they are compared with what is stored and applied, in the caller's
transaction:

* **idempotent**: a row equal to the stored visit changes nothing (``unchanged``) and keeps
  its revision; any other row counts one more (`intake_visits.revision`, which the patient's
  answers count on too, and their events carry: bot/intake/events.py);
* a **changed start** moves the visit: a linked patient's appointment is moved with the
  conditional UPDATE every change uses, its reminders planned again without resending a step
  already sent (``ReminderPlanner.plan_for(keep_sent=True)``, as a staff move does), and the
  patient told through the durable outbox (``PatientNotices.visit_moved``);
* **cancelled** stops the pending reminders and tells a linked patient
  (``visit_cancelled``); **noshow** stops them without a notice (the clinic calls whom it
  missed); **fulfilled** leaves them (the day-after check-in is for those who came);
* a changed **visit type** gives the appointment the row's type and plans it again; a move
  keeps the type the row names. Label, end and language changes are stored (``updated``);
* **linking once**: the first booked visit of a patient not linked yet makes an invite (the
  one-time link and QR of bot/services/invites.py, with ``invites.patient_key`` set), reused
  by their further visits while nobody opened it. Redeeming it (:class:`IntakeLinker`) links
  the schedule's patient to the bot's patient and attaches every upcoming visit of theirs as
  an appointment; later visits of a linked patient attach at once, and the patient is told
  (``visit_added``, a notice of its own).

The invite's code exists only in the :class:`IssuedInvite` an apply returns (its SHA-256 is
stored), so a link cannot be shown twice: the command line and the Telegram upload hand it to
the clinic once, as a CSV and a page of QR codes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Literal

from bot.config import Settings
from bot.db.intake import IntakeRepository
from bot.db.models import Appointment, IntakePatient, IntakeVisit, Invite, Patient
from bot.db.patients import Repository
from bot.domain.audit import Action, Actor, Surface, target
from bot.domain.invite_codes import LABEL_MAX, code_hash, deep_link, new_code
from bot.domain.staff import Permission
from bot.domain.visits import AppointmentStatus, Attendance, Checkin, VisitType
from bot.intake.api_models import ChecklistProgress, ReminderCounts, VisitState
from bot.intake.csv_import import CsvImport, read_csv
from bot.intake.patient_ref import PatientKeyer
from bot.intake.rows import (
    IntakeRow,
    IntakeRules,
    IntakeStatus,
    RowError,
    RowErrorCode,
    RowReason,
)
from bot.services.errors import Refusal
from bot.services.patient_notices import PatientNotices
from bot.services.reminders import ReminderPlanner
from bot.services.staff import StaffService
from foundation.clock import Clock
from foundation.timemath import load_zone

__all__ = [
    "IntakeLinker",
    "IntakeReport",
    "IntakeService",
    "IntakeUnavailable",
    "IssuedInvite",
    "RowOutcome",
    "RowResult",
    "VisitLinked",
]

BOOKED = IntakeStatus.BOOKED
SCHEDULED = AppointmentStatus.SCHEDULED
CANCELLED = AppointmentStatus.CANCELLED
IMPORT_LABEL = "schedule"
"""An invite's label when the row gave none (labels are what staff see)."""


class IntakeUnavailable(Refusal):
    """Visits cannot be imported: INTAKE_PATIENT_KEY is not set, or the intake settings name
    an unknown status or type (``detail`` says which, in one line)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class RowResult(StrEnum):
    """What a row did (or, in a preview, would do) to the stored visit."""

    CREATED = "created"
    MOVED = "moved"
    CANCELLED = "cancelled"
    UPDATED = "updated"  # its type, label, end, language, or a noshow / fulfilled status
    UNCHANGED = "unchanged"
    ERROR = "error"
    NOT_FOUND = "not_found"  # a cancel by id of a visit never imported


@dataclass(frozen=True, slots=True)
class IssuedInvite:
    """A new one-time link for a patient of the schedule: handed to the clinic once (only
    the code's SHA-256 is stored). ``external_ids`` are the clinic's ids of the visits of
    this apply it covers."""

    invite_id: int
    patient_key: str
    code: str
    expires_at: datetime
    label: str | None
    first_start: datetime
    zone: str
    visit_type: str
    external_ids: tuple[str, ...] = ()

    def __repr__(self) -> str:  # the code is a credential: never in a log or a traceback
        return f"IssuedInvite(invite_id={self.invite_id}, code=***)"

    def link(self, bot_username: str) -> str:
        return deep_link(bot_username, self.code)


@dataclass(frozen=True, slots=True)
class RowOutcome:
    """One row's result. ``error`` says why a row was refused (a field and what was expected,
    never a value); ``invite`` is a link made for this row's patient (on the first of their
    rows); ``invite_pending``: a link made earlier, not opened yet, covers them."""

    result: RowResult
    source: str
    external_id: str | None
    line: int | None = None
    error: RowError | None = None
    patient_key: str | None = None
    linked: bool = False
    invite: IssuedInvite | None = None
    invite_pending: bool = False
    zone_assumed: bool = False
    ambiguous: bool = False
    state: VisitState | None = None
    """The visit as it is now (put and cancel only: an import of thousands does not read it)."""


@dataclass(frozen=True)
class IntakeReport:
    """What a preview would do, or an apply did, row by row, in the rows' order."""

    outcomes: tuple[RowOutcome, ...]
    applied: bool
    new_links: int = 0
    """Patients who get (or, in a preview, would get) a new invite link."""

    @property
    def counts(self) -> Counter[RowResult]:
        return Counter(o.result for o in self.outcomes)

    @property
    def errors(self) -> tuple[RowOutcome, ...]:
        return tuple(o for o in self.outcomes if o.result is RowResult.ERROR)

    @property
    def invites(self) -> tuple[IssuedInvite, ...]:
        """The links made, one per patient, each with the ids of the visits of these rows it
        covers (their patient's booked, upcoming visits), in the order of the rows."""
        made = {o.invite.patient_key: o.invite for o in self.outcomes if o.invite is not None}
        covered: dict[str, list[str]] = {key: [] for key in made}
        for outcome in self.outcomes:
            key = outcome.patient_key
            if (
                key in covered
                and outcome.external_id
                and (outcome.invite or outcome.invite_pending)
            ):
                covered[key].append(outcome.external_id)
        return tuple(
            replace(invite, external_ids=tuple(covered[key])) for key, invite in made.items()
        )


@dataclass(frozen=True, slots=True)
class VisitLinked:
    """A visit of the schedule now has the patient's appointment (on redemption, or imported
    for a patient linked before): what the clinic's integration is told (``visit.linked``)."""

    source: str
    external_id: str
    appointment_id: int
    at: datetime


LinkedRecorder = Callable[[VisitLinked], Awaitable[None]]
"""Records ``visit.linked`` for the clinic's webhook (wt-events' recorder, in the same
transaction); None: nothing is recorded."""


class IntakeLinker:
    """Attaches visits of the schedule to the bot's patient: every upcoming visit of a patient
    when they open their invite, one visit when it is imported for a patient linked before.
    Used by the invites service (redeeming) and the intake service (importing)."""

    def __init__(
        self,
        visits: IntakeRepository,
        repo: Repository,
        planner: ReminderPlanner,
        notices: PatientNotices,
        clock: Clock,
        *,
        on_linked: LinkedRecorder | None = None,
    ) -> None:
        self.visits = visits
        self.repo = repo
        self.planner = planner
        self.notices = notices
        self.clock = clock
        self.on_linked = on_linked

    async def redeem(self, patient: Patient, invite: Invite) -> Appointment | None:
        """Link the invite's patient of the schedule to `patient` and attach their upcoming
        booked visits, in the caller's transaction (the invite already claimed); the earliest
        appointment, or None when nothing is left to attach (the caller rolls back: the link
        has nothing to give)."""
        key = invite.patient_key
        assert key is not None
        now = self.clock.now()
        row = await self.visits.patient(key)
        if row is None:
            row = self.visits.add_patient(key, now)
            await self.visits.flush()
        if row.patient_id is None and not await self.visits.link(key, patient.id, now):
            await self.visits.session.refresh(row)
        if row.patient_id not in (None, patient.id):
            return None  # linked to someone else meanwhile: this link has nothing to give
        first: Appointment | None = None
        had: list[int] = []  # attached before (a second link of a patient linked already)
        for visit in await self.visits.visits_of(key):
            if visit.appointment_id is not None and visit.status == BOOKED:
                had.append(visit.appointment_id)
            appointment = await self.attach(visit, patient, tell=False)
            if appointment is not None and (
                first is None or appointment.starts_at < first.starts_at
            ):
                first = appointment
        if first is None and had:
            now = self.clock.now()
            ahead = [
                a
                for a in (await self.visits.appointments(had)).values()
                if a.patient_id == patient.id and a.status == SCHEDULED and a.starts_at > now
            ]
            first = min(ahead, key=lambda a: a.starts_at, default=None)
        return first

    async def attach(
        self, visit: IntakeVisit, patient: Patient, *, tell: bool
    ) -> Appointment | None:
        """The visit as the patient's appointment (planned as every visit is), if it is booked,
        upcoming and not attached yet; `tell`: the patient hears of it (a visit imported after
        they linked). A visit at a time the patient had booked themselves is linked to that."""
        now = self.clock.now()
        if visit.status != BOOKED or visit.starts_at <= now or visit.appointment_id is not None:
            return None
        appointment = await self.repo.appointment_at(patient.id, visit.starts_at)
        if appointment is None:
            appointment = await self.repo.add_appointment(
                patient_id=patient.id,
                starts_at=visit.starts_at,
                timezone=visit.timezone,
                now=now,
                visit_type=visit.visit_type,
            )
            await self.planner.plan_for(appointment)
            if tell:
                await self.notices.visit_added(self.repo, patient, appointment)
        visit.appointment_id = appointment.id
        await self.visits.flush()
        # wt-events: "visit.linked" is recorded here, in this transaction (on_linked).
        if self.on_linked is not None:
            await self.on_linked(VisitLinked(visit.source, visit.external_id, appointment.id, now))
        return appointment


@dataclass
class _NewInvite:
    """An invite made in this apply, written with the others in one flush (one batched
    INSERT); the visits it covers get its id then."""

    invite: Invite
    code: str
    row: IntakeRow
    visits: list[IntakeVisit] = field(default_factory=list)

    def issued(self) -> IssuedInvite:
        start = self.row.start
        assert start is not None
        return IssuedInvite(
            self.invite.id,
            self.row.patient_key,
            self.code,
            self.invite.expires_at,
            self.row.label,
            start.at,
            self.invite.timezone,
            self.row.visit_type,
        )


@dataclass
class _Batch:
    """What an apply or preview knows of the rows' visits and patients, read once."""

    visits: dict[str, IntakeVisit]
    patients: dict[str, IntakePatient]
    invites: dict[str, Invite]
    made: dict[str, _NewInvite] = field(default_factory=dict)
    first_rows: set[str] = field(default_factory=set)
    """The rows (by _key) whose patient got a new invite with them."""
    linked: dict[int, Patient] = field(default_factory=dict)
    """The bot's patients of the linked ones, by id (read once)."""
    appointments: dict[int, Appointment] = field(default_factory=dict)
    """The appointments of the visits read, by id (read once)."""
    would_link: set[str] = field(default_factory=set)
    """Preview: the patients who would get a new link."""


Mode = Literal["preview", "apply"]


class IntakeService:
    """See the module's doc. ``rules`` and ``keyer`` come from the settings; without
    INTAKE_PATIENT_KEY (or with intake settings that name unknown words) ``unavailable``
    says why, and every method refuses with :class:`IntakeUnavailable`."""

    def __init__(
        self,
        visits: IntakeRepository,
        repo: Repository,
        linker: IntakeLinker,
        staff: StaffService,
        clock: Clock,
        *,
        rules: IntakeRules | None,
        keyer: PatientKeyer | None,
        unavailable: str | None,
        invite_ttl: timedelta,
        checklist_size: int,
    ) -> None:
        self.visits = visits
        self.repo = repo
        self.linker = linker
        self.staff = staff
        self.clock = clock
        self._rules = rules
        self._keyer = keyer
        self.unavailable = unavailable
        self.invite_ttl = invite_ttl
        self.checklist_size = checklist_size

    # --- settings ---------------------------------------------------------------------------
    @property
    def rules(self) -> IntakeRules:
        if self._rules is None or self.unavailable is not None:
            raise IntakeUnavailable(self.unavailable or "intake is not configured")
        return self._rules

    @property
    def keyer(self) -> PatientKeyer:
        if self._keyer is None or self.unavailable is not None:
            raise IntakeUnavailable(self.unavailable or "INTAKE_PATIENT_KEY is not set")
        return self._keyer

    def read_csv(self, data: bytes, source: str) -> CsvImport:
        """A CSV export as rows (CsvFileError when it is no table)."""
        return read_csv(data, source=source, rules=self.rules, keyer=self.keyer)

    async def require(self, actor: Actor | Surface) -> None:
        """The actor may import visits: a staff member in Telegram (the permission to change
        visits), the command line and the API (authorised by the machine and the token).
        NotAllowed with an audit line otherwise."""
        if isinstance(actor, Actor) and actor.surface in (Surface.TELEGRAM, Surface.WEB):
            await self.staff.require(
                actor, Permission.APPOINTMENTS, action=Action.VISITS_IMPORT, target="intake"
            )

    # --- the API's names ------------------------------------------------------------------
    async def preview(self, rows: Iterable[IntakeRow | RowError]) -> IntakeReport:
        """What :meth:`apply` would do, row by row; nothing is written."""
        self.rules  # noqa: B018 - refuses when intake is not configured
        items = list(rows)
        batch = await self._read(items)
        outcomes = [await self._row(item, batch, "preview") for item in items]
        return IntakeReport(tuple(outcomes), applied=False, new_links=len(batch.would_link))

    async def apply(
        self,
        rows: Iterable[IntakeRow | RowError],
        actor: Actor | Surface,
        *,
        new_links: bool = False,
    ) -> IntakeReport:
        """Apply the rows in the caller's transaction; one audit line with the counts.
        `new_links`: the links of these rows' patients not opened yet are ended and new ones
        made (the clinic lost the files, the only copy of the links)."""
        self.rules  # noqa: B018
        await self.require(actor)
        items = list(rows)
        batch = await self._read(items)
        if new_links:
            now = self.clock.now()
            for invite in batch.invites.values():
                invite.expires_at = now  # unusable from now on (redeeming checks it)
            batch.invites.clear()
        outcomes = await self._settled(
            [await self._row(item, batch, "apply") for item in items], batch
        )
        report = IntakeReport(tuple(outcomes), applied=True, new_links=len(batch.made))
        sources = sorted({o.source for o in outcomes if o.source})
        await self.staff.audit.done(
            actor,
            Action.VISITS_IMPORT,
            target("intake", ",".join(sources) or "-"),
            after={str(k): v for k, v in sorted(report.counts.items())}
            | {"new_links": report.new_links},
        )
        return report

    async def put(self, row: IntakeRow, actor: Actor | Surface) -> RowOutcome:
        """Create, move or cancel one visit (the API's PUT), with the visit's state after."""
        self.rules  # noqa: B018
        await self.require(actor)
        batch = await self._read_one(row)
        [outcome] = await self._settled([await self._row(row, batch, "apply")], batch)
        if outcome.result is not RowResult.UNCHANGED:
            # Written with the transaction's other lines (the API's own) in one INSERT.
            self.staff.audit.done_later(
                actor,
                Action.VISITS_IMPORT,
                target("intake_visit", f"{row.source}/{row.external_id}"),
                after={"result": str(outcome.result)},
            )
        visit = batch.visits.get(_key(row.source, row.external_id))
        state = (await self._states([visit], batch.patients))[0] if visit is not None else None
        if state is not None and row.start is not None:
            state = state.model_copy(
                update={
                    "zone_assumed": row.start.zone_assumed,
                    "ambiguous": row.start.ambiguous,
                    "fold": row.start.fold,
                }
            )
        return replace(outcome, state=state)

    async def cancel(self, source: str, external_id: str, actor: Actor | Surface) -> RowOutcome:
        """Cancel the visit by its id (the API's DELETE); ``not_found`` if never imported."""
        self.rules  # noqa: B018
        await self.require(actor)
        visit = await self.visits.visit(source, external_id)
        if visit is None:
            return RowOutcome(RowResult.NOT_FOUND, source, external_id)
        row = IntakeRow(
            source=source,
            external_id=external_id,
            patient_key=visit.patient_key,
            start=None,
            visit_type=visit.visit_type,
            status=IntakeStatus.CANCELLED,
            label=visit.label,
            language=visit.language,
            end=visit.ends_at,
        )
        return await self.put(row, actor)

    async def state(self, source: str, external_id: str) -> VisitState | None:
        visit = await self.visits.visit(source, external_id)
        if visit is None:
            return None
        return (await self._states([visit]))[0]

    async def visits_on(self, source: str, day: date) -> list[VisitState]:
        """The visits of `source` starting on `day` in the clinic's zone, earliest first."""
        zone = self.rules.clinic_zone
        start = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
        return await self._states(list(await self.visits.visits_between(source, start, end)))

    # --- the work ---------------------------------------------------------------------------
    async def _read(self, items: Sequence[IntakeRow | RowError]) -> _Batch:
        rows = [r for r in items if isinstance(r, IntakeRow)]
        visits: dict[str, IntakeVisit] = {}
        by_source: dict[str, list[str]] = {}
        for row in rows:
            by_source.setdefault(row.source, []).append(row.external_id)
        for source, ids in by_source.items():
            for external_id, visit in (await self.visits.visits(source, ids)).items():
                visits[_key(source, external_id)] = visit
        keys = {r.patient_key for r in rows}
        patients = await self.visits.patients(keys)
        invites = await self.visits.open_invites(keys, self.clock.now())
        batch = _Batch(visits, patients, invites)
        attached = [v.appointment_id for v in visits.values() if v.appointment_id is not None]
        if attached:
            batch.appointments = await self.visits.appointments(attached)
            linked = {p.patient_id for p in patients.values() if p.patient_id is not None}
            batch.linked = await self.visits.bot_patients(linked)
        return batch

    async def _read_one(self, row: IntakeRow) -> _Batch:
        """:meth:`_read` of one row, in one query (:meth:`IntakeRepository.context`)."""
        found = await self.visits.context(
            row.source, row.external_id, row.patient_key, self.clock.now()
        )
        key = row.patient_key
        batch = _Batch(
            {_key(row.source, row.external_id): found.visit} if found.visit else {},
            {key: found.patient} if found.patient else {},
            {key: found.invite} if found.invite else {},
        )
        if found.appointment is not None:
            batch.appointments[found.appointment.id] = found.appointment
        if found.linked is not None:
            batch.linked[found.linked.id] = found.linked
        return batch

    async def _row(self, item: IntakeRow | RowError, batch: _Batch, mode: Mode) -> RowOutcome:
        if isinstance(item, RowError):
            return RowOutcome(RowResult.ERROR, "", None, line=item.line, error=item)
        row = item
        visit = batch.visits.get(_key(row.source, row.external_id))
        if visit is not None and visit.patient_key != row.patient_key:
            error = RowError(
                RowErrorCode.BAD_PATIENT,
                "patient",
                RowReason.OTHER_PATIENT,
                line=row.line,
            )
            return self._outcome(row, RowResult.ERROR, batch, error=error)
        if visit is None:
            result = await self._create(row, batch, mode)
        else:
            result = await self._update(row, visit, batch, mode)
        await self._link_or_invite(row, batch, mode)
        return self._outcome(row, result, batch)

    def _outcome(
        self,
        row: IntakeRow,
        result: RowResult,
        batch: _Batch,
        *,
        error: RowError | None = None,
    ) -> RowOutcome:
        """The row's outcome; the rows that make a new invite get it once it is written
        (:meth:`_settled`)."""
        patient = batch.patients.get(row.patient_key)
        upcoming = (
            row.status is BOOKED and row.start is not None and row.start.at > self.clock.now()
        )
        pending = upcoming and (row.patient_key in batch.invites or row.patient_key in batch.made)
        return RowOutcome(
            result,
            row.source,
            row.external_id,
            line=row.line,
            error=error,
            patient_key=row.patient_key,
            linked=patient is not None and patient.patient_id is not None,
            invite_pending=pending and not (patient is not None and patient.patient_id),
            zone_assumed=row.start.zone_assumed if row.start else False,
            ambiguous=row.start.ambiguous if row.start else False,
        )

    async def _create(self, row: IntakeRow, batch: _Batch, mode: Mode) -> RowResult:
        if row.start is None:
            return RowResult.UNCHANGED  # a cancel of a visit never imported: nothing to cancel
        result = {
            IntakeStatus.BOOKED: RowResult.CREATED,
            IntakeStatus.CANCELLED: RowResult.CANCELLED,
        }.get(row.status, RowResult.UPDATED)
        if mode == "preview":
            return result
        now = self.clock.now()
        visit = IntakeVisit(
            source=row.source,
            external_id=row.external_id,
            patient_key=row.patient_key,
            starts_at=row.start.at,
            ends_at=row.end,
            timezone=row.start.zone or self.rules.clinic_zone.key,
            visit_type=row.visit_type,
            status=row.status,
            label=row.label,
            language=row.language,
            created_at=now,
            updated_at=now,
            revision=1,
        )
        self.visits.add_visit(visit)
        batch.visits[_key(row.source, row.external_id)] = visit
        if row.patient_key not in batch.patients:
            batch.patients[row.patient_key] = self.visits.add_patient(row.patient_key, now)
        return result

    async def _update(
        self, row: IntakeRow, visit: IntakeVisit, batch: _Batch, mode: Mode
    ) -> RowResult:
        start = row.start.at if row.start else visit.starts_at
        zone = (row.start.zone or self.rules.clinic_zone.key) if row.start else visit.timezone
        new = {
            "starts_at": start,
            "timezone": zone,
            "ends_at": row.end if row.start else visit.ends_at,
            "visit_type": row.visit_type,
            "status": str(row.status),
            "label": row.label,
            "language": row.language,
        }
        old = {name: getattr(visit, name) for name in new}
        if new == old:
            return RowResult.UNCHANGED
        was, status = IntakeStatus(visit.status), row.status
        moved = new["starts_at"] != old["starts_at"]
        if status is IntakeStatus.CANCELLED and was is not IntakeStatus.CANCELLED:
            result = RowResult.CANCELLED
        elif status is BOOKED and was is not BOOKED:
            result = RowResult.CREATED  # booked again
        elif moved and status is BOOKED:
            result = RowResult.MOVED
        else:
            result = RowResult.UPDATED
        if mode == "preview":
            return result
        now = self.clock.now()
        before_start = visit.starts_at
        for name, value in new.items():
            setattr(visit, name, value)
        visit.updated_at = now
        # One revision per row that changed something (bot/intake/events.py), counted in SQL.
        await self.visits.revise(visit)
        if visit.appointment_id is not None:
            await self._follow(visit, was, before_start, batch)
        return result

    async def _follow(
        self, visit: IntakeVisit, was: IntakeStatus, before: datetime, batch: _Batch
    ) -> None:
        """Bring the linked patient's appointment in line with the visit just changed."""
        assert visit.appointment_id is not None
        appointment = batch.appointments.get(visit.appointment_id)
        if appointment is None:
            found = await self.visits.appointments([visit.appointment_id])
            appointment = found.get(visit.appointment_id)
        if appointment is None:
            visit.appointment_id = None
            return
        patient = await self._patient(appointment.patient_id, batch)
        if patient is None:
            return
        planner, notices, now = self.linker.planner, self.linker.notices, self.clock.now()
        status = IntakeStatus(visit.status)
        if appointment.status != SCHEDULED:
            if status is BOOKED:  # booked again after a cancellation: a new appointment
                visit.appointment_id = None
                await self.linker.attach(visit, patient, tell=True)
            return
        if status is IntakeStatus.CANCELLED:
            if await self._change(appointment, now, status=CANCELLED):
                await planner.cancel(appointment)
                if appointment.starts_at > now:
                    await notices.visit_cancelled(self.repo, patient, appointment)
            return
        changes: dict[str, object] = {}
        if appointment.starts_at != visit.starts_at:
            changes.update(starts_at=visit.starts_at, timezone=visit.timezone, attendance=None)
        if appointment.visit_type != visit.visit_type:
            changes["visit_type"] = visit.visit_type
        if changes and not await self._change(appointment, now, **changes):
            return
        if status is IntakeStatus.NOSHOW:
            await planner.cancel(appointment)
            return
        if changes:
            await planner.plan_for(appointment, keep_sent=True)
        if "starts_at" in changes and visit.starts_at > now:
            await notices.visit_moved(self.repo, patient, appointment, before)

    async def _change(self, appointment: Appointment, now: datetime, **values: object) -> bool:
        """The appointment changed as every change of a visit is (a conditional UPDATE on its
        version); a change that raced (the patient's own) is read back and tried once more."""
        for _ in range(2):
            if await self.repo.change_visit(appointment, now, **values):
                return True
            await self.repo.reload(appointment)
            if appointment.status != SCHEDULED:
                return False
        return False

    async def _patient(self, patient_id: int, batch: _Batch) -> Patient | None:
        if patient_id not in batch.linked:
            found = await self.repo.patient_by_id(patient_id)
            if found is None:
                return None
            batch.linked[patient_id] = found
        return batch.linked[patient_id]

    async def _settled(self, outcomes: list[RowOutcome], batch: _Batch) -> list[RowOutcome]:
        """Write what the rows made (the new invites in one batched INSERT), give the visits
        their invite, and the rows that made one its link."""
        await self.visits.flush()
        if not batch.made:
            return outcomes
        for made in batch.made.values():
            for visit in made.visits:
                visit.invite_id = made.invite.id
        await self.visits.flush()
        issued = {key: made.issued() for key, made in batch.made.items()}
        return [
            replace(o, invite=issued[o.patient_key], invite_pending=False)
            if o.patient_key is not None
            and o.external_id is not None
            and _key(o.source, o.external_id) in batch.first_rows
            else o
            for o in outcomes
        ]

    async def _link_or_invite(self, row: IntakeRow, batch: _Batch, mode: Mode) -> None:
        """A linked patient's booked upcoming visit attaches to them (and they are told); an
        unlinked patient's first such visit makes their invite, reused by the others."""
        now = self.clock.now()
        if row.status is not BOOKED or row.start is None or row.start.at <= now:
            return
        key = row.patient_key
        known = batch.patients.get(key)
        if known is not None and known.patient_id is not None:
            if mode == "apply":
                visit = batch.visits[_key(row.source, row.external_id)]
                patient = await self._patient(known.patient_id, batch)
                if patient is not None:
                    await self.linker.attach(visit, patient, tell=True)
            return
        if key in batch.invites or key in batch.made:
            if mode == "apply" and key in batch.made:
                batch.made[key].visits.append(batch.visits[_key(row.source, row.external_id)])
            elif mode == "apply":
                batch.visits[_key(row.source, row.external_id)].invite_id = batch.invites[key].id
            return
        if mode == "preview":
            batch.would_link.add(key)
            return
        made = self._invite(row, now)
        made.visits.append(batch.visits[_key(row.source, row.external_id)])
        batch.made[key] = made
        batch.first_rows.add(_key(row.source, row.external_id))

    def _invite(self, row: IntakeRow, now: datetime) -> _NewInvite:
        assert row.start is not None
        code = new_code()
        label = (row.label or IMPORT_LABEL)[:LABEL_MAX]
        zone = row.start.zone or self.rules.clinic_zone.key
        invite = Invite(
            code_hash=code_hash(code),
            label=label,
            starts_at=row.start.at,
            timezone=zone,
            created_by=0,
            created_at=now,
            # The patient's first visit may be tomorrow and the next in three weeks: the link
            # lasts its time to live (redeeming attaches what is still ahead).
            expires_at=now + self.invite_ttl,
            visit_type=row.visit_type,
            patient_key=row.patient_key,
        )
        self.visits.session.add(invite)
        return _NewInvite(invite, code, row)

    async def _states(
        self,
        visits: Sequence[IntakeVisit],
        read: dict[str, IntakePatient] | None = None,
    ) -> list[VisitState]:
        """The visits' states. `read`: patients of the schedule read already in this
        transaction (a put's own); visits without an appointment then need no query."""
        ids = [v.appointment_id for v in visits if v.appointment_id is not None]
        appointments = await self.visits.appointments(ids)
        tallies = await self.visits.reminder_tallies(ids)
        ticks = await self.visits.ticks(ids)
        patients = dict(read or {})
        missing = {v.patient_key for v in visits} - patients.keys()
        if missing:
            patients.update(await self.visits.patients(missing))
        states = []
        for visit in visits:
            appointment = appointments.get(visit.appointment_id or -1)
            tally: dict[str, int] = tallies.get(visit.appointment_id or -1, {})
            zone = load_zone(visit.timezone)
            local = visit.starts_at.astimezone(zone).replace(tzinfo=None)
            twice = _happens_twice(local, visit.timezone)
            known = patients.get(visit.patient_key)
            states.append(
                VisitState(
                    source=visit.source,
                    external_id=visit.external_id,
                    status=IntakeStatus(visit.status),
                    start=visit.starts_at,
                    zone=visit.timezone,
                    zone_assumed=False,
                    ambiguous=twice,
                    fold=1 if twice and visit.starts_at.astimezone(zone).fold else 0,
                    visit_type=visit.visit_type,
                    label=visit.label,
                    linked=known is not None and known.patient_id is not None,
                    reminders=ReminderCounts(
                        sent=tally.get("sent", 0),
                        failed=tally.get("failed", 0),
                        pending=tally.get("pending", 0),
                    ),
                    attendance=Attendance(appointment.attendance)
                    if appointment is not None and appointment.attendance
                    else None,
                    checkin=Checkin(appointment.checkin)
                    if appointment is not None and appointment.checkin
                    else None,
                    checklist=ChecklistProgress(
                        done=ticks.get(visit.appointment_id or -1, 0)
                        if appointment is not None
                        else 0,
                        total=self.checklist_size,
                    ),
                    revision=visit.revision,
                )
            )
        return states


def _key(source: str, external_id: str) -> str:
    return f"{source}\x00{external_id}"


def _happens_twice(wall: datetime, zone_name: str) -> bool:
    zone = load_zone(zone_name)
    one, other = (wall.replace(tzinfo=zone, fold=f).astimezone(UTC) for f in (0, 1))
    return one != other


def intake_settings(
    settings: Settings, languages: Iterable[str]
) -> tuple[IntakeRules | None, PatientKeyer | None, str | None]:
    """The intake rules and the patient keyer the settings give, or the one line saying why
    there are none (INTAKE_PATIENT_KEY unset; a status or type mapped to an unknown word)."""
    try:
        rules = IntakeRules.build(
            clinic_zone=settings.clinic_timezone,
            visit_types={str(t) for t in VisitType},
            languages=set(languages),
            statuses=settings.intake_statuses,
            visit_type_aliases=settings.intake_visit_types,
        )
    except ValueError as exc:
        return None, None, f"INTAKE_STATUSES / INTAKE_VISIT_TYPES: {exc}"
    secret = settings.intake_patient_key
    if secret is None:
        return (
            rules,
            None,
            (
                "visits cannot be imported: INTAKE_PATIENT_KEY is not set (a secret of at least "
                "32 bytes; see .env.example)"
            ),
        )
    return rules, PatientKeyer(secret.get_secret_value()), None
