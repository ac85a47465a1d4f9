"""The one loader for everything the bot says.

Content is addressed by (name, language): `messages/<lang>/<name>.html.j2` for texts,
`messages/<lang>/*.toml` for button labels, commands, date formats, FAQ and the safety lexicon,
and `messages/clinic.toml` for clinic facts. A missing text in a language falls back to the
default language. Templates render to Telegram HTML with autoescaping, so values a patient
typed can never become markup.

Texts staff edited live (`content_versions`, bot/db/content_versions.py) lie over the files: a
template, a button label or a FAQ file comes from its newest stored version if there is one,
else from the file. Rendering stays synchronous (the send path renders synchronously); the
async :meth:`Content.refresh`, called by the unit of work before handlers and by the reminder
store after each claim, reads the content revision (one cheap query, at most once a
TEMPLATE_RECHECK_SECONDS) and loads the stored versions only when it changed.
"""

from __future__ import annotations

import functools
import json
import math
import re
import shutil
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import jinja2
import jinja2.bccache
import jinja2.meta
from pydantic import BaseModel

from bot.content.sandbox import DEFAULT_LIMITS, GuardedEnvironment, RenderLimits, render_text
from bot.content.schemas import (
    ButtonLabels,
    ClinicProfile,
    CommandList,
    ConversationFile,
    DateFormats,
    FaqFile,
    SafetyLexicon,
    TextTitles,
    crisis_detector,
)
from bot.domain.faq import FaqEntry, FaqMatcher
from bot.domain.faq_model import FaqModel
from bot.domain.safety import CrisisDetector
from bot.domain.safety_model import CrisisModel
from scheduler.data_file import DataFileError, SourceLines, parse_toml, read_text, validate_file
from scheduler.plan import Plan
from scheduler.plan_loading import load_plan, parse_plan

SAFETY_MODEL = "safety_model.json"
"""The crisis screen's learned layer, trained by scripts/train_safety_model.py."""
FAQ_MODEL = "faq_model.json"
"""A language's FAQ matcher's learned layer (optional), trained by scripts/train_faq_model.py."""

if TYPE_CHECKING:
    from bot.content.catalogue import Message

TEMPLATE_SUFFIX = ".html.j2"
TEMPLATE_RECHECK_SECONDS = 1.0
"""How stale a template may be: files edited on disk are picked up within this long, and the
send path does not look at the disk for every message."""
M = TypeVar("M", bound=BaseModel)

# Kinds of stored versions (the `kind` of `content_versions`) that lie over the files.
TEMPLATE = "template"
BUTTON = "button"
FAQ = "faq"
PLAN = "plan"
PLAN_KEY = "plan"
"""The reminder plan is one stored text: kind ``plan``, key ``plan`` (the whole TOML)."""

Overlay = Mapping[tuple[str, str], str]
"""Live stored versions: (kind, key) -> body; see :func:`template_key` and the others."""


def template_key(template_name: str) -> str:
    """``en/welcome`` for the template file ``en/welcome.html.j2``."""
    return template_name.removesuffix(TEMPLATE_SUFFIX)


def button_key(lang: str, key: str) -> str:
    return f"{lang}/buttons:{key}"


def faq_key(lang: str) -> str:
    return f"{lang}/faq"


class VersionSource(Protocol):
    """Where stored versions live (bot/db/content_versions.py ContentVersionRepository)."""

    async def revision(self) -> int: ...

    async def live(self) -> Overlay: ...


class ContentError(Exception):
    """Content that cannot be loaded; the message names the file and the field."""


class _CompiledTemplates(jinja2.BytecodeCache):
    """Compiled templates shared by every Content of the process, by name and source (jinja
    checks the source's checksum): a candidate Content made to check a staff edit compiles
    only what the edit changed. Bounded; one per environment kind (the code differs)."""

    def __init__(self, size: int = 4096) -> None:
        self._code: OrderedDict[str, bytes] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with self._lock:
            code = self._code.get(bucket.key)
            if code is not None:
                self._code.move_to_end(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        code = bucket.bytecode_to_string()
        with self._lock:
            self._code[bucket.key] = code
            while len(self._code) > self._size:
                self._code.popitem(last=False)


_COMPILED = {True: _CompiledTemplates(), False: _CompiledTemplates()}
"""By the environment's trim_blocks."""


class _OverlayLoader(jinja2.BaseLoader):
    """Templates from the live stored versions; the files' loader answers the rest."""

    def __init__(self, content: Content) -> None:
        self.content = content

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        overlay = self.content.overlay
        body = overlay.get((TEMPLATE, template_key(template)))
        if body is None:
            raise jinja2.TemplateNotFound(template)
        # Up to date while this very version is live (a later refresh replaces the mapping).
        return body, None, lambda: self.content.overlay is overlay


class _LivePreparation:
    """``{{ preparation.no_food_hours }}`` in a text: the live plan's ``[preparation]``
    (staff may change the plan while the bot runs), read at each render."""

    def __init__(self, content: Content) -> None:
        self._content = content

    def __getattr__(self, name: str) -> object:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._content.plan.preparation, name)


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


def load_file(model: type[M], path: Path) -> M:
    """The data file at ``path`` checked by ``model``; ContentError naming its problems."""
    try:
        text = read_text(path)
    except DataFileError as exc:
        raise _content_error(exc) from exc
    return load_text(model, text, str(path))


@functools.lru_cache(maxsize=4)
def _compiled_detector(sources: tuple[tuple[str, str, str], ...]) -> CrisisDetector:
    """The detector of these lexicons ((language, path, text) each), built once per process
    for the same texts: compiling it takes a second or more (docs/architecture.md), and the
    start-up check and the application (and every test's application) read the same files."""
    lexicons = {lang: load_text(SafetyLexicon, text, path) for lang, path, text in sources}
    try:
        return crisis_detector(lexicons)
    except ValueError as exc:
        raise ContentError(f"safety.toml: {exc}") from exc


@functools.lru_cache(maxsize=4)
def _faq_model(path: Path, stamp: tuple[int, int]) -> FaqModel:
    """The learned layer at ``path`` (``stamp``: its modification time and size), read once
    per process: every Content of a language (each staff edit makes one) shares it."""
    try:
        return FaqModel.from_data(json.loads(read_text(path)))
    except (ValueError, DataFileError) as exc:
        raise ContentError(f"{path}: {exc}") from exc


def load_text(model: type[M], text: str, source: str) -> M:
    """A data file's text checked by ``model``; ContentError naming `source` and its problems."""
    try:
        return validate_file(model, parse_toml(text, source), source, SourceLines(text))
    except DataFileError as exc:
        raise _content_error(exc) from exc


def toml_string(value: str) -> str:
    """`value` as a TOML basic string (JSON's escapes are TOML's; DEL must be escaped too)."""
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def with_labels(buttons_toml: str, labels: Mapping[str, str]) -> str:
    """buttons.toml's text with these labels set (their lines replaced, comments kept; a new
    key is added at the end)."""
    lines = buttons_toml.splitlines()
    for key, label in labels.items():
        line = f"{key} = {toml_string(label)}"
        pattern = re.compile(rf"\s*{re.escape(key)}\s*=")
        index = next((i for i, old in enumerate(lines) if pattern.match(old)), None)
        if index is None:
            lines.append(line)
        else:
            lines[index] = line
    return "\n".join(lines) + "\n"


_FIRST_PROMPT_RE = re.compile(r"^\s*\[\[\s*prompt\s*\]\]", re.MULTILINE)


class Prompt(Protocol):
    """What a faq.toml prompt is written from (a FaqEntry, or a candidate not checked yet)."""

    @property
    def key(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def keywords(self) -> Sequence[str]: ...
    @property
    def template(self) -> str: ...
    @property
    def hints(self) -> Sequence[str]: ...


def faq_text(faq_toml: str, entries: Sequence[Prompt]) -> str:
    """A faq.toml holding `entries`, in this order: the comments before the first prompt of
    `faq_toml` are kept, the prompts written anew."""
    first = _FIRST_PROMPT_RE.search(faq_toml)
    head = faq_toml[: first.start()] if first else ""
    parts = [head.rstrip("\n") + "\n"] if head.strip() else []
    for entry in entries:
        keywords = "".join(f"    {toml_string(k)},\n" for k in entry.keywords)
        hints = "".join(f"    {toml_string(k)},\n" for k in entry.hints)
        parts.append(
            "\n[[prompt]]\n"
            f"key = {toml_string(entry.key)}\n"
            f"title = {toml_string(entry.title)}\n"
            f"keywords = [\n{keywords}]\n"
            + (f"hints = [\n{hints}]\n" if entry.hints else "")
            + f"template = {toml_string(entry.template)}\n"
        )
    return "".join(parts).lstrip("\n")


class Content:
    def __init__(
        self,
        messages_dir: Path,
        default_language: str = "en",
        *,
        monotonic: Callable[[], float] | None = None,
        limits: RenderLimits = DEFAULT_LIMITS,
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
        # Compiled label templates by source text (a label without jinja syntax is kept as its
        # finished text): a reminder needs several labels, and compiling or rendering them each
        # time was most of the cost of sending one (bench/throughput.py).
        self._label_templates: dict[str, jinja2.Template | str] = {}
        self._faq: dict[str, Faq] = {}
        self._titles: dict[str, TextTitles] = {}
        self._conversation: dict[str, ConversationFile] = {}
        self._plan: Plan | None = None
        # (name, lang) -> (file, compiled template, when resolved on the monotonic clock).
        self._templates: dict[tuple[str, str], tuple[str, jinja2.Template, float]] = {}
        if not (self.root / default_language).is_dir():
            raise ContentError(f"{self.root / default_language}: language folder is missing")
        # A sandbox with limits (bot/content/sandbox.py): staff-edited templates reach neither
        # Python's internals nor the event loop's time.
        self.limits = limits
        self._html = self._environment(trim_blocks=True)
        self._plain = GuardedEnvironment(autoescape=False, undefined=jinja2.StrictUndefined)
        self._add_filters(self._plain)

    def _environment(self, *, trim_blocks: bool) -> GuardedEnvironment:
        env = GuardedEnvironment(
            loader=jinja2.ChoiceLoader(
                [_OverlayLoader(self), jinja2.FileSystemLoader(str(self.root))]
            ),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=trim_blocks,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            bytecode_cache=_COMPILED[trim_blocks],
        )
        self._add_filters(env)
        return env

    def _add_filters(self, env: GuardedEnvironment) -> None:
        env.filters["when"] = self._filter("datetime_long")
        env.filters["when_short"] = self._filter("datetime_short")
        env.filters["date"] = self._filter("date")
        env.filters["time"] = self._filter("time")
        env.filters["weekday"] = self._weekday_filter()
        env.globals["clinic"] = self.clinic
        env.globals["preparation"] = _LivePreparation(self)
        env.guard_filters()

    @cached_property
    def _as_written(self) -> GuardedEnvironment:
        """The templates with every line break kept (no trim_blocks): what the validator
        compares a rendering with, to find lines that run into each other."""
        return self._environment(trim_blocks=False)

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
        if self._html.cache is not None:  # a file's template cached before its first version
            self._html.cache.clear()
        self.__dict__.pop("_as_written", None)
        self._templates.clear()
        self._buttons.clear()
        self._faq.clear()
        self._plan = None

    def overlaid(self, extra: Overlay) -> Content:
        """A Content over the same files with `extra` over the live versions: a candidate
        edit rendered and validated exactly as it would go out, without saving it."""
        candidate = Content(
            self.root, self.default_language, monotonic=self._monotonic, limits=self.limits
        )
        candidate.use({**self.overlay, **extra}, self.revision)
        return candidate

    def shipped(self) -> Content:
        """A Content of the files alone (version 0 of every text)."""
        return Content(
            self.root, self.default_language, monotonic=self._monotonic, limits=self.limits
        )

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
            elif kind == PLAN and key == PLAN_KEY:
                (target / "plan.toml").write_text(body, encoding="utf-8")
        for lang, changed in labels.items():
            path = target / lang / "buttons.toml"
            path.write_text(
                with_labels(path.read_text(encoding="utf-8"), changed), encoding="utf-8"
            )

    # --- languages ----------------------------------------------------------------------
    @cached_property
    def languages(self) -> tuple[str, ...]:
        found = sorted(p.name for p in self.root.iterdir() if p.is_dir() and len(p.name) <= 8)
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
                    lang=lang,
                    model=model,
                )

            self._faq[lang] = Faq(entries, matcher, frozenset(e.key for e in borrowed))
        return self._faq[lang]

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

    @property
    def plan(self) -> Plan:
        """The live reminder plan, the same for every language: its newest stored version (staff
        edit it live, bot/services/plan_editing.py), else `messages/plan.toml`."""
        if self._plan is None:
            stored = self.overlay.get((PLAN, PLAN_KEY))
            try:
                if stored is None:
                    self._plan = load_plan(self.root / "plan.toml")
                else:
                    self._plan = parse_plan(stored, "plan.toml (stored)")
            except DataFileError as exc:
                raise _content_error(exc) from exc
        return self._plan

    @property
    def plan_source(self) -> str:
        """The TOML text of the live plan: its stored version, else the file."""
        stored = self.overlay.get((PLAN, PLAN_KEY))
        if stored is not None:
            return stored
        try:
            return read_text(self.root / "plan.toml")
        except DataFileError as exc:
            raise _content_error(exc) from exc

    @cached_property
    def crisis_detector(self) -> CrisisDetector:
        """One detector over every language's lexicon (a patient may write in any language),
        with the learned layer of `safety_model.json` when there is one."""
        model_path = self.root / SAFETY_MODEL
        if not model_path.exists():
            return self.crisis_detector_without_model
        try:
            model = CrisisModel.from_data(json.loads(read_text(model_path)))
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
        return _compiled_detector(tuple(sources))

    # --- rendering ----------------------------------------------------------------------
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

    def render(self, name: str, lang: str, /, **context: Any) -> str:
        """Render a text as Telegram HTML. Raises ContentError if the template is broken."""
        try:
            template_name, template = self._template(name, lang)
        except jinja2.TemplateNotFound as exc:
            where = self.root / self.template_name(name, lang)
            raise ContentError(f"{where}: template is missing") from exc
        except jinja2.TemplateError as exc:
            raise ContentError(f"{self.root / self.template_name(name, lang)}: {exc}") from exc
        try:
            return render_text(template, self.limits, {"lang": lang, **context}).strip()
        except jinja2.TemplateError as exc:
            raise ContentError(f"{self.root / template_name}: {exc}") from exc

    def render_as_written(self, name: str, lang: str, /, **context: Any) -> str:
        """Render a text with every line break of its template kept (see _as_written)."""
        template_name = self.template_name(name, lang)
        try:
            template = self._as_written.get_template(template_name)
            return render_text(template, self.limits, {"lang": lang, **context}).strip()
        except jinja2.TemplateError as exc:
            raise ContentError(f"{self.root / template_name}: {exc}") from exc

    def render_message(self, message: Message, lang: str) -> str:
        """Render a message of the catalogue (bot/content/catalogue.py) as Telegram HTML."""
        return self.render(message.template(), lang, **message.variables())

    def free_variables(self, name: str, lang: str) -> frozenset[str]:
        """The variables a template reads that neither it nor the environment defines (so
        they must come from the code); `lang` is always given. Raises ContentError."""
        path = self.root / self.template_name(name, lang)
        source = self.source(name, lang)
        try:
            parsed = self._html.parse(source)
        except jinja2.TemplateError as exc:
            raise ContentError(f"{path}: {exc}") from exc
        found = jinja2.meta.find_undeclared_variables(parsed)
        return frozenset(found - self._html.globals.keys() - {"lang"})

    def _template(self, name: str, lang: str) -> tuple[str, jinja2.Template]:
        """The file and compiled template for (name, lang), looked up on disk again (language
        fallback, and jinja's check of the file's time) at most every TEMPLATE_RECHECK_SECONDS."""
        now = self._monotonic()
        cached = self._templates.get((name, lang))
        if cached is not None and now - cached[2] < TEMPLATE_RECHECK_SECONDS:
            return cached[0], cached[1]
        template_name = self.template_name(name, lang)
        template = self._html.get_template(template_name)
        self._templates[(name, lang)] = (template_name, template, now)
        return template_name, template

    def button(self, key: str, lang: str, /, **context: Any) -> str:
        """A button label (plain text: Telegram shows button text as is)."""
        labels = self.buttons(lang)
        source = labels.get(key) or self.buttons(self.default_language).get(key)
        if source is None:
            raise ContentError(f"{self._path(lang, 'buttons.toml')}: no label '{key}'")
        template = self._label_templates.get(source)
        if template is None:
            template = self._label_templates[source] = self._compile_label(source, key, lang)
        if isinstance(template, str):
            return template or key
        try:
            text = render_text(template, self.limits, {"lang": lang, **context})
        except jinja2.TemplateError as exc:
            raise ContentError(f"{self._path(lang, 'buttons.toml')}: {key}: {exc}") from exc
        return text.strip()[:64] or key

    def _compile_label(self, source: str, key: str, lang: str) -> jinja2.Template | str:
        if "{" not in source:  # no {{ }}, {% %} or {# #}: jinja would return it unchanged
            return source.strip()[:64]
        try:
            return self._plain.from_string(source)
        except jinja2.TemplateError as exc:
            raise ContentError(f"{self._path(lang, 'buttons.toml')}: {key}: {exc}") from exc

    # --- date formatting ----------------------------------------------------------------
    def format_datetime(self, value: datetime, lang: str, style: str = "datetime_long") -> str:
        """Format an aware local datetime in the language's words (locale-independent)."""
        fmt = self.formats(lang)
        hour12 = value.hour % 12 or 12
        fields = {
            "weekday": fmt.weekdays[value.weekday()],
            "weekday_short": fmt.weekdays_short[value.weekday()],
            "month": fmt.months[value.month - 1],
            "month_short": fmt.months_short[value.month - 1],
            "day": value.day,
            "year": value.year,
            "hour": f"{value.hour:02d}",
            "hour12": hour12,
            "minute": f"{value.minute:02d}",
            "ampm": fmt.am if value.hour < 12 else fmt.pm,
            "zone": value.tzname() or "",
        }
        fields["time"] = fmt.time.format(**fields)
        fields["date"] = fmt.date.format(**fields)
        pattern: str = getattr(fmt, style)
        return pattern.format(**fields).strip()

    def _weekday_filter(self) -> Any:
        """A date's weekday in the language's words ("Wednesday", "miércoles")."""

        @jinja2.pass_context
        def _weekday(ctx: jinja2.runtime.Context, value: datetime) -> str:
            return self.formats(ctx.get("lang", self.default_language)).weekdays[value.weekday()]

        return _weekday

    def _filter(self, style: str) -> Any:
        @jinja2.pass_context
        def _format(ctx: jinja2.runtime.Context, value: datetime) -> str:
            return self.format_datetime(value, ctx.get("lang", self.default_language), style)

        return _format
