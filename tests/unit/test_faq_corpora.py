"""The FAQ matcher against corpora of patients' messages, per language.

Every ``tests/corpora/faq/<lang>/*.tsv`` is read: lines of ``topic<TAB>message`` (``#``
starts a comment), the topic one of :data:`TOPICS`. ``dev.tsv`` was written by someone who
never saw the keywords, and is the one the keywords are tuned on (with ``own.tsv``, the
engineers' own additions); ``dev2.tsv``, ``dev4.tsv``, ``dev5.tsv`` and ``dev6.tsv``, written
later by others, were not read to tune the keywords; a held-out file written by someone else is
measured, never read to tune.
``off_topic`` messages must get the no-match answer.

The learned layer (bot/domain/faq_model.py) is trained on every development file, so on them
the shipped matcher's figures are in sample: the honest ones are the training script's, out of
fold and on a file left out (``scripts/train_faq_model.py --folds``, ``--check dev2``). The
keywords alone must still meet the targets on the files they were tuned on: they are the first
line, and what answers a question staff add before the model is retrained.

For each file, printed per topic with ``-s``: the right topic first (the answer, or the first
of the two offered), the right topic among what was offered, and for off-topic messages the
no-match share. Targets per file: right topic first >= 90%, off-topic no-match >= 95%::

    .venv/bin/python -m pytest -s -q tests/unit/test_faq_corpora.py
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.content.store import Content
from bot.domain.faq import FaqMatcher
from tests.faq_corpora import CORPORA, HELD_OUT, LANGUAGES, OFF_TOPIC, ROOT, TOPICS, corpus

RIGHT_FIRST = 0.90
OFF_TOPIC_NO_MATCH = 0.95


@dataclass
class Tally:
    total: int = 0
    first: int = 0
    offered: int = 0
    misses: list[str] = field(default_factory=list)


def measure(matcher: FaqMatcher, lines: list[tuple[str, str]]) -> dict[str, Tally]:
    tallies: dict[str, Tally] = defaultdict(Tally)
    for topic, text in lines:
        ranked = matcher.classify(text).ranked
        tally = tallies[topic]
        tally.total += 1
        if topic == OFF_TOPIC:
            right_first = right_offered = not ranked
        else:
            right_first = bool(ranked) and ranked[0] == topic
            right_offered = topic in ranked
        tally.first += right_first
        tally.offered += right_offered
        if not right_first:
            tally.misses.append(f"  {topic}: {text!r} -> {list(ranked) or 'no match'}")
    return tallies


def _pct(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 100.0


def report(name: str, tallies: dict[str, Tally]) -> tuple[float, float, float]:
    """Prints the figures; (right first, right offered, off-topic no-match) as shares."""
    topics = {t: v for t, v in tallies.items() if t != OFF_TOPIC}
    total = sum(v.total for v in topics.values())
    first = sum(v.first for v in topics.values())
    offered = sum(v.offered for v in topics.values())
    off = tallies.get(OFF_TOPIC, Tally())
    print(f"\n[{name}] {'topic':<16} {'n':>4} {'first %':>8} {'offered %':>10}")
    for topic, tally in sorted(topics.items()):
        print(
            f"[{name}] {topic:<16} {tally.total:>4} {_pct(tally.first, tally.total):>8.1f}"
            f" {_pct(tally.offered, tally.total):>10.1f}"
        )
    print(
        f"[{name}] {'ALL TOPICS':<16} {total:>4} {_pct(first, total):>8.1f}"
        f" {_pct(offered, total):>10.1f}"
    )
    print(f"[{name}] {'off-topic':<16} {off.total:>4} no match {_pct(off.first, off.total):.1f}%")
    return first / max(total, 1), offered / max(total, 1), off.first / max(off.total, 1)


@pytest.fixture(scope="module")
def content() -> Content:
    return Content(ROOT / "messages")


FILES = sorted(CORPORA.glob("*/*.tsv"))


LATER_TOPICS = frozenset({"good_news"})
"""Topics added after dev.tsv was written: their lines are the engineers' own (own.tsv) until
an independent writer's corpus holds them."""


def test_every_language_has_a_corpus_of_every_topic() -> None:
    for lang in LANGUAGES:
        written = {t for t, _ in corpus(CORPORA / lang / "dev.tsv")}
        assert written == TOPICS - LATER_TOPICS, lang
        assert {t for t, _ in corpus(CORPORA / lang / "own.tsv")} >= LATER_TOPICS, lang


TUNED_ON = ("dev.tsv", "own.tsv")


@pytest.mark.parametrize(
    "path",
    [p for p in FILES if p.name in TUNED_ON],
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_the_keywords_alone(content: Content, path: Path) -> None:
    lang = path.parent.name
    tallies = measure(content.faq(lang).keywords_matcher(), corpus(path))
    first, _, no_match = report(f"{lang}/{path.name} keywords", tallies)
    misses = [m for t in sorted(tallies) for m in tallies[t].misses]
    assert first >= RIGHT_FIRST and no_match >= OFF_TOPIC_NO_MATCH, "\n".join(misses)


HELD_OUT_FLOORS: dict[str, tuple[float, float]] = {"en": (0.95, 0.966), "es": (0.91, 1.0)}
"""Per language, (right first, off-topic no-match) that ``heldout.tsv`` must keep: what the
matcher reached on it (2026-12-06, when it was added: en 192/208 and 54/60, es 159/197 and
57/60; with dev4.tsv in the training: en 194/208 and 54/60, es 158/197 and 59/60; with dev5.tsv,
Spanish short spellings and the model allowed to overrule a keywords' answer: en 199/208 and
54/60, es 177/197 and 59/60; the floors sit a little below, for the overrule was then kept
from a keyword's answer for a topic only hints point to, measured on dev5 alone: about one
point fewer right first, the held-out set not measured again), below the targets; with
dev6.tsv (an independent writer, 285 English and 177 Spanish off-topic lines, most of them
traps) in the training and the cuts, and no answer from the model to a text without a letter:
en 196/208 and 60/60, es 182/197 and 59/60, both languages at the targets. With good_news
(keyword-only), the ride home told with who drives, Spanish "turno" and "manejar" and the model
retrained (2026-12-07): en 199/208 and 59/60, es 178/197 and 60/60, still at the targets. Two
floors were lowered then: the model is not the same from one training to the
next (on main's own corpora, the seed alone moves 19 of 2,015 Spanish development lines and
the cuts), so the floors of 2026-12-06 were one draw of that spread; a model averaged over
seeds is the fix (scripts/train_faq_model.py, SEED). With it (a bag of 5 seeds averaged into
one, 2026-12-07; on fold 0 of the development corpora it leaves en 19 of 576 and es 32 of 651
lines not answered alike by five seeds, instead of 46 and 73): en 198/208 and 58/60, es
181/197 and 60/60. Spanish's floors were raised to its figures. English's off-topic floor was
lowered to 58/60 by a decision of the lead (2026-12-07), not by a retrain: the bag is kept for
halving the seed's spread (one line of 60 is within it), and 58/60 is still above the target.
Otherwise a floor is raised as the matcher improves, never lowered; the targets
(:data:`RIGHT_FIRST`, :data:`OFF_TOPIC_NO_MATCH`) are what the held-out set must reach for the
matching to be done."""


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_corpus(content: Content, path: Path) -> None:
    lang = path.parent.name
    lines = corpus(path)
    assert OFF_TOPIC in {t for t, _ in lines} and len({t for t, _ in lines}) > 1, path.name
    tallies = measure(content.faq(lang).matcher, lines)
    first, _, no_match = report(f"{lang}/{path.name}", tallies)
    if HELD_OUT in path.name:
        # Measured, never read to tune: figures only, no lines.
        floor_first, floor_no_match = HELD_OUT_FLOORS[lang]
        if first < RIGHT_FIRST or no_match < OFF_TOPIC_NO_MATCH:
            floors = HELD_OUT_FLOORS[lang]
            print(f"[{lang}/{path.name}] below the targets; held at the floors {floors}")
        assert first >= floor_first and no_match >= floor_no_match, (
            f"{lang}/{path.name}: right first {first:.1%}, off-topic no-match {no_match:.1%}, "
            f"below the floors {floor_first:.0%} / {floor_no_match:.0%} (lines not shown)"
        )
        return
    misses = [m for t in sorted(tallies) for m in tallies[t].misses]
    assert first >= RIGHT_FIRST and no_match >= OFF_TOPIC_NO_MATCH, "\n".join(misses)
