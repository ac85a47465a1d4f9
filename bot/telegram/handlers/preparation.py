"""The preparation checklist, the buttons under reminders, /pause and /resume. Refusals (an
appointment gone, a button the plan no longer has, a snooze too late) are answered by
bot/telegram/refusals.py."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.content.catalogue import (
    AttendConfirmed,
    AttendReschedule,
    ChatCommand,
    ChecklistNone,
    Paused,
    ReminderSnoozed,
    Resumed,
    StaleButton,
)
from bot.content.catalogue import Checklist as ChecklistText
from bot.db.models import Patient
from bot.services.appointments import AppointmentService
from bot.services.reminders import Checklist, PreparationService
from bot.services.staff_alerts import StaffAlerts
from bot.telegram.callbacks import ChecklistCb, MenuCb, MenuTarget, ReminderAction, ReminderCb
from bot.telegram.middlewares import RequireConsent
from bot.telegram.reminder_view import checklist_context, checklist_keyboard
from bot.telegram.reply import Reply
from scheduler.timemath import load_zone, to_local


def _checklist_text(reply: Reply, checklist: Checklist) -> str:
    return reply.render(
        ChecklistText(
            when=checklist.appointment.local_start,
            checklist=checklist_context(reply.content, reply.lang, checklist.ticks),
        )
    )


def _checklist_markup(reply: Reply, checklist: Checklist) -> InlineKeyboardMarkup:
    return checklist_keyboard(reply.content, reply.lang, checklist.appointment.id, checklist.ticks)


def _send_checklist(reply: Reply, checklist: Checklist) -> None:
    reply.send_html(_checklist_text(reply, checklist), _checklist_markup(reply, checklist))


async def show_prepare(
    event: Message | CallbackQuery, reply: Reply, patient: Patient, preparation: PreparationService
) -> None:
    checklist = await preparation.next_checklist(patient)
    if checklist is None:
        reply.send(ChecklistNone(), reply.kb.home())
        return
    _send_checklist(reply, checklist)


async def toggle_item(
    callback: CallbackQuery,
    callback_data: ChecklistCb,
    reply: Reply,
    patient: Patient,
    appointments: AppointmentService,
    preparation: PreparationService,
) -> None:
    appointment = await appointments.owned_upcoming(patient, callback_data.appt)
    checklist = await preparation.set_item(appointment, callback_data.item, callback_data.done)
    message = callback.message
    reply.edit_or_send(
        message.message_id if message is not None else None,
        _checklist_text(reply, checklist),
        _checklist_markup(reply, checklist),
    )


async def reminder_button(
    callback: CallbackQuery,
    callback_data: ReminderCb,
    reply: Reply,
    patient: Patient,
    preparation: PreparationService,
    staff_alerts: StaffAlerts,
) -> None:
    match callback_data.action:
        case ReminderAction.DONE:
            _send_checklist(reply, await preparation.mark_done(patient, callback_data.id))
        case ReminderAction.CHECKLIST:
            _, appointment = await preparation.reminder(patient, callback_data.id)
            _send_checklist(reply, await preparation.checklist(appointment))
        case ReminderAction.SNOOZE:
            until, appointment = await preparation.snooze(patient, callback_data.id)
            local_until = to_local(until, load_zone(appointment.timezone))
            reply.send(ReminderSnoozed(until=local_until))
        case ReminderAction.COMING:
            appointment, _ = await preparation.attendance(patient, callback_data.id, True)
            reply.send(AttendConfirmed(when=appointment.local_start))
        case ReminderAction.RESCHEDULE:
            appointment, changed = await preparation.attendance(patient, callback_data.id, False)
            if changed:  # one alert per request; a second tap is answered as done
                await staff_alerts.reschedule_request(
                    preparation.repo,
                    patient_id=patient.id,
                    telegram_id=callback.from_user.id,
                    appointment_id=appointment.id,
                    starts_at=appointment.starts_at,
                )
            reply.send(
                AttendReschedule(already=not changed, team_asked=bool(staff_alerts.staff_ids)),
                reply.kb.home(),
            )
        case _:
            reply.send(StaleButton(), reply.kb.home())


async def pause(
    message: Message, reply: Reply, patient: Patient, preparation: PreparationService
) -> None:
    await preparation.set_paused(patient, True)
    reply.send(Paused())


async def resume(
    message: Message, reply: Reply, patient: Patient, preparation: PreparationService
) -> None:
    await preparation.set_paused(patient, False)
    reply.send(Resumed())


def create_router() -> Router:
    """A fresh router each call: aiogram attaches a router to one dispatcher only."""
    r = Router(name="preparation")
    r.message.middleware(RequireConsent())
    r.callback_query.middleware(RequireConsent())
    r.message.register(show_prepare, Command(ChatCommand.PREPARE, "checklist"))
    r.callback_query.register(show_prepare, MenuCb.filter(F.to == MenuTarget.PREPARE))
    r.callback_query.register(toggle_item, ChecklistCb.filter())
    r.callback_query.register(reminder_button, ReminderCb.filter())
    r.message.register(pause, Command(ChatCommand.PAUSE))
    r.message.register(resume, Command(ChatCommand.RESUME))
    return r
