"""/texts: staff (admins) see, edit, and restore what the bot says. Rules live in
bot/services/content_editing.py.

/texts -> areas -> texts (paged) -> a text: its preview as the patient gets it (with the
patient's buttons, inert) and Edit / History / Back. Edit asks for the new text; the text the
staff member sends is read with its Telegram formatting (``Message.html_text``: bold, italic,
links... as Telegram HTML, a typed ``<`` escaped, ``{{ variables }}`` as typed) and shown as the
patient would get it, with Save / Cancel, or the validator's problems. Save carries the token
of the offer: a second tap is answered "already live", a button of an older offer as stale.
Anyone whose role does not allow editing content gets the patients' answer to an unknown
command (the router's filter lets the update pass on).
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.content.catalogue import (
    Button,
    StaffCommand,
    StaffTextAsk,
    StaffTextCancelled,
    StaffTextCandidate,
    StaffTextChanged,
    StaffTextHistory,
    StaffTextProblems,
    StaffTextsAreas,
    StaffTextSaved,
    StaffTextsList,
    StaffTextView,
    StaleButton,
)
from bot.content.telegram_html import check_telegram_html
from bot.db.content_versions import ContentKind
from bot.domain.audit import Actor
from bot.domain.staff import Permission
from bot.services.content_editing import (
    Area,
    ChangedMeanwhile,
    ContentEditing,
    Outcome,
    Preview,
    Rejected,
    Saved,
    TextRef,
)
from bot.telegram.callbacks import FaqEditAction, FaqEditCb, TextAction, TextCb, new_token
from bot.telegram.filters import StaffMay
from bot.telegram.keyboards import in_rows, markup
from bot.telegram.reply import Reply
from bot.telegram.staff_names import remember_names
from bot.telegram.states import TextEditing

PAGE = 8
_KINDS = {"t": ContentKind.TEMPLATE, "b": ContentKind.BUTTON, "f": ContentKind.FAQ}
_LETTERS = {kind: letter for letter, kind in _KINDS.items()}
_JINJA_RE = re.compile(r"({{.*?}}|{%.*?%}|{#.*?#})", re.DOTALL)


def jinja_as_typed(text_html: str) -> str:
    """Telegram HTML of a staff member's message with jinja's ``{{ }}``, ``{% %}`` and
    ``{# #}`` as typed: html_text escapes ``<``, ``>``, ``&`` everywhere, which would change
    what a comparison or a string inside them means."""
    return _JINJA_RE.sub(lambda m: html.unescape(m.group(0)), text_html)


def _cb(action: TextAction, ref: TextRef | None = None, **extra: object) -> TextCb:
    if ref is None:
        return TextCb(a=action, **extra)
    return TextCb(a=action, k=_LETTERS[ref.kind], l=ref.lang, n=ref.name, **extra)


def _ref(editing: ContentEditing, data: TextCb | dict[str, object]) -> TextRef:
    if isinstance(data, TextCb):
        return editing.ref(_KINDS.get(data.k, ""), data.l, data.n)
    return editing.ref(
        str(data.get("kind", "")), str(data.get("lang", "")), str(data.get("name", ""))
    )


def actor_of(event: Message | CallbackQuery) -> Actor:
    assert event.from_user is not None
    return Actor(event.from_user.id)


def buttons(
    reply: Reply,
    rows: Sequence[tuple[Button, CallbackData, Mapping[str, object]]],
    widths: Sequence[int] = (2,),
) -> InlineKeyboardMarkup:
    """Staff buttons: (label key, callback data, the label's values), `widths` per row."""
    return markup(
        in_rows(
            [(reply.kb.content.button(key, reply.lang, **ctx), cb) for key, cb, ctx in rows],
            widths,
        )
    )


def show_patient_view(reply: Reply, preview: Preview) -> None:
    """The text as the patient gets it, with their buttons (inert here)."""
    if preview.ref.kind is ContentKind.BUTTON:
        return
    inert = [(label, _cb(TextAction.NOOP)) for label in preview.buttons]
    widths = (1,) if preview.ref.kind is ContentKind.FAQ else (2,)  # the questions: one a row
    reply.send_html(preview.html, markup(in_rows(inert, widths)) if inert else None)


def _text_actions(reply: Reply, ref: TextRef) -> InlineKeyboardMarkup:
    if ref.kind is ContentKind.FAQ:  # edited question by question (staff_faq.py)
        return buttons(
            reply,
            [
                (
                    Button.STAFF_FAQ_QUESTIONS,
                    FaqEditCb(a=FaqEditAction.LIST, l=ref.lang),
                    {"label": ref.lang},
                ),
                (Button.STAFF_TEXT_HISTORY, _cb(TextAction.HISTORY, ref), {}),
            ],
        )
    return buttons(
        reply,
        [
            (Button.STAFF_TEXT_EDIT, _cb(TextAction.EDIT, ref), {}),
            (Button.STAFF_TEXT_HISTORY, _cb(TextAction.HISTORY, ref), {}),
            (Button.STAFF_TEXT_BACK, _cb(TextAction.AREA, ar=ref.area.value), {}),
        ],
    )


def _view(reply: Reply, preview: Preview) -> None:
    show_patient_view(reply, preview)
    version = preview.version
    reply.send(
        StaffTextView(
            key=preview.ref.key,
            version=version.number if version else 0,
            author=version.author_telegram_id if version else None,
            at=version.created_at if version else None,
            button=preview.ref.kind is ContentKind.BUTTON,
            label=preview.buttons[0] if preview.ref.kind is ContentKind.BUTTON else "",
        ),
        _text_actions(reply, preview.ref),
    )


def show_problems(reply: Reply, ref: TextRef, outcome: Rejected) -> None:
    reply.send(
        StaffTextProblems(
            key=ref.key,
            problems=[{"line": p.line, "text": p.message} for p in outcome.problems],
        )
    )


# --- browsing ------------------------------------------------------------------------------
async def texts(
    message: Message, state: FSMContext, reply: Reply, content_editing: ContentEditing
) -> None:
    await state.clear()
    await _areas(message, reply, content_editing)


async def _areas(event: Message | CallbackQuery, reply: Reply, editing: ContentEditing) -> None:
    areas = await editing.areas(actor_of(event))
    reply.send(
        StaffTextsAreas(),
        buttons(
            reply,
            [
                (Button(f"staff_area_{a.value}"), _cb(TextAction.AREA, ar=a.value), {})
                for a in areas
            ],
        ),
    )


async def browse(
    callback: CallbackQuery,
    callback_data: TextCb,
    state: FSMContext,
    reply: Reply,
    content_editing: ContentEditing,
) -> None:
    action = callback_data.a
    if action is TextAction.NOOP:
        return
    if action is TextAction.AREAS:
        await _areas(callback, reply, content_editing)
        return
    if action is TextAction.AREA:
        if callback_data.ar not in set(Area):
            reply.send(StaleButton())
            return
        area = Area(callback_data.ar)
        refs = await content_editing.texts(actor_of(callback), area)
        pages = max(1, -(-len(refs) // PAGE))
        page = min(callback_data.p, pages - 1)
        rows: list[tuple[Button, CallbackData, Mapping[str, object]]] = [
            (Button.STAFF_TEXT_ITEM, _cb(TextAction.VIEW, ref), {"label": ref.name})
            for ref in refs[page * PAGE : (page + 1) * PAGE]
        ]
        if page > 0:
            rows.append(
                (Button.STAFF_PAGE_PREV, _cb(TextAction.AREA, ar=area.value, p=page - 1), {})
            )
        if page + 1 < pages:
            rows.append(
                (Button.STAFF_PAGE_NEXT, _cb(TextAction.AREA, ar=area.value, p=page + 1), {})
            )
        if area is Area.FAQ:
            rows[:0] = [
                (
                    Button.STAFF_FAQ_QUESTIONS,
                    FaqEditCb(a=FaqEditAction.LIST, l=lang),
                    {"label": lang},
                )
                for lang in reply.content.languages
            ]
        rows.append((Button.STAFF_TEXT_AREAS, _cb(TextAction.AREAS), {}))
        label = reply.kb.content.button(f"staff_area_{area.value}", reply.lang)
        reply.send(StaffTextsList(area=label, page=page + 1, pages=pages), buttons(reply, rows))
        return
    ref = _ref(content_editing, callback_data)
    if ref.kind is ContentKind.FAQ and action in (TextAction.VIEW, TextAction.EDIT):
        reply.send(StaleButton())  # the FAQ file is edited by its questions (staff_faq.py)
        return
    if action is TextAction.VIEW:
        await state.clear()
        _view(reply, await content_editing.preview(actor_of(callback), ref))
    elif action is TextAction.EDIT:
        await _ask(callback, state, reply, content_editing, ref)
    elif action is TextAction.HISTORY:
        await _history(callback, reply, content_editing, ref)
    elif action is TextAction.ROLLBACK:
        base = callback_data.b or None
        outcome = await content_editing.rollback(actor_of(callback), ref, callback_data.v, base)
        await state.clear()
        await answer_outcome(callback, reply, content_editing, ref, outcome)


async def _history(
    callback: CallbackQuery, reply: Reply, editing: ContentEditing, ref: TextRef
) -> None:
    live, stored = await editing.history(actor_of(callback), ref)
    base = live.id if live else 0
    rows: list[tuple[Button, CallbackData, Mapping[str, object]]] = [
        (
            Button.STAFF_TEXT_ROLLBACK,
            _cb(TextAction.ROLLBACK, ref, v=v.id, b=base),
            {"label": v.number},
        )
        for v in stored[1:]
    ]
    if live is not None:
        rows.append(
            (Button.STAFF_TEXT_ROLLBACK, _cb(TextAction.ROLLBACK, ref, v=0, b=base), {"label": 0})
        )
    back = (
        FaqEditCb(a=FaqEditAction.LIST, l=ref.lang)
        if ref.kind is ContentKind.FAQ
        else _cb(TextAction.VIEW, ref)
    )
    rows.append((Button.STAFF_TEXT_BACK, back, {}))
    reply.send(
        StaffTextHistory(
            key=ref.key,
            versions=[
                {
                    "number": v.number,
                    "author": v.author_telegram_id,
                    "at": v.created_at,
                    "note": v.note or "",
                    "live": v is live,
                }
                for v in stored
            ],
        ),
        buttons(reply, rows),
    )


# --- editing -------------------------------------------------------------------------------
async def _ask(
    callback: CallbackQuery,
    state: FSMContext,
    reply: Reply,
    editing: ContentEditing,
    ref: TextRef,
) -> None:
    preview = await editing.preview(actor_of(callback), ref)
    await state.set_state(TextEditing.waiting_for_text)
    await state.set_data(
        {
            "kind": _LETTERS[ref.kind],
            "lang": ref.lang,
            "name": ref.name,
            "base": preview.version.id if preview.version else None,
        }
    )
    reply.send(StaffTextAsk(key=ref.key, names=preview.variables))
    # The live source, formatted as Telegram shows it, to copy: sent as HTML only when it is
    # valid Telegram HTML as written (jinja left as text), else as plain text.
    source = preview.source.strip() or "…"
    if check_telegram_html(source):
        source = html.escape(source, quote=False)
    reply.send_html(source)


async def receive_text(
    message: Message, state: FSMContext, reply: Reply, content_editing: ContentEditing
) -> None:
    data = await state.get_data()
    ref = _ref(content_editing, {**data, "kind": _KINDS.get(str(data.get("kind")), "")})
    body = jinja_as_typed(message.html_text) if message.text else ""
    proposal = await content_editing.propose(actor_of(message), ref, body)
    if isinstance(proposal, Rejected):
        show_problems(reply, ref, proposal)
        return
    token = new_token()
    await state.set_state(TextEditing.confirming)
    await state.set_data({**data, "body": body, "token": token})
    show_patient_view(reply, proposal)
    is_button = ref.kind is ContentKind.BUTTON
    reply.send(
        StaffTextCandidate(
            key=ref.key, button=is_button, label=proposal.buttons[0] if is_button else ""
        ),
        buttons(
            reply,
            [
                (Button.STAFF_TEXT_CONFIRM, _cb(TextAction.CONFIRM, ref, t=token), {}),
                (Button.STAFF_TEXT_CANCEL, _cb(TextAction.CANCEL, ref, t=token), {}),
            ],
        ),
    )


async def decide(
    callback: CallbackQuery,
    callback_data: TextCb,
    state: FSMContext,
    reply: Reply,
    content_editing: ContentEditing,
) -> None:
    data = await state.get_data()
    offered = (
        await state.get_state() == TextEditing.confirming.state
        and data.get("token") == callback_data.t
    )
    ref = _ref(content_editing, callback_data)
    if not offered:
        if data.get("saved") == callback_data.t and callback_data.a is TextAction.CONFIRM:
            reply.send(StaffTextSaved(key=ref.key, version=0, already=True))
        else:
            reply.send(StaleButton())
        return
    if callback_data.a is TextAction.CANCEL:
        await state.clear()
        reply.send(StaffTextCancelled())
        return
    base = data.get("base")
    outcome = await content_editing.confirm(
        actor_of(callback), ref, str(data.get("body", "")), base if isinstance(base, int) else None
    )
    await state.set_state(None)
    await state.set_data({"saved": callback_data.t} if isinstance(outcome, Saved) else {})
    await answer_outcome(callback, reply, content_editing, ref, outcome)


async def answer_outcome(
    callback: CallbackQuery,
    reply: Reply,
    editing: ContentEditing,
    ref: TextRef,
    outcome: Outcome,
) -> None:
    if isinstance(outcome, Rejected):
        show_problems(reply, ref, outcome)
    elif isinstance(outcome, ChangedMeanwhile):
        live = outcome.live
        show_patient_view(reply, live)
        number = live.version.number if live.version else 0
        reply.send(StaffTextChanged(key=ref.key, version=number), _text_actions(reply, ref))
    else:
        number = outcome.version.number if outcome.version else 0
        reply.send(
            StaffTextSaved(key=ref.key, version=number, already=outcome.already),
            _text_actions(reply, ref),
        )


def create_router() -> Router:
    """A fresh router each call. The command and the buttons reach the service, which checks
    the role and writes the refusal of anyone else to the audit log (they then get what any
    unknown command or stale button gets); a typed text is taken only from an admin."""
    r = Router(name="staff_content")
    r.message.register(texts, Command(StaffCommand.TEXTS))
    r.message.register(receive_text, TextEditing.waiting_for_text, StaffMay(Permission.CONTENT))
    r.callback_query.register(
        decide, TextCb.filter(F.a.in_({TextAction.CONFIRM, TextAction.CANCEL}))
    )
    r.callback_query.register(browse, TextCb.filter())
    return remember_names(r)
