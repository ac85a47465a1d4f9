"""Tests for bot.domain.when_parser: examples, error codes and property tests."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.content import catalogue
from bot.content.store import Content
from bot.domain import when_parser
from bot.domain.when_parser import ParseErrorCode, WhenParseError, parse_when
from bot.domain.when_words import VOCABULARIES

# Monday, 23 November 2026, 10:00 in the patient's zone.
NOW = datetime(2026, 11, 23, 10, 0)

MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

DEC_3_1430 = datetime(2026, 12, 3, 14, 30)

ES_MONTHS = (
    "enero", "febrero", "marzo", "abril", "mayo", "junio",
    "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre",
)  # fmt: skip
ES_WEEKDAYS = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")


def parse(text: str, now: datetime = NOW) -> datetime:
    return parse_when(text, now_local=now)


def error_code(text: str, now: datetime = NOW) -> str:
    with pytest.raises(WhenParseError) as info:
        parse_when(text, now_local=now)
    return info.value.code


def test_fixed_now_is_a_monday() -> None:
    assert NOW.weekday() == 0


# --------------------------------------------------------------------------------------
# Accepted formats
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # ISO
        ("2026-12-03 14:30", DEC_3_1430),
        ("2026-12-03T14:30", DEC_3_1430),
        ("2026-12-03t14:30", DEC_3_1430),
        ("2026-12-03 2:30pm", DEC_3_1430),
        ("2026-12-03 14:30:00", DEC_3_1430),
        # US month/day
        ("12/3 2:30pm", DEC_3_1430),
        ("12/3/2026 14:30", DEC_3_1430),
        ("12/3/26 2:30 pm", DEC_3_1430),
        ("12/03/2026 02:30 PM", DEC_3_1430),
        # Month names
        ("Dec 3 2:30 pm", DEC_3_1430),
        ("December 3rd at 2:30pm", DEC_3_1430),
        ("3 December 14:30", DEC_3_1430),
        ("3 Dec 2026 14:30", DEC_3_1430),
        ("Dec 3, 2026 2:30 PM", DEC_3_1430),
        ("Dec. 3, 2026 2:30 PM", DEC_3_1430),
        ("Thursday, December 3, 2026 at 2:30 PM", DEC_3_1430),
        ("Thu Dec 3 2:30pm", DEC_3_1430),
        ("3rd of December at 14:30", DEC_3_1430),
        ("on December 3 at 14:30", DEC_3_1430),
        ("Sept 9 9am", datetime(2027, 9, 9, 9, 0)),
        ("sep 9 9am", datetime(2027, 9, 9, 9, 0)),
        ("September 30, 2026 9am", datetime(2026, 9, 30, 9, 0)),
        # Time first
        ("2:30pm Dec 3", DEC_3_1430),
        ("14:30 3 Dec", DEC_3_1430),
        ("2pm 3 Dec", datetime(2026, 12, 3, 14, 0)),
        ("10am tomorrow", datetime(2026, 11, 24, 10, 0)),
        ("at 10am on tomorrow", datetime(2026, 11, 24, 10, 0)),
        # Relative days
        ("today 5pm", datetime(2026, 11, 23, 17, 0)),
        ("tomorrow 10am", datetime(2026, 11, 24, 10, 0)),
        ("tomorrow at 10:00", datetime(2026, 11, 24, 10, 0)),
        ("thursday 9:15", datetime(2026, 11, 26, 9, 15)),
        ("thursday 21:15", datetime(2026, 11, 26, 21, 15)),
        ("thu 9:15am", datetime(2026, 11, 26, 9, 15)),
        ("next thursday 9:15", datetime(2026, 11, 26, 9, 15)),
        ("this thursday 9:15", datetime(2026, 11, 26, 9, 15)),
        ("on friday at 3pm", datetime(2026, 11, 27, 15, 0)),
        ("Sunday 8am", datetime(2026, 11, 29, 8, 0)),
        # Time forms
        ("tomorrow 14:30", datetime(2026, 11, 24, 14, 30)),
        ("tomorrow 2:30pm", datetime(2026, 11, 24, 14, 30)),
        ("tomorrow 2:30 pm", datetime(2026, 11, 24, 14, 30)),
        ("tomorrow 2:30 p.m.", datetime(2026, 11, 24, 14, 30)),
        ("tomorrow 2:30 P.M", datetime(2026, 11, 24, 14, 30)),
        ("tomorrow 9:15 a.m.", datetime(2026, 11, 24, 9, 15)),
        ("tomorrow 2pm", datetime(2026, 11, 24, 14, 0)),
        ("tomorrow 2 pm", datetime(2026, 11, 24, 14, 0)),
        ("tomorrow 9.15", datetime(2026, 11, 24, 9, 15)),
        ("tomorrow noon", datetime(2026, 11, 24, 12, 0)),
        ("tomorrow midnight", datetime(2026, 11, 24, 0, 0)),
        ("tomorrow 10", datetime(2026, 11, 24, 10, 0)),
        ("tomorrow 0", datetime(2026, 11, 24, 0, 0)),
        ("tomorrow 23", datetime(2026, 11, 24, 23, 0)),
        ("tomorrow 12am", datetime(2026, 11, 24, 0, 0)),
        ("tomorrow 12pm", datetime(2026, 11, 24, 12, 0)),
        ("tomorrow 12:30am", datetime(2026, 11, 24, 0, 30)),
        ("tomorrow 00:00", datetime(2026, 11, 24, 0, 0)),
        # Case, spacing, commas, trailing full stop
        ("  TOMORROW   AT   10AM  ", datetime(2026, 11, 24, 10, 0)),
        ("tomorrow, 10am.", datetime(2026, 11, 24, 10, 0)),
        ("DEC 3, 2:30PM.", DEC_3_1430),
        ("tomorrow\u00a010am", datetime(2026, 11, 24, 10, 0)),
    ],
)
def test_accepted_examples(text: str, expected: datetime) -> None:
    result = parse(text)
    assert result == expected
    assert result.tzinfo is None
    assert (result.second, result.microsecond) == (0, 0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Dec 3 10", datetime(2026, 12, 3, 10, 0)),
        ("3rd Dec 10", datetime(2026, 12, 3, 10, 0)),
        ("3 Dec 2026 10", datetime(2026, 12, 3, 10, 0)),
        ("7 Dec 3pm", datetime(2026, 12, 7, 15, 0)),
        ("7 Dec 3:00", datetime(2026, 12, 7, 15, 0)),  # 3:00 without a.m.: the convention
        ("7 Dec 03:00", datetime(2026, 12, 7, 3, 0)),  # on the 24-hour clock
        ("7 3rd of December", datetime(2026, 12, 3, 19, 0)),
        ("7am 12/3", datetime(2026, 12, 3, 7, 0)),
    ],
)
def test_bare_hours_next_to_dates(text: str, expected: datetime) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    "text", ["7 Dec 3", "3 Dec 10", "7 Dec 3, 2026", "7, Dec 3", "at 7 on 3 December 10"]
)
def test_bare_hour_that_could_be_a_day_is_asked_about(text: str) -> None:
    assert error_code(text) == "vague"


def test_now_with_seconds_does_not_leak_into_result() -> None:
    now = datetime(2026, 11, 23, 10, 0, 42, 999)
    assert parse("today 5pm", now) == datetime(2026, 11, 23, 17, 0)


def test_past_times_are_returned_unchanged() -> None:
    """Past/future checks belong to the caller."""
    assert parse("today 9am") == datetime(2026, 11, 23, 9, 0)
    assert parse("2020-01-01 09:00") == datetime(2020, 1, 1, 9, 0)


# --------------------------------------------------------------------------------------
# Missing year
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Jan 5 9am", datetime(2027, 1, 5, 9, 0)),
        ("1/5 9am", datetime(2027, 1, 5, 9, 0)),
        ("5 January 09:00", datetime(2027, 1, 5, 9, 0)),
        ("Dec 31 9am", datetime(2026, 12, 31, 9, 0)),
        ("Dec 20 8am", datetime(2026, 12, 20, 8, 0)),  # today: this year, even if past
        ("Dec 19 8am", datetime(2027, 12, 19, 8, 0)),  # yesterday: next year
        ("tomorrow 9am", datetime(2026, 12, 21, 9, 0)),
    ],
)
def test_year_rollover_in_december(text: str, expected: datetime) -> None:
    assert parse(text, datetime(2026, 12, 20, 9, 30)) == expected


def test_tomorrow_on_new_years_eve() -> None:
    assert parse("tomorrow 9am", datetime(2026, 12, 31, 23, 0)) == datetime(2027, 1, 1, 9, 0)


def test_two_digit_years_are_this_century() -> None:
    assert parse("1/5/27 9am") == datetime(2027, 1, 5, 9, 0)
    assert parse("1/5/00 9am") == datetime(2000, 1, 5, 9, 0)


def test_leap_day_without_year() -> None:
    assert parse("Feb 29 9am", datetime(2027, 3, 1, 9, 0)) == datetime(2028, 2, 29, 9, 0)
    assert error_code("Feb 29 9am", datetime(2026, 11, 23, 9, 0)) == "invalid_date"


# --------------------------------------------------------------------------------------
# Weekdays
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("monday 11am", datetime(2026, 11, 23, 11, 0)),  # later today -> today
        ("monday 10:01", datetime(2026, 11, 23, 10, 1)),
        ("monday 10am", datetime(2026, 11, 30, 10, 0)),  # exactly now -> next week
        ("monday 9am", datetime(2026, 11, 30, 9, 0)),  # earlier today -> next week
        ("next monday 11am", datetime(2026, 11, 30, 11, 0)),  # said on a Monday: a week ahead
        ("tuesday 9am", datetime(2026, 11, 24, 9, 0)),
        ("wed 9am", datetime(2026, 11, 25, 9, 0)),
        ("thurs 9am", datetime(2026, 11, 26, 9, 0)),
        ("fri 9am", datetime(2026, 11, 27, 9, 0)),
        ("sat 9am", datetime(2026, 11, 28, 9, 0)),
        ("sun 9am", datetime(2026, 11, 29, 9, 0)),
    ],
)
def test_weekday_rules(text: str, expected: datetime) -> None:
    assert parse(text) == expected


def test_weekday_across_year_end() -> None:
    # Thursday 2026-12-31 -> next Monday is 2027-01-04.
    assert parse("monday 9am", datetime(2026, 12, 31, 12, 0)) == datetime(2027, 1, 4, 9, 0)


def test_weekday_matching_the_date_is_accepted() -> None:
    assert parse("Thursday, December 3 at 2:30 PM") == DEC_3_1430


# --------------------------------------------------------------------------------------
# Error codes
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("\n\t ", "empty"),
        # missing parts
        ("Dec 3", "missing_time"),
        ("tomorrow", "missing_time"),
        ("thursday", "missing_time"),
        ("2026-12-03", "missing_time"),
        ("12/3/2026", "missing_time"),
        ("3pm", "missing_date"),
        ("14:30", "missing_date"),
        ("noon", "missing_date"),
        ("at 10am", "missing_date"),
        # impossible dates
        ("Feb 30 2pm", "invalid_date"),
        ("13/45 2pm", "invalid_date"),
        ("2/30/2027 2pm", "invalid_date"),
        ("2026-02-29 10:00", "invalid_date"),
        ("2026-13-01 10:00", "invalid_date"),
        ("0/5 9am", "invalid_date"),
        ("Dec 0 9am", "invalid_date"),
        ("Dec 32 9am", "invalid_date"),
        ("Feb 30", "invalid_date"),  # reported ahead of the missing time
        ("Friday, December 3, 2026 at 2:30 PM", "weekday_mismatch"),  # Dec 3 is a Thursday
        ("Mon Dec 3 2:30pm", "weekday_mismatch"),
        ("0000-01-01 10:00", "invalid_date"),
        # impossible times
        ("tomorrow 25:00", "invalid_time"),
        ("tomorrow 24:00", "invalid_time"),
        ("tomorrow 13pm", "invalid_time"),
        ("tomorrow 0am", "invalid_time"),
        ("tomorrow 0:30am", "invalid_time"),
        ("tomorrow 10:60", "invalid_time"),
        ("tomorrow 10:30:61", "invalid_time"),
        ("tomorrow 99", "invalid_time"),
        ("25:00", "invalid_time"),  # reported ahead of the missing date
        # two days, or two times: which one?
        ("Dec 3 Dec 4 3pm", "choice"),
        ("tomorrow Dec 3 3pm", "choice"),
        ("3pm 4pm tomorrow", "choice"),
        ("tomorrow 10am 11am", "choice"),
        ("tomorrow or wednesday at 2", "choice"),
        ("dec 15 or 16", "choice"),
        # spans and lone numbers: which day, exactly?
        ("Dec 2026 10am", "vague"),
        ("December 10am", "vague"),
        ("next week", "vague"),
        ("afternoon", "vague"),
        ("2", "vague"),
        # the words around what cannot be read are read
        ("next 10am", "missing_date"),
        ("tomorrow pm", "missing_time"),
        ("tomorrow 10:5", "missing_time"),
        ("2026-12-03 14:30:00.5", "missing_time"),
        ("12/3/2026/1 10am", "missing_date"),
        ("12/3/202 10am", "missing_date"),
        ("tomorrow ١٠am", "missing_time"),  # non-ASCII digits
        ("завтра 10:00", "missing_date"),
        # unreadable
        ("hello", "unreadable"),
        ("555-1234", "unreadable"),
        ("can I reschedule?", "unreadable"),
        (".", "unreadable"),
        (",", "unreadable"),
        ("tomorrow 10am " + "x" * 300, "unreadable"),
    ],
)
def test_error_codes(text: str, code: str) -> None:
    assert error_code(text) == code


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tomorrow 10am please", datetime(2026, 11, 24, 10, 0)),
        ("12-3 2:30pm", DEC_3_1430),
        ("tomorrow 1430", datetime(2026, 11, 24, 14, 30)),
        ("next tomorrow 10am", datetime(2026, 11, 24, 10, 0)),
        ("tomorrow 10am at", datetime(2026, 11, 24, 10, 0)),
        ("at at tomorrow 10am", datetime(2026, 11, 24, 10, 0)),
        ("tomorrow 10 am pm", datetime(2026, 11, 24, 10, 0)),
        ("tomorrow @ 10am", datetime(2026, 11, 24, 10, 0)),
        ("tomorrow 10am!", datetime(2026, 11, 24, 10, 0)),
        ("tomorrow . 10am", datetime(2026, 11, 24, 10, 0)),
        ("my appointment is on dec 3 at 2:30pm, thanks", DEC_3_1430),
    ],
)
def test_words_around_a_date_are_skipped(text: str, expected: datetime) -> None:
    assert parse(text) == expected


def test_error_is_a_value_error_with_known_code() -> None:
    with pytest.raises(ValueError, match="missing_time") as info:
        parse("tomorrow")
    assert isinstance(info.value, WhenParseError)
    assert isinstance(info.value.code, ParseErrorCode)


def test_aware_now_is_a_programming_error() -> None:
    from datetime import UTC

    with pytest.raises(TypeError):
        parse_when("tomorrow 10am", now_local=datetime(2026, 11, 23, 10, 0, tzinfo=UTC))


def test_tomorrow_at_the_end_of_the_calendar() -> None:
    assert error_code("tomorrow 9am", datetime(9999, 12, 31, 12, 0)) == "invalid_date"
    assert error_code("Jan 1 9am", datetime(9999, 12, 31, 12, 0)) == "invalid_date"


def test_vocabulary_is_extensible_by_data(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(when_parser.MONTHS, "dezember", 12)
    monkeypatch.setitem(when_parser.RELATIVE_DAYS, "morgen", 1)
    assert parse("3 Dezember 14:30") == DEC_3_1430
    assert parse("morgen 10:00") == datetime(2026, 11, 24, 10, 0)


# --------------------------------------------------------------------------------------
# Property tests
# --------------------------------------------------------------------------------------

minute_datetimes = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2030, 12, 31, 23, 59)
).map(lambda moment: moment.replace(second=0, microsecond=0))


def hour12(moment: datetime) -> tuple[int, str]:
    return (moment.hour % 12 or 12), ("AM" if moment.hour < 12 else "PM")


def fmt_iso(m: datetime) -> str:
    return f"{m:%Y-%m-%d %H:%M}"


def fmt_iso_t(m: datetime) -> str:
    return f"{m:%Y-%m-%dT%H:%M}"


def fmt_us(m: datetime) -> str:
    hour, meridiem = hour12(m)
    return f"{m.month}/{m.day}/{m.year} {hour}:{m.minute:02d} {meridiem.lower()}"


def fmt_us_short_year(m: datetime) -> str:
    hour, meridiem = hour12(m)
    return f"{m.month}/{m.day}/{m.year % 100:02d} {hour}:{m.minute:02d}{meridiem.lower()}"


def fmt_abbrev(m: datetime) -> str:
    hour, meridiem = hour12(m)
    return f"{MONTH_NAMES[m.month - 1][:3]} {m.day}, {m.year} {hour}:{m.minute:02d} {meridiem}"


def fmt_day_month(m: datetime) -> str:
    return f"{m.day} {MONTH_NAMES[m.month - 1]} {m.year} {m:%H:%M}"


def fmt_full(m: datetime) -> str:
    """Like strftime("%A, %B %-d, %Y at %-I:%M %p"), without relying on locale or glibc."""
    hour, meridiem = hour12(m)
    return (
        f"{WEEKDAY_NAMES[m.weekday()]}, {MONTH_NAMES[m.month - 1]} {m.day}, {m.year}"
        f" at {hour}:{m.minute:02d} {meridiem}"
    )


def fmt_time_first(m: datetime) -> str:
    hour, meridiem = hour12(m)
    return f"{hour}:{m.minute:02d}{meridiem} {MONTH_NAMES[m.month - 1]} {m.day} {m.year}"


FORMATTERS = (
    fmt_iso,
    fmt_iso_t,
    fmt_us,
    fmt_us_short_year,
    fmt_abbrev,
    fmt_day_month,
    fmt_full,
    fmt_time_first,
)


def fmt_es_long(m: datetime) -> str:
    hour, meridiem = hour12(m)
    ampm = "a. m." if meridiem == "AM" else "p. m."
    return (
        f"{ES_WEEKDAYS[m.weekday()]} {m.day} de {ES_MONTHS[m.month - 1]} de {m.year}"
        f" a las {hour}:{m.minute:02d} {ampm}"
    )


def fmt_es_short(m: datetime) -> str:
    return f"{m.day} {ES_MONTHS[m.month - 1][:3]} {m.year} {m:%H:%M}"


def fmt_es_numeric(m: datetime) -> str:
    hour, meridiem = hour12(m)
    return f"{m.day}/{m.month}/{m.year} {hour}:{m.minute:02d}{meridiem.lower()}"


def fmt_es_time_first(m: datetime) -> str:
    return f"a las {m:%H:%M} el {m.day} de {ES_MONTHS[m.month - 1]} de {m.year}"


ES_FORMATTERS = (fmt_es_long, fmt_es_short, fmt_es_time_first)


def test_full_formatter_matches_strftime() -> None:
    moment = datetime(2026, 12, 3, 14, 5)
    assert fmt_full(moment) == "Thursday, December 3, 2026 at 2:05 PM"


def unaccented(text: str) -> str:
    return text.translate(str.maketrans("áéíóúñÁÉÍÓÚÑ", "aeiounAEIOUN"))


@settings(max_examples=800)
@given(
    moment=minute_datetimes,
    written=st.one_of(
        st.tuples(st.sampled_from(FORMATTERS), st.just("en")),
        st.tuples(st.sampled_from(FORMATTERS + ES_FORMATTERS), st.just("es")),
    ),
    case=st.sampled_from([str, str.lower, str.upper, str.title, unaccented]),
)
def test_property_formatted_datetimes_round_trip(
    moment: datetime,
    written: tuple[Callable[[datetime], str], str],
    case: Callable[[str], str],
) -> None:
    formatter, lang = written
    if lang == "es" and formatter in (fmt_us, fmt_us_short_year):
        formatter = fmt_es_numeric  # numeric dates are day first in Spanish
    assert parse_when(case(formatter(moment)), now_local=NOW, lang=lang) == moment


YEARLESS: dict[str, tuple[Callable[[datetime], str], ...]] = {
    "en": (
        lambda t: f"{MONTH_NAMES[t.month - 1]} {t.day} {t:%H:%M}",
        lambda t: f"{t.month}/{t.day} {t:%H:%M}",
    ),
    "es": (
        lambda t: f"{t.day} de {ES_MONTHS[t.month - 1]} {t:%H:%M}",
        lambda t: f"{t.day}/{t.month} {t:%H:%M}",
    ),
}


@settings(max_examples=300)
@given(
    now=minute_datetimes,
    days_ahead=st.integers(min_value=0, max_value=364),
    hour=st.integers(0, 23),
    minute=st.integers(0, 59),
    lang=st.sampled_from(sorted(YEARLESS)),
)
def test_property_yearless_dates_pick_the_next_occurrence(
    now: datetime, days_ahead: int, hour: int, minute: int, lang: str
) -> None:
    target_day = now.date() + timedelta(days=days_ahead)
    target = datetime.combine(target_day, datetime.min.time()).replace(hour=hour, minute=minute)
    for written in YEARLESS[lang]:
        assert parse_when(written(target), now_local=now, lang=lang) == target


@settings(max_examples=300)
@given(
    now=minute_datetimes,
    weekday=st.integers(0, 6),
    hour=st.integers(0, 23),
    minute=st.integers(0, 59),
)
def test_property_weekday_is_the_next_one_ahead(
    now: datetime, weekday: int, hour: int, minute: int
) -> None:
    result = parse(f"{WEEKDAY_NAMES[weekday]} {hour:02d}:{minute:02d}", now)
    assert result.weekday() == weekday
    assert (result.hour, result.minute) == (hour, minute)
    assert now < result <= now + timedelta(days=7)


def outcome(text: str, now: datetime = NOW, lang: str = "en") -> datetime | WhenParseError:
    """Parse, returning the WhenParseError instead of raising; anything else propagates."""
    try:
        return parse_when(text, now_local=now, lang=lang)
    except WhenParseError as err:
        return err


def assert_only_parse_errors(text: str, now: datetime = NOW, lang: str = "en") -> None:
    result = outcome(text, now, lang)
    if isinstance(result, WhenParseError):
        assert isinstance(result.code, ParseErrorCode)
    else:
        assert isinstance(result, datetime)
        assert result.tzinfo is None
        assert (result.second, result.microsecond) == (0, 0)


@settings(max_examples=500)
@given(st.text())
def test_property_arbitrary_text_only_raises_parse_errors(text: str) -> None:
    assert_only_parse_errors(text)


def pad_to_4096(phrase: str, fill: str, before: bool) -> str:
    padding = (fill * 4096)[: 4096 - len(phrase)]
    return padding + phrase if before else phrase + padding


long_texts = st.one_of(
    # Arbitrary text repeated up to Telegram's 4096-character message limit.
    st.text(min_size=1, max_size=64).map(lambda chunk: (chunk * 4096)[:4096]),
    # A valid phrase drowned in padding (whitespace padding is stripped, the rest is not).
    st.builds(
        pad_to_4096,
        st.sampled_from(["tomorrow 10am", "Dec 3, 2026 2:30 PM", "12/3 14:30"]),
        st.sampled_from([" ", "\n", "x", "1", ".", "1/", "a."]),
        st.booleans(),
    ),
)


@settings(max_examples=100)
@given(long_texts)
def test_property_long_text_only_raises_parse_errors(text: str) -> None:
    assert len(text) == 4096
    assert_only_parse_errors(text)


VOCABULARY_TOKENS = (
    list(when_parser.MONTHS)
    + list(when_parser.WEEKDAYS)
    + list(when_parser.RELATIVE_DAYS)
    + list(when_parser.WEEKDAY_MODIFIERS)
    + list(when_parser.NAMED_TIMES)
    + list(when_parser.MERIDIEMS)
    + list(when_parser.FILLERS)
    + list(when_parser.ORDINAL_SUFFIXES)
    + list(when_parser.DAY_MONTH_JOINERS)
    + ["a.m.", "p.m.", ",", ".", "t", "x"]
)
numeric_tokens = st.one_of(
    st.integers(0, 99).map(str),
    st.integers(0, 9999).map(str),
    st.builds(lambda h, m: f"{h}:{m:02d}", st.integers(0, 99), st.integers(0, 99)),
    st.builds(lambda h, m: f"{h}.{m:02d}", st.integers(0, 99), st.integers(0, 99)),
    st.builds(lambda a, b: f"{a}/{b}", st.integers(0, 99), st.integers(0, 99)),
    st.builds(
        lambda a, b, c: f"{a}/{b}/{c}", st.integers(0, 99), st.integers(0, 99), st.integers(0, 9999)
    ),
    st.builds(
        lambda y, m, d: f"{y:04d}-{m:02d}-{d:02d}",
        st.integers(0, 9999),
        st.integers(0, 99),
        st.integers(0, 99),
    ),
)
grammar_soup = st.lists(
    st.tuples(
        st.one_of(st.sampled_from(VOCABULARY_TOKENS), numeric_tokens),
        st.sampled_from(["", " ", ", "]),
    ),
    min_size=1,
    max_size=6,
).map(lambda pairs: "".join(token + sep for token, sep in pairs))


@settings(max_examples=600)
@given(text=grammar_soup, now=minute_datetimes)
def test_property_vocabulary_soup_only_raises_parse_errors(text: str, now: datetime) -> None:
    assert_only_parse_errors(text, now)


DATE_PHRASES = {
    "tomorrow": date(2026, 11, 24),
    "today": date(2026, 11, 23),
    "thu": date(2026, 11, 26),
    "next Friday": date(2026, 11, 27),
    "Dec 3": date(2026, 12, 3),
    "3rd of December": date(2026, 12, 3),
    "Dec 3, 2026": date(2026, 12, 3),
    "Thursday, December 3, 2026": date(2026, 12, 3),
    "12/3": date(2026, 12, 3),
    "1/5/27": date(2027, 1, 5),
    "2027-01-05": date(2027, 1, 5),
}
TIME_PHRASES = {
    "2:30pm": (14, 30),
    "2:30 p.m.": (14, 30),
    "14:30": (14, 30),
    "9.15": (9, 15),
    "2 PM": (14, 0),
    "12am": (0, 0),
    "7": (19, 0),  # a bare hour from 1 to 7 is in the afternoon
    "07:00": (7, 0),
    "noon": (12, 0),
    "midnight": (0, 0),
}


@settings(max_examples=300)
@given(
    date_text=st.sampled_from(sorted(DATE_PHRASES)),
    time_text=st.sampled_from(sorted(TIME_PHRASES)),
    time_first=st.booleans(),
    date_filler=st.sampled_from(["", "on "]),
    time_filler=st.sampled_from(["", "at ", ", "]),
)
def test_property_any_date_phrase_with_any_time_phrase(
    date_text: str, time_text: str, time_first: bool, date_filler: str, time_filler: str
) -> None:
    date_part, time_part = date_filler + date_text, time_filler + time_text
    text = f"{time_part} {date_part}" if time_first else f"{date_part} {time_part}"
    if time_first and time_text.isdigit() and date_text.startswith("Dec ") and not date_filler:
        # "7 Dec 3": the bare hour could belong to either side, so it is asked about
        # ("7 on Dec 3" is clear; commas are ignored, so "7, Dec 3" is asked about too).
        assert error_code(text) == "vague"
        return
    hour, minute = TIME_PHRASES[time_text]
    expected = datetime.combine(DATE_PHRASES[date_text], datetime.min.time())
    assert parse(text) == expected.replace(hour=hour, minute=minute)


@pytest.mark.parametrize(
    "text",
    [
        "1/" * 2048,
        "1:" * 2048,
        "a." * 2048,
        "1" * 4096,
        "a" * 4096,
        "12:30 " * 682,
        " " * 4095 + "x",
        "tomorrow " * 455,
        # Just under the length cap, so the full tokenizer and grammar run.
        ("1/" * 99)[:199],
        ("a." * 99)[:199],
        "1" * 199,
        ("1 " * 99)[:199],
        ("dec 3 " * 33)[:199],
        ("at " * 66)[:199],
    ],
)
def test_adversarial_input_is_fast(text: str) -> None:
    """Guards against catastrophic backtracking: the CPU time of the parse (about 3 ms for
    the slowest here), best of 5. Not the time on the clock, which a machine busy with other
    work (the suite's other worker, other jobs) stretched past 10 ms for all five at once."""
    timings = []
    for _ in range(5):
        start = time.thread_time()
        with pytest.raises(WhenParseError):
            parse(text)
        timings.append(time.thread_time() - start)
    assert min(timings) < 0.010


def test_date_type_is_not_accepted_as_now() -> None:
    with pytest.raises(TypeError):
        parse_when("tomorrow 10am", now_local=date(2026, 11, 23))  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------
# Spanish
# --------------------------------------------------------------------------------------


def parse_es(text: str, now: datetime = NOW) -> datetime:
    return parse_when(text, now_local=now, lang="es")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3 de diciembre 14:30", DEC_3_1430),
        ("3 dic 2:30 pm", DEC_3_1430),
        ("3 Dic. 2:30 p. m.", DEC_3_1430),
        ("mañana 10am", datetime(2026, 11, 24, 10, 0)),
        ("manana a las 10", datetime(2026, 11, 24, 10, 0)),
        ("el jueves a las 9:15", datetime(2026, 11, 26, 9, 15)),
        ("jueves 3 de la tarde", datetime(2026, 11, 26, 15, 0)),
        ("el próximo miércoles a las 8 de la noche", datetime(2026, 11, 25, 20, 0)),
        ("pasado mañana 10:00", datetime(2026, 11, 25, 10, 0)),
        ("hoy a mediodía", datetime(2026, 11, 23, 12, 0)),
        ("mañana a las 10 de la mañana", datetime(2026, 11, 24, 10, 0)),
        ("3/12 14:30", DEC_3_1430),  # day/month
        ("3/12/26 2:30pm", DEC_3_1430),
        ("jueves, 3 de diciembre de 2026, a las 2:30 p. m.", DEC_3_1430),
        ("2026-12-03 14:30", DEC_3_1430),
        ("Dec 3 2:30 pm", DEC_3_1430),  # English words are read too
        ("tomorrow 10am", datetime(2026, 11, 24, 10, 0)),
    ],
)
def test_spanish_examples(text: str, expected: datetime) -> None:
    assert parse_es(text) == expected


def test_numeric_dates_are_month_first_in_english_and_day_first_in_spanish() -> None:
    assert parse("3/12 14:30") == datetime(2027, 3, 12, 14, 30)
    assert parse_es("3/12 14:30") == DEC_3_1430
    assert parse_when("3/12 14:30", now_local=NOW, lang="xx") == datetime(2027, 3, 12, 14, 30)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("3 de diciembre", "missing_time"),
        ("a las 10", "missing_date"),
        ("31/2 10:00", "invalid_date"),
        ("jueves 3 de diciembre 10:00", "weekday_mismatch"),  # the next 3 Dec is a Friday
        ("mañana a las", "missing_time"),
        ("la semana que viene", "vague"),
        ("martes o miércoles", "choice"),
    ],
)
def test_spanish_error_codes(text: str, code: str) -> None:
    with pytest.raises(WhenParseError) as info:
        parse_es(text, datetime(2027, 1, 4, 9, 0))
    assert info.value.code == code


def test_spanish_words_are_not_read_in_english() -> None:
    with pytest.raises(WhenParseError):
        parse("mañana 10am")


def test_the_spanish_confirmation_reads_back() -> None:
    """What the bot shows a Spanish patient (formats.toml) is itself a date it reads."""
    content = Content(Path(__file__).resolve().parents[2] / "messages")
    for moment in (DEC_3_1430, datetime(2027, 8, 1, 0, 5), datetime(2026, 12, 31, 12, 0)):
        shown = content.format_datetime(moment, "es")  # naive: no zone abbreviation
        assert parse_es(shown) == moment, shown


@settings(max_examples=300)
@given(
    now=minute_datetimes,
    weekday=st.integers(0, 6),
    hour=st.integers(1, 12),
    minute=st.integers(0, 59),
    afternoon=st.booleans(),
)
def test_property_spanish_weekday_is_the_next_one_ahead(
    now: datetime, weekday: int, hour: int, minute: int, afternoon: bool
) -> None:
    part = "de la tarde" if afternoon else "de la mañana"
    result = parse_es(f"el {ES_WEEKDAYS[weekday]} a las {hour}:{minute:02d} {part}", now)
    assert result.weekday() == weekday
    assert (result.hour, result.minute) == (hour % 12 + (12 if afternoon else 0), minute)
    assert now < result <= now + timedelta(days=7)


@settings(max_examples=500)
@given(st.text())
def test_property_arbitrary_text_in_spanish_only_raises_parse_errors(text: str) -> None:
    assert_only_parse_errors(text, lang="es")


def test_spanish_night_is_evening_then_small_hours() -> None:
    # "de la noche": 9 at night is 21:00, 12 at night is midnight (as "medianoche"), and
    # 1 at night is 01:00; never noon.
    assert parse_es("jueves 9 de la noche") == datetime(2026, 11, 26, 21, 0)
    assert parse_es("jueves 12 de la noche") == datetime(2026, 11, 26, 0, 0)
    assert parse_es("jueves 12 de la noche") == parse_es("jueves medianoche")
    assert parse_es("jueves 1 de la noche") == datetime(2026, 11, 26, 1, 0)


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("my first infusion is tomorrow at 10am", "en", datetime(2026, 11, 24, 10, 0)),
        ("2nd visit friday 2pm", "en", datetime(2026, 11, 27, 14, 0)),
        ("the third session is on dec 3 at 2:30pm", "en", DEC_3_1430),
        ("first appointment on the 3rd of december at 2:30pm", "en", DEC_3_1430),
        ("mi primer tratamiento es mañana a las 10", "es", datetime(2026, 11, 24, 10, 0)),
        ("la segunda sesion es el 3 de diciembre a las 14:30", "es", DEC_3_1430),
    ],
)
def test_an_ordinal_counting_visits_is_no_day(text: str, lang: str, expected: datetime) -> None:
    """An ordinal before a visit word counts visits: not the 1st of the month."""
    assert parse_when(text, now_local=NOW, lang=lang) == expected


def test_an_ordinal_alone_is_still_a_day() -> None:
    assert parse("the first at 3pm") == datetime(2026, 12, 1, 15, 0)


# --------------------------------------------------------------------------------------
# Compact times: "wed 930", "tues 1030", "thurs 1030a", "12/9 1430", "mañana 930"
# --------------------------------------------------------------------------------------


def _reading(text: str, lang: str = "en") -> when_parser.WhenReading:
    return when_parser.read_when(text, now_local=NOW, lang=lang)


def _outcome(text: str, lang: str) -> when_parser.WhenReading | str:
    try:
        return _reading(text, lang)
    except WhenParseError as exc:
        return str(exc.code)


@settings(max_examples=400, deadline=None)
@given(
    hour=st.integers(1, 12),
    minute=st.integers(0, 59),
    day=st.sampled_from(["wed", "tomorrow", "12/9", "dec 9", "the 9th", "next friday"]),
    suffix=st.sampled_from(["", "am", "pm", "a", "p", " am", " pm", " hrs", "h"]),
    before=st.booleans(),
)
def test_property_compact_time_reads_as_with_the_colon(
    hour: int, minute: int, day: str, suffix: str, before: bool
) -> None:
    """For every H in 1..12 and MM in 00..59, "wed HMM" and "wed H:MM" read the same, with
    the same a.m./p.m. rules ("at 9" is 9 AM, "at 3" 3 PM), before or after the day."""
    compact, colon = f"{hour}{minute:02d}{suffix}", f"{hour}:{minute:02d}{suffix}"
    if before:
        assert parse(f"{compact} {day}") == parse(f"{colon} {day}")
    else:
        assert parse(f"{day} {compact}") == parse(f"{day} {colon}")


@settings(max_examples=300, deadline=None)
@given(
    hour=st.integers(0, 23),
    minute=st.integers(0, 59),
    day=st.sampled_from(["mañana", "el jueves", "jueves", "9/12", "el 15", "el 9 de diciembre"]),
    suffix=st.sampled_from(["", "hs", " hs", "h", " h", " de la tarde", " de la mañana"]),
)
def test_property_spanish_compact_time_reads_as_with_the_colon(
    hour: int, minute: int, day: str, suffix: str
) -> None:
    compact, colon = f"{hour:02d}{minute:02d}{suffix}", f"{hour:02d}:{minute:02d}{suffix}"
    if day in ("9/12", "el 9 de diciembre") and not suffix and 2016 <= int(compact) <= 2036:
        # "9/12 2026" is a year; "9/12 2030" a far year or 8:30 PM, asked about.
        outcome = _outcome(f"{day} {compact}", "es")
        assert outcome == "vague" or (
            isinstance(outcome, when_parser.WhenReading) and outcome.clock is None
        )
        return
    expected = _outcome(f"{day} {colon}", "es")
    assert _outcome(f"{day} {compact}", "es") == expected
    if hour >= 10:  # "1630" is also "16:30" without the leading zero
        assert _outcome(f"{day} {hour}{minute:02d}{suffix}", "es") == expected


@settings(max_examples=300, deadline=None)
@given(number=st.integers(100, 9999), lang=st.sampled_from(["en", "es"]))
def test_property_a_number_alone_is_never_a_whole_visit(number: int, lang: str) -> None:
    """A compact number with no day is no visit: a room, a chart number, a price."""
    for text in (str(number), f"room {number}", f"${number}", f"chart {number}"):
        try:
            reading = _reading(text, lang)
        except WhenParseError:
            continue
        assert reading.day is None


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("wed 930", "en", datetime(2026, 11, 25, 9, 30)),
        ("tues 1030", "en", datetime(2026, 11, 24, 10, 30)),
        ("thurs 1030a", "en", datetime(2026, 11, 26, 10, 30)),
        ("thurs 1030p", "en", datetime(2026, 11, 26, 22, 30)),
        ("12/9 1430", "en", datetime(2026, 12, 9, 14, 30)),
        ("fri 945am", "en", datetime(2026, 11, 27, 9, 45)),
        ("wed 130", "en", datetime(2026, 11, 25, 13, 30)),
        ("wed 1230am", "en", datetime(2026, 11, 25, 0, 30)),
        ("930 on wed", "en", datetime(2026, 11, 25, 9, 30)),
        ("12/9/2026 930", "en", datetime(2026, 12, 9, 9, 30)),
        ("12/9 2026 930", "en", datetime(2026, 12, 9, 9, 30)),
        ("room 1030 wed at 3", "en", datetime(2026, 11, 25, 15, 0)),
        ("chart 1234 tomorrow 10am", "en", datetime(2026, 11, 24, 10, 0)),
        ("mañana 930", "es", datetime(2026, 11, 24, 9, 30)),
        ("el jueves 1630", "es", datetime(2026, 11, 26, 16, 30)),
        ("jueves 930hs", "es", datetime(2026, 11, 26, 9, 30)),
        ("mañana 1030 de la noche", "es", datetime(2026, 11, 24, 22, 30)),
        ("9/12 1430", "es", datetime(2026, 12, 9, 14, 30)),
    ],
)
def test_compact_times_next_to_a_day(text: str, lang: str, expected: datetime) -> None:
    assert parse_when(text, now_local=NOW, lang=lang) == expected


@pytest.mark.parametrize(
    ("text", "lang", "day", "code"),
    [
        ("12/9 2026", "en", date(2026, 12, 9), None),  # a year, not 20:26
        ("12/9 2027", "en", date(2027, 12, 9), None),
        ("9/12 2026", "es", date(2026, 12, 9), None),
        ("12/9 2030", "en", None, "vague"),  # a far year, or 8:30 PM? asked
        ("wed 555 1234", "en", None, "vague"),  # a phone number
        ("wed $150", "en", None, "invalid_time"),  # a price
        ("wed 150 dollars", "en", None, "invalid_time"),
        ("room 930 wed", "en", None, "invalid_time"),
        ("el jueves $150", "es", None, "invalid_time"),
        ("in 2 days", "en", date(2026, 11, 25), None),
        ("930", "en", None, "vague"),  # a number alone: asked, as "9" is
        ("wed 960", "en", None, "invalid_time"),
    ],
)
def test_numbers_that_are_no_compact_time(
    text: str, lang: str, day: date | None, code: str | None
) -> None:
    if code is not None:
        with pytest.raises(WhenParseError) as info:
            _reading(text, lang)
        assert info.value.code == code
        return
    reading = _reading(text, lang)
    assert reading.day == day
    assert reading.clock is None


def test_a_compact_time_answers_what_time() -> None:
    reading = when_parser.read_when("930", now_local=NOW, expect="time")
    assert reading.clock == datetime(2026, 1, 1, 9, 30).time()


_ASKS_AND_REFUSALS = (
    "AppointmentAsk", "AppointmentError", "InviteAsk", "InviteError", "VisitMoveAsk",
    "VisitChangeError",
)  # fmt: skip
_CODE_RE = re.compile(r"<code>(.*?)</code>", re.DOTALL)
# A date-time example that is no date or time: a command, a phone number.
_NOT_EXAMPLES = re.compile(r"^(/\w+|[+\d][\d\s().-]{6,})$")


@pytest.mark.parametrize("name", _ASKS_AND_REFUSALS)
@pytest.mark.parametrize("lang", ["en", "es"])
def test_every_example_of_a_date_question_or_refusal_is_read(name: str, lang: str) -> None:
    """What the bot offers as a form to type (every <code> of the date questions and refusals,
    for every code and sample) is a form it reads, in that language."""
    content = Content(Path(__file__).resolve().parents[2] / "messages")
    message_type = getattr(catalogue, name)
    examples: set[str] = set()
    for message in message_type.samples():
        examples.update(_CODE_RE.findall(content.render_message(message, lang)))
    examples = {html.unescape(e) for e in examples if not _NOT_EXAMPLES.match(e)}
    assert examples
    for example in sorted(examples):
        try:
            when_parser.read_when(example, now_local=NOW, lang=lang)
        except WhenParseError as exc:  # pragma: no cover - the failure names the example
            pytest.fail(f"{name} ({lang}) offers {example!r}, which is not read: {exc}")


# --------------------------------------------------------------------------------------
# Typing slips: a real word is not one
# --------------------------------------------------------------------------------------

# Common words one or two letters from a date word, each a word of its own.
REAL_WORDS_NEAR_DATE_WORDS = {
    "es": (
        "banana", "bananas", "manzana", "manada", "mates", "abrir", "abrió", "entero", "jueces",
        "lunas", "luces", "partes", "pesado", "casado", "pescado", "coche", "tarda", "vienes",
        "piernas", "marca", "paseo", "género", "enfermo", "dominio", "sabido", "salado",
        "muertes", "apuntes", "guantes", "mueves",
    ),
    "en": (
        "match", "might", "right", "light", "sight", "fight", "mourning", "warning", "opening",
        "markets", "masters", "matters", "remember", "another", "lines", "tunes", "trade",
        "marsh", "working", "turning", "throw", "thus", "parties", "ants",
    ),
}  # fmt: skip
REAL_SLIPS = {
    "manana 10am": (date(2026, 11, 24), "es"),
    "mañan 10am": (date(2026, 11, 24), "es"),
    "mñana 10am": (date(2026, 11, 24), "es"),
    "manaña a las 10": (date(2026, 11, 24), "es"),
    "tomorow 10am": (date(2026, 11, 24), "en"),
    "tommorow 10am": (date(2026, 11, 24), "en"),
    "tomorrw 10am": (date(2026, 11, 24), "en"),
    "tomorow 10am ": (date(2026, 11, 24), "es"),  # Spanish reads English words too
    "lnues 10am": (date(2026, 11, 30), "es"),
    "martez 10am": (date(2026, 11, 24), "es"),
    "biernes 10am": (date(2026, 11, 27), "es"),
    "thursdy 10am": (date(2026, 11, 26), "en"),
    "wednsday 10am": (date(2026, 11, 25), "en"),
    "decmber 3 10am": (date(2026, 12, 3), "en"),
}


@given(
    lang=st.sampled_from(["en", "es"]),
    word_lang=st.sampled_from(["en", "es"]),
    data=st.data(),
    around=st.sampled_from(["{} 10am", "{} a las 10", "10am {}", "my {} at 10am", "mi {} 10"]),
)
def test_a_common_word_near_a_date_word_is_not_read_as_one(
    lang: str, word_lang: str, data: st.DataObject, around: str
) -> None:
    """ "banana" is one letter from "manana", "abrir" from "abril", "match" from "march": a
    real word of either language, read in either, never becomes the date word it looks like
    (the day stays unread: a time alone, or not a date at all)."""
    word = data.draw(st.sampled_from(REAL_WORDS_NEAR_DATE_WORDS[word_lang]))
    try:
        reading = when_parser.read_when(around.format(word), now_local=NOW, lang=lang)
    except WhenParseError:
        return
    assert reading.day is None, (word, lang, reading.day)


@pytest.mark.parametrize(("text", "expected"), list(REAL_SLIPS.items()))
def test_a_real_slip_of_a_date_word_is_still_read(text: str, expected: tuple[date, str]) -> None:
    day, lang = expected
    reading = when_parser.read_when(text, now_local=NOW, lang=lang)
    assert reading.day == day and reading.clock is not None


def test_every_word_kept_as_real_is_within_a_slip_of_a_date_word() -> None:
    """bot/domain/slip_words.tsv (scripts/build_slip_words.py) lists the real words the
    corrector would otherwise change: none is a date word, none is out of its reach (a list
    that outlived a vocabulary change would hide nothing but should be rebuilt)."""
    words = when_parser._real_words()
    assert "banana" in words and "abrir" in words and "match" in words
    vocabularies = VOCABULARIES.values()
    for word in words:
        assert not any(when_parser.knows(v, word) for v in vocabularies), word
        assert any(when_parser.slip_of(word, v, keep_real=False) for v in vocabularies), word
        assert all(when_parser.slip_of(word, v) is None for v in vocabularies), word


# --------------------------------------------------------------------------------------
# A date without its year that passed lately: next year's, said so
# --------------------------------------------------------------------------------------

DEC_7 = datetime(2026, 12, 7, 9, 0)


@pytest.mark.parametrize(
    ("text", "now", "day", "next_year"),
    [
        ("12/3 10am", DEC_7, date(2027, 12, 3), True),  # 4 days ago: said
        ("Dec 3 10am", DEC_7, date(2027, 12, 3), True),
        ("11/6 10am", DEC_7, date(2027, 11, 6), True),  # 31 days ago
        ("11/5 10am", DEC_7, date(2027, 11, 5), False),  # 32 days: plainly next year's
        ("12/7 10am", DEC_7, date(2026, 12, 7), False),  # today, still ahead
        ("12/9 10am", DEC_7, date(2026, 12, 9), False),
        ("12/3/2027 10am", DEC_7, date(2027, 12, 3), False),  # the year written
        ("3/12 10am", DEC_7, date(2027, 12, 3), True),  # Spanish, day first (below)
        ("11/20 10am", datetime(2027, 1, 5, 9), date(2027, 11, 20), False),  # 46 days ago
        ("12/30 10am", datetime(2027, 1, 5, 9), date(2027, 12, 30), True),  # over New Year
    ],
)
def test_a_date_that_passed_lately_is_read_as_next_years_and_marked(
    text: str, now: datetime, day: date, next_year: bool
) -> None:
    lang = "es" if text.startswith("3/12") else "en"
    reading = when_parser.read_when(text, now_local=now, lang=lang)
    assert (reading.day, reading.next_year) == (day, next_year)


def test_the_mark_of_a_date_that_passed_lately_survives_the_time_asked_after() -> None:
    half = when_parser.read_when("12/3", now_local=DEC_7)
    whole = when_parser.read_when("10am", now_local=DEC_7).merged(half)
    assert (whole.day, whole.next_year) == (date(2027, 12, 3), True)
