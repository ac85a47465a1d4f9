"""Reminder planning and the patient's own controls (checklist, snooze, attendance, pause).

Planning runs in the same transaction as the appointment change that caused it, so the
database never holds an appointment whose reminders disagree with it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.db.models import Appointment, Patient, Reminder
from bot.db.patients import Repository
from bot.db.reminders import EXPIRED, PENDING, SENDING, SENT, SKIPPED
from bot.domain.visits import AppointmentStatus, Attendance, Checkin
from bot.services.errors import (
    NoSuchAppointment,
    NothingToTick,
    SnoozeRefused,
    UnknownItem,
    VisitOver,
)
from bot.services.intake_events import IntakeEvents
from foundation.clock import Clock
from foundation.timemath import load_zone
from scheduler.due import compute_due, snooze_until
from scheduler.plan import MAX_OFFSET, Plan, Preparation, Step
from scheduler.queue import Reason

Wake = Callable[[datetime], None]
PlanOf = Callable[[str], Plan]
"""The live plan of a visit type (bot/content/loading.py ``ContentFiles.plan_for``)."""


def _no_wake(_: datetime) -> None:
    """Used where nothing needs waking (tests, CLI)."""


_NEVER_TRIED = frozenset(
    {Reason.STEP_REMOVED, Reason.NO_ALLOWED_TIME, Reason.BOOKED_LATE, Reason.PLAN_CHANGED}
)
"""Reasons of closed rows that were never claimed: a new plan may give them a time again."""


@dataclass(frozen=True)
class Replanned:
    """What a plan change did to the reminders: rows whose time or status changed (`moved`),
    pending rows of steps switched off or gone (`stopped`), rows of new steps (`added`)."""

    appointments: int
    moved: int
    stopped: int
    added: int
    earliest: datetime | None


class ReminderPlanner:
    """Plans each appointment's reminders by the plan of its own type (`plans`: the live plan
    of a visit type; a single Plan is every type's, for tools and tests)."""

    def __init__(
        self, repo: Repository, plans: PlanOf | Plan, clock: Clock, wake: Wake = _no_wake
    ) -> None:
        self.repo = repo
        self.plans: PlanOf = (lambda _kind: plans) if isinstance(plans, Plan) else plans
        self.clock = clock
        self.wake = wake

    def plan_of(self, appointment: Appointment) -> Plan:
        """The plan the appointment follows: its type's."""
        return self.plans(appointment.visit_type)

    async def plan_for(
        self, appointment: Appointment, *, keep_sent: bool = False
    ) -> list[Reminder]:
        """(Re)build the rows of every plan step for this appointment.

        A step already past but still useful is due now: the engine sends all such steps of one
        appointment as a single catch-up message, never as a burst. A step with no useful moment
        left is recorded as expired, so the history shows why it never came. A pending row of a
        step switched off is skipped. With `keep_sent` (the clinic moved the visit and told the
        patient so), a step already sent, or being sent right now, is left as it is: it is never
        sent a second time.
        """
        now = self.clock.now()
        plan = self.plan_of(appointment)
        zone = load_zone(appointment.timezone)
        existing = await self.repo.reminders.for_appointment(appointment.id)
        rows: list[Reminder] = []
        earliest: datetime | None = None
        for key, other in existing.items():
            if plan.step(key) is None and other.status == PENDING:
                _stop(other, now)  # a step of another plan (the visit's type changed)
        for step in plan.steps:
            row = existing.get(step.key)
            if not step.enabled:
                if row is not None and row.status == PENDING:
                    _stop(row, now)
                continue
            if keep_sent and row is not None and row.status in (SENT, SENDING):
                rows.append(row)
                continue
            if row is None:
                row = self.repo.reminders.new_row(appointment.id, step.key)
            row.sent_at = None
            row.message_id = None
            if _place(row, step, appointment, zone, plan, now, Reason.BOOKED_LATE):
                earliest = _earlier(earliest, row.due_at)
            rows.append(row)
        await self.repo.reminders.flush()
        if earliest is not None:
            self.wake(earliest)
        return rows

    async def replan_type(self, visit_type: str, plan: Plan | None = None) -> Replanned:
        """Bring the reminders of every scheduled appointment of `visit_type` (from 30 days
        back, for their follow-ups) in line with `plan` (default: the type's live plan), after
        that type's plan changed; visits of other types are not touched. Only rows never sent are
        touched: a pending row gets its step's new time and expiry (a snoozed one keeps the
        time the patient asked for), a pending row of a step switched off or gone is skipped at
        once, a step that is new (or back on) gets a row where it still has a useful moment.
        Rows sent, being sent, done or expired by the engine stay as they are."""
        now = self.clock.now()
        if plan is None:
            plan = self.plans(visit_type)
        appointments = await self.repo.scheduled_since(now - MAX_OFFSET, visit_type)
        by_appointment = await self.repo.reminders.for_appointments([a.id for a in appointments])
        moved = stopped = added = 0
        earliest: datetime | None = None
        for appointment in appointments:
            zone = load_zone(appointment.timezone)
            existing = by_appointment.get(appointment.id, {})
            for key, row in existing.items():
                if plan.active_step(key) is None and row.status == PENDING:
                    _stop(row, now)
                    stopped += 1
            for step in plan.active_steps:
                found = existing.get(step.key)
                if found is None:
                    due = compute_due(step, appointment.starts_at, zone, plan.quiet_hours)
                    if due is None or due.expires <= now:
                        continue  # a new step with no useful moment left: nothing to plan
                    row = self.repo.reminders.new_row(appointment.id, step.key)
                    added += 1
                    pending = _place(row, step, appointment, zone, plan, now, Reason.PLAN_CHANGED)
                elif _replannable(found):
                    row = found
                    before = (row.status, row.due_at, row.expires_at)
                    if row.reason == Reason.SNOOZED:
                        pending = _keep_snoozed(row, step, appointment, zone, plan, now)
                    else:
                        pending = _place(
                            row, step, appointment, zone, plan, now, Reason.PLAN_CHANGED
                        )
                    moved += before != (row.status, row.due_at, row.expires_at)
                else:
                    continue
                if pending:
                    earliest = _earlier(earliest, row.due_at)
        await self.repo.reminders.flush()
        if earliest is not None:
            self.wake(earliest)
        return Replanned(len(appointments), moved, stopped, added, earliest)

    async def cancel(self, appointment: Appointment) -> None:
        await self.repo.reminders.skip_open_for_appointment(
            appointment.id, Reason.CANCELLED, self.clock.now()
        )


def _earlier(earliest: datetime | None, when: datetime) -> datetime:
    return when if earliest is None else min(earliest, when)


def _replannable(row: Reminder) -> bool:
    """A row never claimed: pending, or closed before any attempt for lack of a moment."""
    if row.status == PENDING:
        return True
    return row.status in (SKIPPED, EXPIRED) and row.attempts == 0 and row.reason in _NEVER_TRIED


def _stop(row: Reminder, now: datetime) -> None:
    row.status, row.reason = SKIPPED, Reason.STEP_REMOVED
    row.updated_at = now


def _place(
    row: Reminder,
    step: Step,
    appointment: Appointment,
    zone: ZoneInfo,
    plan: Plan,
    now: datetime,
    late: Reason,
) -> bool:
    """Give a row its step's due time and expiry as of `now` (fresh: no lease, no attempts);
    True when it is pending. `late` is the reason recorded when its window already closed."""
    due = compute_due(step, appointment.starts_at, zone, plan.quiet_hours)
    row.lease_owner = None
    row.lease_until = None
    row.attempts = 0
    row.updated_at = now
    if due is None:
        row.due_at = appointment.starts_at
        row.expires_at = appointment.starts_at
        row.status, row.reason = SKIPPED, Reason.NO_ALLOWED_TIME
        return False
    if due.expires <= now:
        row.due_at, row.expires_at = due.due, due.expires
        row.status, row.reason = EXPIRED, late
        return False
    row.due_at = max(due.due, now)
    row.expires_at = due.expires
    row.status, row.reason = PENDING, (Reason.CATCH_UP if due.due < now else None)
    return True


def _keep_snoozed(
    row: Reminder, step: Step, appointment: Appointment, zone: ZoneInfo, plan: Plan, now: datetime
) -> bool:
    """A snoozed row keeps the moment the patient chose, within the step's new expiry."""
    due = compute_due(step, appointment.starts_at, zone, plan.quiet_hours)
    expires = due.expires if due is not None else appointment.starts_at
    row.expires_at = expires
    row.updated_at = now
    if row.due_at >= expires:
        row.status, row.reason = EXPIRED, Reason.PLAN_CHANGED
        return False
    return True


@dataclass(frozen=True)
class ChecklistItem:
    key: str
    done: bool


@dataclass(frozen=True)
class Checklist:
    appointment: Appointment
    items: tuple[ChecklistItem, ...]

    @property
    def ticks(self) -> set[str]:
        return {item.key for item in self.items if item.done}


@dataclass(frozen=True)
class SaidTicks:
    """What a patient's "I've done it" (bot/domain/checklist_said.py) did to the checklist of
    their next visit: the items it `ticked` and those said that were `already` ticked, each in
    the plan's order."""

    checklist: Checklist
    ticked: tuple[str, ...]
    already: tuple[str, ...]


class PreparationService:
    """What the patient does with reminders: tick items, snooze, answer attendance, pause.
    Each visit follows the plan of its own type (`plans`)."""

    def __init__(
        self,
        repo: Repository,
        plans: PlanOf,
        clock: Clock,
        wake: Wake = _no_wake,
        *,
        visit_types: tuple[str, ...] = (),
        events: IntakeEvents | None = None,
    ) -> None:
        self.repo = repo
        self.plans = plans
        self.clock = clock
        self.wake = wake
        self.visit_types = visit_types
        """Every visit type (their plans' check-in steps are looked for)."""
        # The clinic's systems are told of the answers below (bot/services/intake_events.py).
        self.events = events

    def plan_of(self, appointment: Appointment) -> Plan:
        return self.plans(appointment.visit_type)

    async def checklist(self, appointment: Appointment) -> Checklist:
        ticks = await self.repo.reminders.ticks(appointment.id)
        checklist = self.plan_of(appointment).checklist
        return Checklist(appointment, tuple(ChecklistItem(key, key in ticks) for key in checklist))

    async def next_checklist(self, patient: Patient) -> Checklist | None:
        upcoming = await self.repo.upcoming_appointments(patient.id, self.clock.now(), limit=1)
        return await self.checklist(upcoming[0]) if upcoming else None

    async def next_visit_values(self, patient: Patient | None) -> Preparation:
        """The clinic's values (fasting, liquids, observation, arrival, driver) of the type of
        the patient's next visit; none set when they have no upcoming visit (the answers then
        send them to what the clinic told them)."""
        if patient is None:
            return Preparation()
        upcoming = await self.repo.upcoming_appointments(patient.id, self.clock.now(), limit=1)
        return self.plan_of(upcoming[0]).preparation if upcoming else Preparation()

    async def set_item(self, appointment: Appointment, item: str, done: bool) -> Checklist:
        if item not in self.plan_of(appointment).checklist:
            raise UnknownItem()
        await self.repo.reminders.set_tick(appointment.id, item, done, self.clock.now())
        return await self.checklist(appointment)

    async def tick_said(self, patient: Patient, items: Collection[str]) -> SaidTicks | None:
        """Tick the items a patient said are done on their next visit, as the checklist's
        buttons do (:meth:`set_item`): those its plan has and not ticked yet. None when they
        have no upcoming visit or its plan has none of the items: the message is then
        answered as any other."""
        appointment = await self.next_visit(patient) if items else None
        if appointment is None:
            return None
        checklist = await self.checklist(appointment)
        said = [item for item in checklist.items if item.key in items]
        if not said:
            return None
        ticked = tuple(item.key for item in said if not item.done)
        for key in ticked:
            checklist = await self.set_item(appointment, key, True)
        already = tuple(item.key for item in said if item.done)
        return SaidTicks(checklist, ticked, already)

    async def untick_said(
        self, appointment: Appointment, items: Sequence[str]
    ) -> tuple[Checklist, tuple[str, ...]]:
        """Undo of :meth:`tick_said`: the items still ticked are unticked (:meth:`set_item`);
        with those it unticked (none: a second tap, answered as done). UnknownItem for an
        item the plan no longer has."""
        checklist = await self.checklist(appointment)
        known = {item.key for item in checklist.items}
        if any(item not in known for item in items):
            raise UnknownItem()
        undone = tuple(item for item in items if item in checklist.ticks)
        for key in undone:
            checklist = await self.set_item(appointment, key, False)
        return checklist, undone

    async def reminder(self, patient: Patient, reminder_id: int) -> tuple[Reminder, Appointment]:
        """A reminder of this patient's upcoming (or just finished) appointment."""
        row = await self.repo.reminders.get_owned(reminder_id, patient.id)
        if row is None:
            raise NoSuchAppointment()
        appointment = await self.repo.appointment_for_patient(row.appointment_id, patient.id)
        if appointment is None or appointment.status != AppointmentStatus.SCHEDULED:
            raise NoSuchAppointment()
        return row, appointment

    async def mark_done(self, patient: Patient, reminder_id: int) -> Checklist:
        row, appointment = await self.reminder(patient, reminder_id)
        step = self.plan_of(appointment).step(row.step_key)
        if step is None or not step.items:
            raise NothingToTick()
        now = self.clock.now()
        for item in step.items:
            await self.repo.reminders.set_tick(appointment.id, item, True, now)
        return await self.checklist(appointment)

    async def snooze(self, patient: Patient, reminder_id: int) -> tuple[datetime, Appointment]:
        """Send this step again later (default 3 hours), never past its expiry."""
        row, appointment = await self.reminder(patient, reminder_id)
        plan = self.plan_of(appointment)
        step = plan.step(row.step_key)
        if step is None:
            raise NoSuchAppointment()
        now = self.clock.now()
        when = snooze_until(
            now,
            step,
            appointment.starts_at,
            load_zone(appointment.timezone),
            plan.quiet_hours,
            plan.snooze,
        )
        if when is None or when >= row.expires_at:
            raise SnoozeRefused()
        if row.status == SENDING:
            raise SnoozeRefused()
        await self.repo.reminders.snooze(row, when, now)
        self.wake(when)
        return when, appointment

    async def attendance(
        self, patient: Patient, reminder_id: int, coming: bool
    ) -> tuple[Appointment, bool]:
        """Record "I'll be there" or "I need to reschedule"; True when this tap changed it.

        Only before the visit: after it starts, the answer is refused (VisitOver) and no
        alert is asked for."""
        _, appointment = await self.reminder(patient, reminder_id)
        now = self.clock.now()
        if appointment.starts_at <= now:
            raise VisitOver()
        changed = await self.repo.set_attendance(
            appointment.id, Attendance.CONFIRMED if coming else Attendance.RESCHEDULE, now
        )
        if changed and self.events is not None:
            if coming:
                await self.events.visit_confirmed(self.repo, appointment.id)
            else:
                await self.events.reschedule_requested(self.repo, appointment.id)
        return appointment, changed

    async def next_visit(self, patient: Patient) -> Appointment | None:
        """The patient's next upcoming visit: the one a typed "I need to reschedule" is about."""
        upcoming = await self.repo.upcoming_appointments(patient.id, self.clock.now(), limit=1)
        return upcoming[0] if upcoming else None

    async def ask_new_time(self, appointment: Appointment) -> bool:
        """Record "I need a new time" for this upcoming visit; True when this call changed it
        (one staff alert per request). Its reminders are held meanwhile (the engine claims
        none of a visit whose attendance is RESCHEDULE) until staff move it or the patient
        says they can come after all."""
        if appointment.starts_at <= self.clock.now():
            raise VisitOver()
        changed = await self.repo.set_attendance(
            appointment.id, Attendance.RESCHEDULE, self.clock.now()
        )
        if changed and self.events is not None:
            await self.events.reschedule_requested(self.repo, appointment.id)
        return changed

    async def come_after_all(self, patient: Patient, appointment_id: int) -> Appointment:
        """ "I can come after all": the visit's held reminders go on (a step whose moment has
        passed but is still useful comes now, as a catch-up)."""
        appointment = await self.repo.appointment_for_patient(appointment_id, patient.id)
        now = self.clock.now()
        if (
            appointment is None
            or appointment.status != AppointmentStatus.SCHEDULED
            or appointment.starts_at <= now
        ):
            raise NoSuchAppointment()
        if await self.repo.set_attendance(appointment.id, Attendance.CONFIRMED, now):
            self.wake(now)
            if self.events is not None:
                await self.events.visit_confirmed(self.repo, appointment.id)
        return appointment

    def checkin_steps(self) -> frozenset[str]:
        """The steps of any visit type's plan that carry the check-in's buttons (by key: a
        visit has rows of its own type's steps only)."""
        return frozenset(
            step.key
            for kind in self.visit_types
            for step in self.plans(kind).steps
            if "checkin" in step.buttons
        )

    async def open_checkin(self, patient: Patient) -> Appointment | None:
        """The visit whose check-in was sent and still waits for an answer (within its
        step's expiry), if any: a typed reply is taken as an answer to it."""
        steps = self.checkin_steps()
        if not steps:
            return None
        return await self.repo.reminders.open_checkin(patient.id, steps, self.clock.now())

    async def answer_checkin(
        self, patient: Patient, appointment_id: int, answer: Checkin
    ) -> tuple[Appointment, bool]:
        """Record the check-in's answer for this visit of the patient's; True when this call
        changed it (a second tap of the same answer changes nothing). Any visit of theirs
        that has begun may be answered about (the check-in comes after it)."""
        appointment = await self.repo.appointment_for_patient(appointment_id, patient.id)
        if appointment is None or appointment.status != AppointmentStatus.SCHEDULED:
            raise NoSuchAppointment()
        if appointment.checkin == answer:
            return appointment, False
        if answer is Checkin.TYPED and appointment.checkin is not None:
            return appointment, False  # a typed reply never overwrites a tapped answer
        appointment.checkin = answer
        appointment.updated_at = self.clock.now()
        if self.events is not None:
            await self.events.checkin(self.repo, appointment.id, answer)
        return appointment, True

    async def set_paused(self, patient: Patient, paused: bool) -> None:
        if patient.reminders_paused == paused:
            return  # nothing to write
        patient.reminders_paused = paused
        if not paused:
            self.wake(self.clock.now())
