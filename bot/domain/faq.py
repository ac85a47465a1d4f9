"""Matching a patient's free-text question to one of the clinic's FAQ prompts.

Pure: no aiogram, no database. The entries come from ``messages/<lang>/faq.toml``; each has
keywords (single words or phrases) that are normalized with the same
:func:`bot.domain.safety.normalize` as the crisis screen.

Scoring: every keyword found in the text (whole words only) adds to its entry's score. A
single word adds 1 (a plural ending "s"/"es" in the text still counts); a phrase adds twice
its number of words, so "how long is recovery" outweighs the more general "how long". The
highest score wins, ties go to the entry listed first, and no keyword at all gives None.

People type fast: accents are folded on both sides ("recuperacion" is "recuperación"), and a
word of the text that is no keyword word but one typing slip away from one (two for long
words; rapidfuzz's Levenshtein distance) is read as that word first ("how lng is recovery").
Words shorter than three letters are never corrected, and nothing is corrected to a keyword
word shorter than four ("ivy" stays "ivy", not "iv").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Annotated

from pydantic import AfterValidator, ConfigDict, Field
from pydantic.dataclasses import dataclass
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from bot.domain.accents import unaccented
from bot.domain.safety import normalize

__all__ = ["MAX_KEYWORDS", "MAX_KEYWORD_LENGTH", "MAX_TITLE_LENGTH", "FaqEntry", "FaqMatcher"]

MAX_TITLE_LENGTH = 40
PHRASE_WEIGHT_PER_WORD = 2


_CORRECTIONS_KEPT = 4096
MAX_KEYWORDS = 100
MAX_KEYWORD_LENGTH = 80


def _printable(text: str) -> str:
    if any(ord(char) < 32 or ord(char) == 127 for char in text):
        raise ValueError("may not hold line breaks or control characters")
    return text


def _matchable(keyword: str) -> str:
    if not normalize(keyword):
        raise ValueError(f"{keyword!r} has no letters or digits to match")
    return _printable(keyword)


@dataclass(frozen=True, config=ConfigDict(extra="forbid", str_strip_whitespace=True))
class FaqEntry:
    """One prompt of ``faq.toml``: ``key`` is also its button's callback id, ``title`` the
    button's label, ``template`` the answer's text name (``faq/recovery``)."""

    # At most 24 characters: the key rides in button data (64 bytes), as does its answer's
    # name (``faq/<key>``) in the buttons of /texts.
    key: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,23}$")]
    title: Annotated[
        str, Field(min_length=1, max_length=MAX_TITLE_LENGTH), AfterValidator(_printable)
    ]
    keywords: Annotated[
        tuple[
            Annotated[str, Field(max_length=MAX_KEYWORD_LENGTH), AfterValidator(_matchable)], ...
        ],
        Field(min_length=1, max_length=MAX_KEYWORDS),
    ]
    template: Annotated[str, Field(pattern=r"^[a-z0-9_]+(?:/[a-z0-9_]+)*$")]


def _folded(text: str) -> str:
    """`normalize`d, without accents: what both keywords and questions are compared as."""
    return unaccented(normalize(text))


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
                norm = _folded(keyword)
                if not norm:
                    continue
                n_words = norm.count(" ") + 1
                if n_words == 1:
                    words.add(norm)
                else:
                    phrases[f" {norm} "] = PHRASE_WEIGHT_PER_WORD * n_words
            self._words.append(frozenset(words))
            self._phrases.append(tuple(phrases.items()))
        vocabulary = {w for words in self._words for w in words}
        vocabulary |= {w for phrases in self._phrases for p, _ in phrases for w in p.split()}
        self._vocabulary = frozenset(vocabulary)
        # Only words of four letters or more are corrected to: "ivy" stays clear of "iv".
        self._choices = tuple(sorted(w for w in vocabulary if len(w) >= 4))
        self._corrections: dict[str, str] = {}

    @property
    def entries(self) -> tuple[FaqEntry, ...]:
        return self._entries

    def get(self, key: str) -> FaqEntry | None:
        return next((e for e in self._entries if e.key == key), None)

    def match(self, text: str) -> FaqEntry | None:
        if not text:
            return None
        norm = " ".join(self._corrected(_folded(text).split()))
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

    def _corrected(self, tokens: list[str]) -> list[str]:
        """Each token, or the keyword word it is a typing slip away from. Each distinct token
        is looked up once per matcher (a bounded cache: a message repeats its words, and
        patients ask the same questions)."""
        return [self._correct(token) for token in tokens]

    def _correct(self, token: str) -> str:
        if len(token) < 3 or len(token) > 24 or token in self._vocabulary or token.isdigit():
            return token
        cached = self._corrections.get(token)
        if cached is not None:
            return cached
        hit = process.extractOne(
            token,
            self._choices,
            scorer=Levenshtein.distance,
            score_cutoff=1 if len(token) < 7 else 2,
        )
        corrected = str(hit[0]) if hit is not None else token
        if len(self._corrections) >= _CORRECTIONS_KEPT:
            self._corrections.clear()
        self._corrections[token] = corrected
        return corrected
