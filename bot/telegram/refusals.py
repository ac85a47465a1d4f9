"""Refusals (bot/services/errors.py) answered once, by exception type.

The router's error handlers run in an ``ErrorsMiddleware`` of their own placed inside the
unit of work (bot/factory.py), so they answer through the update's ``Reply`` and the update
ends normally: what the handler wrote before the refusal commits, as when each handler caught
it itself, and nothing is logged as a failure. Any other exception passes through untouched,
rolls the update back and reaches the kind error of bot/telegram/errors.py.
"""

from __future__ import annotations

from datetime import datetime, time

from aiogram import Router
from aiogram.filters import ExceptionTypeFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import ErrorEvent

from bot.content.catalogue import (
    ApiTokenError,
    AppointmentChangedByClinic,
    AppointmentError,
    AppointmentGone,
    ExpiredOffer,
    IntakeNotSetUp,
    InviteError,
    ReminderSnoozeRefused,
    RosterAsk,
    StaffAccessEnded,
    StaffNoSuchMember,
    StaffNotAllowed,
    StaleButton,
    UnknownCommand,
    VisitChangedWhileDeciding,
    VisitChangeError,
)
from bot.db.models import Patient
from bot.domain.refusals import NotAllowedReason, OfferKind
from bot.services.container import ServiceScope
from bot.services.errors import (
    ApiTokenRefused,
    BookingRefused,
    InviteRefused,
    NoSuchAppointment,
    NoSuchMember,
    NoSuchText,
    NotAllowed,
    NothingToTick,
    OfferExpired,
    RosterRefused,
    SnoozeRefused,
    UnknownItem,
    VisitChanged,
    VisitChangedByClinic,
    VisitChangedMeanwhile,
    VisitChangeRefused,
    VisitOver,
)
from bot.services.intake import IntakeUnavailable
from bot.telegram.reply import Reply
from bot.telegram.states import in_team_conversation
from foundation.timemath import load_zone, to_local


async def appointment_gone(event: ErrorEvent, reply: Reply) -> None:
    reply.send(AppointmentGone(), reply.kb.home())


async def stale_button(event: ErrorEvent, reply: Reply) -> None:
    reply.send(StaleButton(), reply.kb.home())


async def snooze_refused(event: ErrorEvent, reply: Reply) -> None:
    reply.send(ReminderSnoozeRefused())


async def booking_refused(
    event: ErrorEvent,
    reply: Reply,
    patient: Patient,
    svc: ServiceScope,
) -> None:
    refusal = event.exception
    assert isinstance(refusal, BookingRefused)
    day = datetime.combine(refusal.day, time(12)) if refusal.day is not None else None
    reply.send(
        AppointmentError(
            code=refusal.code,
            place=svc.patients.describe_zone(patient.timezone, reply.lang),
            example=svc.appointments.example(patient.timezone),
            limit=refusal.limit,
            wall=refusal.wall,
            day=day,
        ),
        reply.kb.home(),
    )


async def offer_expired(event: ErrorEvent, reply: Reply) -> None:
    refusal = event.exception
    assert isinstance(refusal, OfferExpired)
    patients = refusal.kind in (OfferKind.BOOKING, OfferKind.FORGET)
    reply.send(ExpiredOffer(kind=refusal.kind), reply.kb.home() if patients else None)


async def not_allowed(event: ErrorEvent, reply: Reply, state: FSMContext) -> None:
    """Someone who is not on the team gets what any unknown command or stale button gets (the
    refused attempt is in the audit log); a member, why not. Someone removed from the team
    in the middle of a team conversation (only a member can start one) is told their staff
    access has ended, and the conversation is over."""
    refusal = event.exception
    assert isinstance(refusal, NotAllowed)
    if refusal.reason is NotAllowedReason.NOT_STAFF and in_team_conversation(
        await state.get_state()
    ):
        await state.clear()
        reply.send(StaffAccessEnded(), reply.kb.home())
    elif refusal.reason is not NotAllowedReason.NOT_STAFF:
        reply.send(StaffNotAllowed(reason=refusal.reason))
    elif event.update.callback_query is not None:
        reply.send(StaleButton(), reply.kb.home())
    else:
        reply.send(UnknownCommand(), reply.kb.home())


async def no_such_member(event: ErrorEvent, reply: Reply) -> None:
    reply.send(StaffNoSuchMember())


async def invite_refused(event: ErrorEvent, reply: Reply, svc: ServiceScope) -> None:
    refusal = event.exception
    assert isinstance(refusal, InviteRefused)
    invites = svc.invites
    reply.send(InviteError(code=refusal.code, zone=invites.default_zone, example=invites.example()))


async def roster_refused(event: ErrorEvent, reply: Reply, svc: ServiceScope) -> None:
    refusal = event.exception
    assert isinstance(refusal, RosterRefused)
    reply.send(RosterAsk(code=refusal.code, example=svc.roster.example()))


async def visit_change_refused(event: ErrorEvent, reply: Reply, svc: ServiceScope) -> None:
    refusal = event.exception
    assert isinstance(refusal, VisitChangeRefused)
    visits = svc.visit_changes
    reply.send(
        VisitChangeError(
            code=refusal.code,
            zone=visits.default_zone,
            example=visits.example(refusal.visit_at),
        )
    )


def _now_local(refusal: VisitChanged) -> datetime | None:
    """Where the visit is now, in the zone it is shown in; None when it was cancelled."""
    if refusal.starts_at is None or refusal.zone is None:
        return None
    return to_local(refusal.starts_at, load_zone(refusal.zone))


async def visit_changed_by_clinic(event: ErrorEvent, reply: Reply) -> None:
    refusal = event.exception
    assert isinstance(refusal, VisitChanged)
    reply.send(AppointmentChangedByClinic(when=_now_local(refusal)), reply.kb.main_menu())


async def visit_changed_meanwhile(event: ErrorEvent, reply: Reply) -> None:
    refusal = event.exception
    assert isinstance(refusal, VisitChanged)
    reply.send(VisitChangedWhileDeciding(when=_now_local(refusal), label=refusal.label))


async def api_token_refused(event: ErrorEvent, reply: Reply) -> None:
    refusal = event.exception
    assert isinstance(refusal, ApiTokenRefused)
    reply.send(ApiTokenError(code=refusal.code))


async def intake_unavailable(event: ErrorEvent, reply: Reply) -> None:
    reply.send(IntakeNotSetUp())


def create_router() -> Router:
    """A fresh router each call, for one ErrorsMiddleware (not included in the dispatcher)."""
    r = Router(name="refusals")
    r.errors.register(appointment_gone, ExceptionTypeFilter(NoSuchAppointment, VisitOver))
    r.errors.register(stale_button, ExceptionTypeFilter(UnknownItem, NothingToTick, NoSuchText))
    r.errors.register(snooze_refused, ExceptionTypeFilter(SnoozeRefused))
    r.errors.register(booking_refused, ExceptionTypeFilter(BookingRefused))
    r.errors.register(offer_expired, ExceptionTypeFilter(OfferExpired))
    r.errors.register(not_allowed, ExceptionTypeFilter(NotAllowed))
    r.errors.register(no_such_member, ExceptionTypeFilter(NoSuchMember))
    r.errors.register(invite_refused, ExceptionTypeFilter(InviteRefused))
    r.errors.register(roster_refused, ExceptionTypeFilter(RosterRefused))
    r.errors.register(visit_change_refused, ExceptionTypeFilter(VisitChangeRefused))
    r.errors.register(visit_changed_by_clinic, ExceptionTypeFilter(VisitChangedByClinic))
    r.errors.register(visit_changed_meanwhile, ExceptionTypeFilter(VisitChangedMeanwhile))
    r.errors.register(api_token_refused, ExceptionTypeFilter(ApiTokenRefused))
    r.errors.register(intake_unavailable, ExceptionTypeFilter(IntakeUnavailable))
    return r
