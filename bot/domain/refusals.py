"""The codes of the refusals a person is told about (bot/services/errors.py raises them with
one of these; bot/content/catalogue.py's messages carry it to a template). Each template
that explains a refusal names every code of its enums (checked by bot/content/validate.py),
so a new code cannot fall silently into another's explanation."""

from __future__ import annotations

from enum import StrEnum

from bot.domain.visits import BookingProblem
from bot.domain.when_parser import ParseErrorCode

__all__ = [
    "BookingCode",
    "InviteCode",
    "InviteProblem",
    "LabelProblem",
    "NotAllowedReason",
    "OfferKind",
    "RosterProblem",
    "VisitChangeCode",
    "VisitChangeProblem",
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
