"""Refusals: a rule of the service says no. The one way a service tells a person no: it raises
one of these, carrying an enum code (bot/domain/refusals.py) where there are several reasons;
each surface answers each type once (Telegram: bot/telegram/refusals.py, inside the update's
transaction: what was written before the refusal commits, as in ``Services.transaction``), with
a message whose template explains every code. They are not logged as failures."""

from __future__ import annotations

from datetime import date, datetime

from bot.domain.refusals import (
    ApiTokenProblem,
    BookingCode,
    InviteCode,
    NotAllowedReason,
    OfferKind,
    RosterProblem,
    VisitChangeCode,
)
from bot.domain.visits import AmbiguityReason


class Refusal(Exception):
    """A rule said no: the patient is told why; nothing went wrong."""


class NoSuchAppointment(Refusal):
    """Never existed, belongs to someone else, was cancelled, or is over."""


class VisitOver(Refusal):
    """The visit has started: its reminder's buttons no longer apply."""


class UnknownItem(Refusal):
    """A checklist item the plan no longer has."""


class NothingToTick(Refusal):
    """ "Done" under a reminder whose step has no checklist items (any more)."""


class SnoozeRefused(Refusal):
    """Too late to send the step again before it expires, or it is being sent right now."""


class BookingRefused(Refusal):
    """A typed time that cannot be read or booked; `limit` and `wall` fill the explanation."""

    def __init__(
        self,
        code: BookingCode,
        *,
        limit: int | None = None,
        wall: datetime | None = None,
        day: date | None = None,
    ) -> None:
        super().__init__(str(code))
        self.code = code
        self.limit = limit
        self.wall = wall
        self.day = day  # the date a weekday written beside it does not match


class OfferExpired(Refusal):
    """A button of a confirmation that is no longer the one on offer (an older offer's, one
    already answered another way, one whose conversation was lost): nothing is done
    (bot/services/offers.py)."""

    def __init__(self, kind: OfferKind) -> None:
        super().__init__(kind)
        self.kind = kind


class NotAllowed(Refusal):
    """The actor may not do this (`bot.services.staff.StaffService.require`)."""

    def __init__(self, reason: NotAllowedReason) -> None:
        super().__init__(reason)
        self.reason = reason


class NoSuchMember(Refusal):
    """Not an active staff member (removing someone who is not, or no longer, staff)."""


class InviteRefused(Refusal):
    """An invite that cannot be made: its time's problem, its label's, or ``ambiguous`` (the
    time has two readings, `reason` says why: `earlier` and `later` are the two instants;
    pass the chosen one back)."""

    def __init__(
        self,
        code: InviteCode,
        *,
        earlier: datetime | None = None,
        later: datetime | None = None,
        reason: AmbiguityReason | None = None,
    ) -> None:
        super().__init__(code)
        self.code = code
        self.earlier = earlier
        self.later = later
        self.reason = reason


class RosterRefused(Refusal):
    """A day the roster cannot show."""

    def __init__(self, code: RosterProblem) -> None:
        super().__init__(code)
        self.code = code


class NoSuchText(Refusal):
    """A text (or a version of it) the bot does not have: forged or stale button data."""


class VisitChangeRefused(Refusal):
    """Staff cannot move or cancel this visit: the visit's problem or the new time's.
    `visit_at`: the visit's start now (aware, in the clinic's zone) when a new time for it was
    refused, so the answer's example is not the time it already has."""

    def __init__(self, code: VisitChangeCode, *, visit_at: datetime | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.visit_at = visit_at


class VisitChanged(Refusal):
    """The visit changed since the person acting saw it (a patient's change and the clinic's
    of one visit, at once or one after the other): their change was not made. `starts_at` is
    the visit's start now (aware UTC) and `zone` the zone it is shown in; None for both when
    it was cancelled. `label` names it for staff (the invite's label)."""

    def __init__(self, starts_at: datetime | None, zone: str | None, *, label: str = "") -> None:
        super().__init__("changed")
        self.starts_at = starts_at
        self.zone = zone
        self.label = label


class VisitChangedByClinic(VisitChanged):
    """Told to the patient: the clinic changed (or someone cancelled) the visit first."""


class VisitChangedMeanwhile(VisitChanged):
    """Told to staff: the patient or a colleague changed the visit first."""


class ApiTokenRefused(Refusal):
    """An HTTP API token that cannot be made or revoked (the name, the source, no such one)."""

    def __init__(self, code: ApiTokenProblem) -> None:
        super().__init__(code)
        self.code = code
