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
    TimezonePick,
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
from foundation.clock import Clock
from foundation.timemath import UnknownZone, load_zone, to_local

_COMMON = {zone for zone, _ in COMMON_ZONES}


async def show_settings(
    event: Message | CallbackQuery,
    state: FSMContext,
    reply: Reply,
    patient: Patient,
    patients: PatientService,
    clock: Clock,
) -> None:
    await state.clear()
    now_local = to_local(clock.now(), load_zone(patient.timezone))
    place = patients.describe_zone(patient.timezone, reply.lang)
    reply.send(Settings(place=place, now_local=now_local), reply.kb.settings())


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
    place: str | None = None,
) -> None:
    try:
        zone = await patients.set_timezone(patient, name)
    except UnknownZone:
        reply.send(TimezoneUnknown(), reply.kb.zones())
        return
    # Still waiting for a zone: a patient who reads the read-back and finds it wrong types
    # another place at once.
    await state.set_state(ZoneSetting.waiting_for_zone)
    await state.set_data({})
    now_local = to_local(clock.now(), load_zone(zone))
    zone_name = patients.describe_zone(zone, reply.lang)
    named = place if place is not None and place not in zone_name else None
    reply.send(
        TimezoneSaved(place=named, zone_name=zone_name, now_local=now_local), reply.kb.zones()
    )


async def pick_zone(
    callback: CallbackQuery,
    callback_data: ZoneCb,
    state: FSMContext,
    reply: Reply,
    patient: Patient,
    patients: PatientService,
    clock: Clock,
) -> None:
    offered = (await state.get_data()).get("offered")
    if callback_data.zone not in _COMMON and not (
        isinstance(offered, list) and callback_data.zone in offered
    ):  # forged data: only the offered buttons are accepted
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
    reading = patients.read_zone(message.text or "", reply.lang)
    if reading.zone is not None:
        place = reading.choices[0].place
        await _save_zone(reading.zone, state, reply, patient, patients, clock, place)
        return
    if not reading.choices:
        reply.send(TimezoneUnknown(), reply.kb.zones())
        return
    await state.set_state(ZoneSetting.waiting_for_zone)
    await state.set_data({"offered": [choice.zone for choice in reading.choices]})
    labels = [
        (patients.describe_zone(c.zone, reply.lang, c.place), c.zone) for c in reading.choices
    ]
    reply.send(TimezonePick(corrected=reading.corrected), reply.kb.zone_choices(labels))


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
    await show_settings(callback, state, reply, patient, patients, clock)


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
