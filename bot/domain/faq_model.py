"""The FAQ matcher's learned layer: a small linear classifier over a message's words.

The keyword matcher (:mod:`bot.domain.faq`) is the first, explainable line; this layer is
asked when the keywords are weak: it ranks the topics (and "nothing the clinic answers") by a
multinomial logistic regression over the message's words, trained in this repository from the
FAQ corpora by ``scripts/train_faq_model.py`` (reproducible: same corpora, same weights) and
shipped as data (``messages/<lang>/faq_model.json``), one model per language. Nothing is
downloaded.

**Features** are the crisis screen's (:mod:`bot.domain.safety_model`): each word,
its Snowball stems, the letter sequences of 4 and 5 letters inside it (typing slips and
inflections: "infusoin", "recuperarme"), each pair of neighbouring words and the pair of their
stems; each distinct word and each distinct pair counted once.

**Classes** are topic keys (faq.toml prompts and conversation.toml intents) and
:data:`OFF_TOPIC`. Staff edit faq.toml: a class whose topic is gone is left out of the
ranking (the others' probabilities renormalized), and a topic the model was never trained on
is simply not among its classes (its keywords still answer it).

**Cost.** A word's features depend on the word alone, so their summed weights are computed
once per distinct word and kept (:data:`WORD_CACHE`): a message costs one lookup per word and
two per pair of words, plus a softmax over the classes.

This module is pure: no aiogram, no database; it gets the model's data, not a file.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from bot.domain.safety_model import pair_features, word_features

__all__ = ["OFF_TOPIC", "FaqModel", "message_features"]

FORMAT = 1
OFF_TOPIC = "off_topic"
"""The class of messages the clinic has no answer for."""
WORD_CACHE = 20_000
"""Distinct words whose features' weights a model keeps; past that it starts again."""
MAX_WORDS = 40
"""Words of a message the model reads (a question is asked in far fewer)."""


def message_features(words: Sequence[str]) -> list[str]:
    """The features of a message's (folded) words as :meth:`FaqModel.scores` adds them up
    (what training reads): each distinct word's, then each distinct pair's."""
    words = words[:MAX_WORDS]
    found = [f for word in dict.fromkeys(words) for f in word_features(word)]
    found.extend({key: None for a, b in itertools.pairwise(words) for key in pair_features(a, b)})
    return found


class FaqModel:
    """Per class a bias and per feature a weight (only the non-negligible ones are kept);
    ``accept``: the least probability at which the model names a topic on its own (chosen by
    the training script out of fold)."""

    def __init__(
        self,
        classes: Sequence[str],
        bias: Sequence[float],
        weights: Mapping[str, Mapping[int, float]],
        accept: float,
    ) -> None:
        if len(bias) != len(classes) or len(set(classes)) != len(classes):
            raise ValueError("faq model: one bias per class, classes unique")
        self.classes = tuple(classes)
        self.bias = tuple(bias)
        self.weights = {f: dict(w) for f, w in weights.items()}
        self.accept = accept
        self._words: dict[str, tuple[tuple[int, float], ...]] = {}

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> FaqModel:
        """The model from its JSON data; ValueError if it is not one this code reads."""
        if data.get("format") != FORMAT:
            raise ValueError(f"faq model format {data.get('format')!r}, expected {FORMAT}")
        classes, bias = data.get("classes"), data.get("bias")
        if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
            raise ValueError("faq model: classes must be a list of topic keys")
        if not isinstance(bias, list) or not all(isinstance(b, int | float) for b in bias):
            raise ValueError("faq model: bias must be a list of numbers")
        accept = data.get("accept")
        if not isinstance(accept, int | float) or not 0 < accept < 1:
            raise ValueError("faq model: accept must be a number between 0 and 1")
        raw = data.get("weights")
        if not isinstance(raw, dict):
            raise ValueError("faq model: weights must map features to class weights")
        weights: dict[str, dict[int, float]] = {}
        for feature, row in raw.items():
            if not isinstance(row, dict):
                raise ValueError(f"faq model: weights of {feature!r} must map classes to numbers")
            parsed: dict[int, float] = {}
            for index, value in row.items():
                if not str(index).isdigit() or int(index) >= len(classes):
                    raise ValueError(f"faq model: {feature!r} names no class {index!r}")
                if not isinstance(value, int | float):
                    raise ValueError(f"faq model: weights of {feature!r} must be numbers")
                parsed[int(index)] = float(value)
            weights[str(feature)] = parsed
        return cls(classes, [float(b) for b in bias], weights, float(accept))

    def to_data(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "classes": list(self.classes),
            "bias": list(self.bias),
            "accept": self.accept,
            "weights": {
                f: {str(i): w for i, w in sorted(row.items())}
                for f, row in sorted(self.weights.items())
            },
        }

    def _word(self, word: str) -> tuple[tuple[int, float], ...]:
        """A word's features' summed weights per class, computed once per word."""
        summed: dict[int, float] = {}
        for feature in word_features(word):
            for index, weight in self.weights.get(feature, {}).items():
                summed[index] = summed.get(index, 0.0) + weight
        if len(self._words) >= WORD_CACHE:
            self._words.clear()
        found = self._words[word] = tuple(summed.items())
        return found

    def scores(self, words: Sequence[str]) -> list[float]:
        """Each class's score before the softmax: each distinct feature counted once."""
        words = words[:MAX_WORDS]
        totals = list(self.bias)
        cache = self._words
        for word in dict.fromkeys(words):
            for index, weight in cache.get(word) or self._word(word):
                totals[index] += weight
        pairs = {key for a, b in itertools.pairwise(words) for key in pair_features(a, b)}
        for key in pairs:
            for index, weight in self.weights.get(key, {}).items():
                totals[index] += weight
        return totals

    def ranked(self, words: Sequence[str], among: Collection[str]) -> list[tuple[str, float]]:
        """The classes among ``among`` (and :data:`OFF_TOPIC`), likeliest first, with their
        probabilities renormalized over those alone."""
        if not words:
            return []
        kept = [
            (c, s)
            for c, s in zip(self.classes, self.scores(words), strict=True)
            if c in among or c == OFF_TOPIC
        ]
        if not kept:
            return []
        top = max(s for _, s in kept)
        exps = [(c, math.exp(s - top)) for c, s in kept]
        whole = sum(e for _, e in exps)
        return sorted(((c, e / whole) for c, e in exps), key=lambda found: -found[1])
