"""Staff move or cancel a visit the clinic made, from the roster's Move and Cancel buttons.

Move asks for the new time (read in the clinic's zone, as invites are; a time that happens
twice offers both), shows the old and the new time and waits for Confirm; Cancel waits for a
confirmation too. Each confirmation's button carries the offer's token, kept in the
conversation state: a button from an older offer has expired, and a second tap on the same
one asks the service again, which finds the change made and says so (one change, one notice).
Each offer also keeps the visit's version it showed: if the patient (or a colleague) changed
the visit before the member confirms, nothing is changed and the member is told what the
visit is now (bot/telegram/refusals.py).
The service (bot/services/visit_changes.py) checks the permission first on every step, so a
patient who forges one of these buttons gets the stale-button answer and the audit log a
refused line; the patient of the visit is told by a notice queued with the change, never
through this reply.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

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
from bot.services.errors import VisitChangeRefused
from bot.services.visit_changes import Reading, VisitChangeService
from bot.telegram.callbacks import VisitAction, VisitCb, new_token
from bot.telegram.filters import PlainText
from bot.telegram.reply import Reply
from bot.telegram.states import ChangingVisit

MOVE, CANCEL = "move", "cancel"
_CANCELLING = (VisitAction.CANCEL, VisitAction.CANCEL_YES, VisitAction.CANCEL_NO)


async def _ask_time(
    state: FSMContext, reply: Reply, actor: Actor, visits: VisitChangeService, appointment: int
) -> None:
    view = await visits.visit(actor, appointment, Action.VISIT_MOVE)
    await state.set_state(ChangingVisit.waiting_for_time)
    await state.set_data({"kind": MOVE, "appointment": appointment})
    reply.send(VisitMoveAsk(when=view.local, label=view.label, zone=visits.default_zone))


async def _offer(state: FSMContext, reply: Reply, appointment: int, reading: Reading) -> None:
    """Confirm the move (or pick one of two readings); the offer's token goes with it."""
    token = new_token()
    if isinstance(reading.time, Ambiguity):
        earlier, later = reading.time.earlier, reading.time.later
        await state.set_state(ChangingVisit.picking)
        await state.set_data(
            {
                "kind": MOVE,
                "appointment": appointment,
                "earlier": earlier.starts_at.isoformat(),
                "later": later.starts_at.isoformat(),
                "token": token,
            }
        )
        reply.send(
            InviteAmbiguous(earlier=earlier.local, later=later.local),
            reply.kb.visit_ambiguous(appointment, earlier.local, later.local, token),
        )
        return
    proposal: VisitTime = reading.time
    await state.set_state(ChangingVisit.confirming_move)
    await state.set_data(
        {
            "kind": MOVE,
            "appointment": appointment,
            "starts_at": proposal.starts_at.isoformat(),
            "token": token,
            "version": reading.visit.version,  # the visit as the offer shows it
        }
    )
    reply.send(
        VisitMoveConfirm(
            before=reading.visit.local, after=proposal.local, label=reading.visit.label
        ),
        reply.kb.visit_move_confirm(appointment, token),
    )


def _held(data: dict[str, Any], field: str) -> datetime:
    """An instant kept in the conversation state."""
    stored = data.get(field)
    try:
        instant = datetime.fromisoformat(stored) if isinstance(stored, str) else None
    except ValueError:
        instant = None
    if instant is None or instant.tzinfo is None:
        raise VisitChangeRefused("expired")
    return instant


def _version(data: dict[str, Any]) -> int | None:
    """The visit's version the offer showed (None: an offer made before versions)."""
    version = data.get("version")
    return version if isinstance(version, int) and not isinstance(version, bool) else None


async def visit_time(
    message: Message,
    state: FSMContext,
    reply: Reply,
    actor: Actor,
    visit_changes: VisitChangeService,
) -> None:
    appointment = (await state.get_data()).get("appointment")
    if not isinstance(appointment, int):
        await state.clear()
        raise VisitChangeRefused("expired")
    reading = await visit_changes.read_time(actor, appointment, message.text or "")
    await _offer(state, reply, appointment, reading)


async def visit_button(
    callback: CallbackQuery,
    callback_data: VisitCb,
    state: FSMContext,
    reply: Reply,
    actor: Actor,
    visit_changes: VisitChangeService,
) -> None:
    visits = visit_changes
    appointment, action = callback_data.id, callback_data.action
    if action is VisitAction.MOVE:
        await _ask_time(state, reply, actor, visits, appointment)
        return
    if action is VisitAction.CANCEL:
        view = await visits.visit(actor, appointment, Action.VISIT_CANCEL)
        token = new_token()
        await state.set_state(ChangingVisit.confirming_cancel)
        await state.set_data(
            {"kind": CANCEL, "appointment": appointment, "token": token, "version": view.version}
        )
        reply.send(
            VisitCancelConfirm(when=view.local, label=view.label),
            reply.kb.visit_cancel_confirm(appointment, token),
        )
        return
    # An answer to an offer: who may answer is checked first (a forged button from a patient
    # ends here, with an audit line), then that it is this offer's.
    kind = CANCEL if action in _CANCELLING else MOVE
    await visits.require(
        actor, appointment, Action.VISIT_CANCEL if kind == CANCEL else Action.VISIT_MOVE
    )
    data = await state.get_data()
    if (
        not callback_data.t
        or data.get("token") != callback_data.t
        or data.get("appointment") != appointment
        or data.get("kind") != kind
    ):
        raise VisitChangeRefused("expired")
    current, done = await state.get_state(), bool(data.get("done"))
    match action:
        case VisitAction.CONFIRM if current == ChangingVisit.confirming_move.state or done:
            change = await visits.move(
                actor, appointment, _held(data, "starts_at"), _version(data)
            )
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
            change = await visits.cancel(actor, appointment, _version(data))
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
            instant = _held(data, action.value)
            await _offer(
                state, reply, appointment, await visits.read_time(actor, appointment, instant)
            )
        case VisitAction.CHANGE if not done:
            await _ask_time(state, reply, actor, visits, appointment)
        case _:
            raise VisitChangeRefused("expired")


def create_router() -> Router:
    """A fresh router each call: aiogram attaches a router to one dispatcher only."""
    r = Router(name="visits")
    for step in (
        ChangingVisit.waiting_for_time,
        ChangingVisit.picking,
        ChangingVisit.confirming_move,
    ):
        r.message.register(visit_time, step, PlainText())
    r.callback_query.register(visit_button, VisitCb.filter())
    return r
