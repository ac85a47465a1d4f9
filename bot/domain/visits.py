"""The states of an appointment (``appointments.status``, ``appointments.attendance``), and
why a time the patient gave cannot be booked.

StrEnum members are the strings stored in the database, so they compare and bind as those
strings.
"""

from __future__ import annotations

from enum import StrEnum


class VisitType(StrEnum):
    """What kind of visit an appointment is (``appointments.visit_type``): each has its own
    preparation plan in ``messages/`` (steps, checklist, the clinic's values such as fasting
    hours), because an IV ketamine infusion, an esketamine session and a first consultation
    prepare differently, and the differences are about safety. A fixed set, so every plan is
    reviewed in code and content alike; a source's own words for them are aliases (settings).
    """

    INFUSION = "infusion"
    ESKETAMINE = "esketamine"
    CONSULTATION = "consultation"


DEFAULT_VISIT_TYPE = VisitType.INFUSION
"""The type of a visit a patient books themselves, and of every visit made before types."""


class AppointmentStatus(StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class Attendance(StrEnum):
    """The patient's answer to the attendance buttons; NULL until they answer."""

    CONFIRMED = "confirmed"
    RESCHEDULE = "reschedule"


class Checkin(StrEnum):
    """The patient's answer to the day-after check-in (``appointments.checkin``); NULL until
    they answer. TYPED: they wrote instead of tapping (acknowledged, the buttons offered)."""

    OK = "ok"
    OFF = "off"
    CALL = "call"
    TYPED = "typed"


class AmbiguityReason(StrEnum):
    """Why a typed time has two readings the person picks from (``Ambiguity`` in
    bot/services/appointments.py); the templates that ask explain each."""

    CLOCKS_BACK = "clocks_back"  # the wall time happens twice: the clocks go back that night
    TWO_WEEKS = "two_weeks"  # "next tuesday" on a Monday: tomorrow, or a week after?


class BookingProblem(StrEnum):
    """Why a time that was read cannot be booked (besides the reader's own
    :class:`~bot.domain.when_parser.ParseErrorCode`); template `appointment_error` has a
    paragraph for each."""

    PAST = "past"
    TOO_FAR = "too_far"
    NONEXISTENT = "nonexistent"  # the clocks skip that wall time
    DUPLICATE = "duplicate"
    TOO_MANY = "too_many"
