"""Booking rules: reading a typed time, checking it, and keeping a patient's appointments."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from typing import Final

from bot.db.models import Appointment, Patient
from bot.db.patients import CANCELLED, Repository
from bot.domain import visit_mentions
from bot.domain.visits import DEFAULT_VISIT_TYPE, AmbiguityReason, BookingProblem, VisitType
from bot.domain.when_parser import (
    Expect,
    ParseErrorCode,
    WhenParseError,
    WhenReading,
    read_when,
)
from bot.domain.when_words import PartOfDay
from bot.domain.which_week import WeekAnswer, WeekWords, asks, picked_day
from bot.services.errors import BookingRefused, NoSuchAppointment, VisitChangedByClinic
from bot.services.intake_events import IntakeEvents
from bot.services.reminders import ReminderPlanner
from foundation.clock import Clock
from foundation.timemath import (
    AmbiguousLocalTime,
    NonexistentLocalTime,
    load_zone,
    resolve_local,
    resolve_wall,
    to_local,
)

MAX_UPCOMING = 20


# When a part of the day is over: "this morning" is past at noon.
PART_ENDS: Final[dict[PartOfDay, time]] = {
    "morning": time(12),
    "afternoon": time(18),
    "evening": time(21),
    "night": time(23, 59),
}


@dataclass(frozen=True)
class VisitTime:
    """A visit's time read from what someone typed (or given as an instant), checked, to be
    confirmed before anything is stored.
    ``day_first``: a numeric date read day/month against the language's order ("24/12").
    ``next_year``: a date typed without its year that had just passed, read almost a year
    ahead ("12/3" on December 7: `WhenReading.next_year`); the read-back says so."""

    starts_at: datetime  # aware UTC
    zone: str
    day_first: bool = False
    next_year: bool = False

    @property
    def local(self) -> datetime:
        return to_local(self.starts_at, load_zone(self.zone))


@dataclass(frozen=True)
class Mention:
    """A visit spoken of in passing (`AppointmentService.mentioned`): its time (or the two
    days "next tuesday" may mean, to pick from), and when the text says a visit was moved,
    the patient's upcoming visits it may be (`moved`, soonest first; empty: a visit to add;
    never with two days)."""

    time: VisitTime | Ambiguity
    moved: tuple[Appointment, ...] = ()


@dataclass(frozen=True)
class MovedVisit:
    """A visit the patient says was moved without saying its new time ("they moved it", "me
    cambiaron la cita": `AppointmentService.moved_without_time`): the upcoming visits it may
    be (soonest first; empty: they have none saved), and half of the new time when they said
    it ("they moved it to friday": `half`, the other half is asked)."""

    visits: tuple[Appointment, ...]
    half: HalfAnswer | None = None


@dataclass(frozen=True)
class HalfAnswer:
    """Half of a date and time ("tomorrow morning", "2:30"): the patient is asked for the
    rest, and the next answer completes this one."""

    reading: WhenReading

    @property
    def expects(self) -> Expect:
        return "time" if self.reading.day is not None else "date"


@dataclass(frozen=True)
class Ambiguity:
    """A typed time with two readings, the person picks one: the wall time happens twice (the
    clocks go back), or "next tuesday" may be this week's or next week's (`reason`).
    `tomorrow`: this week's day is tomorrow where the visit is (the patient's zone; staff's
    invites and moves: the clinic's), so the question says "tomorrow" rather than "this
    week"."""

    earlier: VisitTime
    later: VisitTime
    reason: AmbiguityReason = AmbiguityReason.CLOCKS_BACK
    tomorrow: bool = False


def one_year_after(instant: datetime) -> datetime:
    try:
        return instant.replace(year=instant.year + 1)
    except ValueError:  # 29 February
        return instant.replace(year=instant.year + 1, day=28)


class AppointmentService:
    def __init__(
        self,
        repo: Repository,
        clock: Clock,
        planner: ReminderPlanner,
        *,
        default_type: VisitType = DEFAULT_VISIT_TYPE,
        events: IntakeEvents | None = None,
    ) -> None:
        self.repo = repo
        self.clock = clock
        self.planner = planner
        self.default_type = default_type
        """The type of a visit booked without one (a patient's own): the clinic's default."""
        self.events = events
        """The clinic's system is told when a patient moves or cancels a visit of its schedule
        (``visit.moved``, ``visit.cancelled``: bot/services/intake_events.py), in this
        transaction; None: it is not."""

    def read(self, text: str, zone_name: str, lang: str = "en") -> VisitTime | Ambiguity:
        """A whole date and time (staff's invites and moves), or BookingRefused saying why
        not; half of one is refused as MISSING_TIME or MISSING_DATE."""
        found = self.read_answer(text, zone_name, lang)
        if isinstance(found, HalfAnswer):
            day_only = found.reading.day is not None
            raise BookingRefused(
                ParseErrorCode.MISSING_TIME if day_only else ParseErrorCode.MISSING_DATE
            )
        return found

    def read_answer(
        self,
        text: str,
        zone_name: str,
        lang: str = "en",
        *,
        earlier: WhenReading | None = None,
    ) -> VisitTime | Ambiguity | HalfAnswer:
        """Turn typed text (in the words of `lang`), completed by an `earlier` half answer,
        into a checked instant or a checked half answer, or raise BookingRefused saying why
        not."""
        zone = load_zone(zone_name)
        now_local = to_local(self.clock.now(), zone).replace(tzinfo=None)
        expect = HalfAnswer(earlier).expects if earlier is not None else None
        try:
            reading = read_when(text, now_local=now_local, lang=lang, expect=expect)
        except WhenParseError as exc:
            raise BookingRefused(exc.code, day=exc.day) from exc
        if earlier is not None:
            reading = reading.merged(earlier)
        if not reading.complete:
            return self._check_half(reading, now_local)
        return self._at_reading(reading, zone.key)

    def _at_reading(self, reading: WhenReading, zone_name: str) -> VisitTime | Ambiguity:
        """A complete reading as a checked instant, or two to pick from: the wall time
        happens twice, or the text may mean the day a week later (`WhenReading.other_day`).
        Of the two days, one that cannot be booked (past, too far) leaves the other; a week
        choice whose days also have a time the clocks show twice (four readings) is asked
        to be typed as a date (CHOICE)."""
        found = self.at_wall_time(reading.at(), zone_name)
        if reading.other_day is not None:
            return self._two_weeks(found, reading, zone_name)
        if (reading.swapped or reading.next_year) and isinstance(found, VisitTime):
            return replace(found, day_first=reading.swapped, next_year=reading.next_year)
        return found

    def _two_weeks(
        self, found: VisitTime | Ambiguity, reading: WhenReading, zone_name: str
    ) -> VisitTime | Ambiguity:
        assert reading.other_day is not None and reading.clock is not None
        try:
            other = self.at_wall_time(datetime.combine(reading.other_day, reading.clock), zone_name)
        except BookingRefused:
            return found  # a week later is too far: this week's is the one
        if isinstance(found, Ambiguity) or isinstance(other, Ambiguity):
            raise BookingRefused(ParseErrorCode.CHOICE)
        return Ambiguity(found, other, AmbiguityReason.TWO_WEEKS, self.is_tomorrow(found))

    def is_tomorrow(self, visit: VisitTime) -> bool:
        """Whether the visit's day is tomorrow where it is (its zone)."""
        today = to_local(self.clock.now(), load_zone(visit.zone)).date()
        return visit.local.date() == today + timedelta(days=1)

    async def mentioned(self, patient: Patient, text: str, lang: str = "en") -> Mention | None:
        """A visit a patient mentions in passing, outside the booking steps ("i have my first
        infusion next tuesday at 9:30"): a whole date and time in a statement, ahead and
        bookable, and not one of their appointments already. A question ("can I eat before
        my visit tomorrow at 10?") is a question; a "?" that only hedges a visit named by its
        place in a series, when the patient has no visit yet or the text names visits ("my
        first one is thursday around 2? not sure"), is not. When the text says a visit was
        moved ("they moved my appt to friday at 11") the patient's upcoming visits are the
        ones it may be (`Mention.moved`). "next tuesday" that may be this week's or next
        week's is offered as the two to pick from, as a visit to add; said moved, it is not
        offered (the move's offer holds one time: the patient is asked the new time, as when
        they said none, and picks there). None when the text holds no such time: it is then
        read as anything else would be."""
        now = self.clock.now()
        if "?" in text or "¿" in text:
            if visit_mentions.asks(text, lang):
                return None
            if not visit_mentions.names_one_in_order(text, lang):
                return None
            if not visit_mentions.names_visit(text, lang) and await self.repo.count_upcoming(
                patient.id, now
            ):
                return None
        zone = load_zone(patient.timezone)
        now_local = to_local(now, zone).replace(tzinfo=None)
        try:
            reading = read_when(text, now_local=now_local, lang=lang)
        except WhenParseError:
            return None
        if not reading.complete:
            return None
        try:
            found = self._at_reading(reading, zone.key)
        except BookingRefused:
            return None
        if isinstance(found, Ambiguity) and found.reason is AmbiguityReason.CLOCKS_BACK:
            return None  # a time the clocks show twice: booked through the usual steps
        upcoming = await self.repo.upcoming_appointments(patient.id, now)
        times = (found.earlier, found.later) if isinstance(found, Ambiguity) else (found,)
        if any(a.starts_at == t.starts_at for a in upcoming for t in times):
            return None  # one of its readings is a visit kept already: that one, surely
        moved = tuple(upcoming) if visit_mentions.says_moved(text, lang) else ()
        if moved and isinstance(found, Ambiguity):
            return None
        return Mention(found, moved)

    async def moved_without_time(
        self, patient: Patient, text: str, lang: str = "en"
    ) -> MovedVisit | None:
        """A patient's statement that their visit was moved, with no new time the bot can
        offer (`mentioned` found none): "they moved it", "my appointment got moved", "me
        cambiaron la cita"; with half a time ("they moved it to friday") that half, when it is
        still ahead. None when the text says no such thing (a question, a wish, a request for
        a new time, "i need to move my appointment", is left to the FAQ)."""
        if not visit_mentions.says_was_moved(text, lang):
            return None
        visits = tuple(await self.repo.upcoming_appointments(patient.id, self.clock.now()))
        half: HalfAnswer | None = None
        try:
            found = self.read_answer(text, patient.timezone, lang)
        except BookingRefused:
            found = None
        if isinstance(found, HalfAnswer):
            half = found
        return MovedVisit(visits, half)

    def week_answer(
        self, text: str, earlier: VisitTime, later: VisitTime, words: WeekWords, lang: str = "en"
    ) -> WeekAnswer | None:
        """A typed answer to "this week's or next week's?" while the two days are offered
        (`earlier`, `later`: a week apart; any other pair of readings is no such choice): the
        one it picks, in words ("next week", "la semana que viene") or by its date ("dec 1",
        "tomorrow"), or that the patient is not sure, which a question naming a week or one of the
        dates also is (bot/domain/which_week.py); None when it says neither, and it is read as
        it would be without the choice."""
        first, second = earlier.local, later.local
        if second.date() - first.date() != timedelta(days=7):
            return None
        said = words.said(text)  # None for a question
        if said is not None:
            return said
        question = asks(text)
        if question and words.mentions(text):
            # "is it next week?": the choice stays, with the clinic's number.
            return WeekAnswer.UNSURE
        now_local = to_local(self.clock.now(), load_zone(earlier.zone)).replace(tzinfo=None)
        try:
            reading = read_when(text, now_local=now_local, lang=lang)
        except WhenParseError:
            return None
        day = picked_day(reading, first.replace(tzinfo=None), second.replace(tzinfo=None))
        if question:
            # "wait is it tomorrow??" names one of the two dates and picks neither.
            return WeekAnswer.UNSURE if day is not None else None
        return day

    def week_typed(
        self, text: str, earlier: VisitTime, later: VisitTime, words: WeekWords, lang: str = "en"
    ) -> VisitTime | Ambiguity | None:
        """A typed answer to the two-week choice (:meth:`week_answer`) as what it asks for, the
        one reading shared by a patient's booking, staff's /invite and staff's visit move: the
        day it picks (`earlier` or `later` as offered, to be checked again as a tap on it is);
        the choice again (the two weeks as an Ambiguity, this week's day said "tomorrow" when
        it is) when not sure or asking about them; None when it is no such answer, and it is
        read as it would be without the choice (a new time)."""
        answer = self.week_answer(text, earlier, later, words, lang)
        if answer is None:
            return None
        if answer is WeekAnswer.UNSURE:
            tomorrow = self.is_tomorrow(earlier)
            return Ambiguity(earlier, later, AmbiguityReason.TWO_WEEKS, tomorrow)
        return earlier if answer is WeekAnswer.EARLIER else later

    def _check_half(self, reading: WhenReading, now_local: datetime) -> HalfAnswer:
        """A day alone must still be ahead (today's morning is over at noon), within a year."""
        day = reading.day
        if day is not None:
            ends = PART_ENDS[reading.part] if reading.part else time(23, 59)
            if day < now_local.date() or (day == now_local.date() and now_local.time() >= ends):
                raise BookingRefused(BookingProblem.PAST)
            if day > one_year_after(now_local).date():
                raise BookingRefused(BookingProblem.TOO_FAR)
        return HalfAnswer(reading)

    def example(self, zone_name: str, *, days: int = 3) -> datetime:
        """A time to show as an example: three days ahead (or `days`) at 2:30 PM in the
        patient's zone, so it is never in the past."""
        zone = load_zone(zone_name)
        day = to_local(self.clock.now(), zone).date() + timedelta(days=days)
        return to_local(resolve_wall(datetime.combine(day, time(14, 30)), zone), zone)

    def at_wall_time(self, wall: datetime, zone_name: str) -> VisitTime | Ambiguity:
        """A naive wall time in the zone as a checked instant, or BookingRefused saying why."""
        zone = load_zone(zone_name)
        if wall.tzinfo is not None:
            raise ValueError("at_wall_time takes a naive wall time")
        if wall.year > to_local(self.clock.now(), zone).year + 1:
            # Refused before any arithmetic: near datetime.max (9999-12-31) it would overflow.
            raise BookingRefused(BookingProblem.TOO_FAR)
        try:
            instant = resolve_local(wall, zone)
        except NonexistentLocalTime as exc:
            raise BookingRefused(BookingProblem.NONEXISTENT, wall=wall) from exc
        except AmbiguousLocalTime as exc:
            options = Ambiguity(VisitTime(exc.earlier, zone.key), VisitTime(exc.later, zone.key))
            self.check(options.earlier)
            self.check(options.later)
            return options
        proposal = VisitTime(instant, zone.key)
        self.check(proposal)
        return proposal

    def check(self, proposal: VisitTime) -> VisitTime:
        now = self.clock.now()
        if proposal.starts_at <= now:
            raise BookingRefused(BookingProblem.PAST)
        if proposal.starts_at > one_year_after(now):
            raise BookingRefused(BookingProblem.TOO_FAR)
        return proposal

    async def confirm(
        self,
        patient: Patient,
        proposal: VisitTime,
        replace_id: int | None = None,
        version: int | None = None,
        *,
        visit_type: VisitType | None = None,
    ) -> Appointment:
        """Book the proposal as a visit of `visit_type` (default: the clinic's default type, as
        for a visit the patient books), or move the visit `replace_id` to it (it keeps its
        type; its reminders follow that type's plan). `version` is the visit's
        version when the patient chose to change it: if the clinic changed it since (or does
        so while this runs), nothing is changed and VisitChangedByClinic says what it is now
        (a change that finds the visit already at the proposal, as a racing second tap does,
        is answered as done). A move to another time of a visit of a clinic's schedule records
        ``visit.moved`` for the clinic's system, in this transaction (a change that was
        refused, or found done already, or kept the start, records none)."""
        self.check(proposal)
        now = self.clock.now()
        clash = await self.repo.appointment_at(
            patient.id, proposal.starts_at, exclude_id=replace_id
        )
        if clash is not None:
            raise BookingRefused(BookingProblem.DUPLICATE)
        if replace_id is not None:
            appointment = await self._as_seen(patient, replace_id, version)
            if version is not None and appointment.version != version:
                self._settled(appointment, proposal)
                return appointment
            moved = appointment.starts_at != proposal.starts_at
            if not await self.repo.change_visit(
                appointment,
                now,
                starts_at=proposal.starts_at,
                timezone=proposal.zone,
                attendance=None,
            ):
                # Another change committed first: the clinic's, or a racing tap of this very
                # offer (which made the same change).
                await self.repo.reload(appointment)
                self._settled(appointment, proposal)
                return appointment
            if moved and self.events is not None:
                await self.events.visit_moved(
                    self.repo, appointment.id, proposal.starts_at, proposal.zone
                )
        else:
            if await self.repo.count_upcoming(patient.id, now) >= MAX_UPCOMING:
                raise BookingRefused(BookingProblem.TOO_MANY, limit=MAX_UPCOMING)
            appointment = await self.repo.add_appointment(
                patient_id=patient.id,
                starts_at=proposal.starts_at,
                timezone=proposal.zone,
                now=now,
                visit_type=visit_type or self.default_type,
            )
        await self.planner.plan_for(appointment)
        return appointment

    async def _as_seen(
        self, patient: Patient, appointment_id: int, version: int | None
    ) -> Appointment:
        """The visit being changed: changed since the patient saw it (`version`), whatever it
        is now (the caller says what became of it); otherwise one they can still change."""
        appointment = await self.repo.appointment_for_patient(appointment_id, patient.id)
        if appointment is not None and version is not None and appointment.version != version:
            return appointment
        return await self.owned_upcoming(patient, appointment_id)

    @staticmethod
    def _settled(appointment: Appointment, proposal: VisitTime | None) -> None:
        """The visit changed under the patient's change: fine when it is already what they
        asked (`proposal`; None: cancelled), VisitChangedByClinic otherwise."""
        cancelled = appointment.status == CANCELLED
        if proposal is None and cancelled:
            return
        if proposal is not None and not cancelled and appointment.starts_at == proposal.starts_at:
            return
        if cancelled:
            raise VisitChangedByClinic(None, None)
        raise VisitChangedByClinic(appointment.starts_at, appointment.timezone)

    async def upcoming(self, patient: Patient) -> Sequence[Appointment]:
        return await self.repo.upcoming_appointments(patient.id, self.clock.now())

    async def owned_upcoming(self, patient: Patient, appointment_id: int) -> Appointment:
        """An appointment of this patient that can still be changed; NoSuchAppointment otherwise,
        whether it never existed, belongs to someone else, was cancelled or is over."""
        appointment = await self.repo.appointment_for_patient(appointment_id, patient.id)
        if (
            appointment is None
            or appointment.status == CANCELLED
            or appointment.starts_at <= self.clock.now()
        ):
            raise NoSuchAppointment()
        return appointment

    async def cancel(
        self, patient: Patient, appointment_id: int, version: int | None = None
    ) -> Appointment:
        """Cancel an upcoming appointment; one already cancelled is returned as it is (a
        second tap on "Yes, cancel it" is answered as done). `version`: the visit's version
        when the patient was asked to confirm; if the clinic moved it since (or does so while
        this runs), it is not cancelled and VisitChangedByClinic says where it is now. A visit
        of a clinic's schedule this call cancelled records ``visit.cancelled`` for the clinic's
        system, in this transaction."""
        existing = await self.repo.appointment_for_patient(appointment_id, patient.id)
        if existing is not None and existing.status == CANCELLED:
            return existing
        appointment = await self.owned_upcoming(patient, appointment_id)
        if version is not None and appointment.version != version:
            self._settled(appointment, None)
        if not await self.repo.change_visit(appointment, self.clock.now(), status=CANCELLED):
            await self.repo.reload(appointment)
            self._settled(appointment, None)
            return appointment
        await self.planner.cancel(appointment)
        if self.events is not None:
            await self.events.visit_cancelled(self.repo, appointment.id)
        return appointment
