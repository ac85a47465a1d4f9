"""The preparation checklist, the buttons under reminders, /pause and /resume, a request for
a new time (tapped under a reminder or typed) and "I can come after all", and the day-after
check-in's answer (tapped, or typed while it is open), and an item the patient tells is done
("my husband is driving me home": ticked, with Undo). Refusals (an appointment gone, a
button the plan no longer has, a snooze too late) are answered by bot/telegram/refusals.py."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.content.catalogue import (
    AttendConfirmed,
    AttendReschedule,
    Button,
    ChatCommand,
    CheckinAnswered,
    CheckinTyped,
    ChecklistLines,
    ChecklistNone,
    ChecklistTicked,
    ChecklistUnticked,
    Paused,
    ReminderSnoozed,
    RescheduleNoVisit,
    Resumed,
    StaleButton,
)
from bot.content.catalogue import Checklist as ChecklistText
from bot.db.models import Appointment, Patient
from bot.domain.visits import Checkin
from bot.services.container import ServiceScope
from bot.services.reminders import Checklist
from bot.telegram.callbacks import (
    AttendCb,
    ChecklistCb,
    MenuCb,
    MenuTarget,
    ReminderAction,
    ReminderCb,
    SaidUndoCb,
)
from bot.telegram.middlewares import RequireConsent
from bot.telegram.reminder_view import checklist_context, checklist_keyboard
from bot.telegram.reply import Reply
from foundation.timemath import load_zone, to_local


def _checklist_text(reply: Reply, checklist: Checklist) -> str:
    kind = checklist.appointment.visit_type
    return reply.render(
        ChecklistText(
            when=checklist.appointment.local_start,
            checklist=checklist_context(reply.content, reply.lang, checklist.ticks, kind),
            kind=reply.content.visit_type_name(kind, reply.lang),
        )
    )


def _checklist_markup(reply: Reply, checklist: Checklist) -> InlineKeyboardMarkup:
    appointment = checklist.appointment
    return checklist_keyboard(
        reply.content, reply.lang, appointment.id, checklist.ticks, appointment.visit_type
    )


def _send_checklist(reply: Reply, checklist: Checklist) -> None:
    reply.send_html(_checklist_text(reply, checklist), _checklist_markup(reply, checklist))


async def show_prepare(
    event: Message | CallbackQuery, reply: Reply, patient: Patient, svc: ServiceScope
) -> None:
    checklist = await svc.preparation.next_checklist(patient)
    if checklist is None:
        reply.send(ChecklistNone(), reply.kb.home())
        return
    _send_checklist(reply, checklist)


async def toggle_item(
    callback: CallbackQuery,
    callback_data: ChecklistCb,
    reply: Reply,
    patient: Patient,
    svc: ServiceScope,
) -> None:
    appointment = await svc.appointments.owned_upcoming(patient, callback_data.appt)
    checklist = await svc.preparation.set_item(appointment, callback_data.item, callback_data.done)
    message = callback.message
    reply.edit_or_send(
        message.message_id if message is not None else None,
        _checklist_text(reply, checklist),
        _checklist_markup(reply, checklist),
    )


def _item_lines(reply: Reply, keys: tuple[str, ...]) -> ChecklistLines:
    return [{"key": key, "label": reply.content.button(f"item_{key}", reply.lang)} for key in keys]


async def said_done(text: str, reply: Reply, patient: Patient, svc: ServiceScope) -> bool:
    """A patient telling they have done an item of their checklist ("my husband is driving me
    home", read by bot/domain/checklist_said.py): ticked on their next visit as its button
    would, said warmly, with Undo. False when the text says nothing done (a question, a "no",
    a plan not carried out) or they have no visit whose plan has the item: it is answered as
    any other message."""
    if not patient.has_consented:
        return False
    items = reply.content.checklist_said(reply.lang).done(text)
    said = await svc.preparation.tick_said(patient, items) if items else None
    if said is None:
        return False
    appointment = said.checklist.appointment
    reply.send(
        ChecklistTicked(
            when=appointment.local_start,
            ticked=_item_lines(reply, said.ticked),
            ticked_before=_item_lines(reply, said.already),
            left=sum(not item.done for item in said.checklist.items),
        ),
        reply.kb.said_done(appointment.id, said.ticked),
    )
    return True


async def undo_said(
    callback: CallbackQuery,
    callback_data: SaidUndoCb,
    reply: Reply,
    patient: Patient,
    svc: ServiceScope,
) -> None:
    """Undo under items ticked from a message: those still ticked are unticked and the
    message says so; a second tap (nothing left to untick) is answered with a note. A visit
    cancelled or over is answered by the refusals (it is gone), an item its plan no longer
    has as a stale button."""
    appointment = await svc.appointments.owned_upcoming(patient, callback_data.appt)
    _, unticked = await svc.preparation.untick_said(appointment, callback_data.keys)
    if not unticked:
        reply.callback_answer.text = reply.content.button(Button.NOTICE_SAID_UNDONE, reply.lang)
        return
    message = callback.message
    reply.edit_or_send(
        message.message_id if message is not None else None,
        reply.render(ChecklistUnticked(unticked=_item_lines(reply, unticked))),
        reply.kb.said_undone(),
    )


async def _new_time(
    reply: Reply,
    appointment: Appointment,
    patient: Patient,
    svc: ServiceScope,
    telegram_id: int,
) -> None:
    """The patient needs a new time for this visit: its reminders are held, the team is asked
    to call (once per request: a second tap or message is answered as done)."""
    changed = await svc.preparation.ask_new_time(appointment)
    if changed:
        await svc.staff_alerts.reschedule_request(
            svc.preparation.repo,
            patient_id=patient.id,
            telegram_id=telegram_id,
            appointment_id=appointment.id,
            starts_at=appointment.starts_at,
        )
    reply.send(
        AttendReschedule(
            when=appointment.local_start,
            already=not changed,
            team_asked=bool(svc.staff_alerts.staff_ids),
        ),
        reply.kb.come_after_all(appointment.id),
    )


async def ask_new_time(
    reply: Reply,
    patient: Patient | None,
    svc: ServiceScope,
    telegram_id: int,
) -> None:
    """A typed "I need to reschedule": what the reminder's button does, for the patient's
    next visit; with no visit here, how to reach the clinic."""
    appointment = await svc.preparation.next_visit(patient) if patient is not None else None
    if patient is None or appointment is None:
        reply.send(RescheduleNoVisit(), reply.kb.home())
        return
    await _new_time(reply, appointment, patient, svc, telegram_id)


async def checkin_typed(reply: Reply, patient: Patient, svc: ServiceScope) -> bool:
    """A typed reply while the day-after check-in is open: acknowledged kindly and offered the
    buttons, once (the next message is answered as any other). False when none is open."""
    appointment = await svc.preparation.open_checkin(patient)
    if appointment is None:
        return False
    await svc.preparation.answer_checkin(patient, appointment.id, Checkin.TYPED)
    reply.send(CheckinTyped(), reply.kb.checkin(appointment.id))
    return True


async def _checkin(
    reply: Reply,
    patient: Patient,
    appointment_id: int,
    answer: Checkin,
    svc: ServiceScope,
    telegram_id: int,
) -> None:
    appointment, changed = await svc.preparation.answer_checkin(patient, appointment_id, answer)
    team_asked = bool(svc.staff_alerts.staff_ids)
    if answer is Checkin.CALL and changed:
        await svc.staff_alerts.checkin_call(
            svc.preparation.repo,
            patient_id=patient.id,
            telegram_id=telegram_id,
            appointment_id=appointment.id,
            starts_at=appointment.starts_at,
        )
    reply.send(CheckinAnswered(answer=answer, team_asked=team_asked))


_CHECKIN_ACTIONS = {
    ReminderAction.CHECKIN_OK: Checkin.OK,
    ReminderAction.CHECKIN_OFF: Checkin.OFF,
    ReminderAction.CHECKIN_CALL: Checkin.CALL,
}


async def attend_button(
    callback: CallbackQuery,
    callback_data: AttendCb,
    reply: Reply,
    patient: Patient,
    svc: ServiceScope,
) -> None:
    """ "I can come after all", or the check-in's answer offered after a typed reply."""
    if callback_data.coming:
        appointment = await svc.preparation.come_after_all(patient, callback_data.id)
        reply.send(AttendConfirmed(when=appointment.local_start))
        return
    try:
        answer = Checkin(callback_data.checkin)
    except ValueError:
        answer = None
    if answer is None or answer is Checkin.TYPED:
        reply.send(StaleButton(), reply.kb.home())
        return
    await _checkin(
        reply,
        patient,
        callback_data.id,
        answer,
        svc,
        callback.from_user.id,
    )


async def reminder_button(
    callback: CallbackQuery,
    callback_data: ReminderCb,
    reply: Reply,
    patient: Patient,
    svc: ServiceScope,
) -> None:
    match callback_data.action:
        case ReminderAction.DONE:
            _send_checklist(reply, await svc.preparation.mark_done(patient, callback_data.id))
        case ReminderAction.CHECKLIST:
            _, appointment = await svc.preparation.reminder(patient, callback_data.id)
            _send_checklist(reply, await svc.preparation.checklist(appointment))
        case ReminderAction.SNOOZE:
            until, appointment = await svc.preparation.snooze(patient, callback_data.id)
            local_until = to_local(until, load_zone(appointment.timezone))
            reply.send(ReminderSnoozed(until=local_until))
        case ReminderAction.COMING:
            appointment, _ = await svc.preparation.attendance(patient, callback_data.id, True)
            reply.send(AttendConfirmed(when=appointment.local_start))
        case ReminderAction.RESCHEDULE:
            _, appointment = await svc.preparation.reminder(patient, callback_data.id)
            await _new_time(
                reply,
                appointment,
                patient,
                svc,
                callback.from_user.id,
            )
        case ReminderAction.CHECKIN_OK | ReminderAction.CHECKIN_OFF | ReminderAction.CHECKIN_CALL:
            _, appointment = await svc.preparation.reminder(patient, callback_data.id)
            await _checkin(
                reply,
                patient,
                appointment.id,
                _CHECKIN_ACTIONS[callback_data.action],
                svc,
                callback.from_user.id,
            )
        case _:
            reply.send(StaleButton(), reply.kb.home())


async def pause(message: Message, reply: Reply, patient: Patient, svc: ServiceScope) -> None:
    await svc.preparation.set_paused(patient, True)
    reply.send(Paused())


async def resume(message: Message, reply: Reply, patient: Patient, svc: ServiceScope) -> None:
    await svc.preparation.set_paused(patient, False)
    reply.send(Resumed())


def create_router() -> Router:
    """A fresh router each call: aiogram attaches a router to one dispatcher only."""
    r = Router(name="preparation")
    r.message.middleware(RequireConsent())
    r.callback_query.middleware(RequireConsent())
    r.message.register(show_prepare, Command(ChatCommand.PREPARE, "checklist"))
    r.callback_query.register(show_prepare, MenuCb.filter(F.to == MenuTarget.PREPARE))
    r.callback_query.register(toggle_item, ChecklistCb.filter())
    r.callback_query.register(undo_said, SaidUndoCb.filter())
    r.callback_query.register(reminder_button, ReminderCb.filter())
    r.callback_query.register(attend_button, AttendCb.filter())
    r.message.register(pause, Command(ChatCommand.PAUSE))
    r.message.register(resume, Command(ChatCommand.RESUME))
    return r
