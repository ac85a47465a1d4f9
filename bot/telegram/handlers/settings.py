"""Patient settings: the time zone used to read and show times."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.content.catalogue import (
    ChatCommand,
    Settings,
    StaleButton,
    TimezoneAsk,
    TimezoneSaved,
    TimezoneUnknown,
)
from bot.db.models import Patient
from bot.services.patients import PatientService
from bot.telegram.callbacks import MenuCb, MenuTarget, ZoneCb
from bot.telegram.filters import PlainText
from bot.telegram.keyboards import COMMON_ZONES
from bot.telegram.middlewares import RequireConsent
from bot.telegram.reply import Reply
from bot.telegram.states import ZoneSetting
from scheduler.clock import Clock
from scheduler.timemath import UnknownZone, load_zone, to_local

_COMMON = {zone for zone, _ in COMMON_ZONES}


async def show_settings(
    event: Message | CallbackQuery, state: FSMContext, reply: Reply, patient: Patient, clock: Clock
) -> None:
    await state.clear()
    now_local = to_local(clock.now(), load_zone(patient.timezone))
    reply.send(Settings(zone=patient.timezone, now_local=now_local), reply.kb.zones())


async def ask_zone(callback: CallbackQuery, state: FSMContext, reply: Reply) -> None:
    await state.set_state(ZoneSetting.waiting_for_zone)
    reply.send(TimezoneAsk(), reply.kb.home())


async def _save_zone(
    name: str,
    state: FSMContext,
    reply: Reply,
    patient: Patient,
    patients: PatientService,
    clock: Clock,
) -> None:
    try:
        zone = await patients.set_timezone(patient, name)
    except UnknownZone:
        reply.send(TimezoneUnknown(), reply.kb.zones())
        return
    await state.clear()
    now_local = to_local(clock.now(), load_zone(zone))
    reply.send(TimezoneSaved(zone=zone, now_local=now_local), reply.kb.main_menu())


async def pick_zone(
    callback: CallbackQuery,
    callback_data: ZoneCb,
    state: FSMContext,
    reply: Reply,
    patient: Patient,
    patients: PatientService,
    clock: Clock,
) -> None:
    if callback_data.zone not in _COMMON:  # forged data: only the offered buttons are accepted
        reply.send(StaleButton(), reply.kb.home())
        return
    await _save_zone(callback_data.zone, state, reply, patient, patients, clock)


async def typed_zone(
    message: Message,
    state: FSMContext,
    reply: Reply,
    patient: Patient,
    patients: PatientService,
    clock: Clock,
) -> None:
    await _save_zone((message.text or "")[:64], state, reply, patient, patients, clock)


def create_router() -> Router:
    """A fresh router each call: aiogram attaches a router to one dispatcher only."""
    r = Router(name="settings")
    r.message.middleware(RequireConsent())
    r.callback_query.middleware(RequireConsent())
    r.message.register(show_settings, Command(ChatCommand.SETTINGS))
    r.callback_query.register(show_settings, MenuCb.filter(F.to == MenuTarget.SETTINGS))
    r.callback_query.register(ask_zone, ZoneCb.filter(F.zone == "other"))
    r.callback_query.register(pick_zone, ZoneCb.filter(F.zone != "other"))
    r.message.register(typed_zone, ZoneSetting.waiting_for_zone, PlainText())
    return r
