"""A typed answer to "this week's or next week's?" (bot/domain/which_week.py), read with the
shipped words (messages/<lang>/which_week.toml) by the booking service, which holds the clock
and the two days offered; and the content check of that file."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from typing import cast
from zoneinfo import ZoneInfo

import pytest

from bot.content.store import Content
from bot.content.validate import validate_content
from bot.db.patients import Repository
from bot.domain.which_week import WeekAnswer
from bot.services.appointments import AppointmentService, VisitTime
from bot.services.reminders import ReminderPlanner
from foundation.clock import FrozenClock

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "messages"
_CONTENT = Content(BUNDLED)
NY = ZoneInfo("America/New_York")
MONDAY = datetime(2026, 11, 23, 10, tzinfo=NY)  # "next tuesday at 10": Nov 24 or Dec 1
EARLIER = VisitTime(datetime(2026, 11, 24, 10, tzinfo=NY), "America/New_York")
LATER = VisitTime(datetime(2026, 12, 1, 10, tzinfo=NY), "America/New_York")

E, L, U = WeekAnswer.EARLIER, WeekAnswer.LATER, WeekAnswer.UNSURE


def answer(
    text: str, lang: str = "en", offered: tuple[VisitTime, VisitTime] = (EARLIER, LATER)
) -> WeekAnswer | None:
    booking = AppointmentService(
        cast(Repository, None), FrozenClock(MONDAY), cast(ReminderPlanner, None)
    )
    return booking.week_answer(text, *offered, _CONTENT.which_week(lang), lang)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # not sure: the choice stays, whatever else is said
        ("not sure, they just said friday", U),
        ("I don't know", U),
        ("idk", U),
        ("honestly I can't remember", U),
        ("next week I think, not 100% sure", U),
        # the week in words
        ("this week", E),
        ("next week", L),
        ("Next week's", L),
        ("it's next week", L),
        ("the later one please", L),
        ("next wk", L),  # as a busy front desk types it
        ("this wk", E),
        ("the first one", E),
        ("not this week", L),
        ("no, next week", L),
        ("next week, not this week", L),
        # a date: its day, and its time when one is said
        ("tomorrow", E),
        ("dec 1", L),
        ("the 24th", E),
        ("December 1st at 10", L),
        ("tuesday next week", L),
        # anything else: read as without the choice
        ("tuesday", None),  # the weekday again
        ("next tuesday", None),
        ("dec 1 at 3pm", None),  # another time: a new time to read back
        ("friday at 2", None),
        ("this week or next week?", U),  # a question naming the weeks: not sure
        ("this week or next week", None),  # both
        ("is it next week?", U),
        ("wait is it tomorrow??", U),  # a question naming one of the dates too
        ("dec 1?", U),
        ("is it at 3pm?", None),  # a question naming neither: for the FAQ
        ("can i eat before?", None),
        ("thank you", None),
        ("how long does it take", None),
    ],
)
def test_english(text: str, expected: WeekAnswer | None) -> None:
    assert answer(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("no sé", U),
        ("no estoy segura, solo dijeron el viernes", U),
        ("ni idea", U),
        ("la semana que viene", L),
        ("La próxima semana", L),
        ("próxima semana", L),  # without the article, as typed in a hurry
        ("semana que viene", L),
        ("la prox semana", L),
        ("esta semana", E),
        ("la de esta semana", E),
        ("esta semana no", L),
        ("no, la que viene", L),
        ("mañana", E),
        ("el 1 de diciembre", L),
        ("el primero de diciembre", L),
        ("martes", None),
        ("¿es esta semana?", U),
        ("¿es mañana?", U),
        ("¿puedo comer antes?", None),
        ("gracias", None),
    ],
)
def test_spanish(text: str, expected: WeekAnswer | None) -> None:
    assert answer(text, "es") is expected


def test_two_readings_that_are_no_two_weeks_are_no_such_choice() -> None:
    """Two readings of one wall time (the clocks going back) are not weeks: "next week" or
    "not sure" there is read as without the choice."""
    utc = ZoneInfo("UTC")
    first = VisitTime(datetime(2027, 11, 7, 5, 30, tzinfo=utc), "America/New_York")
    second = VisitTime(datetime(2027, 11, 7, 6, 30, tzinfo=utc), "America/New_York")
    assert first.local.time() == second.local.time()
    assert answer("not sure", offered=(first, second)) is None
    assert answer("next week", offered=(first, second)) is None


def test_the_check_reads_the_file_and_names_what_is_wrong(tmp_path: Path) -> None:
    """A language without the file reads the default language's and is told; a field the
    file does not know is named with its line."""
    messages = tmp_path / "messages"
    shutil.copytree(BUNDLED, messages)
    (messages / "es" / "which_week.toml").unlink()
    assert validate_content(messages) == [
        f"{messages / 'es' / 'which_week.toml'}: missing (falls back to en)"
    ]
    assert Content(messages).which_week("es").said("next week") is WeekAnswer.LATER
    path = messages / "en" / "which_week.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text + 'maybe = ["perhaps"]\n', encoding="utf-8")
    line = text.count("\n") + 1
    assert f"{path}:{line}: maybe: unknown setting" in "\n".join(validate_content(messages))
