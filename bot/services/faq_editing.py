"""Staff edit the FAQ live, question by question (admins: Permission.CONTENT).

A language's FAQ is one stored text, its faq.toml (``en/faq``, bot/db/content_versions.py):
each change (add, retitle, set keywords, move up or down, remove a question) is applied to the
file the author saw and gives a candidate faq.toml, checked by the one FAQ validation
(bot/content/validate.py check_faq: FaqFile's limits, unique keys and keyword rules, then every
answer renders) and previewed as the patients' questions menu; a new question's answer is a
template (``en/faq/<key>``) saved with it, checked as any text (check_text), all or none.
Saving follows ContentEditing's rules (bot/services/content_editing.py): only over the live
version the author saw, else "changed meanwhile"; a second Confirm is "already live"; each
saved version has its audit line; history and rollback are those of the ``en/faq`` text.

A removed question's answer stays stored, unused: it is history (a rollback of the FAQ file
brings the question back with its answer), and adding the key again edits it.

Plain async code, no aiogram.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.content.loading import load_text
from bot.content.schemas import FaqFile
from bot.content.toml_edits import faq_text
from bot.content.validate import Problem
from bot.db.content_versions import VersionRecord
from bot.domain.audit import Action, Actor
from bot.domain.content_kinds import ContentKind
from bot.domain.faq import FaqEntry
from bot.services.content_editing import (
    ContentEditing,
    Edit,
    Preview,
    Rejected,
    TextOutcome,
    TextRef,
)
from bot.services.edit_ops import EditOp
from bot.services.errors import NoSuchText

__all__ = [
    "FaqChange",
    "FaqEditing",
    "FaqOp",
    "FaqProposal",
    "Questions",
    "clean_keywords",
]

_SPACES_RE = re.compile(r"\s+")
# What an answer is previewed with while its question is checked before it is written.
_STAND_IN_TITLE = "Question"
_STAND_IN_KEYWORD = "question"
_STAND_IN_ANSWER = "…"


class FaqOp(EditOp):
    """A change of a question; its word is how the history tells it."""

    ADD = "add", "added"
    RETITLE = "title", "renamed"
    KEYWORDS = "kw", "new keywords for"
    UP = "up", "moved up"
    DOWN = "down", "moved down"
    REMOVE = "rm", "removed"


@dataclass(frozen=True)
class FaqChange:
    """One change of a language's FAQ: `key` names the question; `title`, `keywords` and
    `answer` (a template's source) as the change needs them."""

    op: FaqOp
    key: str
    title: str = ""
    keywords: tuple[str, ...] = ()
    answer: str = ""

    @property
    def note(self) -> str:
        """How the change reads in the history."""
        return f"{self.op.word} question {self.key}"


@dataclass(frozen=True)
class Questions:
    """A language's live questions, in menu order; `version` the live FAQ file (None: the
    shipped one)."""

    ref: TextRef
    entries: tuple[FaqEntry, ...]
    version: VersionRecord | None

    def get(self, key: str) -> tuple[int, FaqEntry]:
        """The question's position (from 0) and entry; NoSuchText if there is none."""
        for index, entry in enumerate(self.entries):
            if entry.key == key:
                return index, entry
        raise NoSuchText()


@dataclass(frozen=True)
class FaqProposal:
    """A checked change: `menu` the questions menu as patients would get it (its `buttons`
    the titles), `answer` a new question's answer as they would get it; `base` and
    `answer_base` the live versions it was made over (pass them back to confirm)."""

    change: FaqChange
    menu: Preview
    answer: Preview | None
    base: int | None
    answer_base: int | None


@dataclass(frozen=True)
class _Prompt:
    """A prompt not checked yet (FaqEntry would refuse it before the file's validation can
    name the problem)."""

    key: str
    title: str
    keywords: tuple[str, ...]
    template: str
    hints: tuple[str, ...] = ()


def clean_keywords(words: Iterable[str]) -> tuple[str, ...]:
    """Keywords as the file keeps them: trimmed, in lower case, spaces collapsed, empty ones
    and repeats left out."""
    cleaned = (_SPACES_RE.sub(" ", word).strip().lower() for word in words)
    return tuple(dict.fromkeys(word for word in cleaned if word))


class FaqEditing:
    def __init__(self, editing: ContentEditing) -> None:
        self.editing = editing

    def ref(self, lang: str) -> TextRef:
        """The FAQ file of a language; NoSuchText for a language the bot does not have."""
        return self.editing.ref(ContentKind.FAQ, lang, "faq")

    async def questions(self, actor: Actor, lang: str) -> Questions:
        ref = self.ref(lang)
        await self.editing.require(actor, Action.CONTENT_READ, ref.key)
        live, source = await self.editing.live(ref)
        return Questions(ref, _entries(ref, source), live)

    async def check_new(
        self,
        actor: Actor,
        lang: str,
        key: str,
        title: str | None = None,
        keywords: Sequence[str] | None = None,
    ) -> Rejected | None:
        """The problems of a question being added with what is known of it so far (a
        stand-in for the rest), so the author hears of a taken key before typing the answer."""
        change = FaqChange(
            FaqOp.ADD,
            key,
            _STAND_IN_TITLE if title is None else title,
            (_STAND_IN_KEYWORD,) if keywords is None else tuple(keywords),
            _STAND_IN_ANSWER,
        )
        found = await self.propose(actor, lang, change)
        return found if isinstance(found, Rejected) else None

    async def propose(self, actor: Actor, lang: str, change: FaqChange) -> FaqProposal | Rejected:
        """The change over the live FAQ, checked, as patients would get it."""
        ref = self.ref(lang)
        await self.editing.require(actor, Action.CONTENT_EDIT, ref.key)
        change = _cleaned(change)
        live, source = await self.editing.live(ref)
        edits = await self._edits(ref, source, change, live.id if live else None, None)
        if edits[0].body == source:
            return Rejected([Problem(ref.key, None, "this changes nothing")])
        if len(edits) > 1:  # a new answer's base is its live version (an unused one, or none)
            answer_live, _ = await self.editing.live(edits[1].ref)
            edits[1] = Edit(edits[1].ref, edits[1].body, answer_live.id if answer_live else None)
        menu = await self.editing.candidate(edits)
        if isinstance(menu, Rejected):
            return _without_echoes(menu, change)
        answer = await self.editing.candidate(edits[::-1]) if len(edits) > 1 else None
        assert not isinstance(answer, Rejected), answer  # the same texts, checked just now
        return FaqProposal(
            change,
            menu,
            answer,
            edits[0].base_version_id,
            edits[1].base_version_id if len(edits) > 1 else None,
        )

    async def confirm(
        self,
        actor: Actor,
        lang: str,
        change: FaqChange,
        base: int | None,
        answer_base: int | None = None,
    ) -> TextOutcome:
        """Save the change as made over the FAQ file at `base` (and a new answer over its
        version `answer_base`), if that is still the live one: else "changed meanwhile", or
        "already live" when the live file is what this change makes of it."""
        ref = self.ref(lang)
        await self.editing.require(actor, Action.CONTENT_EDIT, ref.key)
        change = _cleaned(change)
        source = await self.editing.text_at(ref, base)
        edits = await self._edits(ref, source, change, base, answer_base)
        return await self.editing.save(actor, Action.CONTENT_EDIT, edits, note=change.note)

    async def _edits(
        self,
        ref: TextRef,
        source: str,
        change: FaqChange,
        base: int | None,
        answer_base: int | None,
    ) -> list[Edit]:
        """The FAQ file with the change (and, for a new question, its answer)."""
        entries: list[FaqEntry | _Prompt] = list(_entries(ref, source))
        keys = [entry.key for entry in entries]
        if change.op is FaqOp.ADD:
            template = f"faq/{change.key}"
            entries.append(_Prompt(change.key, change.title, change.keywords, template))
            faq = Edit(ref, faq_text(source, entries), base)
            answer = TextRef(ContentKind.TEMPLATE, f"{ref.lang}/{template}")
            return [faq, Edit(answer, change.answer, answer_base)]
        if change.key not in keys:
            raise NoSuchText()  # removed meanwhile, or forged
        index = keys.index(change.key)
        old = entries[index]
        if change.op is FaqOp.RETITLE:
            entries[index] = _Prompt(
                old.key, change.title, tuple(old.keywords), old.template, tuple(old.hints)
            )
        elif change.op is FaqOp.KEYWORDS:
            entries[index] = _Prompt(
                old.key, old.title, change.keywords, old.template, tuple(old.hints)
            )
        elif change.op is FaqOp.REMOVE:
            del entries[index]
        else:
            other = index - 1 if change.op is FaqOp.UP else index + 1
            if 0 <= other < len(entries):
                entries[index], entries[other] = entries[other], entries[index]
        return [Edit(ref, faq_text(source, entries), base)]


def _entries(ref: TextRef, source: str) -> tuple[FaqEntry, ...]:
    return load_text(FaqFile, source, f"{ref.key}.toml").prompt


def _cleaned(change: FaqChange) -> FaqChange:
    return FaqChange(
        change.op,
        change.key.strip().lower(),
        _SPACES_RE.sub(" ", change.title).strip(),
        clean_keywords(change.keywords),
        change.answer,
    )


def _without_echoes(rejected: Rejected, change: FaqChange) -> Rejected:
    """A new question's template is named after its key: a bad key says it once."""
    if change.op is not FaqOp.ADD:
        return rejected
    echo = f"question {change.key!r}: template:"
    return Rejected([p for p in rejected.problems if not p.message.startswith(echo)])
