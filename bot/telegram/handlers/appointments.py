"""Booking, listing, changing and cancelling appointments. Rules live in AppointmentService."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.content.store import Content
from bot.db.models import Patient
from bot.services.appointments import Ambiguity, AppointmentService, Proposal
from bot.services.errors import NotFound, ServiceError
from bot.telegram.callbacks import ApptCb, DraftCb, MenuCb
from bot.telegram.keyboards import Keyboards
from bot.telegram.middlewares import RequireConsent
from bot.telegram.replies import respond
from bot.telegram.states import Booking


def _error_text(
    content: Content,
    lang: str,
    error: ServiceError,
    patient: Patient,
    faq_template: str | None = None,
) -> str:
    return content.render(
        "appointment_error",
        lang,
        code=error.code,
        zone=patient.timezone,
        faq_template=faq_template,
        limit=error.details.get("limit"),
        wall=error.details.get("wall"),
    )


async def _ask_for_time(
    event: Message | CallbackQuery,
    state: FSMContext,
    content: Content,
    lang: str,
    kb: Keyboards,
    patient: Patient,
    replace_id: int | None = None,
) -> None:
    await state.set_state(Booking.waiting_for_time)
    await state.set_data({"replace_id": replace_id})
    await respond(
        event,
        content.render(
            "appointment_ask", lang, zone=patient.timezone, changing=replace_id is not None
        ),
        kb.home(),
    )


async def list_appointments(
    event: Message | CallbackQuery,
    state: FSMContext,
    content: Content,
    lang: str,
    kb: Keyboards,
    patient: Patient,
    appointments: AppointmentService,
) -> None:
    await state.clear()
    items = await appointments.upcoming(patient)
    if not items and isinstance(event, Message):
        await _ask_for_time(event, state, content, lang, kb, patient)
        return
    await respond(
        event,
        content.render("appointment_list", lang, items=[a.local_start for a in items]),
        kb.appointments(items),
    )


async def new_appointment(
    callback: CallbackQuery,
    state: FSMContext,
    content: Content,
    lang: str,
    kb: Keyboards,
    patient: Patient,
) -> None:
    await _ask_for_time(callback, state, content, lang, kb, patient)


async def read_time(
    message: Message,
    state: FSMContext,
    content: Content,
    lang: str,
    kb: Keyboards,
    patient: Patient,
    appointments: AppointmentService,
) -> None:
    text = message.text or ""
    try:
        reading = appointments.read(text, patient.timezone)
    except ServiceError as exc:
        # Not a time, but maybe a question ("how long is recovery?"): answer it as well.
        faq = content.faq(lang).matcher.match(text) if exc.code == "unreadable" else None
        faq_template = content.template_name(faq.template, lang) if faq else None
        await message.answer(
            _error_text(content, lang, exc, patient, faq_template), reply_markup=kb.home()
        )
        return
    data = await state.get_data()
    if isinstance(reading, Ambiguity):
        await state.update_data(
            earlier=reading.earlier.starts_at.isoformat(),
            later=reading.later.starts_at.isoformat(),
            zone=reading.earlier.zone,
            starts_at=None,
        )
        await state.set_state(Booking.confirming)
        await message.answer(
            content.render(
                "appointment_ambiguous",
                lang,
                earlier=reading.earlier.local,
                later=reading.later.local,
            ),
            reply_markup=kb.draft_ambiguous(reading.earlier.local, reading.later.local),
        )
        return
    await state.update_data(starts_at=reading.starts_at.isoformat(), zone=reading.zone)
    await state.set_state(Booking.confirming)
    await message.answer(
        content.render(
            "appointment_confirm",
            lang,
            when=reading.local,
            changing=data.get("replace_id") is not None,
        ),
        reply_markup=kb.draft_confirm(),
    )


async def draft_change(
    callback: CallbackQuery,
    state: FSMContext,
    content: Content,
    lang: str,
    kb: Keyboards,
    patient: Patient,
) -> None:
    replace_id = (await state.get_data()).get("replace_id")
    await _ask_for_time(
        callback,
        state,
        content,
        lang,
        kb,
        patient,
        replace_id if isinstance(replace_id, int) else None,
    )


async def draft_confirm(
    callback: CallbackQuery,
    callback_data: DraftCb,
    state: FSMContext,
    content: Content,
    lang: str,
    kb: Keyboards,
    patient: Patient,
    appointments: AppointmentService,
) -> None:
    data = await state.get_data()
    field = "starts_at" if callback_data.action == "confirm" else callback_data.action
    stored = data.get(field)
    replace_id = data.get("replace_id")
    if await state.get_state() != Booking.confirming.state or not isinstance(stored, str):
        await respond(
            callback,
            _error_text(content, lang, ServiceError("expired"), patient),
            kb.home(),
        )
        return
    try:
        proposal: Proposal = appointments.proposal_from_stored(stored, str(data.get("zone")))
        appointment = await appointments.confirm(
            patient, proposal, replace_id=replace_id if isinstance(replace_id, int) else None
        )
    except NotFound:
        await state.clear()
        await respond(callback, content.render("appointment_gone", lang), kb.home())
        return
    except ServiceError as exc:
        await respond(
            callback,
            _error_text(content, lang, exc, patient),
            kb.home(),
        )
        return
    await state.clear()
    await respond(
        callback,
        content.render(
            "appointment_saved", lang, when=appointment.local_start, changed=replace_id is not None
        ),
        kb.main_menu(),
    )


async def appointment_action(
    callback: CallbackQuery,
    callback_data: ApptCb,
    state: FSMContext,
    content: Content,
    lang: str,
    kb: Keyboards,
    patient: Patient,
    appointments: AppointmentService,
) -> None:
    try:
        appointment = await appointments.owned_upcoming(patient, callback_data.id)
        match callback_data.action:
            case "view":
                await respond(
                    callback,
                    content.render("appointment_detail", lang, when=appointment.local_start),
                    kb.appointment_actions(appointment.id),
                )
            case "change":
                await _ask_for_time(callback, state, content, lang, kb, patient, appointment.id)
            case "cancel":
                await respond(
                    callback,
                    content.render(
                        "appointment_cancel_confirm", lang, when=appointment.local_start
                    ),
                    kb.cancel_confirm(appointment.id),
                )
            case "cancel_yes":
                await appointments.cancel(patient, appointment.id)
                await respond(
                    callback,
                    content.render("appointment_cancelled", lang, when=appointment.local_start),
                    kb.main_menu(),
                )
            case "cancel_no":
                await respond(
                    callback,
                    content.render("appointment_kept", lang, when=appointment.local_start),
                    kb.main_menu(),
                )
            case _:
                await respond(callback, content.render("stale_button", lang), kb.home())
    except NotFound:
        await respond(callback, content.render("appointment_gone", lang), kb.home())


def create_router() -> Router:
    """A fresh router each call: aiogram attaches a router to one dispatcher only."""
    r = Router(name="appointments")
    r.message.middleware(RequireConsent())
    r.callback_query.middleware(RequireConsent())
    r.message.register(list_appointments, Command("appointment", "appointments"))
    r.callback_query.register(list_appointments, MenuCb.filter(F.to == "appointments"))
    r.callback_query.register(new_appointment, MenuCb.filter(F.to == "new"))
    r.message.register(read_time, Booking.waiting_for_time, F.text & ~F.text.startswith("/"))
    r.message.register(read_time, Booking.confirming, F.text & ~F.text.startswith("/"))
    r.callback_query.register(draft_change, DraftCb.filter(F.action == "change"))
    r.callback_query.register(
        draft_confirm, DraftCb.filter(F.action.in_({"confirm", "earlier", "later"}))
    )
    r.callback_query.register(appointment_action, ApptCb.filter())
    return r
