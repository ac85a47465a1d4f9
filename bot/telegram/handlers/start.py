"""Welcome, consent, the main menu and help."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.content.store import Content
from bot.db.models import Patient
from bot.services.patients import PatientService
from bot.telegram.callbacks import ConsentCb, MenuCb
from bot.telegram.keyboards import Keyboards
from bot.telegram.replies import respond


async def start(
    event: Message | CallbackQuery,
    state: FSMContext,
    content: Content,
    lang: str,
    kb: Keyboards,
    patient: Patient | None,
) -> None:
    await state.clear()
    if patient is not None and patient.has_consented:
        await respond(event, content.render("welcome_back", lang), kb.main_menu())
        return
    await respond(event, content.render("welcome", lang), kb.consent())


async def consent_answer(
    callback: CallbackQuery,
    callback_data: ConsentCb,
    content: Content,
    lang: str,
    kb: Keyboards,
    patients: PatientService,
) -> None:
    if not callback_data.agree:
        await respond(callback, content.render("consent_declined", lang), kb.start_over())
        return
    await patients.consent(
        telegram_id=callback.from_user.id, chat_id=callback.from_user.id, language=lang
    )
    await respond(callback, content.render("consent_thanks", lang), kb.main_menu())


async def menu(
    event: Message | CallbackQuery,
    state: FSMContext,
    content: Content,
    lang: str,
    kb: Keyboards,
    patient: Patient | None,
) -> None:
    await state.clear()
    if patient is None or not patient.has_consented:
        await respond(event, content.render("need_consent", lang), kb.start_over())
        return
    await respond(event, content.render("menu", lang), kb.main_menu())


async def help_(event: Message | CallbackQuery, content: Content, lang: str, kb: Keyboards) -> None:
    await respond(event, content.render("help", lang), kb.home())


def create_router() -> Router:
    """A fresh router each call: aiogram attaches a router to one dispatcher only."""
    r = Router(name="start")
    r.message.register(start, CommandStart())
    r.callback_query.register(start, MenuCb.filter(F.to == "start"))
    r.callback_query.register(consent_answer, ConsentCb.filter())
    r.message.register(menu, Command("menu"))
    r.callback_query.register(menu, MenuCb.filter(F.to == "home"))
    r.message.register(help_, Command("help"))
    r.callback_query.register(help_, MenuCb.filter(F.to == "help"))
    return r
