"""Patient settings: the time zone used to read and show times, and the language."""

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
from bot.telegram.callbacks import LangCb, MenuCb, MenuTarget, ZoneCb
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
    reply.send(Settings(zone=patient.timezone, now_local=now_local), reply.kb.settings())


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


async def pick_language(
    callback: CallbackQuery,
    callback_data: LangCb,
    state: FSMContext,
    reply: Reply,
    patient: Patient,
    patients: PatientService,
    clock: Clock,
) -> None:
    """Speak the chosen language from this answer on: the settings again, in it."""
    if not await patients.set_language(patient, callback_data.lang, reply.content.languages):
        reply.send(StaleButton(), reply.kb.home())
        return
    reply.use_language(callback_data.lang)
    await show_settings(callback, state, reply, patient, clock)


def create_router() -> Router:
    """A fresh router each call: aiogram attaches a router to one dispatcher only."""
    r = Router(name="settings")
    r.message.middleware(RequireConsent())
    r.callback_query.middleware(RequireConsent())
    r.message.register(show_settings, Command(ChatCommand.SETTINGS))
    r.callback_query.register(show_settings, MenuCb.filter(F.to == MenuTarget.SETTINGS))
    r.callback_query.register(ask_zone, ZoneCb.filter(F.zone == "other"))
    r.callback_query.register(pick_zone, ZoneCb.filter(F.zone != "other"))
    r.callback_query.register(pick_language, LangCb.filter())
    r.message.register(typed_zone, ZoneSetting.waiting_for_zone, PlainText())
    return r
