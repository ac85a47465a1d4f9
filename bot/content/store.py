"""Rendering what the bot says: `Content` is the loaded content (bot/content/loading.py,
the files with the live stored versions over them) that renders.

Templates render to Telegram HTML with autoescaping, so values a patient typed can never
become markup, in jinja2's sandbox with limits (bot/content/sandbox.py). Rendering stays
synchronous (the send path renders synchronously); a stored version of a template is found
before its file (a jinja `ChoiceLoader`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import jinja2.bccache
import jinja2.meta

from bot.content.loading import TEMPLATE_RECHECK_SECONDS, ContentError, ContentFiles
from bot.content.periods import mark_period, settle_periods
from bot.content.sandbox import DEFAULT_LIMITS, GuardedEnvironment, RenderLimits, render_text
from bot.domain.content_kinds import ContentKind, Overlay, template_key

if TYPE_CHECKING:
    from bot.content.catalogue import Message

__all__ = ["Content", "ContentError"]


class _CompiledTemplates(jinja2.BytecodeCache):
    """Compiled templates shared by every Content of the process, by name and source (jinja
    checks the source's checksum): a candidate Content made to check a staff edit compiles
    only what the edit changed. Bounded; one per environment kind (the code differs)."""

    def __init__(self, size: int = 4096) -> None:
        self._code: OrderedDict[str, bytes] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get_bucket(
        self, environment: jinja2.Environment, name: str, filename: str | None, source: str
    ) -> jinja2.bccache.Bucket:
        """The bucket of this name and source, wherever the file was read: jinja's own key
        has the file's full path, so a copy of the messages folder (a staff edit's preview,
        a test's copy) compiled every template again. Keyed by the source too, a template's
        versions each keep their code. (A copy's code names the file it was first compiled
        from in a traceback: the same text, the same lines.)"""
        checksum = self.get_source_checksum(source)
        bucket = jinja2.bccache.Bucket(
            environment, self.get_cache_key(f"{name}|{checksum}"), checksum
        )
        self.load_bytecode(bucket)
        return bucket

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
        body = overlay.get((ContentKind.TEMPLATE, template_key(template)))
        if body is None:
            raise jinja2.TemplateNotFound(template)
        # Up to date while this very version is live (a later refresh replaces the mapping).
        return body, None, lambda: self.content.overlay is overlay


def duration_words(minutes: int, minute_words: Sequence[str], hour_words: Sequence[str]) -> str:
    """``120`` as "2 hours", ``60`` as "1 hour", ``30`` as "30 minutes", ``90`` as "90
    minutes" (words for one and for several, in that order)."""
    if minutes >= 60 and minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} {hour_words[0] if hours == 1 else hour_words[1]}"
    return f"{minutes} {minute_words[0] if minutes == 1 else minute_words[1]}"


class Content(ContentFiles):
    def __init__(
        self,
        messages_dir: Path,
        default_language: str = "en",
        *,
        monotonic: Callable[[], float] | None = None,
        limits: RenderLimits = DEFAULT_LIMITS,
    ) -> None:
        super().__init__(messages_dir, default_language, monotonic=monotonic)
        # Compiled label templates by source text (a label without jinja syntax is kept as its
        # finished text): a reminder needs several labels, and compiling or rendering them each
        # time was most of the cost of sending one (bench/throughput.py).
        self._label_templates: dict[str, jinja2.Template | str] = {}
        # (name, lang) -> (file, compiled template, when resolved on the monotonic clock).
        self._templates: dict[tuple[str, str], tuple[str, jinja2.Template, float]] = {}
        # A sandbox with limits (bot/content/sandbox.py): staff-edited templates reach neither
        # Python's internals nor the event loop's time.
        self.limits = limits
        self._html = self._environment(trim_blocks=True)
        self._plain = GuardedEnvironment(
            autoescape=False, undefined=jinja2.StrictUndefined, shown=mark_period
        )
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
            shown=mark_period,
        )
        self._add_filters(env)
        return env

    def _add_filters(self, env: GuardedEnvironment) -> None:
        env.filters["when"] = self._filter("datetime_long")
        env.filters["when_short"] = self._filter("datetime_short")
        env.filters["date"] = self._filter("date")
        env.filters["time"] = self._filter("time")
        env.filters["weekday"] = self._weekday_filter()
        env.filters["duration"] = self._duration_filter()
        env.globals["clinic"] = self.clinic
        env.guard_filters()

    @cached_property
    def _as_written(self) -> GuardedEnvironment:
        """The templates with every line break kept (no trim_blocks): what the validator
        compares a rendering with, to find lines that run into each other."""
        return self._environment(trim_blocks=False)

    def use(self, overlay: Overlay, revision: int) -> None:
        super().use(overlay, revision)
        if self._html.cache is not None:  # a file's template cached before its first version
            self._html.cache.clear()
        self.__dict__.pop("_as_written", None)
        self._templates.clear()

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
            return self._rendered(template, lang, context).strip()
        except jinja2.TemplateError as exc:
            raise ContentError(f"{self.root / template_name}: {exc}") from exc

    def _rendered(self, template: jinja2.Template, lang: str, context: dict[str, Any]) -> str:
        """A template rendered within the limits, a value's final period shared with the
        sentence the template ends after it (bot/content/periods.py)."""
        return settle_periods(render_text(template, self.limits, {"lang": lang, **context}))

    def render_as_written(self, name: str, lang: str, /, **context: Any) -> str:
        """Render a text with every line break of its template kept (see _as_written)."""
        template_name = self.template_name(name, lang)
        try:
            template = self._as_written.get_template(template_name)
            return self._rendered(template, lang, context).strip()
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
            text = self._rendered(template, lang, context)
        except jinja2.TemplateError as exc:
            raise ContentError(f"{self._path(lang, 'buttons.toml')}: {key}: {exc}") from exc
        return text.strip()[:64] or key

    def visit_type_name(self, visit_type: str, lang: str) -> str:
        """A visit type in plain words ("First consultation"): its ``visit_type_<type>`` label."""
        return self.button(f"visit_type_{visit_type}", lang)

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

    def _duration_filter(self) -> Any:
        """A number of minutes in the language's words ("30 minutes", "2 hours", "1 hour")."""

        @jinja2.pass_context
        def _duration(ctx: jinja2.runtime.Context, minutes: int) -> str:
            formats = self.formats(ctx.get("lang", self.default_language))
            return duration_words(int(minutes), formats.minute_words, formats.hour_words)

        return _duration

    def _filter(self, style: str) -> Any:
        @jinja2.pass_context
        def _format(ctx: jinja2.runtime.Context, value: datetime) -> str:
            return self.format_datetime(value, ctx.get("lang", self.default_language), style)

        return _format
