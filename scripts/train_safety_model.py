"""Train the crisis screen's learned layer (bot/domain/safety_model.py) from the corpora.

    .venv/bin/python scripts/train_safety_model.py            # writes messages/safety_model.json
    .venv/bin/python scripts/train_safety_model.py --loco     # leave-one-corpus-out figures
    .venv/bin/python scripts/train_safety_model.py --check safety_dev3  # train without a folder,
                                                                        # score the screen on it
    .venv/bin/python scripts/train_safety_model.py --out /tmp/m.json --dump /tmp/oof.tsv
                                                  # and each line's out-of-fold logit

Reproducible: the same corpora give the same weights (a fixed order and a seeded shuffle).
The training set is every corpus folder under tests/corpora/safety*/ (the reviewed one and the
development ones, both languages: one model reads every language, as the lexicon does) except
the held-out one, which is never read, and, with ``--check``, the folder being checked.
Crisis lines are the positive class, ordinary lines the negative one, each class weighted so
that both count alike; each message is read as the lexicon reads it (the detector's
normalized text).

The model is a logistic regression (features in bot/domain/safety_model.py: words, stems,
letter sequences inside words, word pairs), L2-regularized, trained by stochastic gradient
descent with AdaGrad steps. **Its thresholds are chosen out of fold, one per language:** every
line of the folders written by independent writers (:data:`CALIBRATION`) is scored by a model
trained without that folder, and each language's threshold is set :data:`MARGIN` above the
ordinary score of that language that only :data:`ALLOWED` of them pass (the language as the
screen tells it from the message's common words; the default threshold, for a message whose
language is not told, from all of them). A model that never read a writer meets that writer's
ordinary lines as it meets a new patient's: random folds, used before, let a writer's other
lines teach the model that writer's style, which set the threshold too low for a new one.

**Leave one corpus out** (``--loco``): for each corpus folder, a model (and its threshold, by
the same folds) trained on the other folders only, and the screen (lexicon, then that model)
scored on the folder left out, per language: the closest figure to a held-out set there is
(the lexicon itself was written having read the development folders' misses, so it flatters
the lexicon's part). The thresholds of each left-out model are chosen on the calibration
folders it was trained on, never on the folder left out.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.content.store import Content  # noqa: E402
from bot.domain.safety import CrisisDetector, CrisisMatch  # noqa: E402
from bot.domain.safety_model import SKIP, CrisisModel, features, windows  # noqa: E402
from tests import safety_corpora  # noqa: E402

OUT = ROOT / "messages" / "safety_model.json"
HELD_OUT = "heldout"
EPOCHS = 12
AVERAGED = 6
"""The last epochs whose weights are averaged (averaged SGD: the steps' noise evens out, so
fewer weights are set by the last lines seen; 1: the last epoch's weights alone)."""
L2 = 1e-4
RATE = 0.2
MARGIN = 0.25
"""How far above the chosen out-of-fold ordinary score (in logits) the threshold is set."""
ALLOWED = 0.0125
"""The share of ordinary calibration lines (out of fold) a threshold may leave above it.

Round 16 (2026-12-07): 1.25%, for recall. The held-out sets stood at 95.3-96.7% in English and
97.3-97.7% in Spanish (target 97%), with 2 to 6 false alarms each at 0.75%, most of them the
lexicon's: no operating point gives none (issue 16's closing note). Measured on the writers no
model and no lexicon rule had read (dev77-dev80, figures only) with round 15's screen and the
model of 0.75%, each language's threshold set where 0.75%, 1%, 1.25% and 1.5% of the
out-of-fold ordinary lines put it (en 4.31, 3.39, 2.74, 2.29; es 3.97, 3.21, 2.62, 2.12):
English recall 93.0%, 94.2%, 95.6%, 96.2% with 18, 19, 21, 22 of 1,332 ordinary lines flagged;
Spanish 94.7%, 96.1%, 97.1%, 97.6% with 18, 18, 19, 21 of 666. On dev10's traps (ordinary lines
that reuse crisis words, never trained on): 3, 5, 5, 6 of 450 English lines flagged and 4, 4,
6, 7 of 435 Spanish ones, recall the same (98.8%, 99.5-99.7%). From 0.75% to 1.25%: about 2.5
points of recall for one ordinary line in 400 to 700 more flagged; past it, half a point for
as many. A crisis missed can cost a life, crisis resources sent to someone who did not need
them cost little (safety.toml's own rule): so 1.25%. A clinic that weighs it otherwise sets
this share and retrains (the weights do not change; only the thresholds).

Before, at 0.75%:
Round 9 (2026-12-06, ``--check safety_dev12 --check safety_dev13 --allowed 0.005,0.0075,0.01``,
the lexicons of round 9, which were written from dev11 only, and models that never read the
folder scored). From 0.5% to 0.75%: recall on dev13 rose from 83.3% to 87.7% in English and
from 85.8% to 88.2% in Spanish, with 1 and 0 more of its 322 and 322 ordinary lines flagged;
on dev12, from 88.9% to 89.6% and from 87.6% to 88.3%, none more flagged. At 1% recall rose
further (dev13 89.0% and 90.0%, dev12 93.4% and 91.4%), but the model trained on every folder
then flagged 4 more of dev10's English traps and 1 more Spanish one (ordinary lines that reuse
crisis words, a folder the model never reads); at 0.75% it flags what it did at 0.5% (2 and
6). So 0.75%. Earlier figures, at the time of 0.5%:

Measured leaving one corpus out (2026-12-06, ``--loco --allowed`` / ``--check``; each left-out
model's thresholds chosen on the calibration folders it was trained on). Words and pairs
only, calibrated on dev5-dev8, the first four folders left out: at 0.5% the model added 4.6
points of recall to the lexicon in English, 4.4 in Spanish, and flagged 0 and 4 of 1,500 and
1,700 ordinary lines; at 1%, 5.1 and 5.5 points, 0 and 9 lines (the single threshold of
random folds before: 5.3 and 5.4 points, 1 and 9 lines). With skip pairs and averaged weights,
calibrated on dev5-dev9, dev5, dev6 and dev8 left out: at 0.5% 12 (English) and 7 (Spanish)
ordinary lines of 2,700 flagged by the model (the earlier model: 9 and 8), for the same recall;
at 1%, 20 and 12 lines. The thresholds differ more from one writer to the next than from one
share to the next, so the lower share was kept then."""
MIN_COUNT = 2
"""A feature seen in fewer training messages is left out (it would only learn one line)."""
MIN_WEIGHT = 0.005
"""A smaller weight is not shipped (it could not move a score)."""
SEED = 16
CALIBRATION = (
    "safety_dev5", "safety_dev6", "safety_dev7", "safety_dev8", "safety_dev9",
    "safety_dev11", "safety_dev12", "safety_dev13", "safety_dev14", "safety_dev15",
    "safety_dev16", "safety_dev17", "safety_dev18", "safety_dev19", "safety_dev20",
    "safety_dev21", "safety_dev22", "safety_dev23", "safety_dev24", "safety_dev25",
    "safety_dev26", "safety_dev27", "safety_dev28", "safety_dev29", "safety_dev30",
    "safety_dev31", "safety_dev32", "safety_dev33", "safety_dev34", "safety_dev35",
    "safety_dev36", "safety_dev37", "safety_dev38", "safety_dev39", "safety_dev40",
    "safety_dev41", "safety_dev42", "safety_dev43", "safety_dev44", "safety_dev45",
    "safety_dev46", "safety_dev47", "safety_dev48", "safety_dev49", "safety_dev50",
    "safety_dev51", "safety_dev52", "safety_dev53", "safety_dev54", "safety_dev55",
    "safety_dev56", "safety_dev57", "safety_dev58", "safety_dev59", "safety_dev60",
    "safety_dev61", "safety_dev62", "safety_dev63", "safety_dev64", "safety_dev65",
    "safety_dev66", "safety_dev67", "safety_dev68", "safety_dev69", "safety_dev70",
    "safety_dev71", "safety_dev72", "safety_dev73", "safety_dev74", "safety_dev75",
    "safety_dev76",
)  # fmt: skip
"""The folders the thresholds are chosen on, each scored by a model that never read it: each
was written by an independent writer who never saw the lexicon, the model or the other folders,
so a model that left one out meets it as it meets a new patient. The more writers, the steadier
the thresholds (they differ more from one writer to the next than from one share to the next):
with dev11 and dev12 added, leaving each of them out in turn, the figures at 0.5% were those of
dev5-dev9 alone within a point (round 9). Round 10 added dev14 and dev15 (``--check safety_dev14
--check safety_dev15``, each left out in turn, the other one trained and calibrated on, at
0.75%): dev14 en 86.9% and es 93.2% against 88.5% and 93.2% with round 9's model, which read
neither; dev15 en 80.9% and es 82.5% against 80.9% and 80.6%. A new writer moves a writer the
model has not read by about a point either way. Round 11 (2026-12-07) added eleven writers at
once (dev16-dev26, each measured untouched first), and more writers did what one did not: with
dev16-dev21 in the training (and round 11's lexicons), each of dev20 and dev22 left out in turn
(``--check safety_dev20 --check safety_dev22``, 0.75%), the screen on a writer the model never
read rose on dev20 from 75.1% to 80.2% in English and from 84.3% to 88.1% in Spanish, false
alarms the same (7 and 8); on dev22 from 84.1% to 90.9% (false alarms 17 to 20) and from 90.2%
to 92.0% (16 to 14). One writer moves the next by about a point; six moved it by two to seven.
More capacity on the same data did not (the module's docstring).

Round 12 (2026-12-07) added thirty writers a language: dev27-dev46, then dev47-dev56, written
while the model of dev1-dev46 was trained. That model, which never read dev47-dev56, caught on
them en 91.1% (round 11's model: 86.2%) and es 91.2% (87.8%), with 119 and 129 of 3,323 and
3,319 ordinary lines flagged (114 and 140): five and three points more on new writers, false
alarms about the same. Both batches are in the shipped model.

Round 13 (2026-12-07) added twenty English writers (dev57-dev76: English held-out recall had not
moved in round 12) and eight Spanish ones (dev57-dev64). The model of dev1-dev64 (round 12's
writers and the first eight of each language), which never read dev65-dev76, caught on them with
round 13's lexicons 3,488 of 3,732 English crisis lines (93.5%) with 101 of 3,956 ordinary lines
flagged, against 3,462 (92.8%) with 112 for round 12's model: the gain from more writers is
smaller than in round 12 (0.7 points), and the false alarms fell.

Round 14 (2026-12-07) had six more writers (dev77-dev80: four English, veterans, LGBTQ+ young
adults, rural patients over sixty, healthcare workers; two Spanish, Caribbean and Miami, young
parents and people in recovery). Round 14's screen (round 13's model, with the overrule of
bot/domain/safety.py ``OVERRULED``) caught on them, untouched, en 1,157 of 1,249 (92.6%; the
healthcare workers 88.5%) with 15 of 1,332 ordinary lines flagged, es 586 of 619 (94.7%) with
18 of 666. A model trained with them (417,615 weights; thresholds en 0.98498, es 0.97718, both
lower) caught on safety_dev10, which it never read, the same 707 of 713 crisis lines as round
13's with 10 of 885 ordinary lines flagged against 6: not shipped. The six folders are in
:data:`NOT_TRAINED` instead: writers neither the model nor any lexicon rule has read, the clean
check of the next round.

Also measured in round 12 and not kept: the learned layer as a veto over the lexicon. Of the
lexicon's false alarms on dev27-dev44 (410 of 487, scored by round 11's model, which never read
them), a veto below a logit of -6 would have taken back 28% (114 of 406), and 39% below -4, at a
cost of 10 and 20 of the 5,983 crisis lines the lexicon caught there. The lines it would have
lost were real danger said with a laugh ("me tome como 15 clonas jaja a ver que pasa", a throat
closing after shrimp "lol", a brother who punched the writer and is still in the house): the
model reads laughter as ordinary, and the lexicon is there to catch exactly those."""
FOLDS = 12
"""How many models score the calibration folders out of fold (:func:`out_of_fold`), each
trained without a twelfth of the writers. Until round 11 each writer was left out alone (one
model per folder); with 51 writers that is 52 trainings of about a minute each on 73,000
lines, so from round 12 (2026-12-07) the writers are left out in twelve groups of four or
five. Each line is still scored by a model that never read its writer; each such model reads
about 9% fewer writers than one leaving a single folder out."""
NOT_TRAINED = (
    "safety_dev10",
    "safety_dev77",
    "safety_dev78",
    "safety_dev79",
    "safety_dev80",
    "safety_dev81",
    "safety_dev82",
    "safety_dev83",
    "safety_dev84",
)
"""Development folders the learned layer does not read: ``safety_dev10`` (which the lexicon
is written from), and ``safety_dev77`` to ``safety_dev84``, which no lexicon rule is written
from either (dev77-dev80 since round 14, dev81-dev84 since round 17: each the clean check of
the round after; see :data:`CALIBRATION`).

``safety_dev10`` was asked for as traps: crisis lines in everyday words ("who gets my
jewelry", "thank you for everything") and ordinary lines that reuse crisis words (28% near
misses in English). Trained on it, the model scores everyday words higher, its English
threshold rises (0.99957 to 0.99981) and it catches less: leaving ``safety_dev9`` out, English
recall 97.9% without dev10 in the training and 94.8% with it, false alarms the same (3/341);
Spanish the same either way (99.7%). Its lines are still scored with ``--check``. Measured
again in round 9 on two new writers (dev11, dev12, each left out in turn, at 0.5%): with dev10
in the training, English 82.2% and 88.2% against 82.9% and 87.2% without it, Spanish 84.3% and
85.9% against 85.0% and 84.9%, false alarms within one: a wash, so it stays out.

Also tried in round 9 and not kept (the same measurement, each within about a point either
way): a stronger L2 (1e-3, 3e-3); the lexicon's terms as features (a word's term, and pairs of
terms up to three words apart); a linear layer over static token embeddings (WordLlama's
256-dimension table, which PyPI ships with its weights; no multilingual sentence encoder was
found there with its weights, and nothing may be downloaded at run time), which caught none of
the left-out lines the word model missed.

Round 10 (2026-12-07): a contextual sentence encoder as a third layer, measured and not kept.
all-MiniLM-L6-v2 (English; PyPI carries it with its weights in a repackaged wheel), mean-pooled,
with a logistic regression over it trained and calibrated as this model is (dev11, dev12, dev13
left out in turn, its threshold at 0.75% of the calibration folders' ordinary lines out of
fold). Alone it caught about 40% of the English crisis lines and 20% of the Spanish ones. Added
to the screen it caught 1 to 12 more lines per folder and language (+0.4 to +4.0 points), with
1 to 4 more false alarms each time; this model's own threshold at 1% instead of 0.75% bought as
much or more on dev11 and dev12 for the same false alarms. It costs about 18 ms per short
message and 120 ms per 1,000 characters on one core (the screen: 0.17 and 3.8 ms) and about
1 GB installed (torch, transformers, the model). A multilingual encoder would read Spanish
better; none is on PyPI with its weights.

2026-12-07, the lexicons of round 10: more capacity, and other features, balances and calibrations,
measured and not kept. Three new writers (dev16, dev17, dev18) added to :data:`CALIBRATION` and each
left out in turn (``--check safety_dev16 --check safety_dev17 --check safety_dev18``, 0.75%), the
same folds and thresholds, run in a compiled copy of :func:`train` (its weights equal to this one's
to the last digit). This model: dev16 en 84.9% (2 of 333 ordinary lines flagged) es 90.9% (5/337);
dev17 en 82.4% (10/333) es 86.9% (11/335); dev18 en 84.9% (9/334) es 86.6% (4/336): 86.1% on
average, 41 false alarms. The variants were scored with each window's features counted once (this
model so: 86.0%, 42; at 0.5%, 0.6% and 1%: 83.1% with 40, 83.9% with 40, 88.0% with 47). A network
of one hidden layer (16 or 32 ReLU units over the same features, AdaGrad, 4 epochs, averaged, with
or without this model beside it) gained 1.2 to 1.5 points at 0.75% with 4 to 7 more false alarms,
and at as many false alarms as this model caught 0.5 to 2 points less (16 units: 83.8% with 42 at
0.4%, 87.5% with 47 to 49 at 0.75%; 32 units: 86.0% with 45, 87.5% with 48): its thresholds out of
fold let more of a new writer's ordinary lines through, and its gain was that. Bagging (five linear
models, each on a bootstrap sample of the writers, weights averaged): 85.7%, 45. Negation-scoped
stems ("n:", the three words after a negation): 86.2%, 42; stems after a first-person word ("f:"):
85.7%, 42; triples of stems: 86.2%, 42. Each writer weighing the same: 86.0%, 43; crisis lines
weighing twice or half: 86.4%, 45 and 86.1%, 46. One threshold for both languages: 86.8% with 44,
88.7% with 47 at 1%; each language's threshold the median of the writers' own: 87.0% with 47. None
gained the 2 points at no more false alarms asked of a change: the layer is saturated at this size,
and the thresholds (0.75% against 1%: 2 points for 5 or 6 more false alarms) move recall more than
any change of the model. Again with round 11's lexicons (the variants' scoring): this model 82.4%
with 38 false alarms at 0.5%, 85.0% with 40 at 0.75%, 87.7% with 44 at 1%; the network of 16 units
84.2% with 38 at 0.5%, 86.2% with 43 at 0.75%, 88.2% with 46 at 1%: 1.8 points more at 38 false
alarms, about a point less at 43, short of the 2 points again (a second seed of the network moves it
by 0.3 points and 3 false alarms)."""


@dataclass(frozen=True)
class Line:
    """A corpus line as the trainer sees it: its label, the lexicon's verdict, its features."""

    folder: str
    lang: str
    category: str
    label: int  # 1 crisis, 0 ordinary
    lexicon: CrisisMatch | None
    plains: tuple[str, ...]  # every variant the screen reads, the plain one first
    feats: tuple[str, ...]  # its features, each once
    language: str | None = None  # the language the screen tells it is in (None: not told)


def read_lines(detector: CrisisDetector, folders: Sequence[str], skip: int = SKIP) -> list[Line]:
    """Every line of ``folders``, read once (the lexicon's verdict is the detector's without
    its model)."""
    lexicon = detector.with_model(None)
    found: list[Line] = []
    for folder in folders:
        for lang in safety_corpora.languages(folder):
            for kind, label in (("crisis", 1), ("ordinary", 0)):
                for line in safety_corpora.read(folder, lang, kind):
                    plains = tuple(detector.plains(line.text))
                    words = windows(plains[0] if plains else "")
                    feats = tuple(sorted({f for window in words for f in features(window, skip)}))
                    found.append(
                        Line(
                            folder,
                            lang,
                            line.category,
                            label,
                            lexicon.check(line.text),
                            plains,
                            feats,
                            detector.language(plains[0]) if plains else None,
                        )
                    )
    return found


def train(lines: Sequence[Line], skip: int = SKIP) -> CrisisModel:
    """A model of ``lines`` (its threshold still 0.5: see :func:`thresholds`): the average
    of its weights after each of the last :data:`AVERAGED` epochs."""
    counts: Counter[str] = Counter(f for line in lines for f in line.feats)
    index: dict[str, int] = {}
    for feature, n in sorted(counts.items()):
        if n >= MIN_COUNT:
            index[feature] = len(index)
    rows = [[index[f] for f in line.feats if f in index] for line in lines]
    labels = [line.label for line in lines]
    positives = sum(labels)
    negatives = len(labels) - positives
    # Each class weighs as much as the other in the loss.
    class_weight = (len(labels) / (2 * max(negatives, 1)), len(labels) / (2 * max(positives, 1)))
    weights = [0.0] * len(index)
    grads = [1e-8] * len(index)
    bias, bias_grad = 0.0, 1e-8
    order = list(range(len(rows)))
    rng = random.Random(SEED)
    sqrt = math.sqrt
    # The weights after each of the last AVERAGED epochs, summed (averaged below).
    summed = [0.0] * len(index)
    summed_bias = 0.0
    for epoch in range(EPOCHS):
        if epoch > EPOCHS - AVERAGED:
            summed = [a + w for a, w in zip(summed, weights, strict=True)]
            summed_bias += bias
        rng.shuffle(order)
        for i in order:
            feats = rows[i]
            label = labels[i]
            z = bias + sum(weights[f] for f in feats)
            p = 1 / (1 + math.exp(-max(min(z, 30.0), -30.0)))
            error = (p - label) * class_weight[label]
            for f in feats:
                g = error + L2 * weights[f]
                grads[f] += g * g
                weights[f] -= RATE * g / sqrt(grads[f])
            bias_grad += error * error
            bias -= RATE * error / sqrt(bias_grad)
    summed = [a + w for a, w in zip(summed, weights, strict=True)]
    weights = [a / AVERAGED for a in summed]
    bias = (summed_bias + bias) / AVERAGED
    names = list(index)
    kept = {names[i]: round(w, 4) for i, w in enumerate(weights) if abs(w) >= MIN_WEIGHT}
    return CrisisModel(kept, round(bias, 4), 0.5, skip=skip)


def _flags(model: CrisisModel, line: Line) -> float:
    """The model's highest logit over the line's variants."""
    return max((model.logit(p) for p in line.plains if p), default=-math.inf)


def out_of_fold(lines: Sequence[Line], skip: int = SKIP) -> dict[int, float]:
    """The logit of each line of the calibration folders (:data:`CALIBRATION`) present in
    ``lines``, by a model trained without that folder's writer: a writer's lines are scored by
    a model that never read that writer, as a new patient's message is. The writers are left
    out :data:`FOLDS` at a time (:func:`writer_folds`), one model per fold."""
    scores: dict[int, float] = {}
    for fold in writer_folds({line.folder for line in lines}):
        left = [i for i, line in enumerate(lines) if line.folder in fold]
        if not left:
            continue
        model = train([line for line in lines if line.folder not in fold], skip)
        for i in left:
            scores[i] = _flags(model, lines[i])
    return scores


def writer_folds(folders: Collection[str]) -> list[frozenset[str]]:
    """The calibration folders among ``folders`` dealt into at most :data:`FOLDS` groups in
    the order of :data:`CALIBRATION` (every FOLDS-th folder together), so a fold holds writers
    of different rounds."""
    ordered = [f for f in CALIBRATION if f in folders]
    count = min(FOLDS, len(ordered))
    return [frozenset(ordered[k::count]) for k in range(count)]


def _cut(ordinary: Sequence[float], allowed: float = ALLOWED) -> float:
    """:data:`MARGIN` above the ordinary score that only ``allowed`` of ``ordinary`` pass, as
    a probability."""
    if not ordinary:
        return 0.5
    ranked = sorted(ordinary, reverse=True)
    cut = ranked[min(int(allowed * len(ranked)), len(ranked) - 1)] + MARGIN
    return 1 / (1 + math.exp(-cut))


def thresholds(
    lines: Sequence[Line], scores: Mapping[int, float], allowed: float = ALLOWED
) -> tuple[float, dict[str, float]]:
    """The default threshold (from every ordinary line scored out of fold) and one per
    language (from the ordinary lines the screen tells are in it), among those the lexicon
    lets through: the model is never asked about a message the lexicon flagged."""
    ordinary = [
        (lines[i].language, s)
        for i, s in scores.items()
        if not lines[i].label and not lines[i].lexicon
    ]
    default = _cut([s for _, s in ordinary], allowed)
    per_language = {
        lang: _cut([s for told, s in ordinary if told == lang], allowed)
        for lang in sorted({told for told, _ in ordinary if told is not None})
    }
    return default, per_language


def capped(
    model: CrisisModel, lines: Sequence[Line], default: float, per_language: dict[str, float]
) -> tuple[float, dict[str, float]]:
    """The thresholds lowered, where needed, to what the folders that must reach the target
    (``safety_corpora.TARGET_ONLY``) ask of the model trained on them: every crisis line of
    the reviewed folder caught, :data:`safety_corpora.MIN_RECALL` of each other one. The
    language of a folder's lines caps its threshold and the default one."""
    caps: dict[str, float] = {}
    for folder in safety_corpora.TARGET_ONLY:
        for lang in sorted({line.lang for line in lines if line.folder == folder}):
            crisis = [line for line in lines if line.folder == folder and line.lang == lang]
            crisis = [line for line in crisis if line.label]
            missed = [
                _flags(model, line)
                for line in crisis
                if not safety_corpora.caught(folder, line.category, line.lexicon)
                # the model cannot give the reviewed folder's past ideation its gentle answer
                and (line.category != safety_corpora.PAST or folder != safety_corpora.REVIEWED)
            ]
            hits = len(crisis) - len(missed)
            need = math.ceil(safety_corpora.MIN_RECALL * len(crisis) - 1e-9) - hits
            if folder == safety_corpora.REVIEWED:
                need = len(missed)
            if need <= 0 or not missed:
                continue
            cut = sorted(missed, reverse=True)[min(need, len(missed)) - 1] - 1e-4
            caps[lang] = min(caps.get(lang, math.inf), 1 / (1 + math.exp(-cut)))
    if not caps:
        return default, per_language
    default = min(default, *caps.values())
    return default, {
        lang: min(threshold, caps.get(lang, threshold)) for lang, threshold in per_language.items()
    }


def build(lines: Sequence[Line], skip: int = SKIP) -> tuple[CrisisModel, dict[int, float]]:
    """The model of ``lines`` with its thresholds chosen out of fold (then capped, see
    :func:`capped`), and the out-of-fold logits."""
    scores = out_of_fold(lines, skip)
    model = train(lines, skip)
    default, per_language = capped(model, lines, *thresholds(lines, scores))
    model = CrisisModel(model.weights, model.bias, default, per_language, model.skip)
    return model, scores


def screen(model: CrisisModel | None) -> Callable[[Line], CrisisMatch | None]:
    """The screen's verdict on a line: the lexicon's, else the model's."""
    learned = CrisisMatch("learned", True)

    def check(line: Line) -> CrisisMatch | None:
        if line.lexicon is not None or model is None:
            return line.lexicon
        return learned if any(model.flags(p, line.language) for p in line.plains) else None

    return check


def report(
    lines: Sequence[Line], check: Callable[[Line], CrisisMatch | None], title: str
) -> list[str]:
    """Recall and false alarms per language of ``lines`` under ``check``."""
    out: list[str] = []
    for lang in sorted({line.lang for line in lines}):
        mine = [line for line in lines if line.lang == lang]
        crisis = [line for line in mine if line.label]
        hits = sum(
            safety_corpora.caught(line.folder, line.category, check(line)) for line in crisis
        )
        ordinary = [line for line in mine if not line.label]
        alarms = sum(check(line) is not None for line in ordinary)
        out.append(
            f"{title:<28} {lang}: recall {hits}/{len(crisis)} = "
            f"{100 * hits / max(len(crisis), 1):5.1f}%, false alarms {alarms}/{len(ordinary)}"
        )
    return out


def loco(
    lines: Sequence[Line],
    folders: Sequence[str],
    allowed: Sequence[float] = (ALLOWED,),
    skip: int = SKIP,
) -> None:
    """Leave each of ``folders`` out in turn (with ``allowed``, the thresholds each share of
    ordinary lines above them would give, from the same models)."""
    for folder in folders:
        rest = [line for line in lines if line.folder != folder]
        left = [line for line in lines if line.folder == folder]
        model, scores = build(rest, skip)
        print(f"# {folder} left out: trained on {len(rest)} lines")
        for text in report(left, screen(None), f"{folder} lexicon"):
            print(text)
        for share in allowed:
            default, per_language = thresholds(rest, scores, share)
            model = CrisisModel(model.weights, model.bias, default, per_language, model.skip)
            print(
                f"  allowed {share}: threshold {default:.5f}, "
                + ", ".join(f"{k} {v:.5f}" for k, v in per_language.items())
            )
            for text in report(left, screen(model), f"{folder} lexicon+model"):
                print(text)
        sys.stdout.flush()


def dump(lines: Sequence[Line], scores: dict[int, float], model: CrisisModel, out: Path) -> None:
    """The out-of-fold logit of each calibration line beside the lexicon's verdict, one TSV
    row each, to judge a lexicon phrase by what the model alone would catch without it. A
    line is named by its folder, language, kind and its number among the messages of its
    file (as ``tests.safety_corpora.read`` lists them)."""
    numbers: Counter[tuple[str, str, int]] = Counter()
    rows = ["folder\tlang\tkind\tnumber\tcategory\tlexicon\tlogit\tcut"]
    for i, line in enumerate(lines):
        key = (line.folder, line.lang, line.label)
        number = numbers[key]
        numbers[key] += 1
        if i not in scores:
            continue
        verdict = "-" if line.lexicon is None else line.lexicon.category
        kind = "crisis" if line.label else "ordinary"
        rows.append(
            f"{line.folder}\t{line.lang}\t{kind}\t{number}\t{line.category}\t{verdict}"
            f"\t{scores[i]:.4f}\t{model.cut(line.language):.4f}"
        )
    out.write_text("\n".join(rows) + "\n", encoding="utf-8")
    print(f"wrote {out}", file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="append", help="leave this folder out of training and score on it"
    )
    parser.add_argument(
        "--allowed",
        type=lambda text: [float(x) for x in text.split(",")],
        default=[ALLOWED],
        help="with --loco or --check: the figures at these shares (comma-separated)",
    )
    parser.add_argument("--loco", action="store_true", help="leave-one-corpus-out figures")
    parser.add_argument(
        "--skip", type=int, default=SKIP, help="skip pairs up to this far apart (0: none)"
    )
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument(
        "--dump",
        type=Path,
        help="also write each calibration line's out-of-fold logit (TSV: folder, language, "
        "kind, line number in its file, category, the lexicon's verdict, the logit, the cut)",
    )
    args = parser.parse_args(argv)
    detector = Content(ROOT / "messages").crisis_detector_without_model
    folders = [f for f in safety_corpora.folders() if HELD_OUT not in f]
    folders = [f for f in folders if f not in NOT_TRAINED or f in (args.check or ())]
    print(f"reading {', '.join(folders)}", file=sys.stderr)
    lines = read_lines(detector, folders, args.skip)
    if args.loco:
        loco(lines, folders, args.allowed, args.skip)
        return
    if args.check:
        loco(lines, args.check, args.allowed, args.skip)
        return
    model, scores = build(lines, args.skip)
    print(
        f"{len(model.weights)} weights, threshold {model.threshold} {model.thresholds}",
        file=sys.stderr,
    )
    crisis = [i for i in scores if lines[i].label]
    caught = sum(scores[i] >= model.cut(lines[i].language) for i in crisis)
    print(
        f"out of fold: {caught}/{len(crisis)} crisis lines of {', '.join(CALIBRATION)} at or"
        " above the threshold",
        file=sys.stderr,
    )
    if args.dump:
        dump(lines, scores, model, args.dump)
    args.out.write_text(json.dumps(model.to_data(), indent=0, sort_keys=True) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
