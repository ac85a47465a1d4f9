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
)
from bot.db.models import Patient
from bot.services.container import ServiceScope
from bot.services.offers import Offer, OfferExpired, OfferKind
from bot.telegram.callbacks import ForgetCb
from bot.telegram.fsm_storage import forget_conversations
from bot.telegram.reply import Reply
from bot.telegram.states import Forgetting


async def forget(
    message: Message, state: FSMContext, reply: Reply, patient: Patient | None
) -> None:
    if patient is None:
        reply.send(ForgetNothing())
        return
    offer = Offer(OfferKind.FORGET)
    await state.set_state(Forgetting.confirming)
    await state.set_data(offer.to_state())
    reply.send(ForgetConfirm(), reply.kb.forget_confirm(offer.token))


async def forget_answer(
    callback: CallbackQuery,
    callback_data: ForgetCb,
    state: FSMContext,
    reply: Reply,
    patient: Patient | None,
    svc: ServiceScope,
) -> None:
    offered = await state.get_state() == Forgetting.confirming.state and Offer.answers(
        await state.get_data(), OfferKind.FORGET, callback_data.t
    )
    if not offered:
        if callback_data.confirm and patient is None:
            reply.send(ForgetDone())  # a second "yes": already done
            return
        raise OfferExpired(OfferKind.FORGET)  # e.g. "yes" after "no, keep"
    await state.clear()
    if not callback_data.confirm:
        reply.send(ForgetKept(), reply.kb.home())
        return
    forgotten = await svc.patients.forget(callback.from_user.id)
    # Every conversation of theirs too, and the team's about their visits (in Redis, after
    # the commit; in the database, deleted with the rest).
    visits = forgotten.appointment_ids if forgotten is not None else ()
    team = await svc.staff.team_ids() if visits else ()
    await forget_conversations(state.storage, state.key, visits=visits, team=team)
    reply.send(ForgetDone())


def create_router() -> Router:
    """A fresh router each call: aiogram attaches a router to one dispatcher only."""
    r = Router(name="forget")
    r.message.register(forget, Command(ChatCommand.FORGET))
    r.callback_query.register(forget_answer, ForgetCb.filter())
    return r
