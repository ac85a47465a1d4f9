"""The crisis screen against reviewed corpora of realistic messages, per language.

`tests/corpora/safety/<lang>/crisis.txt` holds messages that must be caught, each under a
`# category` header naming what it was written for; `ordinary.txt` holds messages that must
not be (idioms with crisis words, questions about risks, medical history told calmly). A
message under `# past_ideation` must get the gentle resources only (``alert_staff`` False);
every other crisis message must alert staff. Run with ``-s`` to see recall and false alarms
per category and language.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from bot.content.store import Content
from bot.domain.safety import CrisisDetector

ROOT = Path(__file__).resolve().parents[2]
CORPORA = ROOT / "tests" / "corpora" / "safety"
LANGUAGES = ("en", "es")
PAST = "past_ideation"
MIN_LINES = 150


def _corpus(lang: str, kind: str) -> list[tuple[str, str]]:
    """(category, message) for each message line; a message before any header is an error."""
    category = ""
    lines: list[tuple[str, str]] = []
    for raw in (CORPORA / lang / f"{kind}.txt").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            header = line.lstrip("#").strip()
            if header and " " not in header:
                category = header
            continue
        assert category, f"{lang}/{kind}.txt: {line!r} is under no category header"
        lines.append((category, line))
    return lines


@pytest.fixture(scope="module")
def detector() -> CrisisDetector:
    return Content(ROOT / "messages").crisis_detector


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("kind", ["crisis", "ordinary"])
def test_corpus_is_reviewed(lang: str, kind: str) -> None:
    lines = _corpus(lang, kind)
    texts = [text.casefold() for _, text in lines]
    assert len(lines) >= MIN_LINES
    assert len(set(texts)) == len(texts), "duplicate lines"


def test_crisis_corpora_cover_every_category(detector: CrisisDetector) -> None:
    for lang in LANGUAGES:
        assert {c for c, _ in _corpus(lang, "crisis")} == detector.categories, lang


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_crisis_caught_and_no_ordinary_flagged(detector: CrisisDetector, lang: str) -> None:
    caught: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    missed: list[str] = []
    for category, text in _corpus(lang, "crisis"):
        match = detector.check(text)
        right = match is not None and match.alert_staff == (category != PAST)
        caught[category][0] += right
        caught[category][1] += 1
        if not right:
            kind = "missed" if match is None else f"alert_staff={match.alert_staff}"
            missed.append(f"  {category}: {text!r} ({kind})")
    flagged: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    alarms: list[str] = []
    for group, text in _corpus(lang, "ordinary"):
        match = detector.check(text)
        flagged[group][0] += match is not None
        flagged[group][1] += 1
        if match is not None:
            alarms.append(f"  {group}: {text!r} (as {match.category})")

    print(f"\n[{lang}] recall per category")
    for category, (hit, total) in sorted(caught.items()):
        print(f"  {category:<20} {hit:>3}/{total:<3} {100 * hit / total:5.1f}%")
    print(f"[{lang}] false alarms per group")
    for group, (hit, total) in sorted(flagged.items()):
        print(f"  {group:<30} {hit:>3}/{total:<3}")
    assert not missed, "crisis messages not caught as they should be:\n" + "\n".join(missed)
    assert not alarms, "ordinary messages flagged:\n" + "\n".join(alarms)
