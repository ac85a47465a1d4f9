"""Train the crisis screen's learned layer (bot/domain/safety_model.py) from the corpora.

    .venv/bin/python scripts/train_safety_model.py      # writes messages/safety_model.json
    .venv/bin/python scripts/train_safety_model.py --out-of-fold        # and its figures
    .venv/bin/python scripts/train_safety_model.py --check safety_dev2  # train without a folder,
                                                                        # score the screen on it

Reproducible: the same corpora give the same weights (a fixed order, no randomness). The
training set is every corpus folder under tests/corpora/safety*/ except the held-out one (never
read) and, with ``--check``, the folder being checked. Crisis lines are the positive class
(past ideation is left out: it gets the gentle answer, from the lexicon), ordinary lines the
negative one; each message is read as the lexicon reads it (the detector's normalized text).

The model is a logistic regression over words and word pairs (L2-regularized, trained by
gradient descent with AdaGrad steps). Its threshold, :data:`THRESHOLD`, was chosen on
out-of-fold scores (5 folds, each line scored by a model trained on the other four, so by a
model that had not seen it); the script prints them again: how many ordinary lines and how
many crisis lines score above it.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.content.store import Content  # noqa: E402
from bot.domain.safety import CrisisDetector  # noqa: E402
from bot.domain.safety_model import CrisisModel, features, windows  # noqa: E402
from tests import safety_corpora  # noqa: E402

OUT = ROOT / "messages" / "safety_model.json"
HELD_OUT = "safety_heldout"
EPOCHS = 30
L2 = 1e-3
RATE = 0.5
FOLDS = 5
THRESHOLD = 0.98
"""Out of fold on the dev corpora (2026-12): 7 of 1,833 ordinary lines score above it, and
837 of 1,605 crisis lines (most of them also caught by the lexicon)."""
MIN_COUNT = 2
"""A feature seen in fewer training messages is left out (it would only learn one line)."""


Example = tuple[list[str], int]


def examples(detector: CrisisDetector, folders: Sequence[str]) -> list[Example]:
    found: list[Example] = []
    for folder in folders:
        for lang in safety_corpora.languages(folder):
            for kind, label in (("crisis", 1), ("ordinary", 0)):
                for line in safety_corpora.read(folder, lang, kind):
                    if kind == "crisis" and line.category == safety_corpora.PAST:
                        continue
                    found.append((_features(detector.plain(line.text)), label))
    return found


def _features(plain: str) -> list[str]:
    return sorted({f for window in windows(plain) for f in features(window)})


def train(data: Sequence[Example]) -> CrisisModel:
    counts: dict[str, int] = defaultdict(int)
    for feats, _ in data:
        for f in feats:
            counts[f] += 1
    kept = {f for f, n in counts.items() if n >= MIN_COUNT}
    rows = [([f for f in feats if f in kept], label) for feats, label in data]
    weights: dict[str, float] = defaultdict(float)
    grads: dict[str, float] = defaultdict(lambda: 1e-8)
    bias, bias_grad = 0.0, 1e-8
    for _ in range(EPOCHS):
        for feats, label in rows:
            z = bias + sum(weights[f] for f in feats)
            p = 1 / (1 + math.exp(-max(min(z, 30.0), -30.0)))
            error = p - label
            for f in feats:
                g = error + L2 * weights[f]
                grads[f] += g * g
                weights[f] -= RATE * g / math.sqrt(grads[f])
            bias_grad += error * error
            bias -= RATE * error / math.sqrt(bias_grad)
    trimmed = {f: round(w, 4) for f, w in weights.items() if abs(w) >= 1e-3}
    return CrisisModel(trimmed, round(bias, 4), 0.5)


def out_of_fold(data: Sequence[Example]) -> tuple[int, int, int, int]:
    """(ordinary above the threshold, ordinary, crisis above it, crisis), out of fold."""
    flagged = ordinary = caught = crisis = 0
    for fold in range(FOLDS):
        train_part = [e for i, e in enumerate(data) if i % FOLDS != fold]
        model = train(train_part)
        for feats, label in (e for i, e in enumerate(data) if i % FOLDS == fold):
            above = _score(model, feats) >= THRESHOLD
            if label:
                crisis += 1
                caught += above
            else:
                ordinary += 1
                flagged += above
    return flagged, ordinary, caught, crisis


def _score(model: CrisisModel, feats: Sequence[str]) -> float:
    z = model.bias + sum(model.weights.get(f, 0.0) for f in feats)
    return 1 / (1 + math.exp(-z))


def build(detector: CrisisDetector, folders: Sequence[str]) -> CrisisModel:
    model = train(examples(detector, folders))
    model.threshold = THRESHOLD
    return model


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", help="leave this folder out of training and score on it")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument(
        "--out-of-fold", action="store_true", help="also print the out-of-fold figures"
    )
    parser.add_argument("--flagged", action="store_true", help="with --check: list false alarms")
    args = parser.parse_args(argv)
    content = Content(ROOT / "messages")
    detector = content.crisis_detector_without_model
    folders = [f for f in safety_corpora.folders() if f != HELD_OUT and f != args.check]
    print(f"training on {', '.join(folders)}", file=sys.stderr)
    data = examples(detector, folders)
    model = train(data)
    model.threshold = THRESHOLD
    print(f"{len(model.weights)} weights, threshold {model.threshold}", file=sys.stderr)
    if args.out_of_fold:
        flagged, ordinary, caught, crisis = out_of_fold(data)
        print(
            f"out of fold: {flagged}/{ordinary} ordinary and {caught}/{crisis} crisis lines "
            "at or above the threshold",
            file=sys.stderr,
        )
    if args.check:
        with_model = detector.with_model(model)
        for lang in safety_corpora.languages(args.check):
            for name, check in (("lexicon", detector.check), ("lexicon+model", with_model.check)):
                result = safety_corpora.score(check, args.check, lang)
                print(f"{name:<14} " + next(result.report()))
                if args.flagged and name != "lexicon":
                    print("\n".join(result.flagged))
        return
    args.out.write_text(json.dumps(model.to_data(), indent=0, sort_keys=True) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
