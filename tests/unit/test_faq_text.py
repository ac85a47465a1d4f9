"""faq.toml written anew from its prompts (staff editing the FAQ): what is written reads back
as the same prompts, whatever a title or keyword holds."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from bot.content.loading import load_text
from bot.content.schemas import FaqFile
from bot.content.store import Content
from bot.content.toml_edits import faq_text

MESSAGES = Path(__file__).resolve().parents[2] / "messages"


@dataclass(frozen=True)
class _Prompt:
    key: str
    title: str
    keywords: tuple[str, ...]
    template: str
    hints: tuple[str, ...] = ()


def test_the_shipped_faq_reads_back_the_same_with_its_comments() -> None:
    content = Content(MESSAGES)
    source = content.faq_source("en")
    written = faq_text(source, content.faq("en").entries)
    assert load_text(FaqFile, written, "x").prompt == content.faq("en").entries
    assert written.startswith(source[: source.index("[[prompt]]")])


@given(st.text(max_size=60), st.lists(st.text(max_size=30), max_size=5))
def test_any_text_survives_as_toml(title: str, keywords: list[str]) -> None:
    written = faq_text("", [_Prompt("a", title, tuple(keywords), "faq/a")])
    [prompt] = tomllib.loads(written)["prompt"]
    assert prompt["title"] == title and prompt["keywords"] == keywords
