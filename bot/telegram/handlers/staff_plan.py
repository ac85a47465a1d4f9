"""/plan: admins see the reminder plan as a timeline and change it live. Rules live in
bot/services/plan_editing.py.

/plan -> the timeline of a sample visit, a button per step and "Add a step" -> a step: its
fields and Time / Expiry / On-Off / Items / Buttons / Back. A change that needs a value asks
for it (an offset like ``-1d@19:00``, a comma list, or a new step's key, time and text); On-Off
needs none. The new timeline is shown with Save / Cancel, or why the change cannot be made.
Save carries the token of the offer: a second tap is answered "already live", a button of an
older offer as stale. Anyone whose role does not allow editing the plan gets the patients'
answer to an unknown command or a stale button (the service writes the refusal to the audit
log).
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.content.catalogue import (
    Button,
    StaffCommand,
    StaffPlanAsk,
    StaffPlanChanged,
    StaffPlanProblems,
    StaffPlanSaved,
    StaffPlanStep,
    StaffPlanTimeline,
    StaffTextCancelled,
    StaleButton,
)
from bot.domain.audit import Actor
from bot.domain.staff import Permission
from bot.services.plan_editing import (
    PlanCandidate,
    PlanChanged,
    PlanEdit,
    PlanEditing,
    PlanOp,
    PlanRejected,
    PlanView,
    Timeline,
)
from bot.telegram.callbacks import PlanAction, PlanCb, new_token
from bot.telegram.filters import StaffMay
from bot.telegram.handlers.staff_content import jinja_as_typed
from bot.telegram.keyboards import in_rows, markup
from bot.telegram.reply import Reply
from bot.telegram.staff_names import remember_names
from bot.telegram.states import PlanDraft
from scheduler.plan import BUTTONS

_STEP_OPS = (
    (Button.STAFF_PLAN_AT, PlanOp.AT),
    (Button.STAFF_PLAN_EXPIRES, PlanOp.EXPIRES),
    (Button.STAFF_PLAN_SWITCH, PlanOp.SWITCH),
    (Button.STAFF_PLAN_ITEMS, PlanOp.ITEMS),
    (Button.STAFF_PLAN_BUTTONS, PlanOp.BUTTONS),
)


def _actor(event: Message | CallbackQuery) -> Actor:
    assert event.from_user is not None
    return Actor(event.from_user.id)


def _keyboard(
    reply: Reply, buttons: list[tuple[Button, PlanCb, str]], width: int = 2
) -> InlineKeyboardMarkup:
    labels = [
        (reply.kb.content.button(key, reply.lang, label=label), cb) for key, cb, label in buttons
    ]
    return markup(in_rows(labels, (width,)))


def _timeline(
    reply: Reply,
    timeline: Timeline,
    version: int,
    buttons: InlineKeyboardMarkup,
    *,
    candidate: bool,
) -> None:
    reply.send(
        StaffPlanTimeline(
            visit=timeline.visit,
            version=version,
            steps=[step.as_line() for step in timeline.steps],
            candidate=candidate,
        ),
        buttons,
    )


def _timeline_buttons(reply: Reply, timeline: Timeline) -> InlineKeyboardMarkup:
    rows = [
        (Button.STAFF_PLAN_STEP, PlanCb(a=PlanAction.STEP, k=step.key), step.key)
        for step in timeline.steps
    ]
    rows.append((Button.STAFF_PLAN_ADD, PlanCb(a=PlanAction.EDIT, o=PlanOp.ADD.value), ""))
    return _keyboard(reply, rows)


def _show(reply: Reply, view: PlanView) -> None:
    number = view.version.number if view.version else 0
    _timeline(
        reply, view.timeline, number, _timeline_buttons(reply, view.timeline), candidate=False
    )


async def plan(
    message: Message, state: FSMContext, reply: Reply, plan_editing: PlanEditing
) -> None:
    await state.clear()
    _show(reply, await plan_editing.view(_actor(message)))


async def browse(
    callback: CallbackQuery,
    callback_data: PlanCb,
    state: FSMContext,
    reply: Reply,
    plan_editing: PlanEditing,
) -> None:
    view = await plan_editing.view(_actor(callback))
    if callback_data.a is PlanAction.VIEW:
        await state.clear()
        _show(reply, view)
        return
    if callback_data.o == PlanOp.ADD.value:
        await _ask(state, reply, view, PlanOp.ADD, "")
        return
    step = view.timeline.step(callback_data.k)
    if step is None:
        reply.send(StaleButton())
        return
    if callback_data.a is PlanAction.STEP:
        await state.clear()
        reply.send(
            StaffPlanStep(
                key=step.key,
                at=step.at,
                expires=step.expires,
                enabled=step.enabled,
                due=step.due,
                items=step.items,
                buttons=step.buttons,
            ),
            _keyboard(
                reply,
                [
                    *(
                        (key, PlanCb(a=PlanAction.EDIT, k=step.key, o=op.value), "")
                        for key, op in _STEP_OPS
                    ),
                    (Button.STAFF_TEXT_BACK, PlanCb(a=PlanAction.VIEW), ""),
                ],
            ),
        )
        return
    if callback_data.o not in set(PlanOp):
        reply.send(StaleButton())
        return
    op = PlanOp(callback_data.o)
    if op is PlanOp.SWITCH:
        edit = PlanEdit(op, step.key, "off" if step.enabled else "on")
        await _propose(callback, state, reply, plan_editing, edit)
        return
    current = {
        PlanOp.AT: step.at,
        PlanOp.EXPIRES: step.expires,
        PlanOp.ITEMS: ", ".join(step.items),
        PlanOp.BUTTONS: ", ".join(step.buttons),
    }[op]
    await _ask(state, reply, view, op, step.key, current)


async def _ask(
    state: FSMContext, reply: Reply, view: PlanView, op: PlanOp, key: str, current: str = ""
) -> None:
    checklist = reply.kb.content.plan.checklist
    await state.set_state(PlanDraft.waiting_for_value)
    await state.set_data({"op": op.value, "key": key})
    choices = tuple(sorted(BUTTONS)) if op is PlanOp.BUTTONS else checklist
    reply.send(StaffPlanAsk(what=op.value, key=key, current=current, choices=choices))


async def receive_value(
    message: Message, state: FSMContext, reply: Reply, plan_editing: PlanEditing
) -> None:
    data = await state.get_data()
    asked = PlanEdit.from_data(data)
    if asked is None or not message.text:
        reply.send(StaleButton())
        return
    if asked.op is PlanOp.ADD:
        first, _, text = jinja_as_typed(message.html_text).partition("\n")
        key, _, when = first.strip().partition(" ")
        edit = PlanEdit(PlanOp.ADD, key.strip()[:32], when.strip(), text.strip())
    else:
        edit = PlanEdit(asked.op, asked.key, message.text.strip()[:200])
    await _propose(message, state, reply, plan_editing, edit)


async def _propose(
    event: Message | CallbackQuery,
    state: FSMContext,
    reply: Reply,
    editing: PlanEditing,
    edit: PlanEdit,
) -> None:
    proposal = await editing.propose(_actor(event), edit)
    if isinstance(proposal, PlanRejected):
        reply.send(StaffPlanProblems(problems=list(proposal.problems)))
        if edit.op is not PlanOp.SWITCH:  # the value can be sent again
            await state.set_state(PlanDraft.waiting_for_value)
            await state.set_data({**edit.as_data(), "text": ""})
        return
    token = new_token()
    await state.set_state(PlanDraft.confirming)
    await state.set_data({**edit.as_data(), "base": proposal.base, "token": token})
    _offer(reply, proposal, token)


def _offer(reply: Reply, proposal: PlanCandidate, token: str) -> None:
    buttons = _keyboard(
        reply,
        [
            (Button.STAFF_TEXT_CONFIRM, PlanCb(a=PlanAction.CONFIRM, t=token), ""),
            (Button.STAFF_TEXT_CANCEL, PlanCb(a=PlanAction.CANCEL, t=token), ""),
        ],
    )
    _timeline(reply, proposal.timeline, 0, buttons, candidate=True)


async def decide(
    callback: CallbackQuery,
    callback_data: PlanCb,
    state: FSMContext,
    reply: Reply,
    plan_editing: PlanEditing,
) -> None:
    data = await state.get_data()
    offered = (
        await state.get_state() == PlanDraft.confirming.state
        and data.get("token") == callback_data.t
    )
    edit = PlanEdit.from_data(data) if offered else None
    if edit is None:
        if data.get("saved") == callback_data.t and callback_data.a is PlanAction.CONFIRM:
            await plan_editing.view(_actor(callback))  # the role is checked (and audited)
            reply.send(StaffPlanSaved(version=0, already=True, moved=0, stopped=0, added=0))
        else:
            reply.send(StaleButton())
        return
    if callback_data.a is PlanAction.CANCEL:
        await state.clear()
        reply.send(StaffTextCancelled())
        return
    base = data.get("base")
    outcome = await plan_editing.confirm(
        _actor(callback), edit, base if isinstance(base, int) else None
    )
    if isinstance(outcome, PlanRejected):
        await state.clear()
        reply.send(StaffPlanProblems(problems=list(outcome.problems)))
    elif isinstance(outcome, PlanChanged):
        await state.clear()
        live = outcome.live
        reply.send(StaffPlanChanged(version=live.version.number if live.version else 0))
        _show(reply, live)
    else:
        await state.set_state(None)
        await state.set_data({"saved": callback_data.t})
        number = outcome.version.number if outcome.version else 0
        done = outcome.replanned
        reply.send(
            StaffPlanSaved(
                version=number,
                already=outcome.already,
                moved=done.moved if done else 0,
                stopped=done.stopped if done else 0,
                added=done.added if done else 0,
            )
        )


def create_router() -> Router:
    """A fresh router each call. The command and the buttons reach the service, which checks
    the role and writes the refusal of anyone else to the audit log (they then get what any
    unknown command or stale button gets); a typed value is taken only from an admin."""
    r = Router(name="staff_plan")
    r.message.register(plan, Command(StaffCommand.PLAN))
    r.message.register(receive_value, PlanDraft.waiting_for_value, StaffMay(Permission.PLAN))
    r.callback_query.register(
        decide, PlanCb.filter(F.a.in_({PlanAction.CONFIRM, PlanAction.CANCEL}))
    )
    r.callback_query.register(browse, PlanCb.filter())
    return remember_names(r)
