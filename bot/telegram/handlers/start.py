"""Welcome, consent, the main menu and help."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.content.catalogue import (
    ChatCommand,
    ConsentDeclined,
    ConsentThanks,
    Help,
    Menu,
    NeedConsent,
    Welcome,
    WelcomeBack,
)
from bot.db.models import Patient
from bot.services.patients import PatientService
from bot.telegram.callbacks import ConsentCb, MenuCb, MenuTarget
from bot.telegram.reply import Reply


async def start(
    event: Message | CallbackQuery, state: FSMContext, reply: Reply, patient: Patient | None
) -> None:
    await state.clear()
    if patient is not None and patient.has_consented:
        reply.send(WelcomeBack(), reply.kb.main_menu())
        return
    reply.send(Welcome(), reply.kb.consent())


async def consent_answer(
    callback: CallbackQuery, callback_data: ConsentCb, reply: Reply, patients: PatientService
) -> None:
    if not callback_data.agree:
        reply.send(ConsentDeclined(), reply.kb.start_over())
        return
    # Idempotent: a second tap (or one racing the first) finds the account and says the same.
    await patients.consent(
        telegram_id=callback.from_user.id, chat_id=callback.from_user.id, language=reply.lang
    )
    reply.send(ConsentThanks(), reply.kb.main_menu())


async def menu(
    event: Message | CallbackQuery, state: FSMContext, reply: Reply, patient: Patient | None
) -> None:
    await state.clear()
    if patient is None or not patient.has_consented:
        reply.send(NeedConsent(), reply.kb.start_over())
        return
    reply.send(Menu(), reply.kb.main_menu())


async def help_(event: Message | CallbackQuery, reply: Reply) -> None:
    reply.send(Help(), reply.kb.home())


def create_router() -> Router:
    """A fresh router each call: aiogram attaches a router to one dispatcher only."""
    r = Router(name="start")
    r.message.register(start, CommandStart())
    r.callback_query.register(start, MenuCb.filter(F.to == MenuTarget.START))
    r.callback_query.register(consent_answer, ConsentCb.filter())
    r.message.register(menu, Command("menu"))
    r.callback_query.register(menu, MenuCb.filter(F.to == MenuTarget.HOME))
    r.message.register(help_, Command(ChatCommand.HELP))
    r.callback_query.register(help_, MenuCb.filter(F.to == MenuTarget.HELP))
    return r
