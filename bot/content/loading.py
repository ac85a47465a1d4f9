"""Loading what the bot says: the files of `messages/` with the texts staff edited live over
them.

Content is addressed by (name, language): `messages/<lang>/<name>.html.j2` for texts,
`messages/<lang>/*.toml` for button labels, commands, date formats, FAQ and the safety lexicon,
and `messages/clinic.toml` for clinic facts. A missing text in a language falls back to the
default language.

Texts staff edited live (`content_versions`, bot/db/content_versions.py) lie over the files: a
template, a button label, a FAQ file or the plan comes from its newest stored version if there
is one, else from the file (their names: bot/domain/content_kinds.py). The async
:meth:`ContentFiles.refresh`, called by the unit of work before handlers and by the reminder
store after each claim, reads the content revision (one cheap query, at most once a
TEMPLATE_RECHECK_SECONDS) and loads the stored versions only when it changed. Rendering is
bot/content/store.py's `Content`, a `ContentFiles` that renders.
"""

from __future__ import annotations

import functools
import json
import math
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Protocol, TypeVar

from pydantic import BaseModel

from bot.content.schemas import (
    ButtonLabels,
    ChecklistSaidFile,
    ClinicProfile,
    CommandList,
    ConversationFile,
    DateFormats,
    FaqFile,
    SafetyLexicon,
    TextTitles,
    VisitAskedFile,
    WhichWeekFile,
    crisis_detector,
)
from bot.content.toml_edits import with_labels
from bot.domain.checklist_said import SaidDone
from bot.domain.content_kinds import (
    LEGACY_PLAN_TYPE,
    TEMPLATE_SUFFIX,
    ContentKind,
    Overlay,
    button_key,
    faq_key,
    plan_key,
    plan_type_of,
    template_key,
)
from bot.domain.faq import FaqEntry, FaqMatcher
from bot.domain.faq_model import FaqModel
from bot.domain.question_language import QuestionLanguages
from bot.domain.safety import CrisisDetector
from bot.domain.safety_model import CrisisModel
from bot.domain.visit_asked import VisitAsked
from bot.domain.visits import VisitType
from bot.domain.which_week import WeekWords
from foundation.data_file import DataFileError, SourceLines, parse_toml, read_text, validate_file
from scheduler.plan import Plan, Step
from scheduler.plan_loading import load_plan, parse_plan

__all__ = [
    "CHECKLIST_SAID",
    "FAQ_MODEL",
    "LEGACY_PLAN_FILE",
    "PLANS_DIR",
    "SAFETY_MODEL",
    "TEMPLATE_RECHECK_SECONDS",
    "VISIT_ASKED",
    "WHICH_WEEK",
    "ContentError",
    "ContentFiles",
    "Faq",
    "VersionSource",
    "load_file",
    "load_text",
]

SAFETY_MODEL = "safety_model.json"
"""The crisis screen's learned layer, trained by scripts/train_safety_model.py."""
FAQ_MODEL = "faq_model.json"
"""A language's FAQ matcher's learned layer (optional), trained by scripts/train_faq_model.py."""

CHECKLIST_SAID = "checklist_said.toml"
"""Per language, the phrases that say a checklist item is done (bot/domain/checklist_said.py)."""
WHICH_WEEK = "which_week.toml"
"""Per language, a typed answer's words to "this week's or next week's?"
(bot/domain/which_week.py)."""
VISIT_ASKED = "visit_asked.toml"
"""Per language, the words of a patient asking when their own visit is
(bot/domain/visit_asked.py)."""

PLANS_DIR = "plans"
"""Each visit type's plan is ``messages/plans/<type>.toml`` (bot/domain/visits.py VisitType)."""
LEGACY_PLAN_FILE = "plan.toml"
"""Where the one plan was before visit types: a messages folder that still has it (and no
``plans/infusion.toml``) keeps it as the infusion plan."""

TEMPLATE_RECHECK_SECONDS = 1.0
"""How stale a template may be: files edited on disk are picked up within this long, and the
send path does not look at the disk for every message."""
M = TypeVar("M", bound=BaseModel)

TEMPLATE = ContentKind.TEMPLATE
BUTTON = ContentKind.BUTTON
FAQ = ContentKind.FAQ
PLAN = ContentKind.PLAN


class VersionSource(Protocol):
    """Where stored versions live (bot/db/content_versions.py ContentVersionRepository)."""

    async def revision(self) -> int: ...

    async def live(self) -> Overlay: ...


class ContentError(Exception):
    """Content that cannot be loaded; the message names the file and the field."""


@dataclass(frozen=True)
class Faq:
    """A language's questions; `borrowed` are the keys of questions the default language has
    and this one does not, shown in the default language's words (as a missing text falls
    back), so a question added in one language reaches every patient at once. The matcher is
    built when first asked for: checking a staff edit reads only the entries."""

    entries: tuple[FaqEntry, ...]
    build: Callable[[bool], FaqMatcher] = field(repr=False, compare=False)
    """The matcher, with the language's learned layer (True) or its keywords alone."""
    borrowed: frozenset[str] = frozenset()

    @cached_property
    def matcher(self) -> FaqMatcher:
        return self.build(True)

    def keywords_matcher(self) -> FaqMatcher:
        """The matcher without its learned layer (what the layer is trained beside)."""
        return self.build(False)

    def by_key(self, key: str) -> FaqEntry | None:
        return next((e for e in self.entries if e.key == key), None)


def _content_error(exc: DataFileError) -> ContentError:
    """Every problem of the file, one "file:line: field: message" line each."""
    return ContentError("\n".join([str(exc), *getattr(exc, "__notes__", ())]))


@functools.lru_cache(maxsize=4)
def _faq_model(path: Path, stamp: tuple[int, int]) -> FaqModel:
    """The learned layer at ``path`` (``stamp``: its modification time and size), read once
    per process: every Content of a language (each staff edit makes one) shares it."""
    try:
        return FaqModel.from_data(json.loads(read_text(path)))
    except (ValueError, DataFileError) as exc:
        raise ContentError(f"{path}: {exc}") from exc


@functools.lru_cache(maxsize=2)
def _crisis_model(text: str) -> CrisisModel:
    """The crisis screen's learned layer from its JSON text, parsed once per process for the
    same text wherever it was read (parsing the file takes a tenth of a second, and every
    Content, each staff edit's and each test's application, reads the same one). The model
    is read-only once made (its per-word memo is a cache of a pure function)."""
    return CrisisModel.from_data(json.loads(text))


def load_file(model: type[M], path: Path) -> M:
    """The data file at ``path`` checked by ``model``; ContentError naming its problems."""
    try:
        text = read_text(path)
    except DataFileError as exc:
        raise _content_error(exc) from exc
    return load_text(model, text, str(path))


@dataclass(frozen=True)
class _LexiconSources:
    """The lexicons' texts by language, and where they were read: the texts alone say whether
    two are the same (a copy of the messages folder elsewhere, as a staff edit's preview or a
    test makes, is the same lexicon); the paths only name a file in an error."""

    texts: tuple[tuple[str, str], ...]
    paths: tuple[str, ...] = field(compare=False)


@functools.lru_cache(maxsize=4)
def _compiled_detector(sources: _LexiconSources) -> CrisisDetector:
    """The detector of these lexicons, built once per process for the same texts, wherever
    they were read: building it takes seconds (docs/architecture.md, "Start-up and memory"),
    and the start-up check and the application (and every test's application) read the same
    files. A lexicon that fails is not kept: its error names the path of the call that read
    it."""
    lexicons = {
        lang: load_text(SafetyLexicon, text, path)
        for (lang, text), path in zip(sources.texts, sources.paths, strict=True)
    }
    try:
        return crisis_detector(lexicons)
    except ValueError as exc:
        raise ContentError(f"safety.toml: {exc}") from exc


def load_text(model: type[M], text: str, source: str) -> M:
    """A data file's text checked by ``model``; ContentError naming `source` and its problems."""
    try:
        return validate_file(model, parse_toml(text, source), source, SourceLines(text))
    except DataFileError as exc:
        raise _content_error(exc) from exc


class ContentFiles:
    """The files of a messages folder with the live stored versions over them, each data
    file loaded (and checked) once per revision."""

    def __init__(
        self,
        messages_dir: Path,
        default_language: str = "en",
        *,
        monotonic: Callable[[], float] | None = None,
    ) -> None:
        self.root = Path(messages_dir)
        self.default_language = default_language
        # Seconds on a monotonic clock (time.monotonic, looked up at each call, by default).
        self._monotonic = monotonic or (lambda: time.monotonic())
        self.overlay: Overlay = {}
        self.revision = 0
        """The content revision the overlay was loaded at (0: nothing stored)."""
        self._revision_checked = -math.inf
        self._formats: dict[str, DateFormats] = {}
        self._buttons: dict[str, dict[str, str]] = {}
        self._faq: dict[str, Faq] = {}
        self._question_languages: QuestionLanguages | None = None
        self._titles: dict[str, TextTitles] = {}
        self._conversation: dict[str, ConversationFile] = {}
        self._said: dict[str, SaidDone] = {}
        self._weeks: dict[str, WeekWords] = {}
        self._visit_asked: dict[str, VisitAsked] = {}
        self._plans: dict[str, Plan] = {}
        if not (self.root / default_language).is_dir():
            raise ContentError(f"{self.root / default_language}: language folder is missing")

    # --- live versions ------------------------------------------------------------------
    async def refresh(self, source: VersionSource, *, force: bool = False) -> bool:
        """Load the stored versions if the content revision changed; the revision is asked
        at most once every TEMPLATE_RECHECK_SECONDS (unless `force`). True if they changed."""
        now = self._monotonic()
        if not force and now - self._revision_checked < TEMPLATE_RECHECK_SECONDS:
            return False
        self._revision_checked = now
        revision = await source.revision()
        if revision == self.revision:
            return False
        self.use(await source.live(), revision)
        return True

    def mark_stale(self) -> None:
        """Ask the revision again at the next refresh (this process has just saved one)."""
        self._revision_checked = -math.inf

    def use(self, overlay: Overlay, revision: int) -> None:
        """Render from these stored versions from now on (over the files)."""
        self.overlay = dict(overlay)
        self.revision = revision
        self._buttons.clear()
        self._faq.clear()
        self._question_languages = None
        self._plans.clear()

    def export(self, target: Path) -> None:
        """Write the live texts (the files with the stored versions over them) as a complete
        messages folder at `target`."""
        shutil.copytree(self.root, target, dirs_exist_ok=True)
        labels: dict[str, dict[str, str]] = {}
        for (kind, key), body in self.overlay.items():
            if kind == TEMPLATE:
                path = target / f"{key}{TEMPLATE_SUFFIX}"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(body if body.endswith("\n") else body + "\n", encoding="utf-8")
            elif kind == BUTTON:
                lang, _, label = key.partition("/buttons:")
                labels.setdefault(lang, {})[label] = body
            elif kind == FAQ:
                (target / key).with_suffix(".toml").write_text(body, encoding="utf-8")
            elif kind == PLAN and (visit_type := plan_type_of(key)) in set(VisitType):
                path = target / PLANS_DIR / f"{visit_type}.toml"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(body, encoding="utf-8")
        for lang, changed in labels.items():
            path = target / lang / "buttons.toml"
            path.write_text(
                with_labels(path.read_text(encoding="utf-8"), changed), encoding="utf-8"
            )

    # --- languages ----------------------------------------------------------------------
    @cached_property
    def languages(self) -> tuple[str, ...]:
        found = sorted(
            p.name
            for p in self.root.iterdir()
            if p.is_dir() and len(p.name) <= 8 and p.name != PLANS_DIR
        )
        return tuple(
            [self.default_language, *[lang for lang in found if lang != self.default_language]]
        )

    def language_for(self, code: str | None) -> str:
        """Pick a supported language from a Telegram `language_code` such as 'es-MX'."""
        if code:
            base = code.split("-", 1)[0].lower()
            if base in self.languages:
                return base
        return self.default_language

    def _path(self, lang: str, name: str) -> Path:
        path = self.root / lang / name
        return path if path.exists() else self.root / self.default_language / name

    # --- data files ---------------------------------------------------------------------
    @cached_property
    def clinic(self) -> ClinicProfile:
        return load_file(ClinicProfile, self.root / "clinic.toml")

    def formats(self, lang: str) -> DateFormats:
        if lang not in self._formats:
            self._formats[lang] = load_file(DateFormats, self._path(lang, "formats.toml"))
        return self._formats[lang]

    def commands(self, lang: str, file: str = "commands.toml") -> list[tuple[str, str]]:
        """The published commands and their descriptions: the patients' (commands.toml), or
        with ``file="staff_commands.toml"`` the clinic team's."""
        parsed = load_file(CommandList, self._path(lang, file))
        return [(c.command, c.description) for c in parsed.command]

    def buttons(self, lang: str) -> dict[str, str]:
        if lang not in self._buttons:
            labels = dict(load_file(ButtonLabels, self._path(lang, "buttons.toml")).root)
            prefix = button_key(lang, "")
            for (kind, key), body in self.overlay.items():
                if kind == BUTTON and key.startswith(prefix):
                    labels[key.removeprefix(prefix)] = body
            self._buttons[lang] = labels
        return self._buttons[lang]

    def faq(self, lang: str) -> Faq:
        """The questions patients of `lang` see: its own, then those of the default language
        it lacks (see Faq.borrowed)."""
        if lang not in self._faq:
            entries = self._own_faq(lang)
            borrowed: tuple[FaqEntry, ...] = ()
            if lang != self.default_language:
                have = {e.key for e in entries}
                default = self._own_faq(self.default_language)
                borrowed = tuple(e for e in default if e.key not in have)
                entries = entries + borrowed
            words = self.conversation(lang)

            def matcher(learned: bool, entries: tuple[FaqEntry, ...] = entries) -> FaqMatcher:
                model = self.faq_model(lang) if learned else None
                return FaqMatcher(
                    entries,
                    words.intent,
                    common=words.common,
                    known=words.known,
                    spelling=words.spelling,
                    lang=lang,
                    model=model,
                )

            self._faq[lang] = Faq(entries, matcher, frozenset(e.key for e in borrowed))
        return self._faq[lang]

    def question_languages(self) -> QuestionLanguages:
        """What tells the language a question is clearly written in
        (bot/domain/question_language.py): each language's own questions (not those it
        borrows), its conversation words, and the crisis screen's common words of it."""
        if self._question_languages is None:
            screen = self.crisis_detector.language_words
            words: dict[str, list[str]] = {}
            for lang in self.languages:
                faq = self.faq(lang)
                conversation = self.conversation(lang)
                words[lang] = [
                    *(
                        said
                        for entry in faq.entries
                        if entry.key not in faq.borrowed
                        for said in (*entry.keywords, *entry.hints)
                    ),
                    *(said for i in conversation.intent for said in (*i.keywords, *i.hints)),
                    *conversation.common,
                    *conversation.known,
                    *screen.get(lang, ()),
                ]
            self._question_languages = QuestionLanguages(words)
        return self._question_languages

    def faq_model(self, lang: str) -> FaqModel | None:
        """The learned layer of a language's matcher (``<lang>/faq_model.json``), if it ships
        one: without it the keywords alone answer (never another language's)."""
        path = self.root / lang / FAQ_MODEL
        try:
            found = path.stat()
        except OSError:
            return None
        return _faq_model(path, (found.st_mtime_ns, found.st_size))

    def conversation(self, lang: str) -> ConversationFile:
        """What the matcher knows besides the FAQ prompts (conversation.toml): the intents
        the bot answers itself, and the language's common and clinic words."""
        if lang not in self._conversation:
            path = self._path(lang, "conversation.toml")
            self._conversation[lang] = load_file(ConversationFile, path)
        return self._conversation[lang]

    def checklist_said_file(self, lang: str) -> ChecklistSaidFile:
        """What a patient of `lang` says to have done of their checklist
        (checklist_said.toml; the default language's when the language has none)."""
        return load_file(ChecklistSaidFile, self._path(lang, CHECKLIST_SAID))

    def checklist_said(self, lang: str) -> SaidDone:
        """The reading of "I've done it" in `lang` (bot/domain/checklist_said.py)."""
        if lang not in self._said:
            self._said[lang] = self.checklist_said_file(lang).reader()
        return self._said[lang]

    def which_week_file(self, lang: str) -> WhichWeekFile:
        """A typed answer's words to "this week's or next week's?" in `lang`
        (which_week.toml; the default language's when the language has none)."""
        return load_file(WhichWeekFile, self._path(lang, WHICH_WEEK))

    def which_week(self, lang: str) -> WeekWords:
        """The reading of a typed answer to the two-week choice in `lang`
        (bot/domain/which_week.py)."""
        if lang not in self._weeks:
            self._weeks[lang] = self.which_week_file(lang).reader()
        return self._weeks[lang]

    def visit_asked_file(self, lang: str) -> VisitAskedFile:
        """The words of a patient of `lang` asking when their own visit is
        (visit_asked.toml; the default language's when the language has none)."""
        return load_file(VisitAskedFile, self._path(lang, VISIT_ASKED))

    def visit_asked(self, lang: str) -> VisitAsked:
        """The reading of "when is my visit?" in `lang` (bot/domain/visit_asked.py)."""
        if lang not in self._visit_asked:
            self._visit_asked[lang] = self.visit_asked_file(lang).reader()
        return self._visit_asked[lang]

    def _own_faq(self, lang: str) -> tuple[FaqEntry, ...]:
        stored = self.overlay.get((FAQ, faq_key(lang)))
        if stored is None:
            return load_file(FaqFile, self._path(lang, "faq.toml")).prompt
        return load_text(FaqFile, stored, f"{faq_key(lang)}.toml (stored)").prompt

    def titles(self, lang: str) -> TextTitles:
        """The plain names of the texts for the team, in `lang` (texts.toml), what it lacks
        from the default language's."""
        if lang not in self._titles:
            own = load_file(TextTitles, self._path(lang, "texts.toml"))
            if lang != self.default_language:
                base = self.titles(self.default_language)
                own = TextTitles(
                    pattern=own.pattern,
                    variable={**base.variable, **own.variable},
                    button={**base.button, **own.button},
                    text={**base.text, **own.text},
                )
            self._titles[lang] = own
        return self._titles[lang]

    def faq_source(self, lang: str) -> str:
        """The live text of a language's faq.toml: its stored version, else its file."""
        stored = self.overlay.get((FAQ, faq_key(lang)))
        if stored is not None:
            return stored
        path = self._path(lang, "faq.toml")
        try:
            return read_text(path)
        except DataFileError as exc:
            raise _content_error(exc) from exc

    # --- visit types and their plans --------------------------------------------------------
    @property
    def visit_types(self) -> tuple[VisitType, ...]:
        """Every visit type, each with its own plan (the order of bot/domain/visits.py)."""
        return tuple(VisitType)

    @property
    def default_visit_type(self) -> VisitType:
        """The type of a visit a patient books themselves (clinic.toml ``default_visit_type``)."""
        return VisitType(self.clinic.default_visit_type)

    def plan_path(self, visit_type: str) -> Path:
        """The shipped file of a visit type's plan: ``plans/<type>.toml`` (the infusion plan of
        a messages folder from before visit types: ``plan.toml``, see LEGACY_PLAN_FILE)."""
        path = self.root / PLANS_DIR / f"{VisitType(visit_type)}.toml"
        legacy = self.root / LEGACY_PLAN_FILE
        if visit_type == LEGACY_PLAN_TYPE and not path.exists() and legacy.exists():
            return legacy
        return path

    def plan_for(self, visit_type: str) -> Plan:
        """The live reminder plan of a visit type, the same for every language: its newest
        stored version (staff edit it live, bot/services/plan_editing.py), else its file.
        ValueError for a name that is no visit type; ContentError for a plan with a mistake."""
        kind = VisitType(visit_type)
        found = self._plans.get(kind)
        if found is None:
            stored = self.overlay.get((PLAN, plan_key(kind)))
            path = self.plan_path(kind)
            try:
                if stored is None:
                    found = load_plan(path)
                else:
                    found = parse_plan(stored, f"{path.relative_to(self.root)} (stored)")
            except DataFileError as exc:
                raise _content_error(exc) from exc
            self._plans[kind] = found
        return found

    @property
    def plans(self) -> dict[VisitType, Plan]:
        """Every visit type's live plan (ContentError for the first one with a mistake)."""
        return {kind: self.plan_for(kind) for kind in self.visit_types}

    @property
    def plan(self) -> Plan:
        """The infusion plan: what was the one plan before visit types. Code that plans or
        shows a visit's reminders asks :meth:`plan_for` with the visit's own type."""
        return self.plan_for(LEGACY_PLAN_TYPE)

    def step_templates(self) -> dict[str, tuple[VisitType, Step]]:
        """Every plan's step texts: template name -> (its visit type, its step), in the order
        of the types and of their plans (a text two plans share: the first)."""
        found: dict[str, tuple[VisitType, Step]] = {}
        for kind, plan in self.plans.items():
            for step in plan.steps:
                found.setdefault(step.template, (kind, step))
        return found

    def plan_source_for(self, visit_type: str) -> str:
        """The TOML text of a visit type's live plan: its stored version, else its file."""
        stored = self.overlay.get((PLAN, plan_key(VisitType(visit_type))))
        if stored is not None:
            return stored
        try:
            return read_text(self.plan_path(visit_type))
        except DataFileError as exc:
            raise _content_error(exc) from exc

    @property
    def plan_source(self) -> str:
        """The TOML text of the live infusion plan (see :attr:`plan`)."""
        return self.plan_source_for(LEGACY_PLAN_TYPE)

    @cached_property
    def crisis_detector(self) -> CrisisDetector:
        """One detector over every language's lexicon (a patient may write in any language),
        with the learned layer of `safety_model.json` when there is one."""
        model_path = self.root / SAFETY_MODEL
        if not model_path.exists():
            return self.crisis_detector_without_model
        try:
            model = _crisis_model(read_text(model_path))
        except (ValueError, DataFileError) as exc:
            raise ContentError(f"{model_path}: {exc}") from exc
        return self.crisis_detector_without_model.with_model(model)

    @cached_property
    def crisis_detector_without_model(self) -> CrisisDetector:
        """The lexicons alone (what the learned layer is trained beside)."""
        sources: list[tuple[str, str, str]] = []
        for lang in self.languages:
            path = self.root / lang / "safety.toml"
            if path.exists():
                try:
                    sources.append((lang, str(path), read_text(path)))
                except DataFileError as exc:
                    raise _content_error(exc) from exc
        if not sources:
            raise ContentError(f"{self.root}: no safety.toml with crisis phrases was found")
        return _compiled_detector(
            _LexiconSources(
                tuple((lang, text) for lang, _, text in sources),
                tuple(path for _, path, _ in sources),
            )
        )

    def template_name(self, name: str, lang: str) -> str:
        candidate = f"{lang}/{name}{TEMPLATE_SUFFIX}"
        if (TEMPLATE, f"{lang}/{name}") in self.overlay or (self.root / candidate).exists():
            return candidate
        return f"{self.default_language}/{name}{TEMPLATE_SUFFIX}"

    def source(self, name: str, lang: str) -> str:
        """The live source of a template: its stored version, else its file."""
        template_name = self.template_name(name, lang)
        stored = self.overlay.get((TEMPLATE, template_key(template_name)))
        if stored is not None:
            return stored
        path = self.root / template_name
        try:
            return path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ContentError(f"{path}: template is missing") from exc
