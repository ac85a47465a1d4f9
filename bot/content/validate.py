"""The one validator for message content.

Used at start-up, by `content check`, and (later) before a staff edit is accepted. It renders
every text with sample values, so an undefined variable, a syntax error, a disallowed tag or an
overlong text is caught before a patient sees it."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path

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
from bot.content.store import Content, ContentError
from bot.content.telegram_html import check_telegram_html
from scheduler.plan import Plan


def _render_problems(
    content: Content,
    lang: str,
    samples: Sequence[Message],
    private: bool = False,
) -> list[str]:
    """Check the template uses only its message's variables, and render each sample (all of one
    template); with `private`, the text may show on a lock screen, so it must not contain the
    clinic's name (if it differs from its discreet name) or a private word."""
    problems: list[str] = []
    clinic = content.clinic
    forbidden = [w.lower() for w in clinic.private_words]
    if clinic.discreet_name != clinic.name:
        forbidden.append(clinic.name.lower())
    name = samples[0].template()
    path = content.root / content.template_name(name, lang)
    try:
        unknown = content.free_variables(name, lang) - samples[0].declared()
    except ContentError as exc:
        return [str(exc)]
    known = ", ".join(sorted(samples[0].declared())) or "none"
    problems.extend(
        f"{path}: unknown variable {variable} (known: {known})" for variable in sorted(unknown)
    )
    for sample in samples:
        try:
            text = content.render_message(sample, lang)
        except ContentError as exc:
            problems.append(str(exc))
            break
        except Exception as exc:  # a staff edit can fail in any way; report, never crash
            problems.append(f"{path}: {type(exc).__name__}: {exc}")
            break
        problems.extend(f"{path}: {p}" for p in check_telegram_html(text))
        if private:
            lowered = text.lower()
            problems.extend(
                f"{path}: reminders show on lock screens; remove '{word}' (see clinic.toml)"
                for word in forbidden
                if word in lowered
            )
    return problems


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


def validate_content(messages_dir: Path, default_language: str = "en") -> list[str]:
    """Every problem found, one line each, naming the file; an empty list means valid."""
    try:
        content = Content(messages_dir, default_language)
        _ = content.crisis_detector
        plan = content.plan
    except ContentError as exc:
        return str(exc).splitlines()  # a data file's problems, one line each
    problems: list[str] = []
    for lang in content.languages:
        try:
            content.format_datetime(SAMPLE_WHEN, lang)
            commands = {c for c, _ in content.commands(lang)}
            staff_commands = {c for c, _ in content.commands(lang, STAFF_COMMANDS)}
            labels = content.buttons(lang)
            faq = content.faq(lang)
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
        for key in labels:
            try:
                content.button(key, lang, when="Thu, Dec 3, 2:30 PM", label="Eye mask")
            except ContentError as exc:
                problems.append(str(exc))
        for message in CATALOGUE.values():
            problems.extend(_render_problems(content, lang, message.samples()))
        for entry in faq.entries:
            problems.extend(
                _render_problems(content, lang, FaqAnswer.samples(template_name=entry.template))
            )
        problems.extend(_plan_problems(content, plan, lang, labels))
    return problems


def _plan_problems(content: Content, plan: Plan, lang: str, labels: dict[str, str]) -> list[str]:
    """Every reminder renders alone and inside the catch-up message; every item has a label."""
    problems = [
        f"{content.root / lang / 'buttons.toml'}: no label 'item_{item}' for checklist item"
        for item in plan.checklist
        if f"item_{item}" not in labels and lang == content.default_language
    ]
    for step in plan.steps:
        samples = ReminderText.samples(template_name=step.template)
        problems.extend(_render_problems(content, lang, samples))
    sections = [content.template_name(step.template, lang) for step in plan.steps]
    catch_up = ReminderText.samples(
        template_name=ReminderText.CATCH_UP, catch_up=True, sections=sections
    )
    problems.extend(_render_problems(content, lang, catch_up, private=True))
    return problems
