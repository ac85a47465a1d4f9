"""Staff move or cancel a visit the clinic made, and the patient is told.

A visit is the clinic's when it came through an invite (`invites.appointment_id`): staff chose
its time. A visit the patient booked themselves is their own record of it and stays theirs to
change (refused as ``self_booked``, with an audit line). Every call checks the permission first
(StaffService.require: NotAllowed and a refused line for anyone else).

A move reads the new time as the invite did (the clinic's zone, the patients' reader, a time
that happens twice offered both ways, a week typed while "next tuesday"'s two weeks are offered
read as a patient's), keeps to the booking rules (not past, within a year, not at a time the
patient already has a visit) and, in the caller's transaction: changes the visit with a
conditional UPDATE (of two taps racing, one changes it), plans its reminders again (steps
already sent are never sent again), queues the patient's notice in the outbox
(`PatientNotices`), counts the change on the visit's revision when it is one of a clinic's
schedule and tells the clinic's system (``visit.moved``, ``visit.cancelled``: the appointment
service's `IntakeEvents`, as a patient's own change does, bot/services/intake_events.py) and
writes the audit line. A cancel likewise. Moving a visit to the time it has, or cancelling one
already cancelled, changes nothing, counts nothing and says so (`changed` False).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from bot.db.visit_changes import ClinicVisit, VisitChangeRepository
from bot.domain.audit import Action, Actor, iso_utc, target
from bot.domain.refusals import VisitChangeProblem
from bot.domain.staff import Permission
from bot.domain.visits import AppointmentStatus, BookingProblem
from bot.domain.which_week import WeekWords
from bot.services.appointments import Ambiguity, AppointmentService, VisitTime
from bot.services.errors import BookingRefused, VisitChangedMeanwhile, VisitChangeRefused
from bot.services.patient_notices import PatientNotices
from bot.services.staff import StaffService
from foundation.clock import Clock
from foundation.timemath import UnknownZone, load_zone, to_local

__all__ = ["Reading", "VisitChange", "VisitChangeService", "VisitView"]


@dataclass(frozen=True, slots=True)
class VisitView:
    """A visit as staff see it: its start in the clinic's zone and the invite's label."""

    appointment_id: int
    local: datetime
    label: str
    version: int = 0
    """The visit's version as shown: a move or cancel confirmed on it is made only if the visit
    is still that version (else VisitChangedMeanwhile says what it is now)."""


@dataclass(frozen=True, slots=True)
class Reading:
    """A new time read for a visit: the visit as it is, and the time (both readings when it
    happens twice)."""

    visit: VisitView
    time: VisitTime | Ambiguity


@dataclass(frozen=True, slots=True)
class VisitChange:
    """What a move or a cancel did: the visit `before` and as it is now; `changed` False when
    this call found it already so (a second tap)."""

    before: VisitView
    after: VisitView
    changed: bool


class VisitChangeService:
    def __init__(
        self,
        visits: VisitChangeRepository,
        staff: StaffService,
        appointments: AppointmentService,
        notices: PatientNotices,
        clock: Clock,
        *,
        zone: str,
    ) -> None:
        self.visits = visits
        self.staff = staff
        self.appointments = appointments
        self.notices = notices
        self.clock = clock
        self.zone = load_zone(zone)

    @property
    def default_zone(self) -> str:
        return self.zone.key

    def example(self, visit_at: datetime | None = None) -> datetime:
        """A time to show staff as an example, in the clinic's zone: a few days ahead
        (AppointmentService.example), so typing it back is never refused as past; not on the
        day of the visit being moved (`visit_at`, its start; a day later then), so it is never
        the time the visit has."""
        example = self.appointments.example(self.zone.key)
        if visit_at is not None and example.date() == to_local(visit_at, self.zone).date():
            return self.appointments.example(self.zone.key, days=4)
        return example

    async def require(self, actor: Actor, appointment_id: int, action: Action) -> None:
        """The actor may change visits; NotAllowed, with an audit line, otherwise."""
        await self.staff.require(
            actor,
            Permission.APPOINTMENTS,
            action=action,
            target=target("appointment", appointment_id),
        )

    async def visit(self, actor: Actor, appointment_id: int, action: Action) -> VisitView:
        """A visit staff may still change (`action` names the attempt in the audit log)."""
        return self._view(await self._changeable(actor, appointment_id, action))

    async def read_time(
        self, actor: Actor, appointment_id: int, when: str | datetime, lang: str = "en"
    ) -> Reading:
        """The new time of a move: typed text (in the clinic's zone, in the member's language,
        `lang`) or an instant, checked as :meth:`move` will check it; nothing stored.
        VisitChangeRefused says why not."""
        found = await self._changeable(actor, appointment_id, Action.VISIT_MOVE)
        try:
            reading = self._reading(when, lang)
        except VisitChangeRefused as exc:  # the answer's example: not the visit's own time
            view = self._view(found)
            raise VisitChangeRefused(exc.code, visit_at=view.local) from exc
        if isinstance(reading, VisitTime):
            await self._check_free(found, reading)
        return Reading(self._view(found), reading)

    async def week_typed(
        self,
        actor: Actor,
        appointment_id: int,
        text: str,
        earlier: VisitTime,
        later: VisitTime,
        words: WeekWords,
        lang: str = "en",
    ) -> Reading | None:
        """Typed while a move's two weeks are offered (`earlier`: this week's day, `later`:
        next week's), read as /invite's and a patient's are (AppointmentService.week_typed):
        the day it picks, checked as a tap on it is (:meth:`read_time`), or the two again (the
        member is not sure, or asks about them); None when it is no such answer (a new
        time)."""
        typed = self.appointments.week_typed(text, earlier, later, words, lang)
        if typed is None:
            return None
        if isinstance(typed, Ambiguity):
            return Reading(await self.visit(actor, appointment_id, Action.VISIT_MOVE), typed)
        return await self.read_time(actor, appointment_id, typed.starts_at)

    async def _check_free(self, found: ClinicVisit, proposal: VisitTime) -> None:
        """The patient has no other visit at that time (one per patient and start)."""
        if await self.appointments.repo.appointment_at(
            found.patient.id, proposal.starts_at, exclude_id=found.appointment.id
        ):
            raise VisitChangeRefused(BookingProblem.DUPLICATE)

    def _reading(self, when: str | datetime, lang: str = "en") -> VisitTime | Ambiguity:
        try:
            if isinstance(when, str):
                return self.appointments.read(when, self.zone.key, lang)
            return self.appointments.check(VisitTime(when.astimezone(UTC), self.zone.key))
        except UnknownZone as exc:
            raise VisitChangeRefused(VisitChangeProblem.UNKNOWN_ZONE) from exc
        except BookingRefused as exc:
            raise VisitChangeRefused(exc.code) from exc

    async def move(
        self,
        actor: Actor,
        appointment_id: int,
        starts_at: datetime,
        version: int | None = None,
    ) -> VisitChange:
        """Move the visit to `starts_at` (an aware instant), tell the patient, re-plan.
        `version`: the visit as the member saw it when they confirmed; changed since (by the
        patient or a colleague, before or while this runs), it is not moved, and
        VisitChangedMeanwhile says what it is now, unless it is already at `starts_at` (a
        second tap: `changed` False)."""
        found = await self._changeable(actor, appointment_id, Action.VISIT_MOVE)
        appointment, patient = found.appointment, found.patient
        before = self._view(found)
        proposal = self._reading(starts_at)
        assert isinstance(proposal, VisitTime)  # an instant is never ambiguous
        if appointment.starts_at == proposal.starts_at:
            return VisitChange(before, before, changed=False)
        if version is not None and appointment.version != version:
            raise self._meanwhile(found)
        repo = self.appointments.repo
        await self._check_free(found, proposal)
        old = appointment.starts_at
        now = self.clock.now()
        if not await self.visits.move(appointment, proposal.starts_at, proposal.zone, now):
            # Another change came first, and has committed: a racing tap of this offer (then
            # the visit is where this one wanted it), the patient's or a colleague's.
            await self.visits.reload(appointment)
            if appointment.status == AppointmentStatus.SCHEDULED and (
                appointment.starts_at == proposal.starts_at
            ):
                return VisitChange(before, self._view(found), changed=False)
            raise self._meanwhile(found)
        await self.appointments.planner.plan_for(appointment, keep_sent=True)
        await self.notices.visit_moved(repo, patient, appointment, old)
        events = self.appointments.events
        if events is not None:  # the revision + 1 and "visit.moved", in this transaction
            await events.visit_moved(repo, appointment.id, proposal.starts_at, proposal.zone)
        await self.staff.audit.done(
            actor,
            Action.VISIT_MOVE,
            target("appointment", appointment.id),
            before={"starts_at": iso_utc(old), "status": AppointmentStatus.SCHEDULED},
            after={
                "starts_at": iso_utc(appointment.starts_at),
                "status": appointment.status,
                "patient_id": patient.id,
            },
        )
        return VisitChange(before, self._view(found), changed=True)

    async def cancel(
        self, actor: Actor, appointment_id: int, version: int | None = None
    ) -> VisitChange:
        """Cancel the visit, tell the patient, stop its reminders. `version` as for
        :meth:`move`: a visit changed since the member saw it is not cancelled."""
        where = target("appointment", appointment_id)
        await self.require(actor, appointment_id, Action.VISIT_CANCEL)
        found = await self.visits.visit(appointment_id)
        if (
            found is not None
            and found.label is not None
            and (found.appointment.status == AppointmentStatus.CANCELLED)
        ):
            view = self._view(found)
            return VisitChange(view, view, changed=False)  # a second tap
        found = await self._changeable(actor, appointment_id, Action.VISIT_CANCEL)
        appointment, patient = found.appointment, found.patient
        before = self._view(found)
        if version is not None and appointment.version != version:
            raise self._meanwhile(found)
        if not await self.visits.cancel(appointment, self.clock.now()):
            await self.visits.reload(appointment)
            if appointment.status == AppointmentStatus.CANCELLED:
                return VisitChange(before, before, changed=False)
            raise self._meanwhile(found)
        await self.appointments.planner.cancel(appointment)
        await self.notices.visit_cancelled(self.appointments.repo, patient, appointment)
        if self.appointments.events is not None:  # the revision + 1 and "visit.cancelled"
            await self.appointments.events.visit_cancelled(self.appointments.repo, appointment.id)
        await self.staff.audit.done(
            actor,
            Action.VISIT_CANCEL,
            where,
            before={
                "starts_at": iso_utc(appointment.starts_at),
                "status": AppointmentStatus.SCHEDULED,
            },
            after={
                "starts_at": iso_utc(appointment.starts_at),
                "status": appointment.status,
                "patient_id": patient.id,
            },
        )
        return VisitChange(before, before, changed=True)

    def _meanwhile(self, found: ClinicVisit) -> VisitChangedMeanwhile:
        """The refusal that tells the member what the visit is now (as read last)."""
        appointment = found.appointment
        if appointment.status == AppointmentStatus.CANCELLED:
            return VisitChangedMeanwhile(None, None, label=found.label or "")
        return VisitChangedMeanwhile(appointment.starts_at, self.zone.key, label=found.label or "")

    async def _changeable(self, actor: Actor, appointment_id: int, action: Action) -> ClinicVisit:
        """The visit, if the actor may change it and it can still be changed: scheduled, not
        begun, and made by the clinic (a self-booked one is refused with an audit line)."""
        await self.require(actor, appointment_id, action)
        found = await self.visits.visit(appointment_id)
        if (
            found is None
            or found.appointment.status != AppointmentStatus.SCHEDULED
            or found.appointment.starts_at <= self.clock.now()
        ):
            raise VisitChangeRefused(VisitChangeProblem.GONE)
        if found.label is None:
            where = target("appointment", appointment_id)
            await self.staff.audit.refused(
                actor, action, where, reason=VisitChangeProblem.SELF_BOOKED
            )
            raise VisitChangeRefused(VisitChangeProblem.SELF_BOOKED)
        return found

    def _view(self, found: ClinicVisit) -> VisitView:
        return VisitView(
            found.appointment.id,
            to_local(found.appointment.starts_at, self.zone),
            found.label or "",
            found.appointment.version,
        )
