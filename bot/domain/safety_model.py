"""The crisis screen's learned second layer: a small linear classifier over words.

The lexicon is the first, explainable line; this layer reads what no phrase matched. It is a
logistic regression over the words and word pairs of the normalized message (the same text
the lexicon reads), trained in this repository from the crisis corpora by
``scripts/train_safety_model.py`` (reproducible: same corpora, same weights) and shipped as data
(``messages/safety_model.json``). Nothing is downloaded; scoring is a dictionary lookup per word
and word pair, so its cost follows the length of the message and stays small.

A long message is read in windows of :data:`WINDOW` words (half overlapping), and the highest
window counts, so a crisis sentence inside a long ordinary message is not diluted by the rest.
The threshold is set by the training script so that no ordinary line of the corpora is
flagged, with a margin.

This module is pure: no aiogram, no database; it gets the model's data, not a file.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

__all__ = ["WINDOW", "CrisisModel", "features"]

WINDOW = 24
"""Words per window of a long message."""
FORMAT = 1


def features(words: Sequence[str]) -> Iterator[str]:
    """The features of one window: each word, and each pair of neighbouring words."""
    yield from words
    for a, b in itertools.pairwise(words):
        yield f"{a} {b}"


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
    """Weights per feature, a bias and the threshold above which a message is flagged."""

    def __init__(self, weights: Mapping[str, float], bias: float, threshold: float) -> None:
        self.weights = dict(weights)
        self.bias = bias
        self.threshold = threshold

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> CrisisModel:
        """The model from its JSON data; ValueError if it is not one this code reads."""
        if data.get("format") != FORMAT:
            raise ValueError(f"crisis model format {data.get('format')!r}, expected {FORMAT}")
        weights = data.get("weights")
        if not isinstance(weights, dict) or not all(
            isinstance(k, str) and isinstance(v, int | float) for k, v in weights.items()
        ):
            raise ValueError("crisis model: weights must map features to numbers")
        bias, threshold = data.get("bias"), data.get("threshold")
        if not isinstance(bias, int | float) or not isinstance(threshold, int | float):
            raise ValueError("crisis model: bias and threshold must be numbers")
        if not 0 < threshold < 1:
            raise ValueError("crisis model: threshold must be between 0 and 1")
        return cls(weights, float(bias), float(threshold))

    def to_data(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "bias": self.bias,
            "threshold": self.threshold,
            "weights": dict(sorted(self.weights.items())),
        }

    def score(self, plain: str) -> float:
        """The probability the model gives the likeliest window of ``plain``."""
        weights = self.weights
        best = -math.inf
        for window in windows(plain):
            total = self.bias + sum(weights.get(f, 0.0) for f in features(window))
            best = max(best, total)
        return 1 / (1 + math.exp(-best))

    def flags(self, plain: str) -> bool:
        return bool(plain) and self.score(plain) >= self.threshold
