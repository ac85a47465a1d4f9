"""What the team calls the texts: a title and a line saying where each shows (texts.toml, in
the member's own language), found by words, ordered as a front desk looks for them, and the
values a text may use explained with how they read.

A text named by code has its entry in texts.toml; a reminder step added in /plan, a FAQ
answer and a button are named by the file's patterns ("Reminder: water", "Answer: Where do I
park?", "Button “Done ✅”"). Plain functions over the live content, no aiogram.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.content.catalogue import Button, Message
from bot.content.store import Content
from bot.content.validate import SAMPLE_LABEL_CONTEXT, samples_of
from bot.domain.content_kinds import ContentKind
from bot.services.content_editing import TextRef

__all__ = ["TextName", "explain_variables", "language_name", "name_of", "ordered", "search"]


@dataclass(frozen=True, slots=True)
class TextName:
    title: str
    about: str = ""


def language_name(content: Content, lang: str) -> str:
    """A language as its own speakers name it (its ``language_name`` label)."""
    return content.button(Button.LANGUAGE_NAME, lang)


def name_of(content: Content, ref: TextRef, ui_lang: str) -> TextName:
    """The title and description of a text, in `ui_lang` (the member's language)."""
    titles = content.titles(ui_lang)
    if ref.kind is ContentKind.BUTTON:
        label = content.button(ref.name, ref.lang, **SAMPLE_LABEL_CONTEXT)
        title = titles.pattern.button.format(label=label)
        return TextName(title[:64], titles.button.get(ref.name, ""))
    if ref.kind is ContentKind.FAQ:
        label = content.button(Button.STAFF_FAQ_QUESTIONS, ui_lang, label=ref.lang)
        return TextName(label)
    entry = titles.text.get(ref.name)
    if entry is not None:
        return TextName(entry.title, entry.about)
    found = content.step_templates().get(ref.name)
    if found is not None:
        return TextName(titles.pattern.step.format(key=found[1].key)[:64])
    question = next((e for e in content.faq(ref.lang).entries if e.template == ref.name), None)
    if question is not None:
        return TextName(titles.pattern.answer.format(question=question.title)[:64])
    return TextName(ref.name)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


def search(content: Content, refs: Iterable[TextRef], words: str, ui_lang: str) -> list[TextRef]:
    """The texts whose title, description or name holds every one of `words` (case and
    accents ignored), titles read in `ui_lang`."""
    wanted = _fold(words).split()
    if not wanted:
        return []
    found = []
    for ref in refs:
        name = name_of(content, ref, ui_lang)
        # A button is searched by its own words: a label with a value in it ("Remove
        # {{ label }}") is titled with a sample value ("Eye mask"), which is no word of it.
        shown = (
            content.buttons(ref.lang).get(ref.name, name.title)
            if ref.kind is ContentKind.BUTTON
            else name.title
        )
        haystack = _fold(f"{shown} {name.about} {ref.name.replace('_', ' ')}")
        if all(word in haystack for word in wanted):
            found.append(ref)
    return found


def ordered(content: Content, refs: Sequence[TextRef], ui_lang: str) -> list[TextRef]:
    """Reminders in the order they go out, then the rest by title."""
    steps = {name: index for index, name in enumerate(content.step_templates())}
    return sorted(
        refs,
        key=lambda r: (
            r.kind is not ContentKind.TEMPLATE or r.name not in steps,
            steps.get(r.name, 0),
            _fold(name_of(content, r, ui_lang).title),
        ),
    )


def explain_variables(content: Content, ref: TextRef, ui_lang: str) -> list[dict[str, str]]:
    """The values a template may use: each its `name`, what it means in `ui_lang` (`about`)
    and how its sample reads in the preview (`sample`)."""
    if ref.kind is not ContentKind.TEMPLATE:
        return []
    found = samples_of(content, ref.lang, ref.name)
    if found is None:
        return []
    first: Message = found[0][0]
    values = first.variables()
    titles = content.titles(ui_lang)
    return [
        {
            "name": name,
            "about": titles.variable.get(name, ""),
            "sample": _sample_text(content, values[name], ref.lang),
        }
        for name in sorted(first.declared())
        if name != "sections"
    ]


def _sample_text(content: Content, value: object, lang: str) -> str:
    if isinstance(value, datetime):
        return content.format_datetime(value, lang)
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, str | int):
        return str(value)[:80]
    if isinstance(value, Sequence):
        parts = [
            str(item.get("label", "")) if isinstance(item, Mapping) else str(item)
            for item in value[:3]
        ]
        return ", ".join(p for p in parts if p)[:80]
    return ""
