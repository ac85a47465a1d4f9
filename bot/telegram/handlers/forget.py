"""/forget: delete every stored trace of the patient, after confirmation."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.content.store import Content
from bot.db.models import Patient
from bot.services.patients import PatientService
from bot.telegram.callbacks import ForgetCb
from bot.telegram.keyboards import Keyboards
from bot.telegram.replies import respond


async def forget(
    message: Message, content: Content, lang: str, kb: Keyboards, patient: Patient | None
) -> None:
    if patient is None:
        await message.answer(content.render("forget_nothing", lang))
        return
    await message.answer(content.render("forget_confirm", lang), reply_markup=kb.forget_confirm())


async def forget_answer(
    callback: CallbackQuery,
    callback_data: ForgetCb,
    state: FSMContext,
    content: Content,
    lang: str,
    kb: Keyboards,
    patients: PatientService,
) -> None:
    if not callback_data.confirm:
        await respond(callback, content.render("forget_kept", lang), kb.home())
        return
    await state.clear()
    await patients.forget(callback.from_user.id)
    await respond(callback, content.render("forget_done", lang))


def create_router() -> Router:
    """A fresh router each call: aiogram attaches a router to one dispatcher only."""
    r = Router(name="forget")
    r.message.register(forget, Command("forget"))
    r.callback_query.register(forget_answer, ForgetCb.filter())
    return r
