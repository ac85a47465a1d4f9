"""The preparation checklist, the buttons under reminders, and /pause and /resume."""

from __future__ import annotations

import logging

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.content.store import Content
from bot.db.models import Patient
from bot.services.appointments import AppointmentService
from bot.services.errors import NotFound, ServiceError
from bot.services.reminders import Checklist, PreparationService
from bot.services.staff_alerts import StaffAlerts
from bot.telegram.callbacks import ChecklistCb, MenuCb, ReminderCb
from bot.telegram.keyboards import Keyboards
from bot.telegram.middlewares import RequireConsent
from bot.telegram.reminder_view import checklist_context, checklist_keyboard
from bot.telegram.replies import respond
from scheduler.timemath import load_zone, to_local

log = logging.getLogger(__name__)


def _checklist_text(content: Content, lang: str, checklist: Checklist) -> str:
    return content.render(
        "checklist",
        lang,
        when=checklist.appointment.local_start,
        checklist=checklist_context(content, lang, checklist.ticks),
    )


def _checklist_markup(content: Content, lang: str, checklist: Checklist) -> InlineKeyboardMarkup:
    return checklist_keyboard(content, lang, checklist.appointment.id, checklist.ticks)


async def show_prepare(
    event: Message | CallbackQuery,
    content: Content,
    lang: str,
    kb: Keyboards,
    patient: Patient,
    preparation: PreparationService,
) -> None:
    checklist = await preparation.next_checklist(patient)
    if checklist is None:
        await respond(event, content.render("checklist_none", lang), kb.home())
        return
    await respond(
        event,
        _checklist_text(content, lang, checklist),
        _checklist_markup(content, lang, checklist),
    )


async def toggle_item(
    callback: CallbackQuery,
    callback_data: ChecklistCb,
    bot: Bot,
    content: Content,
    lang: str,
    kb: Keyboards,
    patient: Patient,
    appointments: AppointmentService,
    preparation: PreparationService,
) -> None:
    try:
        appointment = await appointments.owned_upcoming(patient, callback_data.appt)
        checklist = await preparation.set_item(appointment, callback_data.item, callback_data.done)
    except NotFound:
        await respond(callback, content.render("appointment_gone", lang), kb.home())
        return
    except ServiceError:
        await respond(callback, content.render("stale_button", lang), kb.home())
        return
    await callback.answer()
    text = _checklist_text(content, lang, checklist)
    markup = _checklist_markup(content, lang, checklist)
    message = callback.message
    if message is not None and message.message_id:
        try:
            await bot.edit_message_text(
                text=text,
                chat_id=callback.from_user.id,
                message_id=message.message_id,
                reply_markup=markup,
            )
            return
        except TelegramBadRequest:
            pass  # too old, or deleted: send the checklist anew
    await bot.send_message(callback.from_user.id, text, reply_markup=markup)


async def reminder_button(
    callback: CallbackQuery,
    callback_data: ReminderCb,
    content: Content,
    lang: str,
    kb: Keyboards,
    patient: Patient,
    preparation: PreparationService,
    staff_alerts: StaffAlerts,
) -> None:
    try:
        match callback_data.action:
            case "done":
                checklist = await preparation.mark_done(patient, callback_data.id)
                await respond(
                    callback,
                    _checklist_text(content, lang, checklist),
                    _checklist_markup(content, lang, checklist),
                )
            case "checklist":
                _, appointment = await preparation.reminder(patient, callback_data.id)
                checklist = await preparation.checklist(appointment)
                await respond(
                    callback,
                    _checklist_text(content, lang, checklist),
                    _checklist_markup(content, lang, checklist),
                )
            case "snooze":
                try:
                    until, appointment = await preparation.snooze(patient, callback_data.id)
                except ServiceError as exc:
                    if exc.code not in ("snooze_too_late", "busy"):
                        raise
                    await respond(callback, content.render("reminder_snooze_refused", lang))
                    return
                local_until = to_local(until, load_zone(appointment.timezone))
                await respond(callback, content.render("reminder_snoozed", lang, until=local_until))
            case "coming":
                appointment = await preparation.attendance(patient, callback_data.id, True)
                await respond(
                    callback, content.render("attend_confirmed", lang, when=appointment.local_start)
                )
            case "reschedule":
                appointment = await preparation.attendance(patient, callback_data.id, False)
                await respond(callback, content.render("attend_reschedule", lang), kb.home())
                await staff_alerts.reschedule_request(
                    patient_id=patient.id,
                    telegram_id=callback.from_user.id,
                    display_name=callback.from_user.full_name,
                    starts_at=appointment.starts_at,
                )
            case _:
                await respond(callback, content.render("stale_button", lang), kb.home())
    except (NotFound, ServiceError):
        await respond(callback, content.render("appointment_gone", lang), kb.home())


async def pause(
    message: Message, content: Content, lang: str, patient: Patient, preparation: PreparationService
) -> None:
    await preparation.set_paused(patient, True)
    await message.answer(content.render("paused", lang))


async def resume(
    message: Message, content: Content, lang: str, patient: Patient, preparation: PreparationService
) -> None:
    await preparation.set_paused(patient, False)
    await message.answer(content.render("resumed", lang))


def create_router() -> Router:
    """A fresh router each call: aiogram attaches a router to one dispatcher only."""
    r = Router(name="preparation")
    r.message.middleware(RequireConsent())
    r.callback_query.middleware(RequireConsent())
    r.message.register(show_prepare, Command("prepare", "checklist"))
    r.callback_query.register(show_prepare, MenuCb.filter(F.to == "prepare"))
    r.callback_query.register(toggle_item, ChecklistCb.filter())
    r.callback_query.register(reminder_button, ReminderCb.filter())
    r.message.register(pause, Command("pause"))
    r.message.register(resume, Command("resume"))
    return r
