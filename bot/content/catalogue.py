"""Every text the code renders, as a typed message: one contract per message.

A message is a class named after its template (``AppointmentConfirm`` renders
``messages/<lang>/appointment_confirm.html.j2``) whose fields are the template's variables.
Handlers render through it (``reply.send(AppointmentConfirm(when=w, changing=False), kb)``), so
the type checker catches a wrong or missing variable. Each field is declared with the sample
values the validator (bot/content/validate.py) renders the template with, every combination of
them; a template may use only the variables its message declares (besides ``lang`` and the
environment's globals such as ``clinic``).

To add a message: write its template, then a class here, its variables as fields declared with
``sample(...)`` values that reach each branch of the template. The validator finds it by
itself::

    class AppointmentSaved(Message):
        when: datetime = sample(SAMPLE_WHEN)
        changed: bool = sample(False, True)

Texts named by data rather than by code (FAQ answers named in faq.toml, reminder steps named in
the plans, messages/plans/<type>.toml) have one message type each, carrying the template's
name: :class:`FaqAnswer` and :class:`ReminderText`.

Button labels (:class:`Button`) and the published commands (:class:`ChatCommand`) are listed
here once, for the keyboards, the handlers and the validator.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from enum import StrEnum, auto
from typing import Any, ClassVar, Self, TypeVar, cast, dataclass_transform
from zoneinfo import ZoneInfo

from bot.domain.invite_codes import LABEL_MAX
from bot.domain.refusals import (
    ApiTokenProblem,
    BookingCode,
    InviteCode,
    InviteProblem,
    LabelProblem,
    NotAllowedReason,
    OfferKind,
    RosterProblem,
    RowReason,
    VisitChangeCode,
    VisitChangeProblem,
    WordsProblem,
)
from bot.domain.visits import AmbiguityReason, Attendance, BookingProblem
from bot.domain.when_parser import ParseErrorCode
from scheduler.plan import Preparation

__all__ = [
    "CATALOGUE",
    "STAFF_COMMANDS",
    "Button",
    "ChatCommand",
    "ChecklistLines",
    "FaqAnswer",
    "Message",
    "ReminderText",
    "RosterLines",
    "StaffCommand",
]

ChecklistLines = Sequence[Mapping[str, object]]
"""The checklist as templates read it: each line's ``key``, ``label`` and ``done``."""

CATALOGUE: dict[str, type[Message]] = {}
"""Every message the code names, by template name (messages named by data are not here)."""

_T = TypeVar("_T")

# --- sample values the validator renders with ------------------------------------------------
_ZONE = "America/New_York"
_PLACE = "Eastern Time (New York), UTC-5"
SAMPLE_WHEN = datetime(2026, 12, 3, 19, 30, tzinfo=UTC).astimezone(ZoneInfo(_ZONE))
SAMPLE_LATER = datetime(2026, 12, 3, 20, 30, tzinfo=UTC).astimezone(ZoneInfo(_ZONE))
SAMPLE_CHECKLIST: ChecklistLines = (
    {"key": "playlist", "label": "Calm playlist", "done": True},
    {"key": "ride", "label": "Ride home <arranged>", "done": False},
)
_SAMPLE_CLINIC_TIME = "Thursday, December 3, 2026 at 2:30 PM EST"
SAMPLE_KIND = "Infusion <IV>"
"""A visit type's plain name (buttons.toml ``visit_type_<type>``) as screens name it."""
NO_PREPARATION = Preparation()
"""Values of a visit type the clinic has not set (or no visit at all): the texts send the
patient to the clinic's own instructions."""
SAMPLE_PREPARATIONS: tuple[Preparation, ...] = (
    NO_PREPARATION,
    Preparation(
        no_food_hours=6,
        clear_liquids_hours=2,
        observation_minutes=45,
        arrival_minutes=15,
        driver_required=True,
    ),
)
EDGE_PREPARATIONS: tuple[Preparation, ...] = (
    Preparation(
        no_food_hours=2, clear_liquids_minutes=30, observation_minutes=120, driver_required=True
    ),
    Preparation(no_food_hours=1, clear_liquids_hours=0, observation_minutes=1, arrival_minutes=1),
    Preparation(driver_required=False, arrival_minutes=0),
    Preparation(no_food_hours=8, clear_liquids_minutes=90, observation_minutes=90),
)
"""Every kind of value a visit type's [preparation] may hold, one at a time: hours or
minutes, one of a unit, zero, and values left out."""


def _at(
    year: int, month: int, day: int, hour: int, minute: int, zone: str, fold: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, fold=fold, tzinfo=ZoneInfo(zone))


EDGE_WHENS: tuple[datetime, ...] = (
    _at(2027, 1, 31, 8, 0, _ZONE),  # a month's last day, morning
    _at(2028, 2, 29, 0, 0, _ZONE),  # a leap day, midnight
    _at(2026, 3, 8, 3, 0, _ZONE),  # the day the clocks go forward (2:00 to 3:00)
    _at(2026, 11, 1, 1, 30, _ZONE),  # a time shown twice when the clocks go back: the first
    _at(2026, 11, 1, 1, 30, _ZONE, fold=1),  # ... and the second
    _at(2026, 12, 31, 23, 59, "Pacific/Honolulu"),  # the year's last minute, another zone
    _at(2026, 10, 25, 2, 30, "Europe/Madrid"),  # Europe's clocks going back
    _at(2026, 6, 15, 12, 0, "Asia/Kolkata"),  # noon, a half-hour offset
)
"""Dates and times every datetime variable is also rendered with, one at a time (month ends,
leap days, daylight-saving changes, midnight, zones): a text that fails only for some dates is
found before it is saved."""
LONG_LABEL = "Dr. Maria-Guadalupe Fernández-Ortega #44"[:LABEL_MAX]
LONG_NAME = "Maximilian Alexander Konstantinos Papadopoulos-Wojciechowski"
_LONG_CHECKLIST: ChecklistLines = (
    {"key": "playlist", "label": "A calm playlist of at least an hour, downloaded", "done": True},
    {"key": "ride", "label": "Someone to drive me home and stay the evening", "done": False},
    {"key": "eye_mask", "label": "An eye mask or a soft scarf to cover the eyes", "done": False},
)

RosterLines = Sequence[Mapping[str, object]]
"""Roster lines as templates read them (bot/services/roster.py, ``RosterEntry.as_line``)."""

_ROSTER_LINE: dict[str, object] = {
    "kind": "visit",
    "when": SAMPLE_WHEN,
    "label": "J.D. <#4471>",
    "patient_id": 12,
    "done": 3,
    "total": 5,
    "attendance": None,
    "sent": 2,
    "failed": 0,
    "checkin": None,
    "unreachable": False,
    "expired": False,
    "visit_type": "infusion",
    "type_name": SAMPLE_KIND,
}
SAMPLE_ROSTER: RosterLines = (
    _ROSTER_LINE,
    {**_ROSTER_LINE, "label": None, "attendance": "confirmed", "failed": 1, "unreachable": True},
    {**_ROSTER_LINE, "attendance": "reschedule", "when": SAMPLE_LATER, "checkin": "call"},
    {**_ROSTER_LINE, "checkin": "ok"},
    {**_ROSTER_LINE, "checkin": "off"},
    {**_ROSTER_LINE, "checkin": "typed"},
    {**_ROSTER_LINE, "kind": "invite", "patient_id": None, "done": 0, "total": 0, "sent": 0},
    {**_ROSTER_LINE, "kind": "invite", "patient_id": None, "expired": True},
)
_SAMPLE_TEAM: RosterLines = (
    {"telegram_id": 9001, "name": "Dana <Front Desk>", "role": "admin", "from_settings": True},
    {"telegram_id": 501, "name": "501", "role": "staff", "from_settings": False},
)


def sample(*values: _T, edges: Sequence[_T] = ()) -> _T:
    """A field of a message, with the values the validator renders it with (every
    combination of its fields' values is tried) and `edges`, tried one at a time with the
    other fields at their first value (a datetime field also gets EDGE_WHENS)."""
    return cast(_T, dataclasses.field(metadata={"samples": values, "edges": tuple(edges)}))


def codes(*enums: type[StrEnum]) -> Any:
    """A field holding a refusal's code (bot/domain/refusals.py): rendered with every member
    of `enums`, and the validator checks that the template names each one (a code without its
    own explanation would fall silently into another's)."""
    values = tuple(member for enum in enums for member in enum)
    return dataclasses.field(metadata={"samples": values, "edges": (), "codes": enums})


def named_by_data() -> str:
    """The field of a message whose template is named by data (the name, not a variable)."""
    return cast(str, dataclasses.field(metadata={"variable": False}))


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@dataclass_transform(
    frozen_default=True,
    kw_only_default=True,
    field_specifiers=(dataclasses.field, sample, codes, named_by_data),
)
class Message:
    """A text the code renders. Subclasses are frozen keyword-only dataclasses (made so here);
    ``template`` names the template, by default the class name in snake_case."""

    TEMPLATE: ClassVar[str] = ""
    UNSOLICITED: ClassVar[bool] = False
    """Sent without the patient asking (a reminder, a notice): it shows on lock screens, so
    the validator holds it to the lock-screen rule (no treatment words)."""
    _declared: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(
        cls,
        *,
        template: str = "",
        by_name: bool = True,
        unsolicited: bool = False,
        **kw: Any,
    ) -> None:
        """`by_name=False`: a base class, or a message whose template is named by data;
        `unsolicited`: see UNSOLICITED."""
        super().__init_subclass__(**kw)
        cls.UNSOLICITED = unsolicited or cls.UNSOLICITED
        dataclasses.dataclass(frozen=True, kw_only=True)(cls)
        cls._declared = frozenset(
            f.name for f in dataclasses.fields(cast(Any, cls)) if f.metadata.get("variable", True)
        )
        if not by_name:
            return
        cls.TEMPLATE = template or _snake(cls.__name__)
        if cls.TEMPLATE in CATALOGUE:
            raise TypeError(f"two messages render {cls.TEMPLATE!r}")
        CATALOGUE[cls.TEMPLATE] = cls

    def template(self) -> str:
        return self.TEMPLATE

    def variables(self) -> dict[str, object]:
        """What the template is rendered with (shallow: values keep their types)."""
        return {name: getattr(self, name) for name in self._declared}

    @classmethod
    def declared(cls) -> frozenset[str]:
        """The names of the variables a template of this message may use."""
        return cls._declared

    @classmethod
    def samples(cls, *, edges: bool = False, **given: Any) -> list[Self]:
        """The message with every combination of its fields' sample values (`given` fixes
        some: the template of a message named by data, say); with `edges`, then each field's
        edge values one at a time, the others at their first sample value."""
        fields = [
            f
            for f in dataclasses.fields(cast(Any, cls))
            if f.name not in given and "samples" in f.metadata
        ]
        choices = {f.name: f.metadata["samples"] for f in fields}
        found = [
            cls(**given, **dict(zip(choices, values, strict=True)))
            for values in itertools.product(*choices.values())
        ]
        if not edges:
            return found
        first = {name: values[0] for name, values in choices.items()}
        for f in fields:
            extra = list(f.metadata.get("edges", ()))
            if isinstance(first[f.name], datetime):
                extra += EDGE_WHENS
            found += [cls(**given, **{**first, f.name: value}) for value in extra]
        return found


# --- welcome, consent, menu ------------------------------------------------------------------
class Welcome(Message):
    pass


class WelcomeBack(Message):
    pass


class ConsentThanks(Message):
    pass


class ConsentDeclined(Message):
    pass


class NeedConsent(Message):
    pass


class Menu(Message):
    pass


class Help(Message):
    """The patients' commands (commands.toml, in the patient's language), then a word on what
    the bot is not."""

    commands: Sequence[Mapping[str, object]] = sample(
        ({"command": "appointment", "description": "See, add, change or cancel your visits <all>"},)
    )


# --- appointments ----------------------------------------------------------------------------
class AppointmentAsk(Message):
    """`place`: the patient's zone as a place and offset; `example`: a time a few days ahead
    (computed from the clock, so an example is never in the past)."""

    place: str = sample(_PLACE)
    example: datetime = sample(SAMPLE_WHEN)
    changing: bool = sample(False, True)


class AppointmentConfirm(Message):
    """`day_first`: a numeric date was read day/month ("24/12"), which the read-back says.
    `mentioned`: the patient spoke of a visit in passing ("my infusion is next tuesday at
    9:30"), outside the booking steps; the bot offers to add it. `next_year`: a date typed
    without its year that had just passed ("12/3" on December 7), read almost a year ahead,
    which the read-back says (as the team's InviteLabelAsk and VisitMoveConfirm)."""

    when: datetime = sample(SAMPLE_WHEN)
    changing: bool = sample(False, True)
    day_first: bool = sample(False, True)
    mentioned: bool = sample(False, True)
    next_year: bool = sample(False, True)


class AppointmentMoveMentioned(Message):
    """The patient said in passing that their visit was moved ("they moved my appt to friday
    at 11") and has one upcoming visit: move it (`old`, shown in the patient's zone) to `when`,
    or add `when` as another visit, or type the time again. `day_first` as in
    AppointmentConfirm."""

    old: datetime = sample(SAMPLE_WHEN)
    when: datetime = sample(SAMPLE_LATER)
    day_first: bool = sample(False, True)


class AppointmentMoveWhich(Message):
    """The patient said in passing that a visit was moved to `when` and has several upcoming
    visits (`items`, in the patient's zone, a button each): which one moved, or add `when` as
    a new visit."""

    when: datetime = sample(SAMPLE_LATER)
    items: Sequence[datetime] = sample((SAMPLE_WHEN, SAMPLE_LATER))
    day_first: bool = sample(False, True)


class AppointmentMovedAsk(Message):
    """The patient said their visit was moved without its new time ("they moved it", "me
    cambiaron la cita"): the visit (`old`, in the patient's zone) and a question for its new
    date and time; `day` or `clock` when they said half of it ("they moved it to friday"),
    then the other half is asked. `place` and `example` as in AppointmentAsk. The answer is
    read back as AppointmentMoveMentioned."""

    old: datetime = sample(SAMPLE_WHEN)
    day: datetime | None = sample(None, SAMPLE_LATER)
    clock: datetime | None = sample(None, SAMPLE_LATER)
    place: str = sample(_PLACE)
    example: datetime = sample(SAMPLE_WHEN)


class AppointmentMovedWhich(Message):
    """The patient said a visit was moved without its new time and has several upcoming
    visits (`items`, in the patient's zone, a button each): which one; its new time is asked
    next."""

    items: Sequence[datetime] = sample((SAMPLE_WHEN, SAMPLE_LATER))


class AppointmentMovedNone(Message):
    """The patient said their visit was moved but has no visit saved: nothing to change;
    adding it is offered."""


class AppointmentAskedNone(Message):
    """The patient asked when their visit is ("what time is my appointment?") but has no
    upcoming visit saved: says so kindly, offers to add one, and names the clinic's phone to
    check the time. With visits, the answer is AppointmentList."""


class AppointmentHalf(Message):
    """Half of a date and time came: the day (`day`, with `part` of it, "morning") or the
    time (`clock`); the other half is asked for. `other_day`: the day a week after `day` that
    the words may mean too ("next friday" on a Monday); which one is asked with the time."""

    day: datetime | None = sample(SAMPLE_WHEN, None)
    clock: datetime | None = sample(None, SAMPLE_WHEN)
    part: str | None = sample(None, "morning", "afternoon", "evening", "night")
    other_day: datetime | None = sample(None, SAMPLE_LATER)


class AppointmentStillWaiting(Message):
    """After the answer to a question asked while the bot waits for a date and time."""

    example: datetime = sample(SAMPLE_WHEN)


class AppointmentAmbiguous(Message):
    """Which of two readings is the visit: the time happens twice (clocks going back), or
    "next tuesday" is this week's or next week's (`ambiguity`); `tomorrow`: this week's day
    is tomorrow in the patient's zone (said "tomorrow", not "this week"); `mentioned`: a
    visit the patient spoke of in passing, to add."""

    earlier: datetime = sample(SAMPLE_WHEN)
    later: datetime = sample(SAMPLE_LATER)
    ambiguity: AmbiguityReason = codes(AmbiguityReason)
    tomorrow: bool = sample(False, True)
    mentioned: bool = sample(False, True)


class AppointmentWeekUnsure(Message):
    """The patient typed that they are not sure which of the two weeks ("next tuesday") is
    their visit: a kind line to check with the clinic; the two dates stay buttons."""


class AppointmentSaved(Message):
    when: datetime = sample(SAMPLE_WHEN)
    changed: bool = sample(False, True)


class AppointmentError(Message):
    """Why a typed time was refused; `limit`, `wall` and `day` (the date a weekday beside it
    does not match) fill some explanations, `example` is a time a few days ahead."""

    code: BookingCode = codes(ParseErrorCode, BookingProblem)
    place: str = sample(_PLACE)
    example: datetime = sample(SAMPLE_WHEN)
    limit: int | None = sample(20)
    wall: datetime | None = sample(datetime(2026, 3, 8, 2, 30))
    day: datetime | None = sample(SAMPLE_WHEN, None)


class AppointmentList(Message):
    """`kinds`: each visit's type in plain words, in the order of `items`."""

    items: Sequence[datetime] = sample((), (SAMPLE_WHEN, SAMPLE_LATER))
    kinds: Sequence[str] = sample((SAMPLE_KIND, "First consultation"))


class AppointmentDetail(Message):
    """`kind`: the visit's type in plain words."""

    when: datetime = sample(SAMPLE_WHEN)
    kind: str = sample(SAMPLE_KIND)


class AppointmentCancelConfirm(Message):
    when: datetime = sample(SAMPLE_WHEN)


class AppointmentCancelled(Message):
    when: datetime = sample(SAMPLE_WHEN)


class AppointmentKept(Message):
    when: datetime = sample(SAMPLE_WHEN)


class AppointmentGone(Message):
    pass


class AppointmentCalendarSent(Message):
    """The caption of the "Add to calendar" file (an .ics) of the visit at `when`."""

    when: datetime = sample(SAMPLE_WHEN)


class AppointmentCalendarTitle(Message, unsolicited=True):
    """The title of the visit in the patient's calendar app (plain text once rendered). A
    calendar shows it on a locked phone: the lock-screen rule holds."""


class AppointmentCalendarDescription(Message, unsolicited=True):
    """The notes of the visit in the calendar app (plain text once rendered); the lock-screen
    rule holds, as for the title."""


class AppointmentChangedByClinic(Message):
    """The patient's change or cancel was not made: the clinic changed the visit first
    (`when`: where it is now) or it was cancelled (`when` None)."""

    when: datetime | None = sample(SAMPLE_LATER, None)


# --- settings --------------------------------------------------------------------------------
class Settings(Message):
    """`place`: the patient's zone as a place and offset ("Central Time (Chicago), UTC-6")."""

    place: str = sample(_PLACE)
    now_local: datetime = sample(SAMPLE_WHEN)


class TimezoneAsk(Message):
    pass


class TimezoneSaved(Message):
    """`place`: what the patient named, when the zone's name does not say it ("Dallas");
    `zone_name`: the zone and its offset ("Central Time (Chicago), UTC-6")."""

    place: str | None = sample("Dallas", None)
    zone_name: str = sample(_PLACE)
    now_local: datetime = sample(SAMPLE_WHEN)


class TimezonePick(Message):
    """Several zones fit what was typed (`corrected`: after correcting a typing slip): the
    patient picks one of the buttons."""

    corrected: bool = sample(False, True)


class TimezoneUnknown(Message):
    pass


# --- forget ----------------------------------------------------------------------------------
class ForgetConfirm(Message):
    pass


class ForgetDone(Message):
    pass


class ForgetKept(Message):
    pass


class ForgetNothing(Message):
    pass


# --- questions and safety --------------------------------------------------------------------
class FaqMenu(Message):
    pass


class FaqNoMatch(Message):
    """A message the bot could not match: the questions it comes nearest to, if any
    (``suggested``), as buttons, and the whole list one tap away."""

    suggested: bool = sample(True, False)


class FaqAnswer(Message, by_name=False):
    """An answer of faq.toml: the template its entry names. `preparation`: the clinic's values
    for the patient's next visit's type (scheduler/plan.py Preparation; none set when they
    have no upcoming visit), printed by the answer about eating and drinking."""

    template_name: str = named_by_data()
    preparation: Preparation = sample(*SAMPLE_PREPARATIONS, edges=EDGE_PREPARATIONS)

    def template(self) -> str:
        return self.template_name


class FaqChoices(Message):
    """Two close topics: "Did you mean...?", each a button."""


class ChatGreeting(Message):
    pass


class ChatThanks(Message):
    pass


class ChatAck(Message):
    pass


class ChatGoodNews(Message):
    """A patient telling they feel better ("the infusions helped"): glad to hear it, the team
    would like to know too; never advice about the treatment."""


class ChatNervous(Message):
    """Nerves before a visit: an acknowledgement, what helps, and the clinic's phone."""


class Crisis(Message):
    """`poisoning`: the message told of medicine or something harmful swallowed (an overdose,
    a child who got into the pills): the answer names Poison Control too."""

    staff_notified: bool = sample(True, False)
    poisoning: bool = sample(False, True)


class CrisisPast(Message):
    """Gentle resources for someone who mentions suicidal thoughts in the past; the answer
    to their message follows, and the clinic team is not alerted."""


class PrivateOnly(Message):
    pass


# --- preparation and reminders ---------------------------------------------------------------
class Checklist(Message):
    """`kind`: the visit's type in plain words."""

    when: datetime = sample(SAMPLE_WHEN)
    checklist: ChecklistLines = sample(SAMPLE_CHECKLIST)
    kind: str = sample(SAMPLE_KIND)


class ChecklistNone(Message):
    pass


_SAID_RIDE: ChecklistLines = ({"key": "ride", "label": "Ride home <arranged>", "done": True},)
_SAID_NEW: ChecklistLines = ({"key": "new_item", "label": "An item staff <added>", "done": True},)
_SAID_TWO: ChecklistLines = (
    {"key": "headphones", "label": "Headphones packed", "done": True},
    *_SAID_NEW,
)


class ChecklistTicked(Message):
    """A patient told they have done items of their checklist ("my husband is driving me
    home", bot/domain/checklist_said.py): `ticked`, the items ticked now; `ticked_before`,
    those said that were ticked already; `left`, how many items of the visit's checklist are not
    ticked yet; `when`, the visit (their next one)."""

    when: datetime = sample(SAMPLE_WHEN)
    ticked: ChecklistLines = sample(_SAID_RIDE, _SAID_NEW, _SAID_TWO, ())
    ticked_before: ChecklistLines = sample((), _SAID_RIDE)
    left: int = sample(0, 1, 3)


class ChecklistUnticked(Message):
    """Undo under :class:`ChecklistTicked`: the items it `unticked` again."""

    unticked: ChecklistLines = sample(_SAID_RIDE, _SAID_TWO)


class ReminderSnoozed(Message):
    until: datetime = sample(SAMPLE_WHEN)


class ReminderSnoozeRefused(Message):
    pass


class AttendConfirmed(Message):
    when: datetime = sample(SAMPLE_WHEN)


class AttendReschedule(Message):
    """A request for a new time (the reminder's button, or typed): the visit's reminders
    wait until it is moved, or the patient taps "I can come after all"."""

    when: datetime = sample(SAMPLE_WHEN)
    already: bool = sample(False, True)
    team_asked: bool = sample(False, True)


class RescheduleNoVisit(Message):
    """A typed request for a new time from someone with no upcoming visit here."""


class CheckinAnswered(Message):
    """The answer to the day-after check-in: `answer` a Checkin value ("ok", "off", "call");
    `team_asked` whether the team was asked to call (on "call")."""

    answer: str = sample("ok", "off", "call")
    team_asked: bool = sample(True, False)


class CheckinTyped(Message):
    """A typed reply while the check-in is open: acknowledged, the buttons offered."""


class Paused(Message):
    pass


class Resumed(Message):
    pass


class ReminderText(Message, by_name=False, unsolicited=True):
    """A reminder: the template of its step (named in the plan of the visit's type,
    messages/plans/<type>.toml), or ``reminders/catch_up`` when several steps go out together
    (`sections` are then their template files, included with the same variables and
    `catch_up` true). `preparation`: the clinic's values for the visit's type."""

    CATCH_UP: ClassVar[str] = "reminders/catch_up"

    template_name: str = named_by_data()
    when: datetime = sample(SAMPLE_WHEN)
    checklist: ChecklistLines = sample(SAMPLE_CHECKLIST, edges=[(), _LONG_CHECKLIST])
    attendance: str | None = sample(None, *Attendance)
    catch_up: bool = sample(False, True)
    preparation: Preparation = sample(*SAMPLE_PREPARATIONS, edges=EDGE_PREPARATIONS)
    sections: Sequence[str] = ()

    def template(self) -> str:
        return self.template_name


# --- the update pipeline's own answers -------------------------------------------------------
class UnknownCommand(Message):
    pass


class Unsupported(Message):
    pass


class Edited(Message):
    pass


class StaleButton(Message):
    pass


class UpdateFailed(Message, template="error"):
    """The kind error: the update failed and nothing of it was kept."""


# --- staff alerts (rendered at delivery, in the clinic's zone and default language) ----------
# Every alert about a visit names it as staff know it: `visit_label` is the label staff gave
# the visit when they invited the patient ("" when the patient booked it themselves, or no
# visit is known), `visit_time` its start in the clinic's zone ("" when no visit is known).
# bot/services/alert_visits.py finds the visit an alert is about.
def _visit_label() -> str:
    return sample("J.D. <#4411>", "", edges=[LONG_LABEL])


def _visit_time() -> str:
    return sample(_SAMPLE_CLINIC_TIME, "")


def _label() -> str:
    return sample("J.D. <#4471>", edges=[LONG_LABEL])


class CrisisStaffAlert(Message):
    """`display_name` comes from Telegram's getChat ("" when that failed), `at_local` from when
    the alert was queued; `occurrences` counts the alerts coalesced into this one; the visit is
    the patient's next one (or the one under way)."""

    patient_ref: str = sample("#12", "")
    display_name: str = sample("<Pat & Co>", "", edges=[LONG_NAME])
    telegram_id: int | None = sample(1001)
    at_local: str = sample(_SAMPLE_CLINIC_TIME)
    occurrences: int = sample(1, 60)
    visit_label: str = _visit_label()
    visit_time: str = _visit_time()


class RescheduleStaffAlert(Message):
    """The patient asked to move the visit named (`when_local` is `visit_time`, kept for
    texts written before)."""

    patient_ref: str = sample("#12")
    display_name: str = sample("<Pat>", "", edges=[LONG_NAME])
    telegram_id: int | None = sample(1001)
    when_local: str = sample(_SAMPLE_CLINIC_TIME)
    visit_label: str = _visit_label()
    visit_time: str = sample(_SAMPLE_CLINIC_TIME)


class CheckinStaffAlert(Message):
    """A patient answered the day-after check-in "Not great, please call me": the visit's
    label (the invite's; "" for a visit the patient booked) and its time in the clinic's
    zone."""

    patient_ref: str = sample("#12")
    display_name: str = sample("<Pat>", "")
    telegram_id: int | None = sample(1001)
    visit_label: str = sample("J.D. <#4471>", "")
    visit_time: str = sample(_SAMPLE_CLINIC_TIME)


class TemplateFailureStaffAlert(Message):
    """A reminder text could not be used; the visit is the first one it failed for
    (`occurrences` counts the others), and that patient got the shipped text instead when
    `fell_back`."""

    steps: str = sample("ride", "day_before, morning")
    error: str = sample(
        "TelegramBadRequest",
        "bad_request:TelegramBadRequest: Bad Request: can't parse entities <&>",
    )
    occurrences: int = sample(1, 240)
    visit_label: str = _visit_label()
    visit_time: str = _visit_time()
    fell_back: bool = sample(True, False)


# --- staff: invites, roster, team -----------------------------------------------------------
class InviteAsk(Message):
    """`example`: a time a few days ahead in the clinic's zone (computed from the clock, so an
    example is never in the past), as in AppointmentAsk."""

    zone: str = sample(_ZONE)
    example: datetime = sample(SAMPLE_WHEN)


class InviteAmbiguous(Message):
    """Which of two readings is the visit (staff: an invite's or a move's time), and why;
    `tomorrow`: this week's day is tomorrow in the clinic's zone."""

    earlier: datetime = sample(SAMPLE_WHEN)
    later: datetime = sample(SAMPLE_LATER)
    ambiguity: AmbiguityReason = codes(AmbiguityReason)
    tomorrow: bool = sample(False, True)


class InviteLabelAsk(Message):
    """`next_year` as in AppointmentConfirm."""

    when: datetime = sample(SAMPLE_WHEN)
    next_year: bool = sample(False, True)


class InviteKindAsk(Message):
    """What kind of visit the invite is for: a button per visit type (its plan follows)."""

    when: datetime = sample(SAMPLE_WHEN)
    label: str = _label()


class InviteConfirm(Message):
    """`kind`: the visit type chosen, in plain words."""

    when: datetime = sample(SAMPLE_WHEN)
    label: str = _label()
    kind: str = sample(SAMPLE_KIND)


class InviteCreated(Message):
    """The one-time link, sent once: the code is stored only as its hash."""

    link: str = sample("https://t.me/companion_test_bot?start=abc_DEF-123")
    when: datetime = sample(SAMPLE_WHEN)
    label: str = _label()
    expires: datetime = sample(SAMPLE_WHEN)
    kind: str = sample(SAMPLE_KIND)


class InviteQr(Message):
    """The caption of the QR code's picture; `kind`: the visit type, in plain words."""

    when: datetime = sample(SAMPLE_WHEN)
    label: str = _label()
    kind: str = sample(SAMPLE_KIND)


class InviteAlreadyMade(Message):
    pass


class InviteError(Message):
    """Why an invite cannot be made (bot/services/errors.py, InviteRefused); `example` as in
    InviteAsk."""

    code: InviteCode = codes(ParseErrorCode, BookingProblem, LabelProblem, InviteProblem)
    zone: str = sample(_ZONE)
    example: datetime = sample(SAMPLE_WHEN)


# --- staff: importing the clinic's schedule (bot/telegram/handlers/staff_intake.py) -----------
_SAMPLE_PROBLEMS: Sequence[Mapping[str, object]] = (
    {"line": 7, "field": "status", "reason": "not a status mapped for source csv (known: ...)"},
    {"line": 9, "field": "", "reason": "has 9 fields, the header 8 <a quote out of place?>"},
)


class IntakePreview(Message):
    """What importing the CSV a team member sent would do (nothing is written yet): counts of
    rows by result, the first refused rows (`problems`: `line`, `field`, `reason`; the
    reason is :class:`IntakeRowRefused`, rendered in the member's language) and how many more,
    the columns dropped unread, the starts read in the clinic's zone, and the patients who get
    a new link."""

    rows: int = sample(20)
    created: int = sample(17)
    moved: int = sample(1)
    cancelled: int = sample(1)
    updated: int = sample(0)
    unchanged: int = sample(0)
    errors: int = sample(2)
    problems: Sequence[Mapping[str, object]] = sample(_SAMPLE_PROBLEMS, ())
    more_problems: int = sample(0, 3)
    new_links: int = sample(12, 0)
    zone_assumed: int = sample(3, 0)
    zone: str = sample("America/New_York")
    dropped: Sequence[str] = sample(("patient_name", "email"), ())


class IntakeRowRefused(Message):
    """Why one row of the clinic's schedule was refused (bot/intake/rows.py), as a line of the
    import's preview (Telegram) and of `visits import` (the command line, as plain text):
    never a value the row held, only the settings' words (`named`), a number (`limit`,
    `count`), the source and a zone."""

    code: RowReason = codes(RowReason)
    limit: int = sample(128)
    count: int = sample(9)
    source: str = sample("acme")
    zone: str = sample(_ZONE)
    named: str = sample("booked, cancelled, Scheduled <x>")


class IntakeApplied(Message):
    """The import was made: counts by result, and the new links (sent as two files)."""

    created: int = sample(17)
    moved: int = sample(1)
    cancelled: int = sample(1)
    updated: int = sample(0)
    unchanged: int = sample(0)
    errors: int = sample(2)
    new_links: int = sample(12, 0)


class IntakeFileProblem(Message):
    """A file sent to the bot that cannot be imported: `problem` is ``too_big``,
    ``not_csv``, ``download_failed`` or ``unreadable`` (then `reason`, the reader's line)."""

    problem: str = sample("too_big", "not_csv", "download_failed", "unreadable")
    limit_mb: int = sample(5)
    reason: str = sample("line 1: no column for status <docs/intake-csv.md>")


class IntakeNotSetUp(Message):
    """Importing is not configured (INTAKE_PATIENT_KEY unset, or intake settings wrong)."""


class IntakeDropped(Message):
    """Don't import: nothing was written."""


class IntakeAlreadyApplied(Message):
    """A second tap of Import: the import was made once."""


class IntakeLinksFile(Message):
    """The caption of the CSV of new invite links (shown this once)."""

    count: int = sample(12, 1)


class IntakeQrFile(Message):
    """The caption of the printable page of QR codes."""

    count: int = sample(12, 1)


class ExpiredOffer(Message):
    """A button of a confirmation no longer on offer (bot/services/offers.py, OfferExpired):
    `kind` says what it offered, and so how to start again."""

    kind: OfferKind = codes(OfferKind)


class InviteLinked(Message):
    """`kind`: the visit's type in plain words."""

    when: datetime = sample(SAMPLE_WHEN)
    kind: str = sample(SAMPLE_KIND)


class InviteUnusable(Message):
    """An invite link that cannot be used (whatever the reason: unknown, used, expired,
    declined); `already_linked`: this patient opened it before and has the visit."""

    already_linked: bool = sample(False, True)


class InviteTooManyTries(Message):
    """Several links that could not be used, lately: this one was not looked at."""


class Roster(Message):
    day: datetime = sample(SAMPLE_WHEN)
    lines: RosterLines = sample((), SAMPLE_ROSTER)
    page: int = sample(0, 1)
    pages: int = sample(1, 3)


class RosterAsk(Message):
    """Which day's roster (none given, or one that cannot be shown); `example`: a day a few
    days ahead in the clinic's zone (computed from the clock)."""

    code: RosterProblem = codes(RosterProblem)
    example: datetime = sample(SAMPLE_WHEN)


class StaffList(Message):
    members: RosterLines = sample(_SAMPLE_TEAM)
    can_manage: bool = sample(False, True)


class StaffAdded(Message):
    telegram_id: int = sample(501)
    role: str = sample("staff", "admin")
    changed: bool = sample(False, True)


class StaffAddUsage(Message):
    pass


class StaffInviteCreated(Message):
    """A one-time link to join the team, sent once: the code is stored only as its hash."""

    link: str = sample("https://t.me/companion_test_bot?start=team-abc_DEF-123")
    role: str = sample("staff", "admin")
    expires: datetime = sample(SAMPLE_WHEN)


class StaffInviteUsage(Message):
    pass


class StaffJoined(Message):
    role: str = sample("staff", "admin")
    already: bool = sample(False, True)


class StaffRemoveConfirm(Message):
    telegram_id: int = sample(501)
    name: str = sample("Dana <Front Desk>", "501")


class StaffRemoved(Message):
    telegram_id: int = sample(501)
    name: str = sample("Dana <Front Desk>", "501")


class StaffNotAllowed(Message):
    reason: NotAllowedReason = codes(NotAllowedReason)


class StaffNoSuchMember(Message):
    pass


class StaffAccessEnded(Message):
    """To someone removed from the team in the middle of a team conversation (an invite, a
    move, an edit), at their next message or tap: their staff access has ended and the
    conversation is over."""


class StaffHelp(Message):
    """After /help, for a team member: the team's commands their role allows."""

    commands: Sequence[Mapping[str, object]] = sample(
        ({"command": "today", "description": "Today's visits <all>"},)
    )


# --- admins: the HTTP API's tokens (bot/telegram/handlers/api_tokens.py) ----------------------
class ApiTokens(Message):
    """/apitokens: each token's name, source, whether active, when last used (or None)."""

    tokens: Sequence[Mapping[str, object]] = sample(
        (),
        (
            {"name": "acme-ehr", "source": "acme", "active": True, "last_used": SAMPLE_WHEN},
            {"name": "old<ehr>", "source": "acme", "active": True, "last_used": None},
            {"name": "legacy", "source": "csv", "active": False, "last_used": None},
        ),
    )


class ApiTokenCreated(Message):
    """The new token, shown once (only its SHA-256 is stored)."""

    name: str = sample("acme-ehr")
    source: str = sample("acme")
    token: str = sample("icp_Zm9vYmFyYmF6cXV4cXV1eF9hYmNkZWZnaGlqa2xtbm9w")


class ApiTokenRevoked(Message):
    name: str = sample("acme-ehr")
    source: str = sample("acme")


class ApiTokenError(Message):
    code: ApiTokenProblem = codes(ApiTokenProblem)


# --- staff: editing texts (bot/telegram/handlers/staff_content.py) ---------------------------
# Texts are named for the team by their title (texts.toml, in the member's language); times
# are the clinic's, authors by name.
_TITLE = "Reminder: the evening before (eye mask)"
_LONG_TITLE = "Recordatorio: 2 días antes (transporte de regreso), versión larga"[:64]
_ABOUT = "Pack an eye mask, the checklist, and an easy evening."
_SAMPLE_VERSIONS: Sequence[Mapping[str, object]] = (
    {"number": 2, "author": "Dana <Front Desk>", "at": SAMPLE_WHEN, "note": "", "live": True},
    {
        "number": 1,
        "author": "9002",
        "at": SAMPLE_LATER,
        "note": "rollback to version 0",
        "live": False,
    },
)


def _title() -> str:
    return sample(_TITLE, edges=[_LONG_TITLE])


class StaffTextsAreas(Message):
    """/texts: the areas of the texts of one language (`language`: its name)."""

    language: str = sample("🇺🇸 English")


class StaffTextsList(Message):
    area: str = sample("Reminders and checklist")
    language: str = sample("🇺🇸 English")
    page: int = sample(1, 2)
    pages: int = sample(1, 2)


class StaffTextSearch(Message):
    """/texts with words: the texts whose title or description holds them (`found` many)."""

    words: str = sample("eye mask", "<b>")
    found: int = sample(0, 3)


class StaffTextView(Message):
    """Under the preview of a text: its title and where it shows, its language, its live
    version (0: the shipped file), who saved it (`author`, a name) and when (`at`, clinic
    time); `button` for a button label (`label` is it)."""

    title: str = _title()
    about: str = sample(_ABOUT, "")
    language: str = sample("🇺🇸 English")
    version: int = sample(0, 3)
    author: str = sample("", "Dana <Front Desk>")
    at: datetime | None = sample(None, SAMPLE_WHEN)
    button: bool = sample(False, True)
    label: str = sample("Done ✅")


class StaffTextAsk(Message):
    """Asking for a text's new words; `values` are the variables it may use, each its `name`,
    what it means (`about`) and how it reads in the preview (`sample`)."""

    title: str = _title()
    button: bool = sample(False, True)
    values: Sequence[Mapping[str, object]] = sample(
        (),
        (
            {"name": "when", "about": "the visit's date and time", "sample": "Thursday"},
            {"name": "checklist", "about": "", "sample": "Calm playlist <x>, Ride home"},
        ),
    )


class StaffTextCandidate(Message):
    """Under the preview of an edit, before it is saved; a change of some words names them:
    `old` as they were ("" for a whole-text edit), `new`, and how often they changed
    (`count`)."""

    title: str = _title()
    button: bool = sample(False, True)
    label: str = sample("Done ✅")
    old: str = sample("", "eye mask")
    new: str = sample("eye mask or a soft scarf", "", edges=["<b>&amp;"])
    count: int = sample(1, 3)


class StaffWordsAsk(Message):
    """Asking for some words of a text and their new words (``old -> new``, or two lines)."""

    title: str = _title()


class StaffWordsProblem(Message):
    """Why some words could not be changed (nothing was): `old` the words as typed; `count`
    how often they were found (several); `closest` the line of the text's plain wording
    nearest them (not found; "" when the text has none); `pieces` the words as bold, italics
    or a link cut them (formatted)."""

    title: str = _title()
    code: WordsProblem = codes(WordsProblem)
    old: str = sample("eye mask", edges=["<b>&amp;"])
    count: int = sample(3)
    closest: str = sample(
        "An eye mask can make the session calmer, with less to look at.", "", edges=["<i>"]
    )
    pieces: tuple[str, ...] = sample(
        ("no driving", "until the next day"), edges=[("<b>&amp;", "x" * 900)]
    )


class StaffTextProblems(Message):
    """The validator's problems with an edit; each has a `line` (None: unknown) and a `text`;
    `words` when the edit changed some words (new words are asked for, not a text)."""

    title: str = _title()
    words: bool = sample(False, True)
    problems: Sequence[Mapping[str, object]] = sample(
        ({"line": 3, "text": "unknown variable nme (known: when)"},),
        ({"line": None, "text": "5000 characters, over Telegram's 4096"},),
    )


class StaffTextSaved(Message):
    title: str = _title()
    version: int = sample(4)
    already: bool = sample(False, True)


class StaffTextChanged(Message):
    title: str = _title()
    version: int = sample(0, 4)


class StaffTextHistory(Message):
    """A text's versions, newest first: each its `number`, `author` (a name), `at` (clinic
    time), `note` and whether it is `live`."""

    title: str = _title()
    versions: Sequence[Mapping[str, object]] = sample((), _SAMPLE_VERSIONS)


class StaffTextRollback(Message):
    """Under the preview of an older version (`version`; 0: the shipped text), before it is
    restored: who saved it and when."""

    title: str = _title()
    version: int = sample(0, 2)
    author: str = sample("", "Dana <Front Desk>")
    at: datetime | None = sample(None, SAMPLE_WHEN)
    live: int = sample(3)


class StaffTextCancelled(Message):
    pass


# --- staff: moving and cancelling a visit the clinic made ------------------------------------
class VisitMoveAsk(Message):
    """`example` as in InviteAsk."""

    when: datetime = sample(SAMPLE_WHEN)
    label: str = _label()
    zone: str = sample(_ZONE)
    example: datetime = sample(SAMPLE_LATER)


class VisitMoveConfirm(Message):
    """`next_year` (of `after`) as in AppointmentConfirm."""

    before: datetime = sample(SAMPLE_WHEN)
    after: datetime = sample(SAMPLE_LATER)
    label: str = _label()
    next_year: bool = sample(False, True)


class VisitMoved(Message):
    """`changed` False: a second tap, or the visit was already at that time."""

    before: datetime = sample(SAMPLE_WHEN)
    after: datetime = sample(SAMPLE_LATER)
    label: str = _label()
    changed: bool = sample(True, False)


class VisitCancelConfirm(Message):
    when: datetime = sample(SAMPLE_WHEN)
    label: str = _label()


class VisitCancelled(Message):
    when: datetime = sample(SAMPLE_WHEN)
    label: str = _label()
    changed: bool = sample(True, False)


class VisitKept(Message):
    when: datetime = sample(SAMPLE_WHEN)
    label: str = _label()


class VisitChangeError(Message):
    """Why staff cannot move or cancel a visit (bot/services/errors.py, VisitChangeRefused);
    `example` as in InviteAsk."""

    code: VisitChangeCode = codes(ParseErrorCode, BookingProblem, VisitChangeProblem)
    zone: str = sample(_ZONE)
    example: datetime = sample(SAMPLE_WHEN)


class VisitChangedWhileDeciding(Message):
    """A member's move or cancel was not made: the patient or a colleague changed the visit
    first (`when`: where it is now) or cancelled it (`when` None)."""

    when: datetime | None = sample(SAMPLE_LATER, None)
    label: str = sample("J.D. <#4471>")


# --- notices to a patient (rendered at delivery, in their language and zone) -----------------
class VisitMovedNotice(Message, unsolicited=True):
    before: datetime = sample(SAMPLE_WHEN)
    after: datetime = sample(SAMPLE_LATER)


class VisitCancelledNotice(Message, unsolicited=True):
    when: datetime = sample(SAMPLE_WHEN)


class VisitAddedNotice(Message, unsolicited=True):
    """A visit of the clinic's schedule attached to a patient who linked before."""

    when: datetime = sample(SAMPLE_WHEN)


# --- staff: editing the FAQ (bot/telegram/handlers/staff_faq.py) ------------------------------
_SAMPLE_QUESTIONS: Sequence[Mapping[str, object]] = (
    {"key": "how_long", "title": "How long does a visit take?", "keywords": 14},
    {"key": "parking", "title": "Where can I park <safely>?", "keywords": 1},
)


class StaffFaqQuestions(Message):
    """A language's questions in menu order (each its `key`, `title` and number of
    `keywords`), and the live version of its FAQ file (0: the shipped file)."""

    language: str = sample("en")
    version: int = sample(0, 3)
    questions: Sequence[Mapping[str, object]] = sample(_SAMPLE_QUESTIONS)


class StaffFaqQuestion(Message):
    """One question: where it is in the menu (`position` from 1 of `count`)."""

    key: str = sample("parking")
    title: str = sample("Where can I park <safely>?")
    keywords: Sequence[str] = sample(("parking", "where to park"))
    position: int = sample(1, 2)
    count: int = sample(2)


class StaffFaqAsk(Message):
    """Asking for part of a question: `what` is ``key``, ``title``, ``keywords`` or
    ``answer``; `current` what it is now (empty for a new question)."""

    what: str = sample("key", "title", "keywords", "answer")
    key: str = sample("", "parking")
    current: str = sample("", "parking, where to park")


class StaffFaqCandidate(Message):
    """Under the preview of a changed questions menu (and a new question's answer): `op` is
    a FaqOp value (``add``, ``title``, ``kw``, ``up``, ``down``, ``rm``)."""

    op: str = sample("add", "title", "kw", "up", "down", "rm")
    key: str = sample("parking")
    title: str = sample("Where can I park <safely>?")
    keywords: Sequence[str] = sample(("parking", "where to park"))


# --- staff: editing the plan (bot/telegram/handlers/staff_plan.py) ---------------------------
_PLAN_STEP: Mapping[str, object] = {
    "key": "evening_before",
    "title": "Reminder: the evening before <eye mask>",
    "at": "-1d@19:00",
    "when": "the day before at 7:00 PM",
    "enabled": True,
    "due": SAMPLE_WHEN,
    "until": SAMPLE_LATER,
    "moved": False,
    "items": ["eye_mask"],
    "buttons": ["done", "snooze"],
}
_SAMPLE_TIMELINE: Sequence[Mapping[str, object]] = (
    _PLAN_STEP,
    {**_PLAN_STEP, "key": "ride", "title": "Reminder: ride", "at": "-1d@22:00", "moved": True},
    {**_PLAN_STEP, "key": "arrival", "enabled": False},
    {**_PLAN_STEP, "key": "late", "due": None, "until": None},
)


class StaffPlanTimeline(Message):
    """The plan as a timeline for a sample visit (`candidate`: after a change, to confirm);
    each step line as bot/services/plan_editing.py ``TimelineStep.as_line`` gives it, with its
    plain `title`; `kind`: the visit type whose plan it is, in plain words."""

    kind: str = sample(SAMPLE_KIND)
    visit: datetime = sample(SAMPLE_WHEN)
    version: int = sample(0, 2)
    steps: Sequence[Mapping[str, object]] = sample(_SAMPLE_TIMELINE)
    candidate: bool = sample(False, True)
    restoring: bool = sample(False, True)
    """An older version shown before it is restored (StaffPlanRollback follows)."""


class StaffPlanStep(Message):
    """One step, by its plain `title`; `at` and `expires` in words (StaffPlanWhen); `kind`: the
    visit type whose plan it is."""

    key: str = sample("evening_before")
    title: str = sample("Reminder: the evening before <eye mask>")
    kind: str = sample(SAMPLE_KIND)
    at: str = sample("the day before at 7:00 PM")
    expires: str = sample("2 hours before")
    enabled: bool = sample(True, False)
    due: datetime | None = sample(None, SAMPLE_WHEN)
    items: Sequence[str] = sample((), ("eye_mask", "ride"))
    buttons: Sequence[str] = sample((), ("done", "snooze"))


class StaffPlanAsk(Message):
    """What to type for a change: `what` is ``at``, ``expires``, ``items``, ``buttons`` or
    ``add``; `current` the step's value now; `choices` the items or buttons to choose from."""

    what: str = sample("at", "expires", "items", "buttons", "add")
    key: str = sample("evening_before")
    title: str = sample("Reminder: the evening before <eye mask>")
    kind: str = sample(SAMPLE_KIND)
    current: str = sample("", "-1d@19:00")
    choices: Sequence[str] = sample(("eye_mask", "ride"))


class StaffPlanProblems(Message):
    problems: Sequence[str] = sample(
        ("step 'evening_before', at: '-31d' is more than 30 days from the appointment",)
    )


class StaffPlanSaved(Message):
    """``untranslated``: the languages (their own names) in which a step just added has no
    text yet; their patients get it in ``fallback``, the default language, until one is
    written (/texts)."""

    version: int = sample(3)
    kind: str = sample(SAMPLE_KIND)
    already: bool = sample(False, True)
    moved: int = sample(0, 12)
    stopped: int = sample(0, 4)
    added: int = sample(0, 7)
    untranslated: Sequence[str] = sample((), ("Español",), edges=(("Español", "Français"),))
    fallback: str = sample("English")


class StaffPlanChanged(Message):
    version: int = sample(0, 4)


class StaffPlanWhen(Message):
    """A step's time in words, one line: `clock` (only its time of day is read) on the day
    `days` before or `after` the visit's date, or `days`, `hours` and `minutes` of elapsed
    time before or `after` the start (all 0: at the start)."""

    after: bool = sample(False, True)
    days: int = sample(0, 1, 3)
    hours: int = sample(0, 2)
    minutes: int = sample(0, 30)
    clock: datetime | None = sample(None, SAMPLE_WHEN)


class StaffPlanHistory(Message):
    """The plan's versions, newest first, as StaffTextHistory's."""

    versions: Sequence[Mapping[str, object]] = sample((), _SAMPLE_VERSIONS)


class StaffPlanRollback(Message):
    """Under the timeline of an older plan (`version`; 0: the shipped plan), before it is
    restored."""

    version: int = sample(0, 2)
    author: str = sample("", "Dana <Front Desk>")
    at: datetime | None = sample(None, SAMPLE_WHEN)
    live: int = sample(3)


# --- buttons and commands --------------------------------------------------------------------
class Button(StrEnum):
    """Every label key the code shows (messages/<lang>/buttons.toml); checklist items are
    named by the plan (``item_<key>``). A member's value is its name in lower case."""

    MENU_APPOINTMENTS = auto()
    MENU_PREPARE = auto()
    MENU_FAQ = auto()
    MENU_SETTINGS = auto()
    MENU_HOME = auto()
    LANGUAGE_NAME = auto()  # a language's own name: the button choosing it in /settings
    CONSENT_YES = auto()
    CONSENT_NO = auto()
    CONSENT_REVIEW = auto()
    DRAFT_CONFIRM = auto()
    DRAFT_CHANGE = auto()
    DRAFT_PICK = auto()  # {{ when }}
    APPOINTMENT_ITEM = auto()  # {{ when }}
    MENTION_MOVE = auto()
    MENTION_ADD = auto()
    MENTION_MOVE_ITEM = auto()  # {{ when }}
    MENTION_MOVED_ITEM = auto()  # {{ when }}
    APPOINTMENT_NEW = auto()
    APPOINTMENT_CHANGE = auto()
    APPOINTMENT_CANCEL = auto()
    APPOINTMENT_BACK = auto()
    APPOINTMENT_CALENDAR = auto()
    CANCEL_YES = auto()
    CANCEL_NO = auto()
    FAQ_MORE = auto()
    FAQ_ALL = auto()
    ZONE_EASTERN = auto()
    ZONE_CENTRAL = auto()
    ZONE_MOUNTAIN = auto()
    ZONE_ARIZONA = auto()
    ZONE_PACIFIC = auto()
    ZONE_ALASKA = auto()
    ZONE_HAWAII = auto()
    ZONE_ATLANTIC = auto()
    ZONE_OTHER = auto()
    FORGET_YES = auto()
    FORGET_NO = auto()
    REMINDER_DONE = auto()
    REMINDER_SNOOZE = auto()
    REMINDER_CHECKLIST = auto()
    ATTEND_YES = auto()
    ATTEND_NO = auto()
    ATTEND_AFTER_ALL = auto()
    CHECKIN_OK = auto()
    CHECKIN_OFF = auto()
    CHECKIN_CALL = auto()
    TOPIC_NERVOUS = auto()
    TOPIC_RESCHEDULE = auto()
    CHECK_DONE = auto()  # {{ label }}
    CHECK_TODO = auto()  # {{ label }}
    NOTICE_PRIVATE_ONLY = auto()
    NOTICE_CALENDAR_SENT = auto()
    NOTICE_SAID_UNDONE = auto()
    SAID_UNDO = auto()
    SAID_CHECKLIST = auto()
    INVITE_CONFIRM = auto()
    INVITE_KIND = auto()  # {{ label }}: a visit type's name
    INTAKE_APPLY = auto()
    INTAKE_CANCEL = auto()
    INVITE_CHANGE = auto()
    INVITE_PICK = auto()  # {{ when }}
    ROSTER_PREV = auto()
    ROSTER_NEXT = auto()
    STAFF_REMOVE = auto()  # {{ label }}: the member's Telegram id
    STAFF_REMOVE_YES = auto()
    STAFF_REMOVE_NO = auto()
    STAFF_AREA_WELCOME = auto()
    STAFF_AREA_APPOINTMENTS = auto()
    STAFF_AREA_SETTINGS = auto()
    STAFF_AREA_FAQ = auto()
    STAFF_AREA_REMINDERS = auto()
    STAFF_AREA_ERRORS = auto()
    STAFF_AREA_STAFF = auto()
    STAFF_AREA_BUTTONS = auto()
    STAFF_TEXT_ITEM = auto()  # {{ label }}: the text's name
    STAFF_PAGE_PREV = auto()
    STAFF_PAGE_NEXT = auto()
    STAFF_TEXT_EDIT = auto()
    STAFF_TEXT_WORDS = auto()
    STAFF_TEXT_WORDS_ALL = auto()  # {{ label }}: how many times the words were found
    STAFF_TEXT_HISTORY = auto()
    STAFF_TEXT_BACK = auto()
    STAFF_TEXT_AREAS = auto()
    STAFF_TEXT_CONFIRM = auto()
    STAFF_TEXT_CANCEL = auto()
    STAFF_TEXT_ROLLBACK = auto()  # {{ label }}: the version's number
    STAFF_TEXT_RESTORE = auto()
    STAFF_TEXT_LANGUAGE = auto()  # {{ label }}: a language's own name
    VISIT_MOVE = auto()  # {{ label }}: the visit's time and label
    VISIT_CANCEL = auto()  # {{ label }}: the visit's time and label
    VISIT_MOVE_CONFIRM = auto()
    VISIT_CHANGE = auto()
    VISIT_PICK = auto()  # {{ when }}
    VISIT_CANCEL_YES = auto()
    VISIT_CANCEL_NO = auto()
    STAFF_FAQ_QUESTIONS = auto()  # {{ label }}: the language
    STAFF_FAQ_ADD = auto()
    STAFF_FAQ_UP = auto()
    STAFF_FAQ_DOWN = auto()
    STAFF_FAQ_RENAME = auto()
    STAFF_FAQ_KEYWORDS = auto()
    STAFF_FAQ_ANSWER = auto()
    STAFF_FAQ_REMOVE = auto()
    STAFF_PLAN_STEP = auto()  # {{ label }}: the step's key
    STAFF_PLAN_AT = auto()
    STAFF_PLAN_EXPIRES = auto()
    STAFF_PLAN_SWITCH = auto()
    STAFF_PLAN_ITEMS = auto()
    STAFF_PLAN_BUTTONS = auto()
    STAFF_PLAN_ADD = auto()
    STAFF_PLAN_HISTORY = auto()
    STAFF_PLAN_TYPE = auto()  # {{ label }}: a visit type's name; its plan
    VISIT_TYPE_INFUSION = auto()  # a visit type's plain name, on the patient's screens too
    VISIT_TYPE_ESKETAMINE = auto()
    VISIT_TYPE_CONSULTATION = auto()


class ChatCommand(StrEnum):
    """The commands published with setMyCommands (descriptions in commands.toml), in menu
    order. Handlers also answer a few unpublished aliases (/appointments, /menu, ...)."""

    START = auto()
    APPOINTMENT = auto()
    PREPARE = auto()
    FAQ = auto()
    SETTINGS = auto()
    PAUSE = auto()
    RESUME = auto()
    HELP = auto()
    FORGET = auto()


STAFF_COMMANDS = "staff_commands.toml"
"""Where the team's commands are described (``Content.commands(lang, STAFF_COMMANDS)``)."""


class StaffCommand(StrEnum):
    """The commands of the clinic team (descriptions in staff_commands.toml), published in the
    command menu of each staff member's own chat only, never in the patients' list."""

    INVITE = auto()
    TODAY = auto()
    TOMORROW = auto()
    ROSTER = auto()
    STAFF = auto()
    STAFF_ADD = auto()
    STAFF_INVITE = auto()
    TEXTS = auto()
    PLAN = auto()
    APITOKENS = auto()
