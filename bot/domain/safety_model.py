"""The crisis screen's learned second layer: a small linear classifier over words.

The lexicon is the first, explainable line; this layer reads what no phrase matched. It is a
logistic regression over the normalized message (the same text the lexicon reads), trained in
this repository from the crisis corpora by ``scripts/train_safety_model.py`` (reproducible:
same corpora, same weights) and shipped as data (``messages/safety_model.json``). Nothing is
downloaded.

**Features.** Each word, and what a word says beyond its spelling: its Snowball stems
(Spanish and English: "matándome", "matarme" and "mataré" share "mat"), and the letter
sequences of 4 and 5 letters inside it, its edges marked ("<mata", "arme>"), which carry Spanish
morphology and typing slips ("suicidarme", "suisidarme"). Then each pair of neighbouring
words, and the pair of their Spanish stems ("quier mor" for "quiero morirme", "quería
morir"...), and each pair of Spanish stems one or two words apart (``s:``: "quiero ya
morirme", "want to just die": a pair with an adverb, a pronoun or a negation between). A
feature's kind is its prefix (``es:``, ``en:``, ``c:``, ``s:``; a normalized word has no
colon, so none is mistaken for a word); a word and a pair are written as they are.

**Cost.** A word's features depend on the word alone, so their summed weight (and its stem,
for the pairs) is computed once per distinct word and kept (:class:`CrisisModel` holds up to
:data:`WORD_CACHE` words): an ordinary message costs a dictionary lookup per word, two per
pair of words and one per skip pair, like the single-word model before it.

A long message is read in windows of :data:`WINDOW` words (half overlapping), and the highest
window counts, so a crisis sentence inside a long ordinary message is not diluted by the rest.
The thresholds, one per language the message is written in and a default for a message whose
language is not told, are set by the training script from scores out of fold: each corpus by
an independent writer scored by a model that had not read it (see
scripts/train_safety_model.py). The language is told by the detector (its lexicons' common
words), and only asked for when a score reaches the lowest threshold.

This module is pure: no aiogram, no database; it gets the model's data, not a file.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import snowballstemmer

__all__ = [
    "SKIP",
    "WINDOW",
    "CrisisModel",
    "features",
    "pair_features",
    "skip_features",
    "windows",
    "word_features",
]

WINDOW = 24
"""Words per window of a long message."""
FORMAT = 3
FORMATS = (2, 3)
"""Format 3 added thresholds per language; a format-2 model has one threshold."""
GRAMS = (4, 5)
"""The lengths of the letter sequences read inside a word."""
MIN_GRAM_WORD = 3
"""A shorter word gives no letter sequences and no stems (it is its own feature)."""
SKIP = 3
"""The farthest apart (in words) two stems of a skip pair are: 3 is one or two words between;
below 2, none."""
WORD_CACHE = 50_000
"""Distinct words whose features' weight a model keeps; past that it starts again."""

_ES = snowballstemmer.stemmer("spanish")
_EN = snowballstemmer.stemmer("english")


@functools.lru_cache(maxsize=WORD_CACHE)
def stem_es(word: str) -> str:
    """The Spanish Snowball stem (what the word pairs are also read as)."""
    if len(word) < MIN_GRAM_WORD:
        return word
    return str(_ES.stemWord(word))


@functools.lru_cache(maxsize=WORD_CACHE)
def stem_en(word: str) -> str:
    return str(_EN.stemWord(word))


def word_features(word: str) -> list[str]:
    """The features one word gives, whatever its neighbours: itself, its stems, its letter
    sequences."""
    found = [word]
    if len(word) < MIN_GRAM_WORD or not word.isalpha():
        return found
    es = stem_es(word)
    en = stem_en(word)
    found.append(f"es:{es}")
    found.append(f"en:{en}")
    padded = f"<{word}>"
    for n in GRAMS:
        found.extend(f"c:{padded[i : i + n]}" for i in range(len(padded) - n + 1))
    return found


def pair_features(a: str, b: str) -> list[str]:
    """The features of two neighbouring words: the pair, and the pair of their stems."""
    return [f"{a} {b}", f"es:{stem_es(a)} {stem_es(b)}"]


def features(words: Sequence[str], skip: int = SKIP) -> Iterator[str]:
    """The features of one window: each word's, then each pair's, then each pair of Spanish
    stems one to ``skip - 1`` words apart (:func:`skip_features`)."""
    for word in words:
        yield from word_features(word)
    for a, b in itertools.pairwise(words):
        yield from pair_features(a, b)
    yield from skip_features(words, skip)


def skip_features(words: Sequence[str], skip: int = SKIP) -> Iterator[str]:
    """Pairs of Spanish stems with one to ``skip - 1`` words between them ("s:quier mor" for
    "quiero ya morirme", "s:want die" for "want to just die"): what a word pair says, with an
    adverb, a pronoun or a negation in between."""
    stems = [stem_es(word) for word in words]
    for j in range(2, len(stems)):
        for d in range(2, min(skip, j) + 1):
            yield f"s:{stems[j - d]} {stems[j]}"


def windows(plain: str) -> Iterator[list[str]]:
    """The windows of a normalized message: all of it if short, else half-overlapping."""
    words = plain.split(" ")
    if len(words) <= WINDOW:
        yield words
        return
    step = WINDOW // 2
    for start in range(0, len(words) - step, step):
        yield words[start : start + WINDOW]


class CrisisModel:
    """Weights per feature, a bias and the threshold above which a message is flagged: one per
    language the message is written in (``thresholds``), and ``threshold`` when the language
    is not told (no common words, or two languages mixed)."""

    def __init__(
        self,
        weights: Mapping[str, float],
        bias: float,
        threshold: float,
        thresholds: Mapping[str, float] | None = None,
        skip: int = SKIP,
    ) -> None:
        self.weights = dict(weights)
        self.skip = skip
        self.bias = bias
        self.threshold = threshold
        self.thresholds = dict(thresholds or {})
        # Logits of the thresholds: scores are compared before the sigmoid.
        self._cut = _logit(threshold)
        self._cuts = {lang: _logit(t) for lang, t in self.thresholds.items()}
        self.lowest_cut = min([self._cut, *self._cuts.values()])
        """Below this logit no language's threshold is reached (the language need not be
        told)."""
        self._words: dict[str, tuple[float, str, str, str, str]] = {}

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> CrisisModel:
        """The model from its JSON data; ValueError if it is not one this code reads."""
        if data.get("format") not in FORMATS:
            raise ValueError(f"crisis model format {data.get('format')!r}, expected {FORMAT}")
        weights = data.get("weights")
        if not isinstance(weights, dict) or not all(
            isinstance(k, str) and isinstance(v, int | float) for k, v in weights.items()
        ):
            raise ValueError("crisis model: weights must map features to numbers")
        bias, threshold = data.get("bias"), data.get("threshold")
        if not isinstance(bias, int | float) or not isinstance(threshold, int | float):
            raise ValueError("crisis model: bias and threshold must be numbers")
        thresholds = data.get("thresholds", {})
        if not isinstance(thresholds, dict) or not all(
            isinstance(k, str) and isinstance(v, int | float) for k, v in thresholds.items()
        ):
            raise ValueError("crisis model: thresholds must map languages to numbers")
        if not all(0 < t < 1 for t in [threshold, *thresholds.values()]):
            raise ValueError("crisis model: threshold must be between 0 and 1")
        skip = data.get("skip", 0)
        if not isinstance(skip, int) or not 0 <= skip <= WINDOW:
            raise ValueError("crisis model: skip must be a number of words")
        return cls(weights, float(bias), float(threshold), thresholds, skip)

    def to_data(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "bias": self.bias,
            "threshold": self.threshold,
            "thresholds": dict(sorted(self.thresholds.items())),
            "skip": self.skip,
            "weights": dict(sorted(self.weights.items())),
        }

    def cut(self, language: str | None = None) -> float:
        """The logit a message in ``language`` is flagged at (None: the language is not
        told)."""
        if language is None:
            return self._cut
        return self._cuts.get(language, self._cut)

    def _word(self, word: str) -> tuple[float, str, str, str, str]:
        """A word's features' summed weight, the beginnings of the pair keys it starts
        (``"word "``, ``"es:stem "`` and ``"s:stem "``) and its stem, computed once per
        word."""
        weights = self.weights
        total = sum(weights.get(f, 0.0) for f in word_features(word))
        if len(self._words) >= WORD_CACHE:
            self._words.clear()
        stem = stem_es(word)
        known = self._words[word] = (total, f"{word} ", f"es:{stem} ", stem, f"s:{stem} ")
        return known

    def logit(self, plain: str) -> float:
        """The score before the sigmoid of the likeliest window of ``plain``."""
        return max(self._window(window) for window in windows(plain))

    def _window(self, words: Sequence[str]) -> float:
        """A window's score: each distinct feature counted once, as in training (a word said
        twenty times is one word)."""
        get = self.weights.get
        cache = self._words
        total = self.bias
        seen: set[str] = set()
        pair = stem_pair = ""
        skip = self.skip
        before: list[str] = []  # the skip-pair beginnings of the words before
        for word in words:
            known = cache.get(word) or self._word(word)
            if word not in seen:
                seen.add(word)
                total += known[0]
            stem = known[3]
            if pair:
                # The pair of words and the pair of their stems ("es:quier mor").
                for key in (pair + word, stem_pair + stem):
                    if key not in seen:
                        seen.add(key)
                        total += get(key, 0.0)
                # Stems one or more words apart ("s:quier mor" in "quiero ya morirme").
                for start in before[-skip:-1]:
                    key = start + stem
                    if key not in seen:
                        seen.add(key)
                        total += get(key, 0.0)
            _, pair, stem_pair, _, skip_start = known
            if skip >= 2:
                before.append(skip_start)
        return total

    def score(self, plain: str) -> float:
        """The probability the model gives the likeliest window of ``plain``."""
        return 1 / (1 + math.exp(-max(min(self.logit(plain), 50.0), -50.0)))

    def flags(self, plain: str, language: str | None = None) -> bool:
        return bool(plain) and self.logit(plain) >= self.cut(language)


def _logit(probability: float) -> float:
    return math.log(probability / (1 - probability)) if 0 < probability < 1 else 0.0
