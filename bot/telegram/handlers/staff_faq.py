"""The FAQ's questions, edited live by staff (admins), inside /texts: "Questions and safety"
-> "Questions (en)". Rules live in bot/services/faq_editing.py.

The list shows the questions in menu order (a button each) with Add and History; a question
has ↑ ↓ Rename Keywords Answer-text Remove. Rename and Keywords ask for the new value; Add asks
for the key, the title, the keywords (a comma list) and the answer, each part checked as it
comes. Every change is shown as patients would get it (the questions menu, and a new answer)
with Save / Cancel; Save carries the token of the offer, so a second tap is answered "already
live" and a button of an older offer as stale. Saved, rollback and "changed meanwhile" are
answered as for any text (staff_content.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, Message

from bot.content.catalogue import (
    Button,
    StaffFaqAsk,
    StaffFaqCandidate,
    StaffFaqQuestion,
    StaffFaqQuestions,
    StaffTextCancelled,
    StaffTextSaved,
)
from bot.domain.staff import Permission
from bot.services.container import ServiceScope
from bot.services.content_editing import Rejected, Saved
from bot.services.faq_editing import FaqChange, FaqEditing, FaqOp, FaqProposal
from bot.services.offers import Offer, OfferExpired, OfferKind
from bot.telegram.callbacks import FaqEditAction, FaqEditCb, TextAction, TextCb
from bot.telegram.filters import PlainText, StaffMay
from bot.telegram.handlers.staff_content import (
    actor_of,
    answer_outcome,
    buttons,
    jinja_as_typed,
    show_patient_view,
    show_problems,
    title_of,
)
from bot.telegram.reply import Reply
from bot.telegram.staff_names import remember_names
from bot.telegram.states import QuestionEditing

_LIST_SEPARATORS = re.compile(r"[,\n]")
_OPS = {
    FaqEditAction.UP: FaqOp.UP,
    FaqEditAction.DOWN: FaqOp.DOWN,
    FaqEditAction.REMOVE: FaqOp.REMOVE,
}
Rows = list[tuple[Button, CallbackData, Mapping[str, object]]]


def _cb(action: FaqEditAction, lang: str, key: str = "", token: str = "") -> FaqEditCb:
    return FaqEditCb(a=action, l=lang, q=key, t=token)


# --- looking -------------------------------------------------------------------------------
async def _list(event: Message | CallbackQuery, reply: Reply, faq: FaqEditing, lang: str) -> None:
    found = await faq.questions(actor_of(event), lang)
    rows: Rows = [
        (Button.STAFF_TEXT_ITEM, _cb(FaqEditAction.QUESTION, lang, e.key), {"label": e.title})
        for e in found.entries
    ]
    history = TextCb(a=TextAction.HISTORY, k="f", l=lang, n=found.ref.name)
    rows += [
        (Button.STAFF_FAQ_ADD, _cb(FaqEditAction.ADD, lang), {}),
        (Button.STAFF_TEXT_HISTORY, history, {}),
        (Button.STAFF_TEXT_BACK, TextCb(a=TextAction.AREA, ar="faq"), {}),
    ]
    reply.send(
        StaffFaqQuestions(
            language=lang,
            version=found.version.number if found.version else 0,
            questions=[
                {"key": e.key, "title": e.title, "keywords": len(e.keywords)} for e in found.entries
            ],
        ),
        buttons(reply, rows, (1,)),
    )


async def browse(
    callback: CallbackQuery,
    callback_data: FaqEditCb,
    state: FSMContext,
    reply: Reply,
    svc: ServiceScope,
) -> None:
    action, lang, key = callback_data.a, callback_data.l, callback_data.q
    await state.clear()
    if action is FaqEditAction.LIST:
        await _list(callback, reply, svc.faq_editing, lang)
        return
    if action is FaqEditAction.ADD:
        await svc.faq_editing.questions(actor_of(callback), lang)  # the permission, the language
        await _ask(state, reply, QuestionEditing.waiting_for_key, {"lang": lang, "op": "add"})
        return
    found = await svc.faq_editing.questions(actor_of(callback), lang)
    index, entry = found.get(key)
    if action is FaqEditAction.QUESTION:
        count = len(found.entries)
        rows: Rows = []
        if index > 0:
            rows.append((Button.STAFF_FAQ_UP, _cb(FaqEditAction.UP, lang, key), {}))
        if index + 1 < count:
            rows.append((Button.STAFF_FAQ_DOWN, _cb(FaqEditAction.DOWN, lang, key), {}))
        answer = TextCb(a=TextAction.VIEW, k="t", l=lang, n=entry.template)
        rows += [
            (Button.STAFF_FAQ_RENAME, _cb(FaqEditAction.RENAME, lang, key), {}),
            (Button.STAFF_FAQ_KEYWORDS, _cb(FaqEditAction.KEYWORDS, lang, key), {}),
            (Button.STAFF_FAQ_ANSWER, answer, {}),
            (Button.STAFF_FAQ_REMOVE, _cb(FaqEditAction.REMOVE, lang, key), {}),
            (Button.STAFF_TEXT_BACK, _cb(FaqEditAction.LIST, lang), {}),
        ]
        reply.send(
            StaffFaqQuestion(
                key=key,
                title=entry.title,
                keywords=entry.keywords,
                position=index + 1,
                count=count,
            ),
            buttons(reply, rows),
        )
    elif action is FaqEditAction.RENAME:
        data = {"lang": lang, "op": FaqOp.RETITLE.value, "key": key}
        await _ask(state, reply, QuestionEditing.waiting_for_title, data, entry.title)
    elif action is FaqEditAction.KEYWORDS:
        data = {"lang": lang, "op": FaqOp.KEYWORDS.value, "key": key}
        current = ", ".join(entry.keywords)
        await _ask(state, reply, QuestionEditing.waiting_for_keywords, data, current)
    elif action in _OPS:
        change = FaqChange(_OPS[action], key, title=entry.title)
        await _propose(callback, state, reply, svc.faq_editing, lang, change)


_ASKED = {
    QuestionEditing.waiting_for_key: "key",
    QuestionEditing.waiting_for_title: "title",
    QuestionEditing.waiting_for_keywords: "keywords",
    QuestionEditing.waiting_for_answer: "answer",
}


async def _ask(
    state: FSMContext,
    reply: Reply,
    asking: State,
    data: Mapping[str, object],
    current: str = "",
) -> None:
    await state.set_state(asking)
    await state.set_data(dict(data))
    reply.send(StaffFaqAsk(what=_ASKED[asking], key=str(data.get("key", "")), current=current))


# --- changing ------------------------------------------------------------------------------
def _keywords(text: str) -> list[str]:
    return _LIST_SEPARATORS.split(text)


async def receive(message: Message, state: FSMContext, reply: Reply, svc: ServiceScope) -> None:
    """A part of a question, typed: checked at once; the last one makes the proposal."""
    data = await state.get_data()
    lang = str(data.get("lang", ""))
    asked = await state.get_state()
    text = message.text or ""
    actor = actor_of(message)
    adding = data.get("op") == FaqOp.ADD.value
    if asked == QuestionEditing.waiting_for_answer.state:
        change = _change(data, answer=jinja_as_typed(message.html_text))
        await _propose(message, state, reply, svc.faq_editing, lang, change)
        return
    if not adding:
        field = "title" if asked == QuestionEditing.waiting_for_title.state else "keywords"
        change = _change(data, **{field: text})
        await _propose(message, state, reply, svc.faq_editing, lang, change)
        return
    if asked == QuestionEditing.waiting_for_key.state:
        given = {"key": text.strip().lower()}
        following = QuestionEditing.waiting_for_title
    elif asked == QuestionEditing.waiting_for_title.state:
        given = {"title": text}
        following = QuestionEditing.waiting_for_keywords
    else:
        given = {"keywords": text}
        following = QuestionEditing.waiting_for_answer
    data = {**data, **given}
    problems = await svc.faq_editing.check_new(
        actor,
        lang,
        str(data.get("key", "")),
        title=str(data["title"]) if "title" in data else None,
        keywords=_keywords(str(data["keywords"])) if "keywords" in data else None,
    )
    if problems is not None:
        show_problems(reply, svc.faq_editing.ref(lang), problems)
        return
    await _ask(state, reply, following, data)


def _change(data: Mapping[str, object], **given: str) -> FaqChange:
    """The change held in the conversation state (with what was just typed)."""
    values = {**data, **given}
    return FaqChange(
        FaqOp(str(values.get("op", ""))),
        str(values.get("key", "")),
        title=str(values.get("title", "")),
        keywords=tuple(_keywords(str(values.get("keywords", "")))),
        answer=str(values.get("answer", "")),
    )


async def _propose(
    event: Message | CallbackQuery,
    state: FSMContext,
    reply: Reply,
    faq: FaqEditing,
    lang: str,
    change: FaqChange,
) -> None:
    proposal = await faq.propose(actor_of(event), lang, change)
    if isinstance(proposal, Rejected):
        show_problems(reply, faq.ref(lang), proposal)
        return
    await _offer(state, reply, lang, proposal)


async def _offer(state: FSMContext, reply: Reply, lang: str, proposal: FaqProposal) -> None:
    change = proposal.change
    offer = Offer(OfferKind.FAQ_EDIT)
    token = offer.token
    await state.set_state(QuestionEditing.confirming)
    await state.set_data(
        {
            "lang": lang,
            "op": change.op.value,
            "key": change.key,
            "title": change.title,
            "keywords": ", ".join(change.keywords),
            "answer": change.answer,
            "base": proposal.base,
            "answer_base": proposal.answer_base,
            **offer.to_state(),
        }
    )
    show_patient_view(reply, proposal.menu)
    if proposal.answer is not None:
        reply.send_html(proposal.answer.html)
    reply.send(
        StaffFaqCandidate(
            op=change.op.value, key=change.key, title=change.title, keywords=change.keywords
        ),
        buttons(
            reply,
            [
                (
                    Button.STAFF_TEXT_CONFIRM,
                    _cb(FaqEditAction.CONFIRM, lang, change.key, token),
                    {},
                ),
                (Button.STAFF_TEXT_CANCEL, _cb(FaqEditAction.CANCEL, lang, change.key, token), {}),
            ],
        ),
    )


async def decide(
    callback: CallbackQuery,
    callback_data: FaqEditCb,
    state: FSMContext,
    reply: Reply,
    svc: ServiceScope,
) -> None:
    data = await state.get_data()
    offered = await state.get_state() == QuestionEditing.confirming.state and Offer.answers(
        data, OfferKind.FAQ_EDIT, callback_data.t
    )
    ref = svc.faq_editing.ref(callback_data.l)
    if not offered:
        if data.get("saved") == callback_data.t and callback_data.a is FaqEditAction.CONFIRM:
            reply.send(StaffTextSaved(title=title_of(reply, ref), version=0, already=True))
            return
        raise OfferExpired(OfferKind.FAQ_EDIT)
    if callback_data.a is FaqEditAction.CANCEL:
        await state.clear()
        reply.send(StaffTextCancelled())
        await _list(callback, reply, svc.faq_editing, callback_data.l)  # back where they were
        return
    base, answer_base = data.get("base"), data.get("answer_base")
    outcome = await svc.faq_editing.confirm(
        actor_of(callback),
        callback_data.l,
        _change(data),
        base if isinstance(base, int) else None,
        answer_base if isinstance(answer_base, int) else None,
    )
    await state.set_state(None)
    await state.set_data({"saved": callback_data.t} if isinstance(outcome, Saved) else {})
    await answer_outcome(callback, reply, svc.faq_editing.editing, ref, outcome)


def create_router() -> Router:
    """A fresh router each call. The buttons reach the service, which checks the role and
    audits the refusal of anyone else; typed parts are taken only from an admin."""
    r = Router(name="staff_faq")
    r.message.register(receive, StateFilter(*_ASKED), StaffMay(Permission.CONTENT), PlainText())
    r.callback_query.register(
        decide, FaqEditCb.filter(F.a.in_({FaqEditAction.CONFIRM, FaqEditAction.CANCEL}))
    )
    r.callback_query.register(browse, FaqEditCb.filter())
    return remember_names(r)
