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

router = Router(name="start")


@router.message(CommandStart())
@router.callback_query(MenuCb.filter(F.to == "start"))
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


@router.callback_query(ConsentCb.filter())
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


@router.message(Command("menu"))
@router.callback_query(MenuCb.filter(F.to == "home"))
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


@router.message(Command("help"))
@router.callback_query(MenuCb.filter(F.to == "help"))
async def help_(event: Message | CallbackQuery, content: Content, lang: str, kb: Keyboards) -> None:
    await respond(event, content.render("help", lang), kb.home())


@router.callback_query(MenuCb.filter(F.to == "prepare"))
@router.message(Command("prepare"))
async def prepare(
    event: Message | CallbackQuery, content: Content, lang: str, kb: Keyboards
) -> None:
    await respond(event, content.render("prepare", lang), kb.home())
