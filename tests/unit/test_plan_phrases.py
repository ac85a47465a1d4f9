"""Reading a reminder step's time as the team says it (bot/domain/plan_phrases.py), in
English and Spanish; every reading is an offset the plan itself accepts."""

from __future__ import annotations

import contextlib
from datetime import time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.plan_phrases import read_step_time
from scheduler.plan import parse_offset


@pytest.mark.parametrize(
    ("typed", "offset"),
    [
        ("2 hours before", "-2h"),
        ("the day before at 6pm", "-1d@18:00"),
        ("the day after at 10am", "+1d@10:00"),
        ("3 days before", "-3d"),
        ("an hour before", "-1h"),
        ("90 minutes before", "-90m"),
        ("At the start", "0"),
        ("the day of the visit at 7am", "0d@07:00"),
        ("the evening before at 7:30 p.m.", "-1d@19:30"),
        ("2 days before at noon", "-2d@12:00"),
        ("-1d@19:00", "-1d@19:00"),
        ("+3d", "+3d"),
        ("2 horas antes", "-2h"),
        ("El día anterior a las 18:00", "-1d@18:00"),
        ("la víspera a las 7 de la tarde", "-1d@19:00"),
        ("al día siguiente a las 10am", "+1d@10:00"),
        ("el mismo día a las 7", "0d@07:00"),
        ("3 días antes", "-3d"),
        ("un día después", "+1d"),
        ("al inicio", "0"),
        ("2 días después a las 10:00", "+2d@10:00"),
    ],
)
def test_phrases(typed: str, offset: str) -> None:
    assert read_step_time(typed) == offset
    parse_offset(offset)


@pytest.mark.parametrize(
    "typed", ["", "soon", "the day before at 25pm", "2 hours before at 6pm", "tomorrow", "x" * 300]
)
def test_what_cannot_be_read_says_how_to_write_it(typed: str) -> None:
    with pytest.raises(
        ValueError, match=r"write it like|clock time|is 1 to 12|more than|goes with days"
    ):
        read_step_time(typed)


_UNITS = {"minutes": timedelta(minutes=1), "hours": timedelta(hours=1), "days": timedelta(days=1)}
_UNITS_ES = {"minutos": "minutes", "horas": "hours", "días": "days"}


@given(
    count=st.integers(min_value=2, max_value=30),
    unit=st.sampled_from(sorted(_UNITS)),
    before=st.booleans(),
    spanish=st.booleans(),
)
def test_an_amount_before_or_after_is_that_much_time(
    count: int, unit: str, before: bool, spanish: bool
) -> None:
    if spanish:
        word = {v: k for k, v in _UNITS_ES.items()}[unit]
        typed = f"{count} {word} {'antes' if before else 'después'}"
    else:
        typed = f"{count} {unit} {'before' if before else 'after'}"
    offset = parse_offset(read_step_time(typed))
    expected = count * _UNITS[unit]
    assert offset.delta == (-expected if before else expected)


@given(
    days=st.integers(min_value=-30, max_value=30),
    at=st.times().map(lambda t: time(t.hour, t.minute)),
    twelve=st.booleans(),
)
def test_a_clock_time_on_a_day_is_that_wall_time(days: int, at: time, twelve: bool) -> None:
    if twelve:
        clock = f"{at.hour % 12 or 12}:{at.minute:02d}{'pm' if at.hour >= 12 else 'am'}"
    else:
        clock = f"{at:%H:%M}"
    if days == 0:
        day = "the day of the visit"
    elif abs(days) == 1:
        day = "the day after" if days > 0 else "the day before"
    else:
        day = f"{abs(days)} days {'after' if days > 0 else 'before'}"
    offset = parse_offset(read_step_time(f"{day} at {clock}"))
    assert (offset.days, offset.at) == (days, at)


@given(st.text(max_size=80))
def test_any_text_is_read_or_refused_never_crashes(text: str) -> None:
    with contextlib.suppress(ValueError):
        parse_offset(read_step_time(text))
