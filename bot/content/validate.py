"""The one validator for message content.

Used at start-up, by `content check`, and before a staff edit is accepted (:func:`check_text`
validates one candidate text over the live content, without writing any file). It renders
every text with sample values, so an undefined variable, a syntax error, a disallowed tag or an
overlong text is caught before a patient sees it. Each problem is a :class:`Problem` naming
the file (or stored text) and, where it can be found, the line."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, cast

import jinja2
import jinja2.nodes
from pydantic import ValidationError

from bot.content.catalogue import (
    CATALOGUE,
    SAMPLE_WHEN,
    STAFF_COMMANDS,
    Button,
    ChatCommand,
    FaqAnswer,
    Message,
    ReminderText,
    StaffCommand,
)
from bot.content.loading import (
    CHECKLIST_SAID,
    LEGACY_PLAN_FILE,
    PLANS_DIR,
    VISIT_ASKED,
    WHICH_WEEK,
    load_file,
)
from bot.content.lock_screen import words_shown
from bot.content.schemas import FaqFile, TextTitles
from bot.content.store import Content, ContentError
from bot.content.telegram_html import check_telegram_html
from bot.domain.content_kinds import (
    LEGACY_PLAN_TYPE,
    TEMPLATE_SUFFIX,
    ContentKind,
    button_key,
    faq_key,
)
from bot.domain.faq import FaqEntry
from foundation.data_file import DataFileError, SourceLines, parse_toml, problems_of
from foundation.work_time import work_time
from scheduler.plan import Plan

SAMPLE_LABEL_CONTEXT = {"when": "Thu, Dec 3, 2:30 PM", "label": "Eye mask"}
"""What label templates are rendered with (`{{ when }}`, `{{ label }}`)."""

_TAG_RE = re.compile(r"(?:</?|unclosed tags: )([a-z][a-z-]*)")


@dataclass(frozen=True)
class Problem:
    """One problem of a text: where (a file, or a stored text) and, when known, the line."""

    source: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        return f"{where}: {self.message}"


def _line_of(source: str, pattern: str) -> int | None:
    """The first line (from 1) of `source` where `pattern` (a regex) matches."""
    compiled = re.compile(pattern, re.IGNORECASE)
    return next(
        (n for n, line in enumerate(source.splitlines(), start=1) if compiled.search(line)), None
    )


def _html_line(source: str, problem: str) -> int | None:
    """The line of the tag a Telegram HTML problem names, if the template writes it."""
    tag = _TAG_RE.search(problem)
    return _line_of(source, rf"</?{re.escape(tag.group(1))}\b") if tag else None


CHECK_SECONDS = 1.0
"""How long checking one staff edit may take, every sample of every text it affects, in CPU
time of the checking thread (a busy machine does not make a text too slow): a text that takes
longer is refused (each render has its own limits, bot/content/sandbox.py)."""


def samples_of(content: Content, lang: str, name: str) -> tuple[list[Message], bool] | None:
    """The sample messages a template is rendered with (edge cases included), and whether it
    shows on a lock screen (sent unprompted); None for a name the bot does not render."""
    if name in CATALOGUE:
        message = CATALOGUE[name]
        return list(message.samples(edges=True)), message.UNSOLICITED
    steps = content.step_templates()
    if name == ReminderText.CATCH_UP:
        samples: list[Message] = []
        for plan in content.plans.values():  # each type's steps together, as they go out
            sections = [content.template_name(step.template, lang) for step in plan.steps]
            samples += ReminderText.samples(
                template_name=name, catch_up=True, sections=sections, edges=True
            )
        return samples, True
    if name in steps:
        return list(ReminderText.samples(template_name=name, edges=True)), True
    if any(entry.template == name for entry in content.faq(lang).entries):
        return list(FaqAnswer.samples(template_name=name)), False
    return None


class _TooSlow(Exception):
    """Checking took longer than CHECK_SECONDS."""


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _run_together(content: Content, sample: Message, lang: str, text: str) -> str | None:
    """Two lines of the template that a block tag at the end of a line joined into one
    (``…{% endif %}`` followed by a new line: jinja's trim_blocks drops that line break)."""
    written = _lines(content.render_as_written(sample.template(), lang, **sample.variables()))
    shown = _lines(text)
    if shown == written:
        return None
    for index, line in enumerate(shown):
        expected = written[index] if index < len(written) else ""
        if line != expected and expected and line.startswith(expected):
            rest = line[len(expected) :].strip()
            return (
                f"“…{expected[-30:]}” and “{rest[:30]}…” run together on one line: put the "
                "{% endif %} or {% endfor %} before them on a line of its own"
            )
    return None


def _render_problems(
    content: Content,
    lang: str,
    samples: Sequence[Message],
    private: bool = False,
    *,
    deadline: float | None = None,
) -> list[Problem]:
    """Check the template uses only its message's variables, and render each sample (all of one
    template): Telegram's HTML rules and length, lines that run together and, with `private`
    (the text shows on a lock screen), the lock-screen rule: neither the clinic's name (if it
    differs from its discreet name) nor a private word in what the patient would read.
    `deadline` (work_time: CPU time without garbage collections): raise _TooSlow past it."""
    problems: list[Problem] = []
    clinic = content.clinic
    forbidden = list(clinic.private_words)
    if clinic.discreet_name != clinic.name:
        forbidden.append(clinic.name)
    name = samples[0].template()
    path = str(content.root / content.template_name(name, lang))
    try:
        source = content.source(name, lang)
        unknown = content.free_variables(name, lang) - samples[0].declared()
    except ContentError as exc:
        cause = exc.__cause__
        line = cause.lineno if isinstance(cause, jinja2.TemplateSyntaxError) else None
        return [Problem(path, line, str(exc).removeprefix(f"{path}: "))]
    known = ", ".join(sorted(samples[0].declared())) or "none"
    problems.extend(
        Problem(
            path,
            _line_of(source, rf"\b{re.escape(variable)}\b"),
            f"unknown variable {variable} (known: {known})",
        )
        for variable in sorted(unknown)
    )
    if unknown:
        return problems  # rendering would only say again that they are undefined
    problems.extend(_code_problems(type(samples[0]), source, path))
    joined_found = False
    for sample in samples:
        if deadline is not None and work_time() > deadline:
            raise _TooSlow()
        try:
            text = content.render_message(sample, lang)
            joined = None if joined_found else _run_together(content, sample, lang, text)
        except ContentError as exc:
            problems.append(Problem(path, None, str(exc).removeprefix(f"{path}: ")))
            break
        except Exception as exc:  # a staff edit can fail in any way; report, never crash
            problems.append(Problem(path, None, f"{type(exc).__name__}: {exc}"))
            break
        if joined is not None:
            joined_found = True
            problems.append(Problem(path, None, joined))
        problems.extend(Problem(path, _html_line(source, p), p) for p in check_telegram_html(text))
        if private:
            problems.extend(
                Problem(
                    path,
                    _line_of(source, re.escape(word)),
                    f"this text shows on lock screens; remove '{word.lower()}' (see clinic.toml)",
                )
                for word in words_shown(text, forbidden)
            )
    return list(dict.fromkeys(problems))  # every sample may find the same problem


_PARSER = jinja2.Environment()
"""Reads a template's syntax only (the content's own environment compiles and renders)."""


def _code_problems(message: type[Message], source: str, path: str) -> list[Problem]:
    """A refusal's template says something of its own for every code of its enums (a field
    made with ``catalogue.codes``): each code is named in a comparison (``code == "past"``,
    ``code in ("a", "b")``), and no name is one the enums do not have. So a new code cannot
    fall silently into another's explanation, or an ``{% else %}``."""
    fields = [f for f in dataclasses.fields(cast(Any, message)) if "codes" in f.metadata]
    if not fields:
        return []
    try:
        parsed = _PARSER.parse(source)
    except jinja2.TemplateError:
        return []  # reported as the template's syntax error
    problems = []
    for f in fields:
        named = _compared_with(parsed, f.name)
        enums: tuple[type[StrEnum], ...] = f.metadata["codes"]
        for enum in enums:
            missing = [member.value for member in enum if member.value not in named]
            if missing:
                problems.append(
                    Problem(
                        path,
                        None,
                        f"no branch for {f.name} {', '.join(missing)} ({enum.__name__}): "
                        f'each needs its own words, e.g. {{% elif {f.name} == "{missing[0]}" %}}',
                    )
                )
        known = {member.value for enum in enums for member in enum}
        problems.extend(
            Problem(path, _line_of(source, re.escape(f'"{value}"')), f"no {f.name} {value!r}")
            for value in sorted(named - known)
        )
    return problems


def _compared_with(parsed: jinja2.nodes.Template, name: str) -> set[str]:
    """The strings the variable `name` is compared with (``==`` or ``in``)."""
    found: set[str] = set()
    for compare in parsed.find_all(jinja2.nodes.Compare):
        if not (isinstance(compare.expr, jinja2.nodes.Name) and compare.expr.name == name):
            continue
        for operand in compare.ops:
            if operand.op not in ("eq", "in"):
                continue
            expr = operand.expr
            values = [expr] if isinstance(expr, jinja2.nodes.Const) else getattr(expr, "items", [])
            found |= {
                v.value
                for v in values
                if isinstance(v, jinja2.nodes.Const) and isinstance(v.value, str)
            }
    return found


def check_text(content: Content, kind: ContentKind, key: str, body: str) -> list[Problem]:
    """Every problem of `body` as the new live version of a text (a template `en/welcome`,
    a button label `en/buttons:menu_faq`), checked over the live content as the bot would use
    it, in every language the change affects (a language whose text falls back to this one,
    a catch-up message that includes it, a text that includes it by name); no file is
    written. Taking longer than CHECK_SECONDS is a problem too. An empty list means it may be
    saved."""
    if kind == ContentKind.BUTTON:
        return _label_problems(content, key, body)
    lang, _, name = key.partition("/")
    # Everything below reads the candidate only: a check may run in a worker thread while
    # the live content is refreshed in the event loop's.
    candidate = content.overlaid({(ContentKind.TEMPLATE, key): body})
    if kind != ContentKind.TEMPLATE or lang not in candidate.languages:
        return [Problem(key, None, "not a text the bot uses")]
    found = samples_of(candidate, lang, name)
    if found is None:
        return [Problem(key, None, "not a text the bot uses")]
    deadline = work_time() + CHECK_SECONDS
    try:
        for other_lang, samples, private in _affected(candidate, lang, name, found):
            problems = _render_problems(candidate, other_lang, samples, private, deadline=deadline)
            if problems:
                return problems
    except _TooSlow:
        return [Problem(key, None, f"takes too long to check (over {CHECK_SECONDS:g} s)")]
    return []


def _affected(
    content: Content, lang: str, name: str, found: tuple[list[Message], bool]
) -> Iterator[tuple[str, Sequence[Message], bool]]:
    """What rendering the edited text `lang/name` changes: the text itself, then the same
    text in other languages that fall back to it, every catch-up message (it includes the
    reminders), an error message that quotes a FAQ answer, and any text that names it."""
    samples, private = found
    yield lang, samples, private
    edited = f"{lang}/{name}{TEMPLATE_SUFFIX}"
    for other in content.languages:
        if other != lang and content.template_name(name, other) == edited:
            yield other, samples, private
    is_step = name in content.step_templates()
    for other in content.languages:
        if is_step:
            catch_up = samples_of(content, other, ReminderText.CATCH_UP)
            assert catch_up is not None
            yield other, catch_up[0], True
        for text in CATALOGUE:
            if text != name and edited in content.source(text, other):
                found_text = samples_of(content, other, text)
                if found_text is not None:
                    yield other, found_text[0], found_text[1]


_PROMPT_FIELD_RE = re.compile(r"prompt\[(\d+)\]\.?(.*)")


def check_faq(content: Content, lang: str, body: str) -> list[Problem]:
    """Every problem of `body` as the new live faq.toml of `lang`: the one FAQ validation
    (FaqFile: limits, unique keys, keyword rules), then every answer it names must render,
    over the live content (a new answer's template given in it as a stored version). A
    problem names the question by its key; an empty list means it may be saved."""
    source = f"{faq_key(lang)}.toml"
    if lang not in content.languages:
        return [Problem(source, None, "not a language of the bot")]
    try:
        data = parse_toml(body, source)
    except DataFileError as exc:
        return [Problem(source, exc.line, f"{exc.field}: {exc.message}")]
    try:
        faq = FaqFile.model_validate(data)
    except ValidationError as exc:
        found = problems_of(exc, FaqFile, source, SourceLines(body))
        prompts = data.get("prompt")
        return [
            Problem(source, None, _about_question(p, prompts if isinstance(prompts, list) else []))
            for p in found
        ]
    candidate = content.overlaid({(ContentKind.FAQ, faq_key(lang)): body})
    return _answer_problems(candidate, lang, faq.prompt)


def _about_question(problem: DataFileError, prompts: list[object]) -> str:
    """``question 'parking': title: ...`` for a problem of ``prompt[12].title``."""
    match = _PROMPT_FIELD_RE.fullmatch(problem.field)
    if problem.field == "prompt":
        return f"questions: {problem.message}"
    if match is None:
        return f"{problem.field}: {problem.message}"
    index, rest = int(match.group(1)) - 1, match.group(2)
    prompt = prompts[index] if 0 <= index < len(prompts) else None
    key = prompt.get("key") if isinstance(prompt, dict) else None
    name = f"question {key!r}" if isinstance(key, str) else f"question {index + 1}"
    return f"{name}: {rest}: {problem.message}" if rest else f"{name}: {problem.message}"


def _answer_problems(content: Content, lang: str, entries: Sequence[FaqEntry]) -> list[Problem]:
    """Every FAQ answer renders (an answer has no variables)."""
    found: list[Problem] = []
    for entry in entries:
        found.extend(
            _render_problems(content, lang, FaqAnswer.samples(template_name=entry.template))
        )
    return found


def _command_problems(
    content: Content, lang: str, file: str, published: set[str], handled: type[StrEnum]
) -> list[str]:
    """The commands of `file` against those the code answers (`handled`)."""
    problems: list[str] = []
    missing = [str(c) for c in handled if c not in published]
    if missing:
        problems.append(f"{content.root / lang / file}: missing commands {missing}")
    unknown = sorted(published - {str(c) for c in handled})
    if unknown:
        problems.append(f"{content.root / lang / file}: no handler for commands {unknown}")
    return problems


def _label_problems(content: Content, key: str, label: str) -> list[Problem]:
    lang, _, name = key.partition("/buttons:")
    source = str(content.root / lang / "buttons.toml")
    # See check_text.
    candidate = content.overlaid({(ContentKind.BUTTON, button_key(lang, name)): label})
    if lang not in candidate.languages or name not in candidate.buttons(lang):
        return [Problem(key, None, "not a button the bot shows")]
    if not 1 <= len(label.strip()) <= 64:
        return [Problem(source, None, f"{name}: a label has 1 to 64 characters, not {len(label)}")]
    try:
        candidate.button(name, lang, **SAMPLE_LABEL_CONTEXT)
    except ContentError as exc:
        return [Problem(source, None, str(exc).removeprefix(f"{source}: "))]
    return []


LANGUAGE_FILES = (
    "buttons.toml",
    "commands.toml",
    STAFF_COMMANDS,
    "formats.toml",
    "faq.toml",
    "texts.toml",
    "conversation.toml",
    CHECKLIST_SAID,
    WHICH_WEEK,
    VISIT_ASKED,
)
"""The data files every language folder ships (safety.toml adds to the crisis screen and is
not required: the screen reads every language's lexicon for every message)."""


def _missing_texts(content: Content, lang: str, labels: dict[str, str]) -> list[str]:
    """What the default language has and `lang`'s folder lacks (a patient would meet it in
    the default language): every template, data file, button label, command and question."""
    default, folder = content.default_language, content.root / lang
    base = content.root / default
    faq = content.faq(lang)
    # The answers of questions this language borrows from the default one go with them.
    borrowed = {f"{e.template}{TEMPLATE_SUFFIX}" for e in faq.entries if e.key in faq.borrowed}
    problems = [
        f"{folder / path.relative_to(base)}: missing (falls back to {default})"
        for path in sorted(base.rglob(f"*{TEMPLATE_SUFFIX}"))
        if not (folder / path.relative_to(base)).exists()
        and path.relative_to(base).as_posix() not in borrowed
    ]
    problems.extend(
        f"{folder / file}: missing (falls back to {default})"
        for file in LANGUAGE_FILES
        if not (folder / file).exists()
    )
    if problems:
        return problems  # a missing file's keys would only be listed again
    missing = [k for k in content.buttons(default) if k not in labels]
    if missing:
        problems.append(f"{folder / 'buttons.toml'}: missing labels {missing}")
    problems.extend(_title_problems(content, lang))
    for file in ("commands.toml", STAFF_COMMANDS):
        have = {c for c, _ in content.commands(lang, file)}
        lacking = [c for c, _ in content.commands(default, file) if c not in have]
        if lacking:
            problems.append(f"{folder / file}: missing commands {lacking}")
    return problems


def _title_problems(content: Content, lang: str) -> list[str]:
    """Every text and button the team may edit has a title and a line in texts.toml (the
    default language: all of them; another: the same keys, or they fall back)."""
    own = load_file(TextTitles, content.root / lang / "texts.toml")
    where = content.root / lang / "texts.toml"
    if lang == content.default_language:
        texts = {*CATALOGUE, ReminderText.CATCH_UP, *content.step_templates()}
        buttons = {str(b) for b in Button} | set(content.buttons(lang))
    else:
        base = load_file(TextTitles, content.root / content.default_language / "texts.toml")
        texts, buttons = set(base.text), set(base.button)
    problems = []
    lacking = sorted(texts - set(own.text))
    if lacking:
        problems.append(f"{where}: no title for texts {lacking}")
    lacking = sorted(buttons - set(own.button))
    if lacking:
        problems.append(f"{where}: no line for buttons {lacking}")
    return problems


def validate_content(messages_dir: Path, default_language: str = "en") -> list[str]:
    """Every problem found, one line each, naming the file; an empty list means valid."""
    try:
        content = Content(messages_dir, default_language)
        _ = content.crisis_detector
    except ContentError as exc:
        return str(exc).splitlines()  # a data file's problems, one line each
    plans: dict[str, Plan] = {}
    problems: list[str] = []
    for kind in content.visit_types:  # every type's plan file, each problem naming it
        try:
            plans[kind] = content.plan_for(kind)
        except ContentError as exc:
            problems.extend(str(exc).splitlines())
    legacy = content.root / LEGACY_PLAN_FILE
    if legacy.exists() and content.plan_path(LEGACY_PLAN_TYPE) != legacy:
        problems.append(
            f"{legacy}: plan.toml is no longer read: each visit type has its plan in"
            f" {content.root / PLANS_DIR}/<type>.toml (the infusion plan is"
            f" {content.plan_path(LEGACY_PLAN_TYPE)}); move your changes there and remove it"
        )
    if problems:
        return problems
    for lang in content.languages:
        try:
            content.format_datetime(SAMPLE_WHEN, lang)
            commands = {c for c, _ in content.commands(lang)}
            staff_commands = {c for c, _ in content.commands(lang, STAFF_COMMANDS)}
            labels = content.buttons(lang)
            faq = content.faq(lang)
            content.faq_model(lang)
            content.titles(lang)
            said = content.checklist_said_file(lang)
            content.which_week_file(lang)
            content.visit_asked_file(lang)
        except (ContentError, KeyError, IndexError, ValueError) as exc:
            problems.extend(str(exc).splitlines())
            continue
        if lang == default_language:
            problems.extend(
                _command_problems(content, lang, "commands.toml", commands, ChatCommand)
            )
            problems.extend(
                _command_problems(content, lang, STAFF_COMMANDS, staff_commands, StaffCommand)
            )
            shared = sorted(commands & staff_commands)
            if shared:
                problems.append(
                    f"{content.root / lang / STAFF_COMMANDS}: also patients' commands {shared}"
                )
            missing = [str(k) for k in Button if k not in labels]
            if missing:
                problems.append(f"{content.root / lang / 'buttons.toml'}: missing labels {missing}")
            problems.extend(_title_problems(content, lang))
        else:
            problems.extend(_missing_texts(content, lang, labels))
        for key in labels:
            try:
                content.button(key, lang, **SAMPLE_LABEL_CONTEXT)
            except ContentError as exc:
                problems.append(str(exc))
        found: list[Problem] = []
        for message in CATALOGUE.values():
            samples = message.samples(edges=True)
            found.extend(_render_problems(content, lang, samples, message.UNSOLICITED))
        found.extend(_answer_problems(content, lang, faq.entries))
        problems.extend(str(p) for p in found)
        for kind_name, kind_plan in plans.items():
            problems.extend(_plan_problems(content, kind_name, kind_plan, lang, labels))
        problems.extend(_said_problems(content, lang, said.said, plans.values()))
    return problems


def _said_problems(
    content: Content, lang: str, said: Mapping[str, object], plans: Iterable[Plan]
) -> list[str]:
    """Every item of checklist_said.toml is an item of some plan's checklist (a key no plan
    has is a slip: its phrases would never tick anything). A plan's item without phrases is
    fine: nothing is read for it."""
    path = content.root / lang / CHECKLIST_SAID
    if not path.exists():
        return []  # the default language's is read, and checked there
    items = {item for plan in plans for item in plan.checklist}
    source = path.read_text(encoding="utf-8")
    return [
        str(
            Problem(
                str(path),
                _line_of(source, rf"^\s*{re.escape(key)}\s*="),
                f"said.{key}: no plan has the checklist item {key!r} (plans/*.toml checklist)",
            )
        )
        for key in said
        if key not in items
    ]


def _plan_problems(
    content: Content, kind: str, plan: Plan, lang: str, labels: dict[str, str]
) -> list[str]:
    """Every reminder of a visit type's plan renders alone and inside the catch-up message
    (with that plan's steps); every item has a label; the type has a name."""
    where = content.root / lang / "buttons.toml"
    problems = [
        f"{where}: no label 'item_{item}' for checklist item of {content.plan_path(kind).name}"
        for item in plan.checklist
        if f"item_{item}" not in labels and lang == content.default_language
    ]
    if f"visit_type_{kind}" not in labels and lang == content.default_language:
        problems.append(f"{where}: no label 'visit_type_{kind}' (the name of the visit type)")
    found: list[Problem] = []
    for step in plan.steps:
        samples = ReminderText.samples(template_name=step.template, edges=True)
        found.extend(_render_problems(content, lang, samples, private=True))
    sections = [content.template_name(step.template, lang) for step in plan.steps]
    catch_up = ReminderText.samples(
        template_name=ReminderText.CATCH_UP, catch_up=True, sections=sections, edges=True
    )
    found.extend(_render_problems(content, lang, catch_up, private=True))
    return problems + [str(p) for p in found]
