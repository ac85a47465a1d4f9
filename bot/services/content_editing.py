"""Staff edit what the bot says, live and versioned (admins: Permission.CONTENT).

A text is a template (``en/welcome``), a button label (``en/buttons:menu_faq``) or a
language's FAQ file (``en/faq``: edited question by question in bot/services/faq_editing.py).
The file
shipped in MESSAGES_DIR is version 0; every saved edit is a new version, and the newest is
live in every process within a second (bot/content/loading.py ContentFiles.refresh). An edit is
checked by the content validator exactly as the bot would use it (bot/content/validate.py
check_text) before it can be saved; saving needs the live version to still be the one the
author based the edit on, else the author is shown what changed meanwhile. Every save and
rollback writes an audit line with the text before and after.

Plain async code, no aiogram: a Telegram handler, a web panel or an HTTP API call it alike.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.content.catalogue import CATALOGUE, Button, FaqMenu, Message, ReminderText
from bot.content.store import Content, ContentError
from bot.content.validate import (
    SAMPLE_LABEL_CONTEXT,
    Problem,
    check_faq,
    check_text,
    samples_of,
)
from bot.db.content_versions import ContentVersionRepository, VersionRecord
from bot.domain.audit import Action, Actor, target
from bot.domain.content_kinds import ContentKind, button_key, faq_key
from bot.domain.staff import Permission
from bot.domain.text_words import WordChange, WordsRefused, replace_words
from bot.services.audit import AuditTrail
from bot.services.errors import NoSuchText
from bot.services.staff import StaffService
from foundation.clock import Clock
from foundation.timemath import to_local

_UTC = ZoneInfo("UTC")

__all__ = [
    "Area",
    "ChangedMeanwhile",
    "ContentEditing",
    "Edit",
    "Preview",
    "Rejected",
    "Reworded",
    "Saved",
    "TextRef",
    "WordsCheck",
    "area_of",
]

MAX_TEXT = 8000
"""The longest source accepted (a template renders to at most 4,096 characters anyway)."""


class Area(StrEnum):
    """Where a text belongs, for finding it: derived from its name."""

    WELCOME = "welcome"
    APPOINTMENTS = "appointments"
    SETTINGS = "settings"
    FAQ = "faq"
    REMINDERS = "reminders"
    ERRORS = "errors"
    STAFF = "staff"
    BUTTONS = "buttons"


_AREA_PREFIXES: tuple[tuple[Area, tuple[str, ...]], ...] = (
    (Area.STAFF, ("crisis_staff_alert", "reschedule_staff_alert", "template_failure_staff")),
    (Area.WELCOME, ("welcome", "consent_", "need_consent", "menu", "help")),
    (Area.APPOINTMENTS, ("appointment_",)),
    (Area.SETTINGS, ("settings", "timezone_", "forget_", "paused", "resumed")),
    (Area.FAQ, ("faq", "crisis")),
    (Area.REMINDERS, ("reminders/", "reminder_", "checklist", "attend_")),
)


def area_of(name: str) -> Area:
    """The area of a template name (``reminders/ride``) or of a button key (``menu_faq``)."""
    for area, prefixes in _AREA_PREFIXES:
        if name.startswith(prefixes):
            return area
    return Area.ERRORS


@dataclass(frozen=True, slots=True)
class TextRef:
    """One editable text: `kind` is ``template``, ``button`` or ``faq``, `key` its stored key."""

    kind: ContentKind
    key: str

    @property
    def lang(self) -> str:
        return self.key.partition("/")[0]

    @property
    def name(self) -> str:
        """``reminders/ride`` of ``en/reminders/ride``; ``menu_faq`` of a button."""
        if self.kind is ContentKind.BUTTON:
            return self.key.partition("/buttons:")[2]
        return self.key.partition("/")[2]

    @property
    def area(self) -> Area:
        return Area.BUTTONS if self.kind is ContentKind.BUTTON else area_of(self.name)


@dataclass(frozen=True)
class Preview:
    """A text as a patient gets it: `html` rendered with the catalogue's first sample values
    (a button: its label; a FAQ file: the questions menu), `buttons` the labels shown with it
    where known (a FAQ file: its questions' titles); `source` is the live text and `version`
    its stored version (None: the shipped file)."""

    ref: TextRef
    html: str
    buttons: tuple[str, ...]
    source: str
    version: VersionRecord | None
    variables: tuple[str, ...] = ()


@dataclass(frozen=True)
class Saved:
    """The text is live as `version`; `already` when nothing new was saved (the same text was
    already live: a second tap of Confirm)."""

    version: VersionRecord | None
    already: bool = False


@dataclass(frozen=True)
class ChangedMeanwhile:
    """Someone saved another version since the author looked: `live` is it now."""

    live: Preview


@dataclass(frozen=True)
class Rejected:
    """The validator's problems with the text (nothing was saved)."""

    problems: Sequence[Problem] = field(default_factory=tuple)


@dataclass(frozen=True)
class Edit:
    """One text of a save: the new `body`, and the live version the author saw (None: the
    shipped file)."""

    ref: TextRef
    body: str
    base_version_id: int | None


TextCheck = Preview | Rejected
"""What a proposed edit gives: the text as patients would get it, or its problems."""
TextOutcome = Saved | ChangedMeanwhile | Rejected
"""What confirming an edit (or a rollback) did."""


@dataclass(frozen=True)
class Reworded:
    """Some words changed: the text as patients would get it (`preview`, its `source` the new
    text), how many times the words were changed (`count`) and how the change reads in the
    history (`note`)."""

    preview: Preview
    count: int
    note: str


WordsCheck = Reworded | Rejected | WordsRefused
"""What changing some words gives: the result, the validator's problems with it, or why the
words could not be changed."""

# Buttons a patient sees under a text (besides reminders, whose buttons the plan names).
_SHOWN_WITH: dict[str, tuple[Button, ...]] = {
    "welcome": (Button.CONSENT_YES, Button.CONSENT_NO),
    "welcome_back": (
        Button.MENU_APPOINTMENTS,
        Button.MENU_PREPARE,
        Button.MENU_FAQ,
        Button.MENU_SETTINGS,
    ),
    "consent_thanks": (
        Button.MENU_APPOINTMENTS,
        Button.MENU_PREPARE,
        Button.MENU_FAQ,
        Button.MENU_SETTINGS,
    ),
    "menu": (Button.MENU_APPOINTMENTS, Button.MENU_PREPARE, Button.MENU_FAQ, Button.MENU_SETTINGS),
    "consent_declined": (Button.CONSENT_REVIEW,),
    "need_consent": (Button.CONSENT_REVIEW,),
    "appointment_confirm": (Button.DRAFT_CONFIRM, Button.DRAFT_CHANGE),
    "appointment_cancel_confirm": (Button.CANCEL_YES, Button.CANCEL_NO),
    "forget_confirm": (Button.FORGET_YES, Button.FORGET_NO),
}
_STEP_BUTTONS = {
    "done": (Button.REMINDER_DONE,),
    "snooze": (Button.REMINDER_SNOOZE,),
    "checklist": (Button.REMINDER_CHECKLIST,),
    "attend": (Button.ATTEND_YES, Button.ATTEND_NO),
}


@dataclass(frozen=True)
class EditingTools:
    """What the editing services (texts, the FAQ, the plan) are made of: the stored versions,
    the team's permissions and the audit, the live content, the clock. `zone` is the clinic's
    (times shown to the team); `on_saved` is told when a version was saved (the caller
    refreshes its content after the commit)."""

    versions: ContentVersionRepository
    staff: StaffService
    audit: AuditTrail
    content: Content
    clock: Clock
    zone: ZoneInfo = _UTC
    on_saved: Callable[[], None] = lambda: None

    def over(self, content: Content) -> EditingTools:
        """The same tools over other content (a plan not saved yet, overlaid)."""
        return dataclasses.replace(self, content=content)


class Editor:
    """A service over :class:`EditingTools`, its parts as attributes."""

    def __init__(self, tools: EditingTools) -> None:
        self.tools = tools
        self.versions = tools.versions
        self.staff = tools.staff
        self.audit = tools.audit
        self.content = tools.content
        self.clock = tools.clock
        self.zone = tools.zone
        self.on_saved = tools.on_saved


class ContentEditing(Editor):
    # --- finding texts --------------------------------------------------------------------
    def all_texts(self) -> list[TextRef]:
        """Every editable text: the templates the bot renders and the button labels, in each
        language, ordered by name."""
        content = self.content
        refs: list[TextRef] = []
        for lang in content.languages:
            names = {*CATALOGUE, ReminderText.CATCH_UP}
            names |= set(content.step_templates())
            names |= {entry.template for entry in content.faq(lang).entries}
            refs += [TextRef(ContentKind.TEMPLATE, f"{lang}/{name}") for name in sorted(names)]
            refs += [
                TextRef(ContentKind.BUTTON, button_key(lang, key))
                for key in sorted(content.buttons(lang))
            ]
            refs.append(TextRef(ContentKind.FAQ, faq_key(lang)))
        return refs

    def ref(self, kind: str, lang: str, name: str) -> TextRef:
        """The text of this kind (``template``, ``button``), language and name (``welcome``,
        ``menu_faq``, ``faq``); NoSuchText for anything else (forged or stale data)."""
        key = button_key(lang, name) if kind == ContentKind.BUTTON else f"{lang}/{name}"
        ref = next((r for r in self.all_texts() if r.kind == kind and r.key == key), None)
        if ref is None:
            raise NoSuchText()
        return ref

    async def areas(self, actor: Actor) -> list[Area]:
        """The areas that hold texts, in a fixed order."""
        await self.require(actor, Action.CONTENT_READ, "texts")
        found = {ref.area for ref in self.all_texts()}
        return [area for area in Area if area in found]

    async def texts(self, actor: Actor, area: Area | None, lang: str) -> list[TextRef]:
        """The texts of an area (None: every area) in one language, edited as they are (a
        FAQ file is edited by its questions)."""
        await self.require(actor, Action.CONTENT_READ, "texts")
        return [
            ref
            for ref in self.all_texts()
            if (area is None or ref.area is area)
            and ref.lang == lang
            and ref.kind is not ContentKind.FAQ
        ]

    # --- looking ----------------------------------------------------------------------------
    async def preview(self, actor: Actor, ref: TextRef) -> Preview:
        await self.require(actor, Action.CONTENT_READ, ref.key)
        return self._preview(self.content, ref, await self.versions.current(ref.kind, ref.key))

    async def history(
        self, actor: Actor, ref: TextRef
    ) -> tuple[VersionRecord | None, list[VersionRecord]]:
        """The live version (None: the shipped file) and the stored versions, newest first."""
        await self.require(actor, Action.CONTENT_READ, ref.key)
        stored = list(await self.versions.history(ref.kind, ref.key))
        return (stored[0] if stored else None), stored

    async def authors(self, versions: Sequence[VersionRecord | None]) -> dict[int, str]:
        """What to call the authors of these versions (their names as last seen)."""
        ids = {v.author_telegram_id for v in versions if v is not None}
        return await self.staff.names(ids)

    def local(self, instant: datetime) -> datetime:
        """An instant in the clinic's zone (the team reads the clinic's time)."""
        return to_local(instant, self.zone)

    async def restore_preview(
        self, actor: Actor, ref: TextRef, version_id: int
    ) -> tuple[TextCheck, VersionRecord | None]:
        """An older version (`version_id` 0: the shipped file) as patients would get it if it
        were restored now, checked as an edit is (the plan or other texts may have changed
        since), and that version (None: the shipped file); nothing is saved."""
        await self.require(actor, Action.CONTENT_ROLLBACK, ref.key)
        old = None if version_id == 0 else await self.versions.get(ref.kind, ref.key, version_id)
        if version_id != 0 and old is None:
            raise NoSuchText()
        body = old.body if old is not None else self._shipped(ref)
        return await self.candidate([Edit(ref, body, None)]), old

    # --- changing ---------------------------------------------------------------------------
    async def propose(self, actor: Actor, ref: TextRef, body: str) -> TextCheck:
        """The candidate rendered as a patient would get it, or the validator's problems."""
        await self.require(actor, Action.CONTENT_EDIT, ref.key)
        return await self.candidate([Edit(ref, body, None)])

    async def propose_words(
        self,
        actor: Actor,
        ref: TextRef,
        change: WordChange,
        base_version_id: int | None,
        *,
        every: bool = False,
    ) -> WordsCheck:
        """Some words changed in the plain wording of the version the author looked at
        (`base_version_id`; None: the shipped file), by bot/domain/text_words.py (found once,
        or everywhere when `every`), then as :meth:`propose`: the result as a patient would
        get it, or the validator's problems; or why the words could not be changed. Confirmed
        like any edit (:meth:`confirm`, with the change's note)."""
        await self.require(actor, Action.CONTENT_EDIT, ref.key)
        if ref.kind is ContentKind.FAQ:  # a FAQ file is edited question by question
            raise NoSuchText()
        replaced = replace_words(await self.text_at(ref, base_version_id), change, every=every)
        if isinstance(replaced, WordsRefused):
            return replaced
        checked = await self.candidate([Edit(ref, replaced.body, None)])
        if isinstance(checked, Rejected):
            return checked
        return Reworded(checked, replaced.count, change.note(replaced.count))

    async def candidate(self, edits: Sequence[Edit]) -> TextCheck:
        """The first text of `edits` as a patient would get it with all of them live, or the
        validator's problems with any of them (the caller checked the permission)."""
        problems = await self.problems(edits)
        if problems:
            return Rejected(problems)
        ref, body = edits[0].ref, edits[0].body
        candidate = self.content.overlaid({(e.ref.kind, e.ref.key): e.body for e in edits})
        return self._preview(candidate, ref, None, source=body)

    async def confirm(
        self,
        actor: Actor,
        ref: TextRef,
        body: str,
        base_version_id: int | None,
        *,
        note: str | None = None,
    ) -> TextOutcome:
        """Save `body` as the new live version if the live one is still `base_version_id`
        (None: the shipped file); `note` is how the change reads in the history."""
        await self.require(actor, Action.CONTENT_EDIT, ref.key)
        edit = Edit(ref, body, base_version_id)
        return await self.save(actor, Action.CONTENT_EDIT, [edit], note=note)

    async def rollback(
        self, actor: Actor, ref: TextRef, version_id: int, base_version_id: int | None
    ) -> TextOutcome:
        """Save a new version equal to an old one (`version_id` 0: the shipped file)."""
        await self.require(actor, Action.CONTENT_ROLLBACK, ref.key)
        if version_id == 0:
            body, number = self._shipped(ref), 0
        else:
            old = await self.versions.get(ref.kind, ref.key, version_id)
            if old is None:
                raise NoSuchText()
            body, number = old.body, old.number
        note = f"rollback to version {number}"
        edit = Edit(ref, body, base_version_id)
        return await self.save(actor, Action.CONTENT_ROLLBACK, [edit], note=note)

    async def text_at(self, ref: TextRef, version_id: int | None) -> str:
        """A text as it was at a version (None: the shipped file); NoSuchText if it has no
        such version."""
        if version_id is None:
            return self._shipped(ref)
        old = await self.versions.get(ref.kind, ref.key, version_id)
        if old is None:
            raise NoSuchText()
        return old.body

    async def live(self, ref: TextRef) -> tuple[VersionRecord | None, str]:
        """The live version of a text (None: the shipped file) and its text, from the
        database: what a save compares with."""
        live = await self.versions.current(ref.kind, ref.key)
        return live, (live.body if live is not None else self._shipped(ref))

    async def save(
        self, actor: Actor, action: Action, edits: Sequence[Edit], *, note: str | None = None
    ) -> TextOutcome:
        """Save `edits` together (a new FAQ question and its answer: all or none; the caller
        checked the permission), each only if its live version is still the one its author
        saw; the outcome speaks of the first. Texts already as written are left alone."""
        lives = [await self.live(edit.ref) for edit in edits]
        changed = [
            (edit, live, before)
            for edit, (live, before) in zip(edits, lives, strict=True)
            if edit.body != before
        ]
        if not changed or edits[0].body == lives[0][1]:
            return Saved(lives[0][0], already=True)  # a second Confirm, or no change at all
        for edit, live, _ in changed:
            if (live.id if live is not None else None) != edit.base_version_id:
                return ChangedMeanwhile(self._preview(self.content, edit.ref, live))
        problems = await self.problems(edits)
        if problems:
            return Rejected(problems)
        saved: list[VersionRecord] = []
        for edit, live, before in changed:
            saved.append(await self._write(actor, action, edit, live, before, note))
        self.on_saved()
        first = edits[0].ref
        return Saved(next(v for v in saved if v.kind == first.kind and v.key == first.key))

    # --- inside -----------------------------------------------------------------------------
    async def require(self, actor: Actor, action: Action, key: str) -> None:
        """The actor may edit content (else the refusal is audited and NotAllowed raised)."""
        await self.staff.require(actor, Permission.CONTENT, action=action, target=_target(key))

    async def problems(self, edits: Sequence[Edit]) -> list[Problem]:
        """:meth:`_problems` in a worker thread: checking renders every text the edits affect
        with every sample, which may take up to the check's time limit (CHECK_SECONDS), and
        the event loop must go on answering patients meanwhile. The check reads only candidate
        contents it makes for itself (the live content's overlay is replaced, never changed)."""
        return await asyncio.to_thread(self._problems, edits)

    def _problems(self, edits: Sequence[Edit]) -> list[Problem]:
        """The problems of the first text of `edits` that has any, with all of them live (a
        text is checked only over others without problems: a new answer over a FAQ file that
        can be read)."""
        problems: list[Problem] = []
        for edit in edits:
            if problems:
                break
            ref, body = edit.ref, edit.body
            if len(body) > MAX_TEXT and ref.kind is not ContentKind.FAQ:
                problems.append(Problem(ref.key, None, f"{len(body)} characters, over {MAX_TEXT}"))
            elif "\x00" in body:
                problems.append(Problem(ref.key, None, "holds a NUL character"))
            else:
                others: Mapping[tuple[str, str], str] = {
                    (e.ref.kind, e.ref.key): e.body for e in edits if e is not edit
                }
                content = self.content.overlaid(others) if others else self.content
                if ref.kind is ContentKind.FAQ:
                    problems += check_faq(content, ref.lang, body)
                else:
                    problems += check_text(content, ref.kind, ref.key, body)
        return list(dict.fromkeys(problems))

    async def _write(
        self,
        actor: Actor,
        action: Action,
        edit: Edit,
        live: VersionRecord | None,
        before: str,
        note: str | None,
    ) -> VersionRecord:
        """Store one checked text as its next version, with its audit line."""
        number = (live.number if live is not None else 0) + 1
        saved = await self.versions.add(
            kind=edit.ref.kind,
            key=edit.ref.key,
            number=number,
            body=edit.body,
            author_telegram_id=actor.telegram_id,
            created_at=self.clock.now(),
            base_version_id=edit.base_version_id,
            note=note,
        )
        await self.audit.done(
            actor,
            action,
            _target(edit.ref.key),
            before={"version": number - 1, "text": before},
            after={"version": number, "text": edit.body},
        )
        return saved

    def _shipped(self, ref: TextRef) -> str:
        """Version 0: the text of the shipped file."""
        shipped = self.content.shipped()
        try:
            if ref.kind is ContentKind.BUTTON:
                return shipped.buttons(ref.lang).get(ref.name, "")
            if ref.kind is ContentKind.FAQ:
                return shipped.faq_source(ref.lang)
            return shipped.source(ref.name, ref.lang)
        except ContentError:
            return ""

    def _preview(
        self,
        content: Content,
        ref: TextRef,
        version: VersionRecord | None,
        *,
        source: str | None = None,
    ) -> Preview:
        lang = ref.lang
        if ref.kind is ContentKind.BUTTON:
            label = content.button(ref.name, lang, **SAMPLE_LABEL_CONTEXT)
            return Preview(ref, "", (label,), source or content.buttons(lang)[ref.name], version)
        if ref.kind is ContentKind.FAQ:
            titles = tuple(entry.title for entry in content.faq(lang).entries)
            menu = content.render_message(FaqMenu(), lang)
            return Preview(
                ref,
                menu,
                (*titles, content.button(Button.MENU_HOME, lang)),
                source if source is not None else content.faq_source(lang),
                version,
            )
        found = samples_of(content, lang, ref.name)
        if found is None:
            raise NoSuchText()
        first: Message = _with_real_checklist(found[0][0], content, lang)
        html = content.render_message(first, lang)
        buttons = tuple(content.button(key, lang) for key in self._shown_with(ref.name))
        variables = tuple(sorted(first.declared()))
        return Preview(
            ref,
            html,
            buttons,
            source if source is not None else content.source(ref.name, lang),
            version,
            variables,
        )

    def _shown_with(self, name: str) -> tuple[Button, ...]:
        found = self.content.step_templates().get(name)
        if found is not None:
            step = found[1]
            return tuple(key for b in step.buttons for key in _STEP_BUTTONS.get(b, ()))
        return _SHOWN_WITH.get(name, ())


def _with_real_checklist(message: Message, content: Content, lang: str) -> Message:
    """The sample with the clinic's own checklist and values (the plan of the text's visit
    type: a reminder's own, else the clinic's default type), in the text's language (the first
    item ticked), so a preview reads as a patient's would."""
    declared = message.declared()
    if "checklist" not in declared and "preparation" not in declared:
        return message
    found = content.step_templates().get(message.template())
    plan = content.plan_for(found[0] if found is not None else content.default_visit_type)
    changes: dict[str, object] = {}
    if "checklist" in declared:
        changes["checklist"] = [
            {"key": key, "label": content.button(f"item_{key}", lang), "done": index == 0}
            for index, key in enumerate(plan.checklist)
        ]
    if "preparation" in declared:
        changes["preparation"] = plan.preparation
    return dataclasses.replace(message, **changes)  # type: ignore[type-var]


def _target(key: str) -> str:
    return target("content", key)
