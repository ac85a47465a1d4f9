"""Staff move or cancel a visit the clinic made, from the roster's Move and Cancel buttons.

Move asks for the new time (read in the clinic's zone, as invites are; a time that happens
twice offers both, and a week typed instead of tapped, "next week", is read as /invite's is),
shows the old and the new time and waits for Confirm; Cancel waits for a confirmation too. Each
confirmation's button carries the offer's token, kept in the conversation state: a button from
an older offer has expired, and a second tap on the same one asks the service again, which
finds the change made and says so (one change, one notice). Each offer also keeps the visit's
version it showed: if the patient (or a colleague) changed the visit before the member
confirms, nothing is changed and the member is told what the visit is now
(bot/telegram/refusals.py).
The service (bot/services/visit_changes.py) checks the permission first on every step, so a
patient who forges one of these buttons gets the stale-button answer and the audit log a
refused line; the patient of the visit is told by a notice queued with the change, never
through this reply.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.content.catalogue import (
    InviteAmbiguous,
    VisitCancelConfirm,
    VisitCancelled,
    VisitKept,
    VisitMoveAsk,
    VisitMoveConfirm,
    VisitMoved,
)
from bot.domain.audit import Action, Actor
from bot.services.appointments import Ambiguity, VisitTime
from bot.services.container import ServiceScope
from bot.services.offers import Offer, OfferExpired, OfferKind, TimeChoice
from bot.services.visit_changes import Reading, VisitChangeService
from bot.telegram.callbacks import VisitAction, VisitCb
from bot.telegram.filters import PlainText
from bot.telegram.reply import Reply
from bot.telegram.states import ChangingVisit

_CANCELLING = (VisitAction.CANCEL, VisitAction.CANCEL_YES, VisitAction.CANCEL_NO)
_CHOICES: dict[VisitAction, TimeChoice] = {
    VisitAction.EARLIER: "earlier",
    VisitAction.LATER: "later",
}


async def _ask_time(
    state: FSMContext, reply: Reply, actor: Actor, visits: VisitChangeService, appointment: int
) -> None:
    view = await visits.visit(actor, appointment, Action.VISIT_MOVE)
    await state.set_state(ChangingVisit.waiting_for_time)
    await state.set_data(Offer(OfferKind.VISIT_MOVE, visit=appointment).to_state())
    reply.send(
        VisitMoveAsk(
            when=view.local,
            label=view.label,
            zone=visits.default_zone,
            example=visits.example(view.local),
        )
    )


async def _offer(state: FSMContext, reply: Reply, appointment: int, reading: Reading) -> None:
    """Confirm the move (or pick one of two readings); the offer's token goes with it."""
    if isinstance(reading.time, Ambiguity):
        offer = Offer.of_reading(OfferKind.VISIT_MOVE, reading.time, visit=appointment)
        await state.set_state(ChangingVisit.picking)
        await state.set_data(offer.to_state())
        _ask_which(reply, appointment, reading.time, offer.token)
        return
    proposal: VisitTime = reading.time
    # The visit's version as the offer shows it: changed since, it is not moved.
    offer = Offer.of_reading(
        OfferKind.VISIT_MOVE, proposal, visit=appointment, version=reading.visit.version
    )
    await state.set_state(ChangingVisit.confirming_move)
    await state.set_data(offer.to_state())
    reply.send(
        VisitMoveConfirm(
            before=reading.visit.local,
            after=proposal.local,
            label=reading.visit.label,
            next_year=proposal.next_year,
        ),
        reply.kb.visit_move_confirm(appointment, offer.token),
    )


def _ask_which(reply: Reply, appointment: int, reading: Ambiguity, token: str) -> None:
    """The two readings of the new time, to pick one."""
    earlier, later = reading.earlier.local, reading.later.local
    reply.send(
        InviteAmbiguous(
            earlier=earlier, later=later, ambiguity=reading.reason, tomorrow=reading.tomorrow
        ),
        reply.kb.visit_ambiguous(appointment, earlier, later, token),
    )


async def visit_time(
    message: Message,
    state: FSMContext,
    reply: Reply,
    actor: Actor,
    svc: ServiceScope,
) -> None:
    try:
        appointment = Offer.held(await state.get_data(), OfferKind.VISIT_MOVE).visit
        if appointment is None:
            raise OfferExpired(OfferKind.VISIT_MOVE)
    except OfferExpired:
        await state.clear()
        raise
    reading = await svc.visit_changes.read_time(actor, appointment, message.text or "", reply.lang)
    await _offer(state, reply, appointment, reading)


async def visit_week_typed(
    message: Message, state: FSMContext, reply: Reply, actor: Actor, svc: ServiceScope
) -> None:
    """Typed while the two weeks are buttons ("next week", "the 16th", "not sure"), read as
    /invite's is (VisitChangeService.week_typed): the week it picks, as a tap on it would;
    not sure, or a question about them, shows the choice again (its buttons still work);
    anything else is a new time."""
    try:
        offer = Offer.held(await state.get_data(), OfferKind.VISIT_MOVE)
        earlier, later = offer.visit_time("earlier"), offer.visit_time("later")
        appointment = offer.visit
        if appointment is None:
            raise OfferExpired(OfferKind.VISIT_MOVE)
    except OfferExpired:
        await visit_time(message, state, reply, actor, svc)
        return
    words = reply.content.which_week(reply.lang)
    reading = await svc.visit_changes.week_typed(
        actor, appointment, message.text or "", earlier, later, words, reply.lang
    )
    if reading is None:
        await visit_time(message, state, reply, actor, svc)
    elif isinstance(reading.time, Ambiguity):
        _ask_which(reply, appointment, reading.time, offer.token)
    else:
        await _offer(state, reply, appointment, reading)


async def visit_button(
    callback: CallbackQuery,
    callback_data: VisitCb,
    state: FSMContext,
    reply: Reply,
    actor: Actor,
    svc: ServiceScope,
) -> None:
    visits = svc.visit_changes
    appointment, action = callback_data.id, callback_data.action
    if action is VisitAction.MOVE:
        await _ask_time(state, reply, actor, visits, appointment)
        return
    if action is VisitAction.CANCEL:
        view = await visits.visit(actor, appointment, Action.VISIT_CANCEL)
        offer = Offer(OfferKind.VISIT_CANCEL, visit=appointment, version=view.version)
        await state.set_state(ChangingVisit.confirming_cancel)
        await state.set_data(offer.to_state())
        reply.send(
            VisitCancelConfirm(when=view.local, label=view.label),
            reply.kb.visit_cancel_confirm(appointment, offer.token),
        )
        return
    # An answer to an offer: who may answer is checked first (a forged button from a patient
    # ends here, with an audit line), then that it is this offer's.
    kind = OfferKind.VISIT_CANCEL if action in _CANCELLING else OfferKind.VISIT_MOVE
    await visits.require(
        actor,
        appointment,
        Action.VISIT_CANCEL if kind is OfferKind.VISIT_CANCEL else Action.VISIT_MOVE,
    )
    data = await state.get_data()
    offer = Offer.answered(data, kind, callback_data.t).about(visit=appointment)
    current, done = await state.get_state(), bool(data.get("done"))
    match action:
        case VisitAction.CONFIRM if current == ChangingVisit.confirming_move.state or done:
            change = await visits.move(actor, appointment, offer.instant(), offer.version)
            await state.set_state(None)
            await state.set_data({**data, "done": True})
            reply.send(
                VisitMoved(
                    before=change.before.local,
                    after=change.after.local,
                    label=change.after.label,
                    changed=change.changed,
                )
            )
        case VisitAction.CANCEL_YES if current == ChangingVisit.confirming_cancel.state or done:
            change = await visits.cancel(actor, appointment, offer.version)
            await state.set_state(None)
            await state.set_data({**data, "done": True})
            reply.send(
                VisitCancelled(
                    when=change.before.local, label=change.before.label, changed=change.changed
                )
            )
        case VisitAction.CANCEL_NO if current == ChangingVisit.confirming_cancel.state:
            view = await visits.visit(actor, appointment, Action.VISIT_CANCEL)
            await state.clear()
            reply.send(VisitKept(when=view.local, label=view.label))
        case VisitAction.EARLIER | VisitAction.LATER if current == ChangingVisit.picking.state:
            instant = offer.instant(_CHOICES[action])
            await _offer(
                state, reply, appointment, await visits.read_time(actor, appointment, instant)
            )
        case VisitAction.CHANGE if not done:
            await _ask_time(state, reply, actor, visits, appointment)
        case _:
            raise OfferExpired(kind)


def create_router() -> Router:
    """A fresh router each call: aiogram attaches a router to one dispatcher only."""
    r = Router(name="visits")
    r.message.register(visit_time, ChangingVisit.waiting_for_time, PlainText())
    r.message.register(visit_week_typed, ChangingVisit.picking, PlainText())
    r.message.register(visit_time, ChangingVisit.confirming_move, PlainText())
    r.callback_query.register(visit_button, VisitCb.filter())
    return r
