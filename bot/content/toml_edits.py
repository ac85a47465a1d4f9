"""Editing TOML text as staff edit content: a label set in buttons.toml, a faq.toml written
from its questions, comments kept (the data files are read by foundation/data_file.py)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Protocol

__all__ = ["Prompt", "faq_text", "toml_string", "with_labels"]


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
