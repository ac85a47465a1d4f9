"""Patient settings: the time zone used to read and show times."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.content.store import Content
from bot.db.models import Patient
from bot.services.patients import PatientService
from bot.telegram.callbacks import MenuCb, ZoneCb
from bot.telegram.keyboards import COMMON_ZONES, Keyboards
from bot.telegram.middlewares import RequireConsent
from bot.telegram.replies import respond
from bot.telegram.states import Settings
from scheduler.clock import Clock
from scheduler.timemath import UnknownZone, load_zone, to_local

_COMMON = {zone for zone, _ in COMMON_ZONES}


async def show_settings(
    event: Message | CallbackQuery,
    state: FSMContext,
    content: Content,
    lang: str,
    kb: Keyboards,
    patient: Patient,
    clock: Clock,
) -> None:
    await state.clear()
    now_local = to_local(clock.now(), load_zone(patient.timezone))
    await respond(
        event,
        content.render("settings", lang, zone=patient.timezone, now_local=now_local),
        kb.zones(),
    )


async def ask_zone(
    callback: CallbackQuery, state: FSMContext, content: Content, lang: str, kb: Keyboards
) -> None:
    await state.set_state(Settings.waiting_for_zone)
    await respond(callback, content.render("timezone_ask", lang), kb.home())


async def _save_zone(
    event: Message | CallbackQuery,
    name: str,
    state: FSMContext,
    content: Content,
    lang: str,
    kb: Keyboards,
    patient: Patient,
    patients: PatientService,
    clock: Clock,
) -> None:
    try:
        zone = await patients.set_timezone(patient, name)
    except UnknownZone:
        await respond(event, content.render("timezone_unknown", lang), kb.zones())
        return
    await state.clear()
    now_local = to_local(clock.now(), load_zone(zone))
    await respond(
        event,
        content.render("timezone_saved", lang, zone=zone, now_local=now_local),
        kb.main_menu(),
    )


async def pick_zone(
    callback: CallbackQuery,
    callback_data: ZoneCb,
    state: FSMContext,
    content: Content,
    lang: str,
    kb: Keyboards,
    patient: Patient,
    patients: PatientService,
    clock: Clock,
) -> None:
    if callback_data.zone not in _COMMON:  # forged data: only the offered buttons are accepted
        await respond(callback, content.render("stale_button", lang), kb.home())
        return
    await _save_zone(
        callback, callback_data.zone, state, content, lang, kb, patient, patients, clock
    )


async def typed_zone(
    message: Message,
    state: FSMContext,
    content: Content,
    lang: str,
    kb: Keyboards,
    patient: Patient,
    patients: PatientService,
    clock: Clock,
) -> None:
    await _save_zone(
        message, (message.text or "")[:64], state, content, lang, kb, patient, patients, clock
    )


def create_router() -> Router:
    """A fresh router each call: aiogram attaches a router to one dispatcher only."""
    r = Router(name="settings")
    r.message.middleware(RequireConsent())
    r.callback_query.middleware(RequireConsent())
    r.message.register(show_settings, Command("settings"))
    r.callback_query.register(show_settings, MenuCb.filter(F.to == "settings"))
    r.callback_query.register(ask_zone, ZoneCb.filter(F.zone == "other"))
    r.callback_query.register(pick_zone, ZoneCb.filter(F.zone != "other"))
    r.message.register(typed_zone, Settings.waiting_for_zone, F.text & ~F.text.startswith("/"))
    return r
