"""The crisis screen against every corpus folder `tests/corpora/safety*/<lang>/`.

`safety/` is reviewed, written beside the lexicon: every crisis message caught as its category
asks (past ideation with the gentle answer only), no ordinary message flagged. Every other
folder (`safety_dev/`, `safety_dev2/`, and the held-out `safety_heldout/`, `safety_heldout2/`
and `safety_heldout3/`) was written by someone who never saw the lexicon: recall per language at
least 97% and no ordinary message flagged, or, for a folder that does not reach that yet
(safety_dev5 on, and the held-out ones), at least the floor of its figures in
``safety_corpora.FLOORS`` (see tests/safety_corpora.py for the rules and the figures tool).
Run with ``-s`` to see
recall and false alarms per category, folder and language:

    .venv/bin/python -m pytest -s tests/unit/test_safety_corpora.py
"""

from __future__ import annotations

import pytest

from bot.content.store import Content
from bot.domain.safety import CrisisDetector
from tests import safety_corpora
from tests.safety_corpora import FLOORS, MIN_RECALL, REVIEWED, ROOT, TARGET_ONLY

MIN_LINES = 150
"""Crisis and ordinary lines each reviewed corpus holds at least."""

CASES = [
    (folder, lang)
    for folder in safety_corpora.folders()
    for lang in safety_corpora.languages(folder)
]


@pytest.fixture(scope="module")
def detector() -> CrisisDetector:
    return Content(ROOT / "messages").crisis_detector


@pytest.mark.parametrize("lang", safety_corpora.languages(REVIEWED))
@pytest.mark.parametrize("kind", ["crisis", "ordinary"])
def test_reviewed_corpus_is_big_enough_and_has_no_duplicates(lang: str, kind: str) -> None:
    lines = safety_corpora.read(REVIEWED, lang, kind)
    texts = [line.text.casefold() for line in lines]
    assert len(lines) >= MIN_LINES
    assert len(set(texts)) == len(texts), "duplicate lines"


def test_every_category_of_the_lexicon_has_crisis_lines(detector: CrisisDetector) -> None:
    written = {
        line.category
        for folder, lang in CASES
        for line in safety_corpora.read(folder, lang, "crisis")
    }
    assert detector.categories <= written


@pytest.mark.parametrize(("folder", "lang"), CASES, ids=[f"{f}-{lang}" for f, lang in CASES])
def test_recall_and_false_alarms(detector: CrisisDetector, folder: str, lang: str) -> None:
    result = safety_corpora.score(detector.check, folder, lang)
    print("\n" + "\n".join(result.report()))
    # A held-out corpus is measured, never read: its lines are not printed, only figures.
    shown = not safety_corpora.held_out(folder)
    missed = "\n".join(result.missed) if shown else "(held out: lines not shown)"
    flagged = "\n".join(result.flagged) if shown else "(held out: lines not shown)"
    min_recall, max_alarms = safety_corpora.floor(folder, lang)
    if (min_recall, max_alarms) != (MIN_RECALL, 0):
        print(
            f"{folder}/{lang}: held to its floor (recall {min_recall:.1%}, false alarms <= "
            f"{max_alarms}); the target is {MIN_RECALL:.0%} and no false alarm"
        )
    # Plain numbers in the assertions: pytest shows the operands of a failed one, and the
    # score's own repr would show a held-out folder's lines.
    hits, total, alarms = result.hits, result.total, result.false_alarms
    if folder == REVIEWED:
        assert not result.missed, f"crisis messages not caught as they should be:\n{missed}"
    else:
        assert hits >= min_recall * total, (
            f"{folder}/{lang}: recall {hits}/{total} is below {min_recall:.1%}:\n{missed}"
        )
    assert alarms <= max_alarms, (
        f"{folder}/{lang}: {alarms} ordinary lines flagged (at most {max_alarms}):\n{flagged}"
    )


def test_floors_never_stand_in_for_the_target_folders() -> None:
    assert not (set(FLOORS) & TARGET_ONLY)
    for folder, langs in FLOORS.items():
        assert folder in safety_corpora.folders(), (
            f"a floor for a folder that is not there: {folder}"
        )
        for lang, (min_recall, max_alarms) in langs.items():
            assert lang in safety_corpora.languages(folder)
            assert 0 < min_recall < MIN_RECALL or max_alarms > 0, (
                f"{folder}/{lang}: no floor needed"
            )
            assert 0 < min_recall <= MIN_RECALL and max_alarms >= 0
    assert safety_corpora.floor("safety_dev4", "en") == (MIN_RECALL, 0)
