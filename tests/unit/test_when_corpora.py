"""Dates and time zones as people type them, measured on corpora written by people who never
saw the parser: every ``dates_*.tsv`` and ``zones_*.tsv`` of ``tests/corpora/when/<lang>/``
(``*_dev.tsv`` to tune on; a held-out set, ``*_heldout.tsv``, is added and kept by the lead).
Each file must be read right at least nine times in ten. Run with ``-s`` to see the figures
(``-s -v`` lists every miss):

    .venv/bin/python -m pytest -s tests/unit/test_when_corpora.py

Dates go through the booking service exactly as a patient's answer does
(`AppointmentService.read_answer`, at the file's NOW in its zone), and the outcome is named as
the corpora name it: ``YYYY-MM-DD HH:MM`` (a time to confirm), ``ASK_TIME YYYY-MM-DD`` (the day,
and a question for the time), ``ASK_DATE HH:MM`` (the reverse), ``ASK`` (a question: which
day, which of two) or ``NONE`` (refused: past, more than a year ahead, impossible, not a
date). Several right answers are separated by ``|``.

Zones go through `read_zone`: a right reading is one zone of the expected ones, or a question
whose every choice is one of them when the expected answer names several; ``NONE`` is no
zone at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import cast
from zoneinfo import ZoneInfo

import pytest

from bot.db.patients import Repository
from bot.domain.visits import BookingProblem
from bot.domain.when_parser import ParseErrorCode
from bot.domain.zone_names import read_zone
from bot.services.appointments import AppointmentService, HalfAnswer, VisitTime
from bot.services.errors import BookingRefused
from bot.services.reminders import ReminderPlanner
from foundation.clock import FrozenClock

CORPORA = Path(__file__).resolve().parents[1] / "corpora" / "when"
LANGUAGES = ("en", "es")
TARGET = 0.90
# The date files' header says when they were written for: "NOW = Sunday 2026-12-06 15:00
# America/New_York" ("AHORA = ..." in Spanish).
_NOW_RE = re.compile(r"(?:NOW|AHORA)\s*=\s*\S+\s+(\d{4}-\d\d-\d\d \d\d:\d\d)\s+([A-Za-z_/+\-]+)")
_ASKS = {ParseErrorCode.VAGUE, ParseErrorCode.CHOICE, ParseErrorCode.WEEKDAY_MISMATCH}


@dataclass(frozen=True)
class Case:
    text: str
    expected: frozenset[str]


def _files(kind: str) -> list[Path]:
    return sorted(p for lang in LANGUAGES for p in (CORPORA / lang).glob(f"{kind}_*.tsv"))


def _cases(path: Path) -> list[Case]:
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        text, expected = line.split("\t")
        cases.append(Case(text, frozenset(e.strip() for e in expected.split("|"))))
    return cases


def _now(path: Path) -> tuple[datetime, str]:
    match = _NOW_RE.search(path.read_text(encoding="utf-8"))
    assert match is not None, f"{path}: no 'NOW = <weekday> YYYY-MM-DD HH:MM <zone>' header"
    zone = match.group(2)
    return datetime.fromisoformat(match.group(1)).replace(tzinfo=ZoneInfo(zone)), zone


def date_outcome(service: AppointmentService, text: str, zone: str, lang: str) -> str:
    """What the bot does with `text` as an answer to "when is your appointment?"."""
    try:
        found = service.read_answer(text, zone, lang)
    except BookingRefused as refusal:
        return "ASK" if refusal.code in _ASKS else "NONE"
    if isinstance(found, HalfAnswer):
        reading = found.reading
        if reading.day is not None:
            return f"ASK_TIME {reading.day:%Y-%m-%d}"
        assert reading.clock is not None
        return f"ASK_DATE {reading.clock:%H:%M}"
    proposal = found if isinstance(found, VisitTime) else found.earlier
    return f"{proposal.local:%Y-%m-%d %H:%M}"


def zone_outcome(text: str, lang: str, expected: frozenset[str]) -> bool:
    choices = {choice.zone for choice in read_zone(text, lang).choices}
    if expected == {"NONE"}:
        return not choices
    return bool(choices) and choices <= expected and (len(choices) == 1 or len(expected) > 1)


def _report(path: Path, right: int, total: int, misses: list[str]) -> None:
    print(f"\n{path.relative_to(CORPORA)}: {right}/{total} right ({100 * right / total:.1f}%)")
    for miss in misses:
        print(f"  miss: {miss}")


@pytest.mark.parametrize("path", _files("dates"), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_dates_are_read_as_people_mean_them(path: Path, request: pytest.FixtureRequest) -> None:
    now, zone = _now(path)
    # read_answer reads with the clock alone: no database, no reminders.
    service = AppointmentService(
        cast(Repository, None), FrozenClock(now), cast(ReminderPlanner, None)
    )
    lang = path.parent.name
    cases = _cases(path)
    misses = []
    for case in cases:
        got = date_outcome(service, case.text, zone, lang)
        if got not in case.expected:
            misses.append(f"{case.text!r}: {got}, expected {' | '.join(sorted(case.expected))}")
    right = len(cases) - len(misses)
    verbose = request.config.get_verbosity() > 0
    _report(path, right, len(cases), misses if verbose else [])
    assert right / len(cases) >= TARGET, f"{path.name}: {right}/{len(cases)}; " + "; ".join(
        misses[:20]
    )


@pytest.mark.parametrize("path", _files("zones"), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_zones_are_read_as_people_name_them(path: Path, request: pytest.FixtureRequest) -> None:
    lang = path.parent.name
    cases = _cases(path)
    misses = [
        f"{c.text!r}: {sorted(ch.zone for ch in read_zone(c.text, lang).choices) or 'NONE'}, "
        f"expected {' | '.join(sorted(c.expected))}"
        for c in cases
        if not zone_outcome(c.text, lang, c.expected)
    ]
    right = len(cases) - len(misses)
    verbose = request.config.get_verbosity() > 0
    _report(path, right, len(cases), misses if verbose else [])
    assert right / len(cases) >= TARGET, f"{path.name}: {right}/{len(cases)}; " + "; ".join(
        misses[:20]
    )


def test_every_language_has_a_development_set() -> None:
    for lang in LANGUAGES:
        assert (CORPORA / lang / "dates_dev.tsv").exists()
        assert (CORPORA / lang / "zones_dev.tsv").exists()


def test_the_past_and_the_far_future_are_refused() -> None:
    """The mapping's NONE for times before NOW and beyond a year is the service's own."""
    now = datetime(2026, 12, 6, 15, 0, tzinfo=ZoneInfo("America/New_York"))
    service = AppointmentService(
        cast(Repository, None), FrozenClock(now), cast(ReminderPlanner, None)
    )
    for text, problem in (("today at 9am", BookingProblem.PAST), ("2027-12-07 10:00", None)):
        with pytest.raises(BookingRefused) as refused:
            service.read_answer(text, "America/New_York", "en")
        assert refused.value.code is (problem or BookingProblem.TOO_FAR)
