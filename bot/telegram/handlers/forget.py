"""/forget: delete every stored trace of the patient, after confirmation."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.content.catalogue import (
    ChatCommand,
    ForgetConfirm,
    ForgetDone,
    ForgetKept,
    ForgetNothing,
    StaleButton,
)
from bot.db.models import Patient
from bot.services.patients import PatientService
from bot.services.staff import StaffService
from bot.telegram.callbacks import ForgetCb, new_token
from bot.telegram.fsm_storage import forget_conversations
from bot.telegram.reply import Reply
from bot.telegram.states import Forgetting


async def forget(
    message: Message, state: FSMContext, reply: Reply, patient: Patient | None
) -> None:
    if patient is None:
        reply.send(ForgetNothing())
        return
    token = new_token()
    await state.set_state(Forgetting.confirming)
    await state.set_data({"token": token})
    reply.send(ForgetConfirm(), reply.kb.forget_confirm(token))


async def forget_answer(
    callback: CallbackQuery,
    callback_data: ForgetCb,
    state: FSMContext,
    reply: Reply,
    patient: Patient | None,
    patients: PatientService,
    staff: StaffService,
) -> None:
    offered = (
        await state.get_state() == Forgetting.confirming.state
        and (await state.get_data()).get("token") == callback_data.t
    )
    if not offered:
        if callback_data.confirm and patient is None:
            reply.send(ForgetDone())  # a second "yes": already done
        else:
            reply.send(StaleButton(), reply.kb.home())  # e.g. "yes" after "no, keep"
        return
    await state.clear()
    if not callback_data.confirm:
        reply.send(ForgetKept(), reply.kb.home())
        return
    forgotten = await patients.forget(callback.from_user.id)
    # Every conversation of theirs too, and the team's about their visits (in Redis, after
    # the commit; in the database, deleted with the rest).
    visits = forgotten.appointment_ids if forgotten is not None else ()
    team = await staff.team_ids() if visits else ()
    await forget_conversations(state.storage, state.key, visits=visits, team=team)
    reply.send(ForgetDone())


def create_router() -> Router:
    """A fresh router each call: aiogram attaches a router to one dispatcher only."""
    r = Router(name="forget")
    r.message.register(forget, Command(ChatCommand.FORGET))
    r.callback_query.register(forget_answer, ForgetCb.filter())
    return r
