""" "next tuesday": while the coming Tuesday is still in this Monday-to-Sunday week, many mean
the Tuesday of next week by it. The reader reports both days (`WhenReading.other_day`); the
booking service turns them into a choice (`Ambiguity`, reason TWO_WEEKS). Any other way of
naming a weekday ("this tuesday", "tuesday", "tuesday after next", Spanish "el martes que
viene") keeps its one reading; Spanish "el próximo martes" is read as "next tuesday"."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import cast
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.db.patients import Repository
from bot.domain.refusals import OfferKind
from bot.domain.visits import AmbiguityReason, BookingProblem
from bot.domain.when_parser import ParseErrorCode, WhenReading, read_when
from bot.services.appointments import Ambiguity, AppointmentService, HalfAnswer, VisitTime
from bot.services.errors import BookingRefused
from bot.services.offers import Offer
from bot.services.reminders import ReminderPlanner
from foundation.clock import FrozenClock

NY = "America/New_York"
MONDAY = date(2026, 12, 7)  # the week of Monday, December 7 to Sunday, December 13, 2026
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
ES_WEEKDAYS = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")


def read(text: str, now: datetime, lang: str = "en") -> WhenReading:
    return read_when(text, now_local=now, lang=lang)


def service(now: datetime) -> AppointmentService:
    """The booking service reads with its clock alone: no database, no reminders."""
    return AppointmentService(cast(Repository, None), FrozenClock(now), cast(ReminderPlanner, None))


def _expected(today: int, weekday: int) -> tuple[date, date | None]:
    """On the `today`-th day of the week of December 7 (9 AM), "next <weekday> at 10": a
    weekday still ahead this week is this week's or next week's; today's weekday is a week
    ahead ("next monday" said on a Monday: nobody means today, even at 10 AM still ahead),
    and one already past this week is next week's, alone."""
    if weekday > today:
        return MONDAY + timedelta(days=weekday), MONDAY + timedelta(days=weekday + 7)
    return MONDAY + timedelta(days=weekday + 7), None


@pytest.mark.parametrize("today", range(7))
@pytest.mark.parametrize("weekday", range(7))
def test_next_weekday_on_each_day_of_the_week(today: int, weekday: int) -> None:
    now = datetime.combine(MONDAY + timedelta(days=today), time(9))
    reading = read(f"next {WEEKDAYS[weekday]} at 10", now)
    assert (reading.day, reading.other_day) == _expected(today, weekday)
    assert reading.clock == time(10)


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("next tuesday at 10", date(2026, 12, 8)),
        ("nxt tue 10am", date(2026, 12, 8)),
        ("Next Tuesday, 10 a.m.", date(2026, 12, 8)),
        ("my first infusion is next tuesday at 9:30", date(2026, 12, 8)),
    ],
)
def test_next_tuesday_on_a_monday_is_both(text: str, day: date) -> None:
    reading = read(text, datetime(2026, 12, 7, 9))
    assert (reading.day, reading.other_day) == (day, day + timedelta(days=7))


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("this tuesday at 10", date(2026, 12, 8)),
        ("tuesday at 10", date(2026, 12, 8)),
        ("this coming tuesday at 10", date(2026, 12, 8)),
        ("tuesday after next at 10", date(2026, 12, 15)),
        ("tuesday next week at 10", date(2026, 12, 15)),
        ("next tuesday the 15th at 10", date(2026, 12, 15)),  # the date says which
        ("a week from next tuesday at 10", date(2026, 12, 15)),
        ("last tuesday at 10", date(2026, 12, 1)),
    ],
)
def test_other_ways_of_naming_a_weekday_keep_one_reading(text: str, day: date) -> None:
    reading = read(text, datetime(2026, 12, 7, 9))
    assert (reading.day, reading.other_day) == (day, None)


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("el martes que viene a las 10", date(2026, 12, 8)),
        ("este martes a las 10", date(2026, 12, 8)),
        ("martes de la semana que viene a las 10", date(2026, 12, 15)),
        ("el próximo martes 15 a las 10", date(2026, 12, 15)),  # the date says which
    ],
)
def test_other_spanish_ways_of_naming_a_weekday_keep_one_reading(text: str, day: date) -> None:
    reading = read(text, datetime(2026, 12, 7, 9), lang="es")
    assert (reading.day, reading.other_day) == (day, None)


@pytest.mark.parametrize("today", range(7))
@pytest.mark.parametrize("weekday", range(7))
@pytest.mark.parametrize("words", ["el próximo {} a las 10", "próximo {} 10am"])
def test_spanish_proximo_is_read_as_next_is_on_each_day_of_the_week(
    today: int, weekday: int, words: str
) -> None:
    """ "el próximo jueves" is "next thursday": said on a Monday, this week's Thursday or
    next week's (both, to be asked), as in English; said on a Friday, next week's alone."""
    now = datetime.combine(MONDAY + timedelta(days=today), time(9))
    reading = read(words.format(ES_WEEKDAYS[weekday]), now, lang="es")
    assert (reading.day, reading.other_day) == _expected(today, weekday)
    english = read(f"next {WEEKDAYS[weekday]} at 10", now)
    assert (reading.day, reading.other_day) == (english.day, english.other_day)


def test_next_tuesday_said_on_friday_is_next_weeks_alone() -> None:
    reading = read("next tuesday at 10", datetime(2026, 12, 11, 9))
    assert (reading.day, reading.other_day) == (date(2026, 12, 15), None)


def test_a_half_answer_keeps_both_days_for_the_time_to_complete() -> None:
    half = read("next wednesday", datetime(2026, 12, 7, 9))
    assert (half.day, half.other_day) == (date(2026, 12, 9), date(2026, 12, 16))
    whole = read("10am", datetime(2026, 12, 7, 9)).merged(half)
    assert (whole.day, whole.other_day, whole.clock) == (
        date(2026, 12, 9),
        date(2026, 12, 16),
        time(10),
    )
    # A day given by the second answer replaces both.
    assert read("dec 10 at 10", datetime(2026, 12, 7, 9)).merged(half).other_day is None


@given(
    now=st.datetimes(datetime(2026, 1, 1), datetime(2030, 12, 31)),
    weekday=st.integers(0, 6),
)
def test_property_next_is_the_coming_one_or_a_week_later(now: datetime, weekday: int) -> None:
    next_monday = now.date() + timedelta(days=7 - now.weekday())
    coming = read(f"this {WEEKDAYS[weekday]}", now)
    found = read(f"next {WEEKDAYS[weekday]}", now)
    assert found.day == coming.day and found.day is not None
    assert found.day.weekday() == weekday
    if found.day < next_monday:
        assert found.other_day == found.day + timedelta(days=7)
    else:
        assert found.other_day is None
    assert coming.other_day is None


# --- the booking service ------------------------------------------------------------------------


def _at(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(NY))


def test_the_service_offers_both_days() -> None:
    found = service(_at(2026, 12, 7, 9)).read("next tuesday at 10", NY)
    assert isinstance(found, Ambiguity)
    assert found.reason is AmbiguityReason.TWO_WEEKS
    assert found.earlier.local == _at(2026, 12, 8, 10)
    assert found.later.local == _at(2026, 12, 15, 10)


def test_the_service_keeps_one_day_when_there_is_no_doubt() -> None:
    found = service(_at(2026, 12, 11, 9)).read("next tuesday at 10", NY)
    assert isinstance(found, VisitTime)
    assert found.local == _at(2026, 12, 15, 10)


def test_the_service_completes_a_half_answer_into_the_choice() -> None:
    booking = service(_at(2026, 12, 7, 9))
    half = booking.read_answer("next thursday", NY)
    assert isinstance(half, HalfAnswer)
    found = booking.read_answer("2:30", NY, earlier=half.reading)
    assert isinstance(found, Ambiguity) and found.reason is AmbiguityReason.TWO_WEEKS
    assert found.later.local == _at(2026, 12, 17, 14, 30)


def test_across_the_clocks_going_back_each_day_keeps_its_offset() -> None:
    """The week the clocks go back (Sunday, November 1, 2026): "next sunday at 10" on the
    Monday before is November 1 (EST, after the change) or November 8."""
    found = service(_at(2026, 10, 26, 9)).read("next sunday at 10", NY)
    assert isinstance(found, Ambiguity) and found.reason is AmbiguityReason.TWO_WEEKS
    assert found.earlier.starts_at == datetime(2026, 11, 1, 15, tzinfo=UTC)
    assert found.later.starts_at == datetime(2026, 11, 8, 15, tzinfo=UTC)
    # Friday of that week is still EDT: this week's reading keeps its own offset.
    friday = service(_at(2026, 10, 26, 9)).read("next friday at 10", NY)
    assert isinstance(friday, Ambiguity)
    assert friday.earlier.starts_at == datetime(2026, 10, 30, 14, tzinfo=UTC)
    assert friday.later.starts_at == datetime(2026, 11, 6, 15, tzinfo=UTC)


def test_a_time_the_clocks_show_twice_on_one_of_the_days_is_asked_as_a_date() -> None:
    """1:30 AM on Sunday, November 1, 2026 happens twice: four readings are too many to
    offer; the patient is asked to send one day."""
    with pytest.raises(BookingRefused) as refused:
        service(_at(2026, 10, 26, 9)).read("next sunday at 1:30am", NY)
    assert refused.value.code is ParseErrorCode.CHOICE


def test_a_time_the_clocks_skip_this_week_is_refused_as_it_was() -> None:
    """2:30 AM on Sunday, March 14, 2027 does not exist: refused, as "sunday 2:30am" is."""
    with pytest.raises(BookingRefused) as refused:
        service(_at(2027, 3, 8, 9)).read("next sunday at 2:30am", NY)
    assert refused.value.code is BookingProblem.NONEXISTENT


def test_the_offer_holds_both_days_and_gives_the_one_picked() -> None:
    found = service(_at(2026, 12, 7, 9)).read("next tuesday at 10", NY)
    assert isinstance(found, Ambiguity)
    offer = Offer.of_reading(OfferKind.BOOKING, found)
    held = Offer.held(offer.to_state(), OfferKind.BOOKING)
    assert held.ambiguous
    assert held.visit_time("earlier").local == _at(2026, 12, 8, 10)
    assert held.visit_time("later").local == _at(2026, 12, 15, 10)


# --- "(tomorrow)" rather than "(this week)" -----------------------------------------------------


@pytest.mark.parametrize(
    ("now", "text", "tomorrow"),
    [
        (_at(2026, 12, 7, 9), "next tuesday at 10", True),  # Monday: Tuesday is tomorrow
        (_at(2026, 12, 7, 9), "next thursday at 10", False),  # Monday: Thursday, this week
        (_at(2026, 12, 12, 9), "next sunday at 10", True),  # Saturday: Sunday is tomorrow
    ],
)
def test_the_choice_says_when_this_weeks_day_is_tomorrow(
    now: datetime, text: str, tomorrow: bool
) -> None:
    found = service(now).read(text, NY)
    assert isinstance(found, Ambiguity) and found.reason is AmbiguityReason.TWO_WEEKS
    assert found.tomorrow is tomorrow


def test_tomorrow_is_the_patients_tomorrow_in_their_zone() -> None:
    """Monday 10 PM in New York is Tuesday 3 AM in UTC: "next tuesday" is tomorrow or a week
    later to the New York patient; to one in UTC, Tuesday is today, and "next tuesday" a week
    ahead, alone."""
    now = datetime(2026, 12, 8, 3, tzinfo=UTC)
    new_york = service(now).read("next tuesday at 10", NY)
    assert isinstance(new_york, Ambiguity) and new_york.tomorrow
    assert new_york.earlier.local == _at(2026, 12, 8, 10)
    utc = service(now).read("next tuesday at 10", "UTC")
    assert isinstance(utc, VisitTime)
    assert utc.starts_at == datetime(2026, 12, 15, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "lang", "day"),
    [
        ("next monday at 3pm", "en", date(2026, 12, 14)),
        ("this coming monday at 3pm", "en", date(2026, 12, 14)),
        ("coming monday at 3pm", "en", date(2026, 12, 14)),
        ("this monday at 3pm", "en", date(2026, 12, 7)),  # today, 3 PM being ahead
        ("monday at 3pm", "en", date(2026, 12, 7)),
        ("el próximo lunes a las 3pm", "es", date(2026, 12, 14)),
        ("el lunes que viene a las 3pm", "es", date(2026, 12, 14)),
        ("este lunes a las 3pm", "es", date(2026, 12, 7)),
    ],
)
def test_today_s_weekday_after_next_or_coming_is_a_week_ahead(
    text: str, lang: str, day: date
) -> None:
    """Said on Monday, December 7 at 10 AM: "next monday" and "el lunes que viene" are
    December 14, one reading (not today, not a choice); "this monday" at a time still ahead
    is today."""
    reading = read(text, datetime(2026, 12, 7, 10), lang)
    assert (reading.day, reading.other_day) == (day, None)


def test_a_time_the_clocks_show_twice_is_never_tomorrow() -> None:
    found = service(_at(2026, 10, 31, 9)).read("2026-11-01 1:30am", NY)
    assert isinstance(found, Ambiguity) and found.reason is AmbiguityReason.CLOCKS_BACK
    assert not found.tomorrow
