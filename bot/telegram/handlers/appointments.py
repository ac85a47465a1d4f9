"""Booking, listing, changing and cancelling appointments. Rules live in AppointmentService.

A typed time is read back and confirmed before anything is stored. The confirmation buttons
carry the token of the offer they belong to (kept in the conversation state): a button from an
older offer answers that it has expired, and a second tap on an offer already saved is answered
as saved, once, whether it comes later or races the first.
"""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.db.models import Patient
from bot.services.appointments import Ambiguity, AppointmentService, Proposal
from bot.services.errors import NotFound, ServiceError
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


def _send_error(
    reply: Reply, error: ServiceError, patient: Patient, faq_template: str | None = None
) -> None:
    reply.send(
        "appointment_error",
        reply.kb.home(),
        code=error.code,
        zone=patient.timezone,
        faq_template=faq_template,
        limit=error.details.get("limit"),
        wall=error.details.get("wall"),
    )


def _replace_id(data: dict[str, Any]) -> int | None:
    value = data.get("replace_id")
    return value if isinstance(value, int) else None


async def _ask_for_time(
    state: FSMContext, reply: Reply, patient: Patient, replace_id: int | None = None
) -> None:
    await state.set_state(Booking.waiting_for_time)
    await state.set_data({"replace_id": replace_id})
    reply.send(
        "appointment_ask", reply.kb.home(), zone=patient.timezone, changing=replace_id is not None
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
        "appointment_list", reply.kb.appointments(items), items=[a.local_start for a in items]
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
    text = message.text or ""
    try:
        reading = appointments.read(text, patient.timezone)
    except ServiceError as exc:
        # Not a time, but maybe a question ("how long is recovery?"): answer it as well.
        faq = (
            reply.content.faq(reply.lang).matcher.match(text) if exc.code == "unreadable" else None
        )
        faq_template = reply.content.template_name(faq.template, reply.lang) if faq else None
        _send_error(reply, exc, patient, faq_template)
        return
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
            "appointment_ambiguous",
            reply.kb.draft_ambiguous(reading.earlier.local, reading.later.local, token),
            earlier=reading.earlier.local,
            later=reading.later.local,
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
        "appointment_confirm",
        reply.kb.draft_confirm(token),
        when=reading.local,
        changing=_replace_id(data) is not None,
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
        _send_error(reply, ServiceError("expired"), patient)
        return
    replace_id = _replace_id(data)
    try:
        proposal: Proposal = appointments.proposal_from_stored(stored, str(data.get("zone")))
        appointment = await appointments.confirm(patient, proposal, replace_id=replace_id)
    except NotFound:
        await state.clear()
        reply.send("appointment_gone", reply.kb.home())
        return
    except ServiceError as exc:
        _send_error(reply, exc, patient)
        return
    # Remember which offer was saved, so a second tap on it is answered as done.
    await state.set_state(None)
    await state.set_data(
        {"saved": callback_data.t, "appointment_id": appointment.id, "changed": bool(replace_id)}
    )
    reply.send(
        "appointment_saved",
        reply.kb.main_menu(),
        when=appointment.local_start,
        changed=replace_id is not None,
    )


async def _already_saved(
    reply: Reply, patient: Patient, appointments: AppointmentService, data: dict[str, Any]
) -> None:
    appointment_id = data.get("appointment_id")
    try:
        if not isinstance(appointment_id, int):
            raise NotFound()
        appointment = await appointments.owned_upcoming(patient, appointment_id)
    except NotFound:
        reply.send("appointment_gone", reply.kb.home())
        return
    reply.send(
        "appointment_saved",
        reply.kb.main_menu(),
        when=appointment.local_start,
        changed=bool(data.get("changed")),
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
    try:
        if callback_data.action is ApptAction.CANCEL_YES:
            # Idempotent: a second "yes" finds it cancelled and says so again.
            cancelled = await appointments.cancel(patient, callback_data.id)
            reply.send("appointment_cancelled", kb.main_menu(), when=cancelled.local_start)
            return
        appointment = await appointments.owned_upcoming(patient, callback_data.id)
        match callback_data.action:
            case ApptAction.VIEW:
                reply.send(
                    "appointment_detail",
                    kb.appointment_actions(appointment.id),
                    when=appointment.local_start,
                )
            case ApptAction.CHANGE:
                await _ask_for_time(state, reply, patient, appointment.id)
            case ApptAction.CANCEL:
                reply.send(
                    "appointment_cancel_confirm",
                    kb.cancel_confirm(appointment.id),
                    when=appointment.local_start,
                )
            case ApptAction.CANCEL_NO:
                reply.send("appointment_kept", kb.main_menu(), when=appointment.local_start)
            case _:
                reply.send("stale_button", kb.home())
    except NotFound:
        reply.send("appointment_gone", kb.home())


def create_router() -> Router:
    """A fresh router each call: aiogram attaches a router to one dispatcher only."""
    r = Router(name="appointments")
    r.message.middleware(RequireConsent())
    r.callback_query.middleware(RequireConsent())
    r.message.register(list_appointments, Command("appointment", "appointments"))
    r.callback_query.register(list_appointments, MenuCb.filter(F.to == MenuTarget.APPOINTMENTS))
    r.callback_query.register(new_appointment, MenuCb.filter(F.to == MenuTarget.NEW))
    r.message.register(read_time, Booking.waiting_for_time, PlainText())
    r.message.register(read_time, Booking.confirming, PlainText())
    r.callback_query.register(draft_change, DraftCb.filter(F.action == DraftAction.CHANGE))
    r.callback_query.register(draft_confirm, DraftCb.filter(F.action != DraftAction.CHANGE))
    r.callback_query.register(appointment_action, ApptCb.filter())
    return r
