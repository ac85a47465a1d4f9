"""/plan: admins see a visit type's reminder plan as a timeline and change it live. Rules live
in bot/services/plan_editing.py.

/plan -> the timeline of the clinic's default visit type for a sample visit (each step by its
plain title, its time in words: "the day before at 7:00 PM"), a button per step, "Add a step",
History and a button per other visit type (its plan) -> a step: its fields and Time / Expiry /
On-Off / Items / Buttons / Back. A change that needs a value asks for it (a time as the team
says it, "2 hours before", "the day before at 6pm", "the day after at 10am", or an offset like
``-1d@19:00``; a comma list; or a new step's name, time and text); On-Off needs none. The new
timeline is shown with Save / Cancel, or why the change cannot be made; Cancel goes back to
the step (or the timeline). History lists the plan's versions (clinic time, the author's
name); a version's timeline is shown before Restore. Save, Restore and Cancel carry the token
of the offer: a second Save is answered "already live", a button of an older offer as stale.
Anyone whose role does not allow editing the plan gets the patients' answer to an unknown
command or a stale button (the service writes the refusal to the audit log).
"""

from __future__ import annotations

from datetime import date, datetime

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from markupsafe import Markup

from bot.content.catalogue import (
    Button,
    StaffCommand,
    StaffPlanAsk,
    StaffPlanChanged,
    StaffPlanHistory,
    StaffPlanProblems,
    StaffPlanRollback,
    StaffPlanSaved,
    StaffPlanStep,
    StaffPlanTimeline,
    StaffPlanWhen,
    StaffTextCancelled,
    StaleButton,
)
from bot.content.store import Content
from bot.domain.audit import Actor
from bot.domain.staff import Permission
from bot.domain.visits import VisitType
from bot.services.container import ServiceScope
from bot.services.offers import Offer, OfferExpired, OfferKind
from bot.services.plan_editing import (
    PlanCandidate,
    PlanChanged,
    PlanEdit,
    PlanEditing,
    PlanOp,
    PlanRejected,
    PlanView,
    Timeline,
    TimelineStep,
)
from bot.services.text_names import language_name
from bot.telegram.callbacks import PlanAction, PlanCb, type_code, type_of_code
from bot.telegram.filters import StaffMay
from bot.telegram.handlers.staff_content import jinja_as_typed, version_lines
from bot.telegram.keyboards import in_rows, markup
from bot.telegram.reply import Reply
from bot.telegram.staff_names import remember_names
from bot.telegram.states import PlanDraft
from foundation.timemath import to_local
from scheduler.plan import BUTTONS, parse_offset

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


def in_words(reply: Reply, offset: str) -> Markup:
    """A plan offset (``-1d@19:00``) as the team reads it ("the day before at 7:00 PM")."""
    parsed = parse_offset(offset)
    if parsed.delta is not None:
        minutes = int(abs(parsed.delta.total_seconds()) // 60)
        days, rest = divmod(minutes, 24 * 60)
        when = StaffPlanWhen(
            after=parsed.delta.total_seconds() > 0,
            days=days,
            hours=rest // 60,
            minutes=rest % 60,
            clock=None,
        )
    else:
        assert parsed.days is not None and parsed.at is not None
        clock = datetime.combine(date(2026, 1, 1), parsed.at)
        when = StaffPlanWhen(
            after=parsed.days > 0, days=abs(parsed.days), hours=0, minutes=0, clock=clock
        )
    return Markup(reply.render(when))  # our own rendered (escaped) HTML


def kind_name(reply: Reply, kind: VisitType) -> str:
    """A visit type in the member's words ("First consultation")."""
    return reply.content.visit_type_name(kind, reply.lang)


def step_title(content: Content, template: str, key: str, ui_lang: str) -> str:
    """A step by its plain title in the member's language (texts.toml: "Reminder: 2 days
    before (ride home)"; a step added in /plan, by the titles' pattern: "Reminder: water"),
    never its key alone."""
    titles = content.titles(ui_lang)
    entry = titles.text.get(template)
    if entry is not None:
        return entry.title
    return titles.pattern.step.format(key=key.replace("_", " "))[:64]


def _titled(reply: Reply, step: TimelineStep) -> str:
    return step_title(reply.content, step.template, step.key, reply.lang)


def _timeline(
    reply: Reply,
    kind: VisitType,
    timeline: Timeline,
    version: int,
    buttons: InlineKeyboardMarkup | None,
    *,
    candidate: bool,
    restoring: bool = False,
) -> None:
    reply.send(
        StaffPlanTimeline(
            kind=kind_name(reply, kind),
            visit=timeline.visit,
            version=version,
            steps=[
                {**step.as_line(), "title": _titled(reply, step), "when": in_words(reply, step.at)}
                for step in timeline.steps
            ],
            candidate=candidate,
            restoring=restoring,
        ),
        buttons,
    )


def _timeline_buttons(reply: Reply, view: PlanView) -> InlineKeyboardMarkup:
    y = type_code(view.kind)
    rows = [
        (Button.STAFF_PLAN_STEP, PlanCb(a=PlanAction.STEP, k=step.key, y=y), _titled(reply, step))
        for step in view.timeline.steps
    ]
    rows.append((Button.STAFF_PLAN_ADD, PlanCb(a=PlanAction.EDIT, o=PlanOp.ADD.value, y=y), ""))
    rows.append((Button.STAFF_PLAN_HISTORY, PlanCb(a=PlanAction.HISTORY, y=y), ""))
    rows += [
        (
            Button.STAFF_PLAN_TYPE,
            PlanCb(a=PlanAction.VIEW, y=type_code(other)),
            kind_name(reply, other),
        )
        for other in reply.content.visit_types
        if other is not view.kind
    ]
    return _keyboard(reply, rows, width=1)


def _show(reply: Reply, view: PlanView) -> None:
    number = view.version.number if view.version else 0
    _timeline(
        reply,
        view.kind,
        view.timeline,
        number,
        _timeline_buttons(reply, view),
        candidate=False,
    )


async def plan(message: Message, state: FSMContext, reply: Reply, svc: ServiceScope) -> None:
    await state.clear()
    kind = reply.content.default_visit_type
    _show(reply, await svc.plan_editing.view(_actor(message), kind))


async def browse(
    callback: CallbackQuery,
    callback_data: PlanCb,
    state: FSMContext,
    reply: Reply,
    svc: ServiceScope,
) -> None:
    kind = type_of_code(callback_data.y)
    if kind is None:
        await svc.plan_editing.view(_actor(callback))  # the role is checked (and audited)
        reply.send(StaleButton())
        return
    view = await svc.plan_editing.view(_actor(callback), kind)
    if callback_data.a is PlanAction.VIEW:
        await state.clear()
        _show(reply, view)
        return
    if callback_data.a is PlanAction.HISTORY:
        await _history(callback, reply, svc.plan_editing, kind)
        return
    if callback_data.a is PlanAction.ROLLBACK:
        await _offer_restore(callback, callback_data, state, reply, svc.plan_editing, view)
        return
    if callback_data.o == PlanOp.ADD.value:
        await _ask(state, reply, view, PlanOp.ADD, None)
        return
    step = view.timeline.step(callback_data.k)
    if step is None:
        reply.send(StaleButton())
        return
    if callback_data.a is PlanAction.STEP:
        await state.clear()
        _show_step(reply, kind, step)
        return
    if callback_data.o not in set(PlanOp):
        reply.send(StaleButton())
        return
    op = PlanOp(callback_data.o)
    if op is PlanOp.SWITCH:
        edit = PlanEdit(op, step.key, "off" if step.enabled else "on", kind=kind)
        await _propose(callback, state, reply, svc.plan_editing, edit)
        return
    current = {
        PlanOp.AT: in_words(reply, step.at),
        PlanOp.EXPIRES: in_words(reply, step.expires),
        PlanOp.ITEMS: ", ".join(step.items),
        PlanOp.BUTTONS: ", ".join(step.buttons),
    }[op]
    await _ask(state, reply, view, op, step, current)


def _show_step(reply: Reply, kind: VisitType, step: TimelineStep) -> None:
    y = type_code(kind)
    reply.send(
        StaffPlanStep(
            key=step.key,
            title=_titled(reply, step),
            kind=kind_name(reply, kind),
            at=in_words(reply, step.at),
            expires=in_words(reply, step.expires),
            enabled=step.enabled,
            due=step.due,
            items=step.items,
            buttons=step.buttons,
        ),
        _keyboard(
            reply,
            [
                *(
                    (key, PlanCb(a=PlanAction.EDIT, k=step.key, o=op.value, y=y), "")
                    for key, op in _STEP_OPS
                ),
                (Button.STAFF_TEXT_BACK, PlanCb(a=PlanAction.VIEW, y=y), ""),
            ],
        ),
    )


async def _history(
    callback: CallbackQuery, reply: Reply, editing: PlanEditing, kind: VisitType
) -> None:
    live, stored = await editing.history(_actor(callback), kind)
    names = await editing.staff.names({v.author_telegram_id for v in stored})
    y = type_code(kind)
    rows = [(Button.STAFF_TEXT_ROLLBACK, PlanCb(a=PlanAction.ROLLBACK, v=v.id, y=y), str(v.number))
            for v in stored[1:]]  # fmt: skip
    if live is not None:
        rows.append((Button.STAFF_TEXT_ROLLBACK, PlanCb(a=PlanAction.ROLLBACK, v=0, y=y), "0"))
    rows.append((Button.STAFF_TEXT_BACK, PlanCb(a=PlanAction.VIEW, y=y), ""))
    reply.send(
        StaffPlanHistory(
            versions=version_lines(stored, live, names, lambda t: to_local(t, editing.zone))
        ),
        _keyboard(reply, rows),
    )


async def _offer_restore(
    callback: CallbackQuery,
    callback_data: PlanCb,
    state: FSMContext,
    reply: Reply,
    editing: PlanEditing,
    view: PlanView,
) -> None:
    """An older plan's timeline, with Restore / Cancel."""
    kind = view.kind
    shown, old = await editing.restore_preview(_actor(callback), callback_data.v, kind)
    if isinstance(shown, PlanRejected):
        reply.send(StaffPlanProblems(problems=list(shown.problems)))
        return
    offer = Offer(OfferKind.PLAN_EDIT)
    token = offer.token
    await state.set_state(None)
    await state.set_data(
        {"restore": callback_data.v, "base": view.base, "kind": kind.value, **offer.to_state()}
    )
    author = ""
    if old is not None:
        author = (await editing.staff.names([old.author_telegram_id]))[old.author_telegram_id]
    number = old.number if old is not None else 0
    _timeline(reply, kind, shown, number, None, candidate=False, restoring=True)
    y = type_code(kind)
    reply.send(
        StaffPlanRollback(
            version=number,
            author=author,
            at=to_local(old.created_at, editing.zone) if old is not None else None,
            live=view.version.number if view.version else 0,
        ),
        _keyboard(
            reply,
            [
                (
                    Button.STAFF_TEXT_RESTORE,
                    PlanCb(a=PlanAction.RESTORE, v=callback_data.v, t=token, y=y),
                    "",
                ),
                (Button.STAFF_TEXT_CANCEL, PlanCb(a=PlanAction.CANCEL, t=token, y=y), ""),
            ],
        ),
    )


async def _ask(
    state: FSMContext,
    reply: Reply,
    view: PlanView,
    op: PlanOp,
    step: TimelineStep | None,
    current: str = "",
) -> None:
    kind = view.kind
    checklist = reply.kb.content.plan_for(kind).checklist
    key = step.key if step is not None else ""
    await state.set_state(PlanDraft.waiting_for_value)
    await state.set_data({"op": op.value, "key": key, "kind": kind.value})
    choices = tuple(sorted(BUTTONS)) if op is PlanOp.BUTTONS else checklist
    reply.send(
        StaffPlanAsk(
            what=op.value,
            key=key,
            title=_titled(reply, step) if step is not None else "",
            kind=kind_name(reply, kind),
            current=current,
            choices=choices,
        )
    )


async def receive_value(
    message: Message, state: FSMContext, reply: Reply, svc: ServiceScope
) -> None:
    data = await state.get_data()
    asked = PlanEdit.from_data(data)
    if asked is None or not message.text:
        reply.send(StaleButton())
        return
    if asked.op is PlanOp.ADD:
        first, _, text = jinja_as_typed(message.html_text).partition("\n")
        key, _, when = first.strip().partition(" ")
        edit = PlanEdit(PlanOp.ADD, key.strip()[:32], when.strip(), text.strip(), asked.kind)
    else:
        edit = PlanEdit(asked.op, asked.key, message.text.strip()[:200], kind=asked.kind)
    await _propose(message, state, reply, svc.plan_editing, edit)


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
    offer = Offer(OfferKind.PLAN_EDIT)
    token = offer.token
    await state.set_state(PlanDraft.confirming)
    await state.set_data({**edit.as_data(), "base": proposal.base, **offer.to_state()})
    _offer(reply, proposal, token)


def _offer(reply: Reply, proposal: PlanCandidate, token: str) -> None:
    kind = proposal.edit.kind
    y = type_code(kind)
    buttons = _keyboard(
        reply,
        [
            (Button.STAFF_TEXT_CONFIRM, PlanCb(a=PlanAction.CONFIRM, t=token, y=y), ""),
            (Button.STAFF_TEXT_CANCEL, PlanCb(a=PlanAction.CANCEL, t=token, y=y), ""),
        ],
    )
    _timeline(reply, kind, proposal.timeline, 0, buttons, candidate=True)


async def decide(
    callback: CallbackQuery,
    callback_data: PlanCb,
    state: FSMContext,
    reply: Reply,
    svc: ServiceScope,
) -> None:
    """Save, Restore or Cancel of the offer whose token the button carries."""
    data = await state.get_data()
    current = await state.get_state()
    action = callback_data.a
    held = data.get("kind", VisitType.INFUSION.value)
    kind = VisitType(held) if held in set(VisitType) else None
    offered = Offer.answers(data, OfferKind.PLAN_EDIT, callback_data.t) and kind is not None
    if action is PlanAction.CONFIRM:
        offered = offered and current == PlanDraft.confirming.state
    elif action is PlanAction.RESTORE:
        offered = offered and data.get("restore") == callback_data.v
    edit = PlanEdit.from_data(data) if offered else None
    if not offered or kind is None or (action is PlanAction.CONFIRM and edit is None):
        await svc.plan_editing.view(_actor(callback))  # the role is checked (and audited)
        if data.get("saved") == callback_data.t and action is not PlanAction.CANCEL:
            reply.send(
                StaffPlanSaved(
                    version=0,
                    kind=kind_name(reply, type_of_code(callback_data.y) or VisitType.INFUSION),
                    already=True,
                    moved=0,
                    stopped=0,
                    added=0,
                    untranslated=(),
                    fallback="",
                )
            )
            return
        raise OfferExpired(OfferKind.PLAN_EDIT)
    if action is PlanAction.CANCEL:
        await state.clear()
        reply.send(StaffTextCancelled())
        view = await svc.plan_editing.view(_actor(callback), kind)
        step = view.timeline.step(edit.key) if edit is not None else None
        if step is not None:
            _show_step(reply, kind, step)  # back to the step being changed
        else:
            _show(reply, view)
        return
    base = data.get("base")
    if action is PlanAction.RESTORE:
        outcome = await svc.plan_editing.restore(
            _actor(callback), callback_data.v, base if isinstance(base, int) else None, kind
        )
    else:
        assert edit is not None
        outcome = await svc.plan_editing.confirm(
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
                kind=kind_name(reply, kind),
                already=outcome.already,
                moved=done.moved if done else 0,
                stopped=done.stopped if done else 0,
                added=done.added if done else 0,
                untranslated=[language_name(reply.content, lang) for lang in outcome.untranslated],
                fallback=language_name(reply.content, reply.content.default_language),
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
        decide,
        PlanCb.filter(F.a.in_({PlanAction.CONFIRM, PlanAction.CANCEL, PlanAction.RESTORE})),
    )
    r.callback_query.register(browse, PlanCb.filter())
    return remember_names(r)
