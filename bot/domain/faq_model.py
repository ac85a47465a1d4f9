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
import operator
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

from bot.domain.safety_model import pair_features, word_features

__all__ = ["NEVER", "OFF_TOPIC", "Cuts", "FaqModel", "cue_features", "message_features"]

FORMAT = 1
OFF_TOPIC = "off_topic"
"""The class of messages the clinic has no answer for."""
NEVER = 1.01
"""A cut no probability reaches: there the model is never followed."""
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


def cue_features(found: Sequence[str], unknown: int) -> list[str]:
    """What the keywords saw, as features: each topic a cue of the text points to
    (``k:<topic>``), and how many of its words no list knows (``u:0`` to ``u:3``, and the same
    beside each topic found: "the cost of a new iphone" is not "the cost of a session")."""
    seen = f"u:{min(unknown, 3)}"
    return [seen, *(f"k:{t}" for t in found), *(f"k:{t} {seen}" for t in found)]


@dataclass(frozen=True, slots=True)
class Cuts:
    """When the model's ranking changes the keywords' verdict (probabilities; see
    :func:`bot.domain.faq.weighed`), chosen by the training script out of fold."""

    found: float
    """The least at which it names a topic a cue of the text points to, the keywords unsure."""
    alone: float
    """The least at which it names a topic no cue of the text points to."""
    veto: float
    """The least off-topic probability at which a keywords' answer is withdrawn."""
    overrule: float
    """The least at which it names another topic than the keywords' answer."""


class FaqModel:
    """Per class a bias and per feature a weight (only the non-negligible ones are kept), and
    the :class:`Cuts` at which the matcher follows it."""

    def __init__(
        self,
        classes: Sequence[str],
        bias: Sequence[float],
        weights: Mapping[str, Mapping[int, float]],
        cuts: Cuts,
        cues: Mapping[str, Collection[str]] | None = None,
    ) -> None:
        if len(bias) != len(classes) or len(set(classes)) != len(classes):
            raise ValueError("faq model: one bias per class, classes unique")
        self.cues = {topic: frozenset(said) for topic, said in (cues or {}).items()}
        """Each topic's keywords and hints (folded) when the model was trained: one staff
        added since is answered by the keywords alone (the model never heard of it)."""
        self.classes = tuple(classes)
        self.learned = frozenset(classes)
        self.bias = tuple(bias)
        self.weights = {f: dict(w) for f, w in weights.items()}
        self.cuts = cuts
        self._words: dict[str, tuple[float, ...]] = {}
        self._kept: dict[frozenset[str], tuple[int, ...]] = {}
        """The classes' indices to rank, per set of topics asked about (one per matcher)."""

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
        raw_cuts = data.get("cuts")
        names = [f.name for f in fields(Cuts)]
        if (
            not isinstance(raw_cuts, dict)
            or sorted(raw_cuts) != sorted(names)
            or not all(isinstance(v, int | float) and 0 < v <= NEVER for v in raw_cuts.values())
        ):
            raise ValueError(f"faq model: cuts must give {', '.join(names)}, each in (0, {NEVER}]")
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
        cuts = Cuts(**{k: float(v) for k, v in raw_cuts.items()})
        cues = data.get("cues", {})
        if not isinstance(cues, dict) or not all(
            isinstance(said, list) and all(isinstance(c, str) for c in said)
            for said in cues.values()
        ):
            raise ValueError("faq model: cues must map topics to lists of keywords")
        return cls(classes, [float(b) for b in bias], weights, cuts, cues)

    def to_data(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "classes": list(self.classes),
            "bias": list(self.bias),
            "cuts": asdict(self.cuts),
            "cues": {topic: sorted(said) for topic, said in sorted(self.cues.items())},
            "weights": {
                f: {str(i): w for i, w in sorted(row.items())}
                for f, row in sorted(self.weights.items())
            },
        }

    def _word(self, word: str) -> tuple[float, ...]:
        """A word's features' summed weight for each class, computed once per word."""
        summed = [0.0] * len(self.classes)
        for feature in word_features(word):
            for index, weight in self.weights.get(feature, {}).items():
                summed[index] += weight
        if len(self._words) >= WORD_CACHE:
            self._words.clear()
        found = self._words[word] = tuple(summed)
        return found

    def scores(self, words: Sequence[str], extra: Sequence[str] = ()) -> list[float]:
        """Each class's score before the softmax: each distinct feature counted once
        (``extra``: features of the message besides its words', see :func:`cue_features`)."""
        words = words[:MAX_WORDS]
        totals = list(self.bias)
        for key in extra:
            for index, weight in self.weights.get(key, {}).items():
                totals[index] += weight
        cache = self._words
        for word in dict.fromkeys(words):
            totals = list(map(operator.add, totals, cache.get(word) or self._word(word)))
        pairs = {key for a, b in itertools.pairwise(words) for key in pair_features(a, b)}
        for key in pairs:
            for index, weight in self.weights.get(key, {}).items():
                totals[index] += weight
        return totals

    def ranked(
        self, words: Sequence[str], among: frozenset[str], extra: Sequence[str] = ()
    ) -> list[tuple[str, float]]:
        """The classes among ``among`` (and :data:`OFF_TOPIC`), likeliest first, with their
        probabilities renormalized over those alone."""
        if not words:
            return []
        kept = self._kept.get(among)
        if kept is None:
            if len(self._kept) >= 16:  # each staff edit of faq.toml makes a new set
                self._kept.clear()
            kept = self._kept[among] = tuple(
                i for i, c in enumerate(self.classes) if c in among or c == OFF_TOPIC
            )
        if not kept:
            return []
        scores = self.scores(words, extra)
        top = max(scores[i] for i in kept)
        exp = math.exp
        exps = [(exp(scores[i] - top), i) for i in kept]
        whole = sum(e for e, _ in exps)
        exps.sort(reverse=True)
        classes = self.classes
        return [(classes[i], e / whole) for e, i in exps]
