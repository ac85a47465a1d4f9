"""Matching a patient's free-text question to one of the clinic's FAQ prompts.

Pure: no aiogram, no database. The entries come from ``messages/<lang>/faq.toml``; each has
keywords (single words or phrases) that are normalized with the same
:func:`bot.domain.safety.normalize` as the crisis screen.

Scoring: every keyword found in the text (whole words only) adds to its entry's score. A
single word adds 1 (a plural ending "s"/"es" in the text still counts); a phrase adds twice
its number of words, so "how long is recovery" outweighs the more general "how long". The
highest score wins, ties go to the entry listed first, and no keyword at all gives None.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.domain.safety import normalize

__all__ = ["FaqEntry", "FaqMatcher", "load_faq_entries"]

_KEY_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_TEMPLATE_RE = re.compile(r"^[a-z0-9_]+(?:/[a-z0-9_]+)*$")
MAX_TITLE_LENGTH = 40
PHRASE_WEIGHT_PER_WORD = 2


@dataclass(frozen=True)
class FaqEntry:
    key: str
    title: str
    keywords: tuple[str, ...]
    template: str


def _word_forms(tokens: Iterable[str]) -> set[str]:
    """The words of a message plus their singular guesses ("infusions" -> "infusion")."""
    forms: set[str] = set()
    for token in tokens:
        forms.add(token)
        if len(token) > 3 and token.endswith("s") and not token.endswith("ss"):
            forms.add(token[:-1])
            if token.endswith("es"):
                forms.add(token[:-2])
    return forms


class FaqMatcher:
    """Scores normalized text against each entry's keywords; see the module docstring."""

    def __init__(self, entries: Sequence[FaqEntry]) -> None:
        self._entries: tuple[FaqEntry, ...] = tuple(entries)
        # Per entry: the single words and the phrases (padded with spaces for whole-word
        # containment) together with their weight.
        self._words: list[frozenset[str]] = []
        self._phrases: list[tuple[tuple[str, int], ...]] = []
        for entry in self._entries:
            words: set[str] = set()
            phrases: dict[str, int] = {}
            for keyword in entry.keywords:
                norm = normalize(keyword)
                if not norm:
                    continue
                n_words = norm.count(" ") + 1
                if n_words == 1:
                    words.add(norm)
                else:
                    phrases[f" {norm} "] = PHRASE_WEIGHT_PER_WORD * n_words
            self._words.append(frozenset(words))
            self._phrases.append(tuple(phrases.items()))

    @property
    def entries(self) -> tuple[FaqEntry, ...]:
        return self._entries

    def get(self, key: str) -> FaqEntry | None:
        return next((e for e in self._entries if e.key == key), None)

    def match(self, text: str) -> FaqEntry | None:
        if not text:
            return None
        norm = normalize(text)
        if not norm:
            return None
        padded = f" {norm} "
        forms = _word_forms(norm.split(" "))
        best: FaqEntry | None = None
        best_score = 0
        for entry, words, phrases in zip(self._entries, self._words, self._phrases, strict=True):
            score = len(words & forms)
            score += sum(weight for phrase, weight in phrases if phrase in padded)
            if score > best_score:  # strictly greater: ties keep the earlier entry
                best, best_score = entry, score
        return best


def load_faq_entries(data: Mapping[str, Any]) -> list[FaqEntry]:
    """Validate the parsed ``faq.toml`` structure (``[[prompt]]`` tables) into entries.

    Raises ValueError naming the bad field. Does not check that templates exist on disk.
    """
    prompts = data.get("prompt") if isinstance(data, Mapping) else None
    if not isinstance(prompts, list) or not prompts:
        raise ValueError("faq: 'prompt' must be a non-empty array of tables")
    entries: list[FaqEntry] = []
    seen: set[str] = set()
    for index, raw in enumerate(prompts):
        where = f"prompt[{index}]"
        if not isinstance(raw, Mapping):
            raise ValueError(f"{where} must be a table")
        unknown = set(raw) - {"key", "title", "keywords", "template"}
        if unknown:
            raise ValueError(f"{where}: unknown field(s) {sorted(unknown)}")
        key = raw.get("key")
        if not isinstance(key, str) or not _KEY_RE.match(key):
            raise ValueError(f"{where}.key must be a snake_case string, got {key!r}")
        if key in seen:
            raise ValueError(f"{where}.key {key!r} is used by more than one prompt")
        seen.add(key)
        title = raw.get("title")
        if not isinstance(title, str) or not title.strip():
            raise ValueError(f"{where}.title must be a non-empty string")
        if len(title) > MAX_TITLE_LENGTH:
            raise ValueError(f"{where}.title is longer than {MAX_TITLE_LENGTH} characters")
        keywords = raw.get("keywords")
        if (
            not isinstance(keywords, list)
            or not keywords
            or not all(isinstance(k, str) and normalize(k) for k in keywords)
        ):
            raise ValueError(f"{where}.keywords must be a non-empty array of non-empty strings")
        template = raw.get("template")
        if not isinstance(template, str) or not _TEMPLATE_RE.match(template):
            raise ValueError(
                f"{where}.template must be a relative name like 'faq/{key}', got {template!r}"
            )
        entries.append(FaqEntry(key, title.strip(), tuple(keywords), template))
    return entries
