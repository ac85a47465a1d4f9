"""Booking, listing, changing and cancelling appointments. Rules live in AppointmentService.

A typed time is read back and confirmed before anything is stored. The confirmation buttons
carry the token of the offer they belong to (kept in the conversation state): a button from an
older offer answers that it has expired, and a second tap on an offer already saved is answered
as saved, once, whether it comes later or races the first. Refusals (a time that cannot be
booked, an appointment gone) are answered by bot/telegram/refusals.py.
"""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.content.catalogue import (
    AppointmentAmbiguous,
    AppointmentAsk,
    AppointmentCancelConfirm,
    AppointmentCancelled,
    AppointmentConfirm,
    AppointmentDetail,
    AppointmentKept,
    AppointmentList,
    AppointmentSaved,
    ChatCommand,
    StaleButton,
)
from bot.db.models import Patient
from bot.domain.visits import BookingProblem
from bot.services.appointments import Ambiguity, AppointmentService
from bot.services.errors import BookingRefused, NoSuchAppointment
from bot.telegram.callbacks import (
    ApptAction,
    ApptCb,
    DraftAction,
    DraftCb,
    MenuCb,
    MenuTarget,
    new_token,
)
from bot.telegram.filters import PlainText
from bot.telegram.middlewares import RequireConsent
from bot.telegram.reply import Reply
from bot.telegram.states import Booking


def _replace_id(data: dict[str, Any]) -> int | None:
    value = data.get("replace_id")
    return value if isinstance(value, int) else None


async def _ask_for_time(
    state: FSMContext, reply: Reply, patient: Patient, replace_id: int | None = None
) -> None:
    await state.set_state(Booking.waiting_for_time)
    await state.set_data({"replace_id": replace_id})
    reply.send(
        AppointmentAsk(zone=patient.timezone, changing=replace_id is not None), reply.kb.home()
    )


async def list_appointments(
    event: Message | CallbackQuery,
    state: FSMContext,
    reply: Reply,
    patient: Patient,
    appointments: AppointmentService,
) -> None:
    await state.clear()
    items = await appointments.upcoming(patient)
    if not items and isinstance(event, Message):
        await _ask_for_time(state, reply, patient)
        return
    reply.send(
        AppointmentList(items=[a.local_start for a in items]), reply.kb.appointments(items)
    )


async def new_appointment(
    callback: CallbackQuery, state: FSMContext, reply: Reply, patient: Patient
) -> None:
    await _ask_for_time(state, reply, patient)


async def read_time(
    message: Message,
    state: FSMContext,
    reply: Reply,
    patient: Patient,
    appointments: AppointmentService,
) -> None:
    reading = appointments.read(message.text or "", patient.timezone, patient.language)
    data = await state.get_data()
    token = new_token()  # a new offer: the buttons of any earlier one stop working
    if isinstance(reading, Ambiguity):
        await state.set_data(
            {
                "replace_id": _replace_id(data),
                "earlier": reading.earlier.starts_at.isoformat(),
                "later": reading.later.starts_at.isoformat(),
                "zone": reading.earlier.zone,
                "token": token,
            }
        )
        await state.set_state(Booking.confirming)
        reply.send(
            AppointmentAmbiguous(earlier=reading.earlier.local, later=reading.later.local),
            reply.kb.draft_ambiguous(reading.earlier.local, reading.later.local, token),
        )
        return
    await state.set_data(
        {
            "replace_id": _replace_id(data),
            "starts_at": reading.starts_at.isoformat(),
            "zone": reading.zone,
            "token": token,
        }
    )
    await state.set_state(Booking.confirming)
    reply.send(
        AppointmentConfirm(when=reading.local, changing=_replace_id(data) is not None),
        reply.kb.draft_confirm(token),
    )


async def draft_change(
    callback: CallbackQuery,
    callback_data: DraftCb,
    state: FSMContext,
    reply: Reply,
    patient: Patient,
) -> None:
    data = await state.get_data()
    current = data.get("token") == callback_data.t
    await _ask_for_time(state, reply, patient, _replace_id(data) if current else None)


async def draft_confirm(
    callback: CallbackQuery,
    callback_data: DraftCb,
    state: FSMContext,
    reply: Reply,
    patient: Patient,
    appointments: AppointmentService,
) -> None:
    data = await state.get_data()
    if callback_data.t and data.get("saved") == callback_data.t:
        await _already_saved(reply, patient, appointments, data)
        return
    field = (
        "starts_at" if callback_data.action is DraftAction.CONFIRM else callback_data.action.value
    )
    stored = data.get(field)
    offered = (
        await state.get_state() == Booking.confirming.state
        and data.get("token") == callback_data.t
        and isinstance(stored, str)
    )
    if not offered or not isinstance(stored, str):
        raise BookingRefused(BookingProblem.EXPIRED)
    replace_id = _replace_id(data)
    proposal = appointments.proposal_from_stored(stored, str(data.get("zone")))
    try:
        appointment = await appointments.confirm(patient, proposal, replace_id=replace_id)
    except NoSuchAppointment:
        await state.clear()  # the visit being changed is gone: so is this offer
        raise
    # Remember which offer was saved, so a second tap on it is answered as done.
    await state.set_state(None)
    await state.set_data(
        {"saved": callback_data.t, "appointment_id": appointment.id, "changed": bool(replace_id)}
    )
    reply.send(
        AppointmentSaved(when=appointment.local_start, changed=replace_id is not None),
        reply.kb.main_menu(),
    )


async def _already_saved(
    reply: Reply, patient: Patient, appointments: AppointmentService, data: dict[str, Any]
) -> None:
    appointment_id = data.get("appointment_id")
    if not isinstance(appointment_id, int):
        raise NoSuchAppointment()
    appointment = await appointments.owned_upcoming(patient, appointment_id)
    reply.send(
        AppointmentSaved(when=appointment.local_start, changed=bool(data.get("changed"))),
        reply.kb.main_menu(),
    )


async def appointment_action(
    callback: CallbackQuery,
    callback_data: ApptCb,
    state: FSMContext,
    reply: Reply,
    patient: Patient,
    appointments: AppointmentService,
) -> None:
    kb = reply.kb
    if callback_data.action is ApptAction.CANCEL_YES:
        # Idempotent: a second "yes" finds it cancelled and says so again.
        cancelled = await appointments.cancel(patient, callback_data.id)
        reply.send(AppointmentCancelled(when=cancelled.local_start), kb.main_menu())
        return
    appointment = await appointments.owned_upcoming(patient, callback_data.id)
    when = appointment.local_start
    match callback_data.action:
        case ApptAction.VIEW:
            reply.send(AppointmentDetail(when=when), kb.appointment_actions(appointment.id))
        case ApptAction.CHANGE:
            await _ask_for_time(state, reply, patient, appointment.id)
        case ApptAction.CANCEL:
            reply.send(AppointmentCancelConfirm(when=when), kb.cancel_confirm(appointment.id))
        case ApptAction.CANCEL_NO:
            reply.send(AppointmentKept(when=when), kb.main_menu())
        case _:
            reply.send(StaleButton(), kb.home())


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
    return r
