"""The codes of the refusals a person is told about (bot/services/errors.py raises them with
one of these; bot/content/catalogue.py's messages carry it to a template). Each template
that explains a refusal names every code of its enums (checked by bot/content/validate.py),
so a new code cannot fall silently into another's explanation."""

from __future__ import annotations

from enum import StrEnum

from bot.domain.text_words import WordsProblem
from bot.domain.visits import BookingProblem
from bot.domain.when_parser import ParseErrorCode

__all__ = [
    "ApiTokenProblem",
    "BookingCode",
    "InviteCode",
    "InviteProblem",
    "LabelProblem",
    "NotAllowedReason",
    "OfferKind",
    "RosterProblem",
    "RowReason",
    "VisitChangeCode",
    "VisitChangeProblem",
    "WordsProblem",
]


class NotAllowedReason(StrEnum):
    """Why the team's rules say no (``NotAllowed``)."""

    NOT_STAFF = "not_staff"  # not on the team: answered as an unknown command or stale button
    ROLE = "role"  # staff, not admin
    ENV_ADMIN = "env_admin"  # an admin of STAFF_IDS cannot be changed through the bot
    SELF = "self"  # nobody removes or changes themselves


class OfferKind(StrEnum):
    """What a confirmation offered (``OfferExpired`` names it: its answer says how to start
    again)."""

    BOOKING = "booking"  # a patient's visit: its time, or a new time for it
    INVITE = "invite"  # the team's invite link for a visit
    VISIT_MOVE = "visit_move"  # the team moves a visit
    VISIT_CANCEL = "visit_cancel"  # the team cancels a visit
    FORGET = "forget"  # a patient's "Yes, delete everything"
    STAFF_REMOVE = "staff_remove"  # an admin removes a member
    TEXT_EDIT = "text_edit"  # a text or button label, saved or restored
    FAQ_EDIT = "faq_edit"  # a question of the FAQ
    PLAN_EDIT = "plan_edit"  # the reminder plan, changed or restored
    VISITS_IMPORT = "visits_import"  # the team imports a CSV of the clinic's schedule


class LabelProblem(StrEnum):
    """Why an invite's label cannot be kept."""

    EMPTY = "label_empty"
    TOO_LONG = "label_too_long"
    CONTROL = "label_control"  # line breaks, control or format characters
    QUESTION = "label_question"  # "what's a label?", "¿qué pongo aquí?": asked, not a label


class InviteProblem(StrEnum):
    """Why an invite cannot be made, besides its time's and its label's problems."""

    AMBIGUOUS = "ambiguous"  # the time happens twice: the two instants come with the refusal
    UNKNOWN_ZONE = "unknown_zone"


class VisitChangeProblem(StrEnum):
    """Why staff cannot move or cancel a visit, besides the new time's problems."""

    GONE = "gone"  # no such visit, cancelled or begun
    SELF_BOOKED = "self_booked"  # the patient booked it: theirs to change
    UNKNOWN_ZONE = "unknown_zone"


class RosterProblem(StrEnum):
    """Why the roster cannot show a day."""

    MISSING = "missing"  # no day given
    UNREADABLE = "unreadable"
    TOO_FAR = "too_far"  # more than a year away either way


BookingCode = ParseErrorCode | BookingProblem
"""Why a typed time cannot be booked: the reader's problems and the booking rules'."""
InviteCode = ParseErrorCode | BookingProblem | LabelProblem | InviteProblem
VisitChangeCode = ParseErrorCode | BookingProblem | VisitChangeProblem


class ApiTokenProblem(StrEnum):
    """Why an HTTP API token cannot be made or revoked (``ApiTokenRefused``)."""

    BAD_NAME = "bad_name"  # not 1-64 lower-case letters, digits, _ . -
    NAME_TAKEN = "name_taken"  # another token (active or revoked) has this name
    BAD_SOURCE = "bad_source"  # not a source name (the same rule as a name)
    NO_SUCH_TOKEN = "no_such_token"  # no token of that name
    REVOKED = "revoked"  # revoked already


class RowReason(StrEnum):
    """Why one row of the clinic's schedule was refused (bot/intake/rows.py ``RowError``), as
    staff are told in their language (the CSV import's preview in Telegram and on the command
    line). Finer than the row's code (``RowErrorCode``, the API's problem type): one member
    per explanation. ``FHIR_*``, ``START_END_TOGETHER`` and ``START_NEEDED`` come from FHIR
    resources, which only the API reads."""

    EMPTY = "empty"
    TOO_LONG = "too_long"  # more than `limit` characters, or control characters
    UNKNOWN_STATUS = "unknown_status"  # `named`: the words known for `source`
    UNKNOWN_VISIT_TYPE = "unknown_visit_type"  # `named`: the types known
    UNKNOWN_LANGUAGE = "unknown_language"  # `named`: the bot's languages
    UNREADABLE_START = "unreadable_start"
    NOT_A_REAL_DATE = "not_a_real_date"  # 2027-02-30
    UNREADABLE_TIME = "unreadable_time"  # the time column
    BAD_12_HOUR = "bad_12_hour"
    BAD_FOLD = "bad_fold"
    UNKNOWN_ZONE = "unknown_zone"
    OFFSET_ZONE_MISMATCH = "offset_zone_mismatch"  # `zone`
    NONEXISTENT_TIME = "nonexistent_time"  # the clocks skip it in `zone`
    DATE_TIME_TOGETHER = "date_time_together"  # a date without a time, or the other way
    END_BEFORE_START = "end_before_start"
    VISIT_TOO_LONG = "visit_too_long"  # more than a day
    BAD_SOURCE = "bad_source"
    TOO_MANY_FIELDS = "too_many_fields"  # `count` fields, the header `limit`
    DUPLICATE = "duplicate"  # `named`: the lines with the same appointment id
    OTHER_PATIENT = "other_patient"  # the appointment id was imported for another patient
    FHIR_INSTANT = "fhir_instant"
    FHIR_ID_LENGTH = "fhir_id_length"  # `limit`
    FHIR_NO_SOURCE = "fhir_no_source"
    FHIR_STATUS = "fhir_status"
    FHIR_NOT_BOOKED = "fhir_not_booked"  # `named`: the resource's status
    FHIR_TYPE_NO_PLAN = "fhir_type_no_plan"
    FHIR_NO_TYPE = "fhir_no_type"
    FHIR_PATIENT = "fhir_patient"
    FHIR_NOT_APPOINTMENT = "fhir_not_appointment"  # `named`: where
    START_END_TOGETHER = "start_end_together"
    START_NEEDED = "start_needed"
