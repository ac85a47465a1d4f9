"""Booking, listing, changing and cancelling appointments. Rules live in AppointmentService.

A typed time is read back and confirmed before anything is stored. The confirmation buttons
carry the token of the offer they belong to (kept in the conversation state): a button from an
older offer answers that it has expired, and a second tap on an offer already saved is answered
as saved, once, whether it comes later or races the first. Refusals (a time that cannot be
booked, an appointment gone) are answered by bot/telegram/refusals.py.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.content.catalogue import (
    AppointmentAmbiguous,
    AppointmentAsk,
    AppointmentCalendarSent,
    AppointmentCancelConfirm,
    AppointmentCancelled,
    AppointmentConfirm,
    AppointmentDetail,
    AppointmentHalf,
    AppointmentKept,
    AppointmentSaved,
    AppointmentStillWaiting,
    AppointmentWeekUnsure,
    Button,
    ChatCommand,
    FaqAnswer,
    StaleButton,
)
from bot.db.models import Appointment, Patient
from bot.domain.when_parser import ParseErrorCode, WhenReading
from bot.services.appointments import Ambiguity, HalfAnswer, Mention, VisitTime
from bot.services.container import ServiceScope
from bot.services.errors import BookingRefused, NoSuchAppointment, VisitChangedByClinic
from bot.services.offers import Offer, OfferExpired, OfferKind, TimeChoice
from bot.telegram.callbacks import (
    ApptAction,
    ApptCb,
    CancelVisitCb,
    DraftAction,
    DraftCb,
    MenuCb,
    MenuTarget,
    MovedVisitCb,
    MoveVisitCb,
)
from bot.telegram.filters import PlainText
from bot.telegram.handlers.faq import free_text
from bot.telegram.handlers.mentions import (
    ask_moved_time,
    half_from_state,
    half_to_state,
    moved_visits,
    offer_move,
)
from bot.telegram.handlers.own_visit import send_visit_list
from bot.telegram.middlewares import RequireConsent
from bot.telegram.reply import Reply
from bot.telegram.states import Booking

_CHOICES: dict[DraftAction, TimeChoice] = {
    DraftAction.EARLIER: "earlier",
    DraftAction.LATER: "later",
}


def _replace_id(data: dict[str, Any]) -> int | None:
    value = data.get("replace_id")
    return value if isinstance(value, int) else None


def _replacing(data: dict[str, Any]) -> dict[str, Any]:
    """The visit being changed, as the conversation holds it: its id and its version when the
    patient pressed Change (if the clinic changes it meanwhile, the change is not made), and
    whether the patient said it was moved (`moved`: the time they type is read back as the
    move of bot/telegram/handlers/mentions.py)."""
    version = data.get("replace_version")
    return {
        "replace_id": _replace_id(data),
        "replace_version": version if isinstance(version, int) else None,
        "moved": data.get("moved") is True,
    }


async def _ask_for_time(
    state: FSMContext,
    reply: Reply,
    patient: Patient,
    svc: ServiceScope,
    replace_id: int | None = None,
    version: int | None = None,
) -> None:
    await state.set_state(Booking.waiting_for_time)
    await state.set_data({"replace_id": replace_id, "replace_version": version})
    reply.send(
        AppointmentAsk(
            place=svc.patients.describe_zone(patient.timezone, reply.lang),
            example=svc.appointments.example(patient.timezone),
            changing=replace_id is not None,
        ),
        reply.kb.home(),
    )


async def list_appointments(
    event: Message | CallbackQuery,
    state: FSMContext,
    reply: Reply,
    patient: Patient,
    svc: ServiceScope,
) -> None:
    await state.clear()
    items = await svc.appointments.upcoming(patient)
    if not items and isinstance(event, Message):
        await _ask_for_time(state, reply, patient, svc)
        return
    send_visit_list(reply, items)


async def new_appointment(
    callback: CallbackQuery,
    state: FSMContext,
    reply: Reply,
    patient: Patient,
    svc: ServiceScope,
) -> None:
    await _ask_for_time(state, reply, patient, svc)


async def _answered_as_question(
    text: str, reply: Reply, example: datetime, patient: Patient, svc: ServiceScope
) -> bool:
    """Not a date but a question ("how long does it take?"): answered from the FAQ, and the
    date question stays open. The crisis screen (bot/telegram/gate.py) has already answered
    a crisis message before any of this, leaving the conversation where it was."""
    entry = reply.content.faq(reply.lang).matcher.match(text)
    if entry is None:
        return False
    preparation = await svc.preparation.next_visit_values(patient)
    reply.send(FaqAnswer(template_name=entry.template, preparation=preparation))
    reply.send(AppointmentStillWaiting(example=example), reply.kb.home())
    return True


async def read_time(
    message: Message,
    state: FSMContext,
    reply: Reply,
    patient: Patient,
    svc: ServiceScope,
    gently_answered: bool = False,
) -> None:
    """The patient's answer to "when is your visit?" (or to the confirmation; to "this week's
    or next week's?", a typed week, date or "not sure" first: `_week_typed`). A message that
    is no date but got the gentle answer of the crisis screen (past ideation, see
    bot/telegram/gate.py) is not told it could not be read: the question stays open."""
    text = message.text or ""
    data = await state.get_data()
    waiting = await state.get_state() == Booking.waiting_for_time.state
    if (
        not waiting
        and not gently_answered
        and await _week_typed(text, data, state, reply, patient, svc)
    ):
        return
    earlier = half_from_state(data) if waiting else None
    try:
        reading = svc.appointments.read_answer(
            text, patient.timezone, patient.language, earlier=earlier
        )
    except BookingRefused as refusal:
        if refusal.code is not ParseErrorCode.UNREADABLE:
            raise
        if gently_answered:
            return
        if await state.get_state() == Booking.confirming.state:
            # A time is read back with its buttons: words that are no time are talk ("thank
            # you", a question) and answered as such; the buttons stay.
            await free_text(message, state, reply, patient, svc)
            return
        example = svc.appointments.example(patient.timezone)
        if await _answered_as_question(text, reply, example, patient, svc):
            return
        raise
    if isinstance(reading, HalfAnswer):
        half = reading.reading
        await state.set_state(Booking.waiting_for_time)
        await state.set_data({**_replacing(data), **half_to_state(half)})
        reply.send(_half_question(half), reply.kb.home())
        return
    if isinstance(reading, VisitTime) and data.get("moved") is True:
        # The new time of a visit the patient said was moved: read back as that move.
        visits = moved_visits(await svc.appointments.upcoming(patient), _replace_id(data))
        await offer_move(state, reply, patient, Mention(reading, visits))
        return
    # A new offer: the buttons of any earlier one stop working.
    offer = Offer.of_reading(OfferKind.BOOKING, reading)
    await state.set_data({**_replacing(data), **offer.to_state()})
    await state.set_state(Booking.confirming)
    if isinstance(reading, Ambiguity):
        reply.send(
            AppointmentAmbiguous(
                earlier=reading.earlier.local,
                later=reading.later.local,
                ambiguity=reading.reason,
                tomorrow=reading.tomorrow,
                mentioned=False,
            ),
            reply.kb.draft_ambiguous(reading.earlier.local, reading.later.local, offer.token),
        )
        return
    reply.send(
        AppointmentConfirm(
            when=reading.local,
            changing=_replace_id(data) is not None,
            day_first=reading.day_first,
            mentioned=False,
            next_year=reading.next_year,
        ),
        reply.kb.draft_confirm(offer.token),
    )


async def _week_typed(
    text: str,
    data: dict[str, Any],
    state: FSMContext,
    reply: Reply,
    patient: Patient,
    svc: ServiceScope,
) -> bool:
    """A typed answer to "this week's or next week's?" while the two dates are buttons: one
    it picks is saved as a tap on it; "not sure" keeps the buttons, with a line to check with
    the clinic. False when the text is no such answer (AppointmentService.week_typed)."""
    try:
        offer = Offer.held(data, OfferKind.BOOKING)
        earlier, later = offer.visit_time("earlier"), offer.visit_time("later")
    except OfferExpired:
        return False
    words = reply.content.which_week(reply.lang)
    typed = svc.appointments.week_typed(text, earlier, later, words, patient.language)
    if typed is None:
        return False
    if isinstance(typed, Ambiguity):
        reply.send(
            AppointmentWeekUnsure(),
            reply.kb.draft_ambiguous(earlier.local, later.local, offer.token),
        )
        return True
    await _save(offer.token, typed, _replacing(data), state, reply, patient, svc)
    return True


def _half_question(half: WhenReading) -> AppointmentHalf:
    """ "Got it: Monday, December 7. What time?" (the day or the time, as datetimes for the
    template's date and time filters)."""
    day = datetime.combine(half.day, time(12)) if half.day else None
    other = datetime.combine(half.other_day, time(12)) if half.other_day else None
    clock = datetime.combine(date(2000, 1, 1), half.clock) if half.clock else None
    return AppointmentHalf(day=day, clock=clock, part=half.part, other_day=other)


async def draft_change(
    callback: CallbackQuery,
    callback_data: DraftCb,
    state: FSMContext,
    reply: Reply,
    patient: Patient,
    svc: ServiceScope,
) -> None:
    data = await state.get_data()
    try:
        Offer.answered(data, OfferKind.BOOKING, callback_data.t)
        replacing = _replacing(data)
    except OfferExpired:
        replacing = {}
    await _ask_for_time(
        state,
        reply,
        patient,
        svc,
        replacing.get("replace_id"),
        replacing.get("replace_version"),
    )


async def draft_confirm(
    callback: CallbackQuery,
    callback_data: DraftCb,
    state: FSMContext,
    reply: Reply,
    patient: Patient,
    svc: ServiceScope,
) -> None:
    """Confirm the time read back (or one of two readings); *Add as another visit* under a
    visit said to be moved books the time as a new visit instead of moving that one."""
    data = await state.get_data()
    offer = await _open_offer(callback_data.t, data, state, reply, patient, svc)
    if offer is None:
        return
    choice = _CHOICES.get(callback_data.action, "starts_at")
    replacing = _replacing(data)
    if callback_data.action is DraftAction.ADD:
        replacing = {"replace_id": None, "replace_version": None}
    await _save(callback_data.t, offer.visit_time(choice), replacing, state, reply, patient, svc)


async def move_mentioned(
    callback: CallbackQuery,
    callback_data: MoveVisitCb,
    state: FSMContext,
    reply: Reply,
    patient: Patient,
    svc: ServiceScope,
) -> None:
    """*Move it* under a visit the patient said was moved: the visit the button names, as it
    showed it (its version), to the offer's time, through the same change as /appointment's
    (reminders re-planned, the clinic told of a visit of its schedule, a visit the clinic
    changed meanwhile left alone); a second tap is answered as done, an older offer's button
    as expired."""
    offer = await _open_offer(callback_data.t, await state.get_data(), state, reply, patient, svc)
    if offer is None:
        return
    if offer.visit is not None:
        offer.about(visit=callback_data.id)
    replacing = {"replace_id": callback_data.id, "replace_version": callback_data.v}
    await _save(callback_data.t, offer.visit_time(), replacing, state, reply, patient, svc)


async def moved_which(
    callback: CallbackQuery,
    callback_data: MovedVisitCb,
    state: FSMContext,
    reply: Reply,
    patient: Patient,
    svc: ServiceScope,
) -> None:
    """The visit the patient picks as the one moved, after saying so without its new time:
    its new time is asked (half of it kept when they said it); a visit gone since is
    answered as gone."""
    visit = await svc.appointments.owned_upcoming(patient, callback_data.id)
    data = await state.get_data()
    half = None
    if await state.get_state() == Booking.waiting_for_time.state and data.get("moved") is True:
        kept = half_from_state(data)
        half = HalfAnswer(kept) if kept is not None else None
    await ask_moved_time(state, reply, patient, svc, visit, half)


async def _open_offer(
    token: str,
    data: dict[str, Any],
    state: FSMContext,
    reply: Reply,
    patient: Patient,
    svc: ServiceScope,
) -> Offer | None:
    """The open offer a button with `token` answers; None when that offer was saved already
    (a second tap, answered as done); OfferExpired for any other."""
    if token and data.get("saved") == token:
        await _already_saved(reply, patient, svc, data)
        return None
    if await state.get_state() != Booking.confirming.state:
        raise OfferExpired(OfferKind.BOOKING)
    return Offer.answered(data, OfferKind.BOOKING, token)


async def _save(
    token: str,
    offered: VisitTime,
    replacing: dict[str, Any],
    state: FSMContext,
    reply: Reply,
    patient: Patient,
    svc: ServiceScope,
) -> None:
    """Book the offered time, or move the visit `replacing` names to it, and say so."""
    replace_id = replacing["replace_id"]
    # Checked again: time has passed since it was offered.
    proposal = svc.appointments.check(offered)
    try:
        appointment = await svc.appointments.confirm(
            patient, proposal, replace_id=replace_id, version=replacing["replace_version"]
        )
    except (NoSuchAppointment, VisitChangedByClinic):
        await state.clear()  # the visit being changed is gone, or not as it was: so is this offer
        raise
    # Remember which offer was saved, so a second tap on it is answered as done.
    await state.set_state(None)
    await state.set_data(
        {"saved": token, "appointment_id": appointment.id, "changed": bool(replace_id)}
    )
    reply.send(
        AppointmentSaved(when=appointment.local_start, changed=replace_id is not None),
        reply.kb.saved(appointment.id),
    )


async def _already_saved(
    reply: Reply, patient: Patient, svc: ServiceScope, data: dict[str, Any]
) -> None:
    appointment_id = data.get("appointment_id")
    if not isinstance(appointment_id, int):
        raise NoSuchAppointment()
    appointment = await svc.appointments.owned_upcoming(patient, appointment_id)
    reply.send(
        AppointmentSaved(when=appointment.local_start, changed=bool(data.get("changed"))),
        reply.kb.saved(appointment.id),
    )


async def appointment_action(
    callback: CallbackQuery,
    callback_data: ApptCb,
    state: FSMContext,
    reply: Reply,
    patient: Patient,
    svc: ServiceScope,
) -> None:
    kb = reply.kb
    if callback_data.action is ApptAction.CANCEL_YES:  # a button from before CancelVisitCb
        await _cancel(reply, patient, svc, callback_data.id, None)
        return
    appointment = await svc.appointments.owned_upcoming(patient, callback_data.id)
    when = appointment.local_start
    match callback_data.action:
        case ApptAction.VIEW:
            kind = reply.content.visit_type_name(appointment.visit_type, reply.lang)
            reply.send(
                AppointmentDetail(when=when, kind=kind), kb.appointment_actions(appointment.id)
            )
        case ApptAction.CHANGE:
            await _ask_for_time(
                state,
                reply,
                patient,
                svc,
                appointment.id,
                appointment.version,
            )
        case ApptAction.CANCEL:
            reply.send(
                AppointmentCancelConfirm(when=when),
                kb.cancel_confirm(appointment.id, appointment.version),
            )
        case ApptAction.CANCEL_NO:
            reply.send(AppointmentKept(when=when), kb.main_menu())
        case ApptAction.CALENDAR:
            await _calendar_file(state, reply, svc, appointment)
        case _:
            reply.send(StaleButton(), kb.home())


CALENDAR_REPEAT = timedelta(seconds=60)
"""A second tap on "Add to calendar" for the same visit, unchanged, within this long gets a
note on the button (the file is just above) instead of a second file."""


async def _calendar_file(
    state: FSMContext, reply: Reply, svc: ServiceScope, appointment: Appointment
) -> None:
    """The visit as an .ics file, in the patient's language, sent after the commit. A tap
    on the button of a visit cancelled or over is answered by the refusals (it is gone)."""
    now = svc.clock.now()
    sent = (await state.get_data()).get("calendar")
    if isinstance(sent, dict) and (sent.get("id"), sent.get("v")) == (
        appointment.id,
        appointment.version,
    ):
        try:
            recent = now - datetime.fromisoformat(str(sent.get("at"))) < CALENDAR_REPEAT
        except ValueError:
            recent = False
        if recent:
            reply.callback_answer.text = reply.content.button(
                Button.NOTICE_CALENDAR_SENT, reply.lang
            )
            return
    file = await svc.calendar.visit_file(appointment, reply.lang)
    await state.update_data(
        calendar={"id": appointment.id, "v": appointment.version, "at": now.isoformat()}
    )
    reply.send_document(
        file.data, file.filename, AppointmentCalendarSent(when=appointment.local_start)
    )


async def cancel_visit(
    callback: CallbackQuery,
    callback_data: CancelVisitCb,
    reply: Reply,
    patient: Patient,
    svc: ServiceScope,
) -> None:
    await _cancel(reply, patient, svc, callback_data.id, callback_data.v)


async def _cancel(
    reply: Reply,
    patient: Patient,
    svc: ServiceScope,
    appointment_id: int,
    version: int | None,
) -> None:
    """Idempotent: a second "yes" finds it cancelled and says so again. `version`: the visit
    as the question showed it; moved by the clinic since, it stays, and the patient is told."""
    cancelled = await svc.appointments.cancel(patient, appointment_id, version)
    reply.send(AppointmentCancelled(when=cancelled.local_start), reply.kb.main_menu())


def create_router() -> Router:
    """A fresh router each call: aiogram attaches a router to one dispatcher only."""
    r = Router(name="appointments")
    r.message.middleware(RequireConsent())
    r.callback_query.middleware(RequireConsent())
    r.message.register(list_appointments, Command(ChatCommand.APPOINTMENT, "appointments"))
    r.callback_query.register(list_appointments, MenuCb.filter(F.to == MenuTarget.APPOINTMENTS))
    r.callback_query.register(new_appointment, MenuCb.filter(F.to == MenuTarget.NEW))
    r.message.register(read_time, Booking.waiting_for_time, PlainText())
    r.message.register(read_time, Booking.confirming, PlainText())
    r.callback_query.register(draft_change, DraftCb.filter(F.action == DraftAction.CHANGE))
    r.callback_query.register(draft_confirm, DraftCb.filter(F.action != DraftAction.CHANGE))
    r.callback_query.register(appointment_action, ApptCb.filter())
    r.callback_query.register(cancel_visit, CancelVisitCb.filter())
    r.callback_query.register(move_mentioned, MoveVisitCb.filter())
    r.callback_query.register(moved_which, MovedVisitCb.filter())
    return r
