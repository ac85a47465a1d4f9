"""/texts: the team sees, edits and restores what the bot says. Rules live in
bot/services/content_editing.py, names in bot/services/text_names.py.

/texts -> areas of one language (the member's own first; another language is a tap away) ->
texts (paged, each by its plain title in the member's language) -> a text: its preview as the
patient gets it (with the patient's buttons, inert), what it is, its version with who saved it
and when (clinic time), and Edit / History / Back. ``/texts eye mask`` finds texts by their
title. Edit explains the values a text may use and sends the live text to copy; the text the
member sends (over as many lines as they like) is read with its Telegram formatting
(``Message.html_text``: bold, italic, links... as Telegram HTML, a typed ``<`` escaped,
``{{ variables }}`` as typed) and shown as the patient would get it, with Save / Cancel, or
the validator's problems. "Change some words" (a template's) asks instead for the words as
they are now and the new words (``eye mask -> eye mask or a soft scarf``, or two lines), which
the service finds in the text's plain wording (bot/domain/text_words.py): found once, the text
is shown as the patient would get it with Save / Cancel, as for an edit; found several times,
more words are asked for, or "Change all N"; not found, the closest line is quoted to copy.
History lists the versions; a version is shown as patients would
get it before Restore. Cancel goes back to the text. Save, Restore and Cancel carry the token
of the offer: a second Save is answered "already live", a button of an older offer as stale.
Anyone whose role does not allow editing content gets the patients' answer to an unknown
command (the router's filter lets the update pass on).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
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
    StaffTextRollback,
    StaffTextsAreas,
    StaffTextSaved,
    StaffTextSearch,
    StaffTextsList,
    StaffTextView,
    StaffWordsAsk,
    StaffWordsProblem,
    StaleButton,
)
from bot.content.telegram_html import check_telegram_html
from bot.db.content_versions import VersionRecord
from bot.domain.audit import Action, Actor
from bot.domain.content_kinds import ContentKind
from bot.domain.staff import Permission
from bot.domain.text_words import WordChange, WordsProblem, WordsRefused, read_word_change
from bot.services.container import ServiceScope
from bot.services.content_editing import (
    Area,
    ChangedMeanwhile,
    ContentEditing,
    Preview,
    Rejected,
    Reworded,
    Saved,
    TextOutcome,
    TextRef,
)
from bot.services.offers import Offer, OfferExpired, OfferKind
from bot.services.text_names import explain_variables, language_name, name_of, ordered, search
from bot.telegram.callbacks import FaqEditAction, FaqEditCb, TextAction, TextCb
from bot.telegram.filters import StaffMay
from bot.telegram.keyboards import in_rows, markup
from bot.telegram.reply import Reply
from bot.telegram.staff_names import remember_names
from bot.telegram.states import TextEditing

PAGE = 8
_KINDS = {"t": ContentKind.TEMPLATE, "b": ContentKind.BUTTON, "f": ContentKind.FAQ}
_LETTERS = {kind: letter for letter, kind in _KINDS.items()}
Rows = list[tuple[Button, CallbackData, Mapping[str, object]]]
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


def title_of(reply: Reply, ref: TextRef) -> str:
    return name_of(reply.content, ref, reply.lang).title


def _languages(reply: Reply) -> str:
    """The language whose texts a member sees first: their own if the bot has it."""
    return reply.lang if reply.lang in reply.content.languages else reply.content.default_language


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
    rows: Rows = [
        (Button.STAFF_TEXT_EDIT, _cb(TextAction.EDIT, ref), {}),
        (Button.STAFF_TEXT_HISTORY, _cb(TextAction.HISTORY, ref), {}),
        (Button.STAFF_TEXT_BACK, _cb(TextAction.AREA, ar=ref.area.value, l=ref.lang), {}),
    ]
    if ref.kind is not ContentKind.TEMPLATE:  # a button label is one short line
        return buttons(reply, rows)
    words: Rows = [(Button.STAFF_TEXT_WORDS, _cb(TextAction.WORDS, ref), {})]
    return buttons(reply, words + rows, (1, 2))


async def _view(reply: Reply, editing: ContentEditing, preview: Preview) -> None:
    show_patient_view(reply, preview)
    version = preview.version
    ref = preview.ref
    named = name_of(reply.content, ref, reply.lang)
    author = (await editing.authors([version]))[version.author_telegram_id] if version else ""
    reply.send(
        StaffTextView(
            title=named.title,
            about=named.about,
            language=language_name(reply.content, ref.lang),
            version=version.number if version else 0,
            author=author,
            at=editing.local(version.created_at) if version else None,
            button=ref.kind is ContentKind.BUTTON,
            label=preview.buttons[0] if ref.kind is ContentKind.BUTTON else "",
        ),
        _text_actions(reply, ref),
    )


def _cancel_button(reply: Reply, ref: TextRef, token: str) -> InlineKeyboardMarkup:
    return buttons(reply, [(Button.STAFF_TEXT_CANCEL, _cb(TextAction.CANCEL, ref, t=token), {})])


def show_problems(
    reply: Reply,
    ref: TextRef,
    outcome: Rejected,
    cancel: InlineKeyboardMarkup | None = None,
    *,
    words: bool = False,
) -> None:
    reply.send(
        StaffTextProblems(
            title=title_of(reply, ref),
            problems=[{"line": p.line, "text": p.message} for p in outcome.problems],
            words=words,
        ),
        cancel,
    )


# --- browsing ------------------------------------------------------------------------------
async def texts(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    reply: Reply,
    svc: ServiceScope,
) -> None:
    await state.clear()
    words = (command.args or "").strip()[:100]
    if words:
        await _search(message, reply, svc.content_editing, words)
    else:
        await _areas(message, reply, svc.content_editing, _languages(reply))


async def _search(message: Message, reply: Reply, editing: ContentEditing, words: str) -> None:
    actor, content = actor_of(message), reply.content
    found = search(content, await editing.texts(actor, None, _languages(reply)), words, reply.lang)
    if not found:  # the other languages' texts, by the same titles
        everything = [
            r for lang in content.languages for r in await editing.texts(actor, None, lang)
        ]
        found = search(content, everything, words, reply.lang)
    found = ordered(content, found, reply.lang)[:PAGE]
    rows: list[tuple[Button, CallbackData, Mapping[str, object]]] = [
        (Button.STAFF_TEXT_ITEM, _cb(TextAction.VIEW, ref), {"label": _listed(reply, ref)})
        for ref in found
    ]
    rows.append((Button.STAFF_TEXT_AREAS, _cb(TextAction.AREAS, l=_languages(reply)), {}))
    reply.send(StaffTextSearch(words=words, found=len(found)), buttons(reply, rows, (1,)))


def _listed(reply: Reply, ref: TextRef) -> str:
    """A text's title on its button; another language than the member's is named too."""
    title = title_of(reply, ref)
    return title if ref.lang == _languages(reply) else f"{title} · {ref.lang.upper()}"


async def _areas(
    event: Message | CallbackQuery, reply: Reply, editing: ContentEditing, lang: str
) -> None:
    areas = await editing.areas(actor_of(event))
    rows: list[tuple[Button, CallbackData, Mapping[str, object]]] = [
        (Button(f"staff_area_{a.value}"), _cb(TextAction.AREA, ar=a.value, l=lang), {})
        for a in areas
    ]
    rows += [
        (
            Button.STAFF_TEXT_LANGUAGE,
            _cb(TextAction.AREAS, l=other),
            {"label": language_name(reply.content, other)},
        )
        for other in reply.content.languages
        if other != lang
    ]
    reply.send(StaffTextsAreas(language=language_name(reply.content, lang)), buttons(reply, rows))


async def _area(
    callback: CallbackQuery, callback_data: TextCb, reply: Reply, editing: ContentEditing
) -> None:
    content = reply.content
    lang = callback_data.l if callback_data.l in content.languages else _languages(reply)
    if callback_data.ar not in set(Area):
        reply.send(StaleButton())
        return
    area = Area(callback_data.ar)
    refs = ordered(content, await editing.texts(actor_of(callback), area, lang), reply.lang)
    pages = max(1, -(-len(refs) // PAGE))
    page = min(callback_data.p, pages - 1)
    rows: list[tuple[Button, CallbackData, Mapping[str, object]]] = [
        (Button.STAFF_TEXT_ITEM, _cb(TextAction.VIEW, ref), {"label": title_of(reply, ref)})
        for ref in refs[page * PAGE : (page + 1) * PAGE]
    ]
    if page > 0:
        rows.append(
            (Button.STAFF_PAGE_PREV, _cb(TextAction.AREA, ar=area.value, l=lang, p=page - 1), {})
        )
    if page + 1 < pages:
        rows.append(
            (Button.STAFF_PAGE_NEXT, _cb(TextAction.AREA, ar=area.value, l=lang, p=page + 1), {})
        )
    if area is Area.FAQ:
        rows[:0] = [
            (Button.STAFF_FAQ_QUESTIONS, FaqEditCb(a=FaqEditAction.LIST, l=lang), {"label": lang})
        ]
    rows.append((Button.STAFF_TEXT_AREAS, _cb(TextAction.AREAS, l=lang), {}))
    label = content.button(f"staff_area_{area.value}", reply.lang)
    reply.send(
        StaffTextsList(
            area=label, language=language_name(content, lang), page=page + 1, pages=pages
        ),
        buttons(reply, rows, (1,)),
    )


async def browse(
    callback: CallbackQuery,
    callback_data: TextCb,
    state: FSMContext,
    reply: Reply,
    svc: ServiceScope,
) -> None:
    action = callback_data.a
    if action is TextAction.NOOP:
        return
    if action is TextAction.AREAS:
        lang = callback_data.l if callback_data.l in reply.content.languages else ""
        await _areas(callback, reply, svc.content_editing, lang or _languages(reply))
        return
    if action is TextAction.AREA:
        await _area(callback, callback_data, reply, svc.content_editing)
        return
    ref = _ref(svc.content_editing, callback_data)
    if ref.kind is ContentKind.FAQ and action in (TextAction.VIEW, TextAction.EDIT):
        reply.send(StaleButton())  # the FAQ file is edited by its questions (staff_faq.py)
        return
    if action is TextAction.VIEW:
        await state.clear()
        await _view(
            reply, svc.content_editing, await svc.content_editing.preview(actor_of(callback), ref)
        )
    elif action is TextAction.EDIT:
        await _ask(callback, state, reply, svc.content_editing, ref)
    elif action is TextAction.WORDS:
        await _ask_words(callback, state, reply, svc.content_editing, ref)
    elif action is TextAction.HISTORY:
        await _history(callback, reply, svc.content_editing, ref)
    elif action is TextAction.ROLLBACK:
        await _offer_restore(callback, callback_data, state, reply, svc.content_editing, ref)


async def _history(
    callback: CallbackQuery, reply: Reply, editing: ContentEditing, ref: TextRef
) -> None:
    live, stored = await editing.history(actor_of(callback), ref)
    names = await editing.authors(stored)
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
            title=title_of(reply, ref),
            versions=version_lines(stored, live, names, editing.local),
        ),
        buttons(reply, rows),
    )


def version_lines(
    stored: Sequence[VersionRecord],
    live: VersionRecord | None,
    names: Mapping[int, str],
    local: Callable[[datetime], datetime],
) -> list[dict[str, object]]:
    """A history's lines (of a text or of the plan): number, author by name, clinic time."""
    return [
        {
            "number": v.number,
            "author": names[v.author_telegram_id],
            "at": local(v.created_at),
            "note": v.note or "",
            "live": v is live,
        }
        for v in stored
    ]


async def _offer_restore(
    callback: CallbackQuery,
    callback_data: TextCb,
    state: FSMContext,
    reply: Reply,
    editing: ContentEditing,
    ref: TextRef,
) -> None:
    """An older version as patients would get it, with Restore / Cancel."""
    proposal, old = await editing.restore_preview(actor_of(callback), ref, callback_data.v)
    if isinstance(proposal, Rejected):
        show_problems(reply, ref, proposal)
        return
    offer = Offer(OfferKind.TEXT_EDIT)
    token = offer.token
    await state.set_state(None)
    await state.set_data(
        {
            "kind": _LETTERS[ref.kind],
            "lang": ref.lang,
            "name": ref.name,
            "restore": callback_data.v,
            "base": callback_data.b,
            **offer.to_state(),
        }
    )
    show_patient_view(reply, proposal)
    live, _ = await editing.live(ref)
    author = (await editing.authors([old]))[old.author_telegram_id] if old else ""
    reply.send(
        StaffTextRollback(
            title=title_of(reply, ref),
            version=old.number if old else 0,
            author=author,
            at=editing.local(old.created_at) if old else None,
            live=live.number if live else 0,
        ),
        buttons(
            reply,
            [
                (
                    Button.STAFF_TEXT_RESTORE,
                    _cb(TextAction.RESTORE, ref, v=callback_data.v, b=callback_data.b, t=token),
                    {},
                ),
                (Button.STAFF_TEXT_CANCEL, _cb(TextAction.CANCEL, ref, t=token), {}),
            ],
        ),
    )


# --- editing -------------------------------------------------------------------------------
async def _hold(
    callback: CallbackQuery,
    state: FSMContext,
    editing: ContentEditing,
    ref: TextRef,
    waiting: State,
) -> tuple[Preview, str]:
    """Wait for a member's edit of ``ref`` (the whole text, or some words of it), holding the
    version it starts from and a fresh offer's token; the live text and the token."""
    preview = await editing.preview(actor_of(callback), ref)
    offer = Offer(OfferKind.TEXT_EDIT)
    await state.set_state(waiting)
    await state.set_data(
        {
            "kind": _LETTERS[ref.kind],
            "lang": ref.lang,
            "name": ref.name,
            "base": preview.version.id if preview.version else None,
            **offer.to_state(),
        }
    )
    return preview, offer.token


async def _ask(
    callback: CallbackQuery,
    state: FSMContext,
    reply: Reply,
    editing: ContentEditing,
    ref: TextRef,
) -> None:
    preview, token = await _hold(callback, state, editing, ref, TextEditing.waiting_for_text)
    reply.send(
        StaffTextAsk(
            title=title_of(reply, ref),
            button=ref.kind is ContentKind.BUTTON,
            values=explain_variables(reply.content, ref, reply.lang),
        )
    )
    # The live source, formatted as Telegram shows it, to copy: sent as HTML only when it is
    # valid Telegram HTML as written (jinja left as text), else as plain text.
    source = preview.source.strip() or "…"
    if check_telegram_html(source):
        source = html.escape(source, quote=False)
    reply.send_html(source, _cancel_button(reply, ref, token))


async def receive_text(
    message: Message, state: FSMContext, reply: Reply, svc: ServiceScope
) -> None:
    data = await state.get_data()
    ref = _ref(svc.content_editing, {**data, "kind": _KINDS.get(str(data.get("kind")), "")})
    body = jinja_as_typed(message.html_text) if message.text else ""
    proposal = await svc.content_editing.propose(actor_of(message), ref, body)
    offer = Offer(OfferKind.TEXT_EDIT)
    token = offer.token
    if isinstance(proposal, Rejected):
        await state.set_state(TextEditing.waiting_for_text)
        await state.set_data({**data, **offer.to_state()})
        show_problems(reply, ref, proposal, _cancel_button(reply, ref, token))
        return
    await state.set_state(TextEditing.confirming)
    await state.set_data({**data, "body": body, **offer.to_state()})
    _offer_save(reply, proposal, token)


def _offer_save(
    reply: Reply, proposal: Preview, token: str, change: WordChange | None = None, count: int = 1
) -> None:
    """An edit as the patient would get it, with Save / Cancel; a change of some words names
    them."""
    ref = proposal.ref
    show_patient_view(reply, proposal)
    is_button = ref.kind is ContentKind.BUTTON
    reply.send(
        StaffTextCandidate(
            title=title_of(reply, ref),
            button=is_button,
            label=proposal.buttons[0] if is_button else "",
            old=change.old if change is not None else "",
            new=change.new if change is not None else "",
            count=count,
        ),
        buttons(
            reply,
            [
                (Button.STAFF_TEXT_CONFIRM, _cb(TextAction.CONFIRM, ref, t=token), {}),
                (Button.STAFF_TEXT_CANCEL, _cb(TextAction.CANCEL, ref, t=token), {}),
            ],
        ),
    )


# --- changing some words -------------------------------------------------------------------
_WORDS_KEYS = ("old", "new", "all", "body", "note")
"""What a change of some words keeps in the conversation besides the text and its base."""


async def _ask_words(
    callback: CallbackQuery,
    state: FSMContext,
    reply: Reply,
    editing: ContentEditing,
    ref: TextRef,
) -> None:
    _, token = await _hold(callback, state, editing, ref, TextEditing.waiting_for_words)
    reply.send(StaffWordsAsk(title=title_of(reply, ref)), _cancel_button(reply, ref, token))


async def receive_words(
    message: Message, state: FSMContext, reply: Reply, svc: ServiceScope
) -> None:
    """The words as they are now and the new words, typed (plain text: Telegram's formatting
    is not read)."""
    data = await state.get_data()
    ref = _ref(svc.content_editing, {**data, "kind": _KINDS.get(str(data.get("kind")), "")})
    change = read_word_change(message.text or "")
    await _propose_words(message, state, reply, svc.content_editing, ref, data, change)


async def change_all(
    callback: CallbackQuery,
    callback_data: TextCb,
    state: FSMContext,
    reply: Reply,
    svc: ServiceScope,
) -> None:
    """ "Change all N" under words found several times: every one changed, then Save / Cancel.
    A second tap does nothing more; a button of an older offer is stale."""
    data = await state.get_data()
    ref = _ref(svc.content_editing, callback_data)
    token = callback_data.t
    waiting = await state.get_state() == TextEditing.waiting_for_words.state
    if not (waiting and Offer.answers(data, OfferKind.TEXT_EDIT, token) and data.get("old")):
        await svc.content_editing.require(actor_of(callback), Action.CONTENT_READ, ref.key)
        if token and data.get("all") == token:
            return  # a second tap: the change is shown above already
        raise OfferExpired(OfferKind.TEXT_EDIT)
    change = WordChange(str(data["old"]), str(data.get("new", "")))
    await _propose_words(
        callback, state, reply, svc.content_editing, ref, data, change, every=token
    )


async def _propose_words(
    event: Message | CallbackQuery,
    state: FSMContext,
    reply: Reply,
    editing: ContentEditing,
    ref: TextRef,
    data: Mapping[str, object],
    change: WordChange | None,
    *,
    every: str = "",
) -> None:
    """The change made and shown with Save / Cancel; or why not, with Cancel (and "Change all
    N" for words found several times), the question kept open. `every`: the token of the
    "Change all" tapped."""
    base = data.get("base")
    kept = {key: value for key, value in data.items() if key not in _WORDS_KEYS}
    offer = Offer(OfferKind.TEXT_EDIT)
    token = offer.token
    proposal = (
        await editing.propose_words(
            actor_of(event), ref, change, base if isinstance(base, int) else None, every=bool(every)
        )
        if change is not None
        else WordsRefused(WordsProblem.UNREADABLE)
    )
    if not isinstance(proposal, Reworded):
        await state.set_state(TextEditing.waiting_for_words)
        said = {"old": change.old, "new": change.new} if change is not None else {}
        await state.set_data({**kept, **said, **offer.to_state()})
        rows: Rows = [(Button.STAFF_TEXT_CANCEL, _cb(TextAction.CANCEL, ref, t=token), {})]
        if isinstance(proposal, Rejected):
            show_problems(reply, ref, proposal, buttons(reply, rows), words=True)
            return
        if proposal.code is WordsProblem.SEVERAL:
            all_of = _cb(TextAction.WORDS_ALL, ref, t=token)
            rows.insert(0, (Button.STAFF_TEXT_WORDS_ALL, all_of, {"label": proposal.count}))
        reply.send(
            StaffWordsProblem(
                title=title_of(reply, ref),
                code=proposal.code,
                old=change.old if change is not None else "",
                count=proposal.count,
                closest=proposal.closest,
                pieces=proposal.pieces,
            ),
            buttons(reply, rows),
        )
        return
    assert change is not None
    await state.set_state(TextEditing.confirming)
    await state.set_data(
        {
            **kept,
            "body": proposal.preview.source,
            "note": proposal.note,
            **({"all": every} if every else {}),
            **offer.to_state(),
        }
    )
    _offer_save(reply, proposal.preview, token, change, proposal.count)


async def decide(
    callback: CallbackQuery,
    callback_data: TextCb,
    state: FSMContext,
    reply: Reply,
    svc: ServiceScope,
) -> None:
    """Save, Restore or Cancel of the offer whose token the button carries."""
    data = await state.get_data()
    ref = _ref(svc.content_editing, callback_data)
    action = callback_data.a
    offered = Offer.answers(data, OfferKind.TEXT_EDIT, callback_data.t)
    current = await state.get_state()
    if action is TextAction.CONFIRM:
        offered = offered and current == TextEditing.confirming.state
    elif action is TextAction.RESTORE:
        offered = offered and data.get("restore") == callback_data.v
    if not offered:
        await svc.content_editing.require(actor_of(callback), Action.CONTENT_READ, ref.key)
        if data.get("saved") == callback_data.t and action is not TextAction.CANCEL:
            reply.send(StaffTextSaved(title=title_of(reply, ref), version=0, already=True))
            return
        raise OfferExpired(OfferKind.TEXT_EDIT)
    if action is TextAction.CANCEL:
        await state.clear()
        reply.send(StaffTextCancelled())
        await _view(
            reply, svc.content_editing, await svc.content_editing.preview(actor_of(callback), ref)
        )
        return
    actor, base = actor_of(callback), data.get("base")
    if action is TextAction.RESTORE:
        outcome = await svc.content_editing.rollback(
            actor, ref, callback_data.v, (base or None) if isinstance(base, int) else None
        )
    else:
        body, note = str(data.get("body", "")), data.get("note")
        outcome = await svc.content_editing.confirm(
            actor,
            ref,
            body,
            base if isinstance(base, int) else None,
            note=note if isinstance(note, str) else None,
        )
    await state.set_state(None)
    await state.set_data({"saved": callback_data.t} if isinstance(outcome, Saved) else {})
    await answer_outcome(callback, reply, svc.content_editing, ref, outcome)


async def answer_outcome(
    callback: CallbackQuery,
    reply: Reply,
    editing: ContentEditing,
    ref: TextRef,
    outcome: TextOutcome,
) -> None:
    if isinstance(outcome, Rejected):
        show_problems(reply, ref, outcome)
    elif isinstance(outcome, ChangedMeanwhile):
        live = outcome.live
        show_patient_view(reply, live)
        number = live.version.number if live.version else 0
        reply.send(
            StaffTextChanged(title=title_of(reply, ref), version=number),
            _text_actions(reply, ref),
        )
    else:
        number = outcome.version.number if outcome.version else 0
        reply.send(
            StaffTextSaved(title=title_of(reply, ref), version=number, already=outcome.already),
            _text_actions(reply, ref),
        )


def create_router() -> Router:
    """A fresh router each call. The command and the buttons reach the service, which checks
    the role and writes the refusal of anyone else to the audit log (they then get what any
    unknown command or stale button gets); a typed text is taken only from an admin."""
    r = Router(name="staff_content")
    r.message.register(texts, Command(StaffCommand.TEXTS))
    r.message.register(receive_text, TextEditing.waiting_for_text, StaffMay(Permission.CONTENT))
    r.message.register(receive_words, TextEditing.waiting_for_words, StaffMay(Permission.CONTENT))
    r.callback_query.register(change_all, TextCb.filter(F.a == TextAction.WORDS_ALL))
    r.callback_query.register(
        decide,
        TextCb.filter(F.a.in_({TextAction.CONFIRM, TextAction.CANCEL, TextAction.RESTORE})),
    )
    r.callback_query.register(browse, TextCb.filter())
    return remember_names(r)
