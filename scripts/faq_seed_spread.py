"""How much the FAQ learned layer moves with its seed alone, one model against a bag.

    .venv/bin/python scripts/faq_seed_spread.py --lang es   # [--seeds 17 18 19 20 21] [--bag 5]

For each seed, the models of ``scripts/train_faq_model.py`` trained on four of its
:data:`FOLDS` folds of the development corpora (the fold's lines unseen: what the cuts are
chosen on), once alone (the seed's first model, the trainer with ``--bag 1``) and once averaged
over the seed's bag (:func:`bag`: ``--bag`` models, none shared between seeds). Each line of
the fold left out is answered as the matcher answers it (:func:`bot.domain.faq.weighed`):
under the cuts shipped in ``messages/<lang>/faq_model.json`` for all seeds alike, and under
each seed's own cuts chosen on the fold's lines of the corpora the keywords never saw (as the
trainer chooses them, on a fifth of the lines). Printed: the lines not answered alike by every
seed, the mean over pairs of seeds, the lines whose likeliest class moves, and each seed's
figures. No text is read out or printed.

Costs ``len(seeds) * bag`` trainings of four fifths of a language's corpora: under a minute
each on a free core.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from train_faq_model import (
    FOLDS,
    KEYWORDS_UNSEEN,
    ROOT,
    Line,
    Ranking,
    averaged,
    bag,
    choose_cuts,
    feature_index,
    figures,
    fit,
    learnable,
    rank,
    read_lines,
)

from bot.content.loading import FAQ_MODEL
from bot.content.store import Content
from bot.domain.faq import weighed
from bot.domain.faq_model import Cuts, FaqModel
from tests.faq_corpora import LANGUAGES, development_files

Answers = list[tuple[str, ...]]


def answers(
    model: FaqModel, lines: Sequence[Line], ranked: Sequence[Ranking], cuts: Cuts
) -> Answers:
    return [
        tuple(weighed(line.reading, r, cuts, model.learned).ranked)
        for line, r in zip(lines, ranked, strict=True)
    ]


def spread(runs: Sequence[Sequence[object]]) -> str:
    """Lines not alike under every run, and the mean over pairs of runs."""
    size = len(runs[0])
    moved = sum(len({run[i] for run in runs}) > 1 for i in range(size))
    pairs = list(itertools.combinations(runs, 2))
    mean = sum(sum(x != y for x, y in zip(a, b, strict=True)) for a, b in pairs) / len(pairs)
    return f"{moved} of {size} lines not alike under every seed, {mean:.1f} between two seeds"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--lang", choices=LANGUAGES, required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[17, 18, 19, 20, 21])
    parser.add_argument("--bag", type=int, default=5, help="models averaged for each seed")
    parser.add_argument("--fold", type=int, default=0, help="the fold left out")
    args = parser.parse_args(argv)
    lang = args.lang
    content = Content(ROOT / "messages")
    matcher = content.faq(lang).keywords_matcher()
    among = frozenset(matcher.topics)
    shipped_data = json.loads((ROOT / "messages" / lang / FAQ_MODEL).read_text(encoding="utf-8"))
    shipped = Cuts(**shipped_data["cuts"])
    lines = learnable(read_lines(matcher, lang, [p.stem for p in development_files(lang)]))
    train = [line for i, line in enumerate(lines) if i % FOLDS != args.fold]
    test = [line for i, line in enumerate(lines) if i % FOLDS == args.fold]
    tune = [i for i, line in enumerate(test) if line.file in KEYWORDS_UNSEEN]
    print(f"[{lang}] fold {args.fold}: {len(test)} lines unseen, {len(tune)} to choose cuts on")
    print(f"[{lang}] shipped cuts {shipped}")
    classes, index = feature_index(train)
    found: dict[str, dict[str, list[Sequence[object]]]] = {}
    for seed in args.seeds:
        fits = []
        for one in bag(seed, args.bag):
            fits.append(fit(train, index, classes, one))
            print(f"[{lang}] seed {seed}: trained {one}", file=sys.stderr, flush=True)
        for kind, model in (
            ("alone", averaged(classes, index, fits[:1])),
            (f"bag of {args.bag}", averaged(classes, index, fits)),
        ):
            ranked = [rank(model, line, among) for line in test]
            own = choose_cuts(model, [test[i] for i in tune], [ranked[i] for i in tune])
            runs = found.setdefault(kind, {"fixed": [], "own": [], "likeliest": []})
            runs["fixed"].append(answers(model, test, ranked, shipped))
            runs["own"].append(answers(model, test, ranked, own))
            runs["likeliest"].append([r[0][0] if r else "" for r in ranked])
            unseen, scored = [test[i] for i in tune], [ranked[i] for i in tune]
            for name, cuts in (("shipped cuts", shipped), (f"own cuts {own}", own)):
                under = FaqModel(model.classes, model.bias, {}, cuts)
                print(
                    f"[{lang}] seed {seed} {kind}, {len(model.weights)} features, {name}: "
                    f"{figures(unseen, scored, under).text()}",
                    flush=True,
                )
    for kind, runs in found.items():
        print(f"[{lang}] {kind}, answers under the shipped cuts: {spread(runs['fixed'])}")
        print(f"[{lang}] {kind}, answers under each seed's cuts: {spread(runs['own'])}")
        print(f"[{lang}] {kind}, likeliest class: {spread(runs['likeliest'])}")


if __name__ == "__main__":
    main()
