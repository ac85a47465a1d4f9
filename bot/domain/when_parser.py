"""Read the date and time a patient typed ("tomorrow 10am", "Dec 3, 2026 2:30 PM", ...).

:func:`parse_when` turns free text into a *naive local wall-clock* datetime. It only reads
text: whether the result is in the past, or falls into a daylight-saving gap, is decided
elsewhere (see :mod:`scheduler.timemath`).

The parser is a small tokenizer followed by a hand-written grammar:

1. **Tokenize** with one regular expression whose alternatives cannot backtrack into each
   other, so the work is linear in the input length. Digit runs glued together by one kind
   of separator (``12/3/2026``, ``14:30``, ``2026-12-03``, ``9.15``) form one token that
   is classified by its shape.
2. **Parse** the tokens left to right into at most one *date phrase* and at most one
   *time phrase*, in either order, allowing the filler words "at"/"on" before a phrase.
3. **Validate and resolve**: check ranges, fill in a missing year, and turn relative days
   ("tomorrow", "thursday") into calendar dates using ``now_local``.

All words live in the module-level vocabulary dicts below, so another language can be
added by extending data rather than code. Spanish (``lang="es"``) reads its own words as well
as English ones, phrases such as "pasado mañana", "a las" and "de la tarde", words with or
without accents, and numeric dates day first (3/12 is the 3rd of December).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Final, Literal, TypeAlias

from bot.domain.accents import unaccented

__all__ = ["ParseErrorCode", "WhenParseError", "parse_when"]


class ParseErrorCode(StrEnum):
    """Why a text is not a date and time; the patient's answer (template `appointment_error`)
    has a paragraph for each."""

    EMPTY = "empty"
    UNREADABLE = "unreadable"
    MISSING_TIME = "missing_time"
    MISSING_DATE = "missing_date"
    INVALID_DATE = "invalid_date"  # Feb 30, 13/45, or a weekday that contradicts the date
    INVALID_TIME = "invalid_time"  # 25:00, 13pm, 0am

# --------------------------------------------------------------------------------------
# Vocabulary. Keys are lower-case (casefolded) words with any dots removed ("p.m." -> "pm").
# --------------------------------------------------------------------------------------

MONTHS: Final[dict[str, int]] = {
    "january": 1, "jan": 1,
    "february": 2, "feb": 2,
    "march": 3, "mar": 3,
    "april": 4, "apr": 4,
    "may": 5,
    "june": 6, "jun": 6,
    "july": 7, "jul": 7,
    "august": 8, "aug": 8,
    "september": 9, "sep": 9, "sept": 9,
    "october": 10, "oct": 10,
    "november": 11, "nov": 11,
    "december": 12, "dec": 12,
}  # fmt: skip

# Monday is 0, as in datetime.date.weekday().
WEEKDAYS: Final[dict[str, int]] = {
    "monday": 0, "mon": 0,
    "tuesday": 1, "tue": 1, "tues": 1,
    "wednesday": 2, "wed": 2,
    "thursday": 3, "thu": 3, "thur": 3, "thurs": 3,
    "friday": 4, "fri": 4,
    "saturday": 5, "sat": 5,
    "sunday": 6, "sun": 6,
}  # fmt: skip

# Words naming a day relative to today: the value is the offset in days.
RELATIVE_DAYS: Final[dict[str, int]] = {"today": 0, "tomorrow": 1}

# Words that may precede a weekday without changing its meaning: "next thursday" is read as
# the coming Thursday, the same as plain "thursday".
WEEKDAY_MODIFIERS: Final[frozenset[str]] = frozenset({"next", "this"})

# Words naming a fixed time of day: (hour, minute) on the 24-hour clock.
NAMED_TIMES: Final[dict[str, tuple[int, int]]] = {"noon": (12, 0), "midnight": (0, 0)}

# "am"/"pm" markers (also reached from "a.m." and "p.m." once dots are removed).
Meridiem = Literal["am", "pm", "night"]
MERIDIEMS: Final[dict[str, Meridiem]] = {"am": "am", "pm": "pm"}

# Words that may appear right before a date or time phrase and carry no meaning.
FILLERS: Final[frozenset[str]] = frozenset({"at", "on"})

# Suffixes glued to a day number: "3rd", "21st". Their agreement with the number is not
# checked; "3th" is as clear as "3rd".
ORDINAL_SUFFIXES: Final[frozenset[str]] = frozenset({"st", "nd", "rd", "th"})

# Word allowed between a day and a month: "3rd of December".
DAY_MONTH_JOINERS: Final[frozenset[str]] = frozenset({"of"})

# Nobody types a date and time in more characters than this; longer text is rejected
# up front so hostile input costs nothing.
MAX_INPUT_CHARS: Final = 200

# Two-digit years ("12/3/26") are read in this century.
_TWO_DIGIT_YEAR_BASE: Final = 2000

# Spanish, added to the English words (a patient may type either) with accents removed, as
# the words typed are ("miércoles" is read as "miercoles"). A key may be a phrase of words
# ("pasado manana", "de la tarde", "a las"); the longest phrase wins. Numeric dates are
# day/month: 3/12 is the 3rd of December.
ES_MONTHS: Final[dict[str, int]] = {
    "enero": 1, "ene": 1,
    "febrero": 2, "feb": 2,
    "marzo": 3, "mar": 3,
    "abril": 4, "abr": 4,
    "mayo": 5, "may": 5,
    "junio": 6, "jun": 6,
    "julio": 7, "jul": 7,
    "agosto": 8, "ago": 8,
    "septiembre": 9, "setiembre": 9, "sep": 9, "sept": 9, "set": 9,
    "octubre": 10, "oct": 10,
    "noviembre": 11, "nov": 11,
    "diciembre": 12, "dic": 12,
}  # fmt: skip
# No "mar" for martes: it is marzo.
ES_WEEKDAYS: Final[dict[str, int]] = {
    "lunes": 0, "lun": 0,
    "martes": 1,
    "miercoles": 2, "mie": 2,
    "jueves": 3, "jue": 3,
    "viernes": 4, "vie": 4,
    "sabado": 5, "sab": 5,
    "domingo": 6, "dom": 6,
}  # fmt: skip
ES_RELATIVE_DAYS: Final[dict[str, int]] = {"hoy": 0, "manana": 1, "pasado manana": 2}
ES_WEEKDAY_MODIFIERS: Final[frozenset[str]] = frozenset({"proximo", "este", "el proximo"})
ES_NAMED_TIMES: Final[dict[str, tuple[int, int]]] = {"mediodia": (12, 0), "medianoche": (0, 0)}
# "de la noche" is evening up to 11 and the small hours after: "12 de la noche" is midnight
# (as "medianoche"), "1 de la noche" 1 a.m., "9 de la noche" 9 p.m.
ES_MERIDIEMS: Final[dict[str, Meridiem]] = {
    "a m": "am", "p m": "pm",  # "a. m.", "p. m."
    "de la manana": "am", "de la madrugada": "am",
    "de la tarde": "pm", "de la noche": "night",
}  # fmt: skip
ES_FILLERS: Final[frozenset[str]] = frozenset(
    {"el", "el dia", "a", "a las", "a la", "para el", "para las", "para la"}
)
ES_ORDINAL_SUFFIXES: Final[frozenset[str]] = frozenset({"º", "ro"})
ES_DAY_MONTH_JOINERS: Final[frozenset[str]] = frozenset({"de"})

_MAX_PHRASE_WORDS: Final = 3


@dataclass(frozen=True, slots=True)
class _Vocabulary:
    """The words of one language. English's are the module's dicts themselves (not copies),
    so they stay extensible by data."""

    months: dict[str, int]
    weekdays: dict[str, int]
    relative_days: dict[str, int]
    weekday_modifiers: frozenset[str]
    named_times: dict[str, tuple[int, int]]
    meridiems: dict[str, Meridiem]
    fillers: frozenset[str]
    ordinal_suffixes: frozenset[str]
    day_month_joiners: frozenset[str]
    day_first: bool  # numeric dates are day/month (3/12: 3 December), else month/day


_ENGLISH: Final = _Vocabulary(
    MONTHS,
    WEEKDAYS,
    RELATIVE_DAYS,
    WEEKDAY_MODIFIERS,
    NAMED_TIMES,
    MERIDIEMS,
    FILLERS,
    ORDINAL_SUFFIXES,
    DAY_MONTH_JOINERS,
    day_first=False,
)


def _spanish() -> _Vocabulary:
    return _Vocabulary(
        {**MONTHS, **ES_MONTHS},
        {**WEEKDAYS, **ES_WEEKDAYS},
        {**RELATIVE_DAYS, **ES_RELATIVE_DAYS},
        WEEKDAY_MODIFIERS | ES_WEEKDAY_MODIFIERS,
        {**NAMED_TIMES, **ES_NAMED_TIMES},
        {**MERIDIEMS, **ES_MERIDIEMS},
        FILLERS | ES_FILLERS,
        ORDINAL_SUFFIXES | ES_ORDINAL_SUFFIXES,
        DAY_MONTH_JOINERS | ES_DAY_MONTH_JOINERS,
        day_first=True,
    )


_VOCABULARIES: Final[dict[str, _Vocabulary]] = {"en": _ENGLISH, "es": _spanish()}
LANGUAGES: Final = frozenset(_VOCABULARIES)
"""The languages parse_when reads; any other is read as English."""


class WhenParseError(ValueError):
    """The text could not be read as a date and time; ``code`` says why."""

    def __init__(self, code: ParseErrorCode, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else str(code))
        self.code = code
        self.detail = detail


# --------------------------------------------------------------------------------------
# Tokenizer
# --------------------------------------------------------------------------------------

TokenKind: TypeAlias = Literal["num", "iso", "slash", "clock", "word"]


@dataclass(frozen=True, slots=True)
class _Token:
    kind: TokenKind
    text: str
    # Digit groups of numeric tokens, e.g. ("12", "3", "2026") for "12/3/2026".
    parts: tuple[str, ...] = ()
    # True when the token starts right where the previous one ended ("3rd", "2pm").
    attached: bool = False


# Alternatives start with disjoint character classes (space / digit / letter / "," / "."),
# and each repeated group must begin with a separator, so matching never backtracks.
_TOKEN_RE: Final = re.compile(
    r"""
      (?P<space>\s+)
    | (?P<num>[0-9]+(?:[/:.\-][0-9]+)*)
    | (?P<word>[^\W\d_]+(?:\.[^\W\d_]+)*\.?)
    | (?P<comma>,)
    | (?P<dot>\.)
    """,
    re.VERBOSE,
)

# "2026-12-03T14:30": the ISO "T" glued between a date and a time becomes a space.
_ISO_T_RE: Final = re.compile(r"(-[0-9]{1,2})t(?=[0-9])")

_SEPARATORS: Final = frozenset("/:.-")


def _classify_number(text: str, attached: bool) -> _Token:
    """Classify a run of digit groups by its separator and group lengths.

    Lengths are checked before any ``int()`` so absurdly long digit runs are never
    converted.
    """
    seps = {ch for ch in text if ch in _SEPARATORS}
    if not seps:
        return _Token("num", text, (text,), attached)
    if len(seps) > 1:
        raise WhenParseError(ParseErrorCode.UNREADABLE, f"mixed separators in {text!r}")
    sep = seps.pop()
    parts = tuple(text.split(sep))
    lengths = tuple(len(part) for part in parts)
    short = (1, 2)
    if sep == "-" and len(parts) == 3 and lengths[0] == 4 and lengths[1] in short:
        if lengths[2] in short:
            return _Token("iso", text, parts, attached)
    elif sep == "/" and len(parts) in (2, 3) and lengths[0] in short and lengths[1] in short:
        if len(parts) == 2 or lengths[2] in (2, 4):
            return _Token("slash", text, parts, attached)
    elif sep == ":" and len(parts) in (2, 3) and lengths[0] in short:
        if all(length == 2 for length in lengths[1:]):
            return _Token("clock", text, parts, attached)
    elif sep == "." and len(parts) == 2 and lengths[0] in short and lengths[1] == 2:
        return _Token("clock", text, parts, attached)
    raise WhenParseError(ParseErrorCode.UNREADABLE, f"unrecognised number {text!r}")


def _tokenize(text: str) -> list[_Token]:
    """Split lower-cased text into tokens; commas vanish, one final "." is allowed."""
    text = _ISO_T_RE.sub(r"\1 ", text)
    tokens: list[_Token] = []
    pos = 0
    end = len(text)
    prev_end = -1
    while pos < end:
        match = _TOKEN_RE.match(text, pos)
        if match is None:
            raise WhenParseError(
                ParseErrorCode.UNREADABLE, f"unexpected character {text[pos]!r}"
            )
        kind = match.lastgroup
        attached = match.start() == prev_end
        pos = match.end()
        if kind == "space":
            continue
        prev_end = pos
        lexeme = match.group()
        if kind == "num":
            tokens.append(_classify_number(lexeme, attached))
        elif kind == "word":
            tokens.append(_Token("word", unaccented(lexeme.replace(".", "")), attached=attached))
        elif kind == "dot" and pos < end:
            # Only a full stop at the very end of the message is tolerated.
            raise WhenParseError(ParseErrorCode.UNREADABLE, "stray '.'")
    return tokens


# --------------------------------------------------------------------------------------
# Grammar: tokens -> (date phrase, time phrase), not yet validated
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _CalendarDate:
    """An explicit date; ``year`` is None when the patient left it out."""

    year: int | None
    month: int
    day: int
    # Weekday the patient wrote in front of the date ("Thursday, December 3"), if any.
    stated_weekday: int | None = None


@dataclass(frozen=True, slots=True)
class _RelativeDay:
    days: int


@dataclass(frozen=True, slots=True)
class _NextWeekday:
    weekday: int


_DatePhrase: TypeAlias = _CalendarDate | _RelativeDay | _NextWeekday


@dataclass(frozen=True, slots=True)
class _TimePhrase:
    """A time as written; seconds ("14:30:00") are range-checked, then dropped."""

    hour: int
    minute: int
    second: int = 0
    meridiem: Meridiem | None = None


def _word_at(tokens: list[_Token], i: int) -> str | None:
    if i < len(tokens) and tokens[i].kind == "word":
        return tokens[i].text
    return None


def _phrase_at(tokens: list[_Token], i: int, phrases: Collection[str]) -> tuple[str, int] | None:
    """The longest of `phrases` (one or more words) written at ``i``, and the index after it."""
    words: list[str] = []
    for j in range(i, min(i + _MAX_PHRASE_WORDS, len(tokens))):
        word = _word_at(tokens, j)
        if word is None:
            break
        words.append(word)
    for count in range(len(words), 0, -1):
        phrase = " ".join(words[:count])
        if phrase in phrases:
            return phrase, i + count
    return None


def _short_number_at(tokens: list[_Token], i: int) -> int | None:
    """A plain 1-2 digit number at ``i`` (day of month or hour), else None."""
    if i < len(tokens) and tokens[i].kind == "num" and len(tokens[i].text) <= 2:
        return int(tokens[i].text)
    return None


def _year_at(tokens: list[_Token], i: int) -> int | None:
    if i < len(tokens) and tokens[i].kind == "num" and len(tokens[i].text) == 4:
        return int(tokens[i].text)
    return None


def _match_day(tokens: list[_Token], i: int, v: _Vocabulary) -> tuple[int, int] | None:
    """Day of month with an optional glued ordinal suffix: ``3``, ``03``, ``3rd``."""
    day = _short_number_at(tokens, i)
    if day is None:
        return None
    i += 1
    if _word_at(tokens, i) in v.ordinal_suffixes and tokens[i].attached:
        i += 1
    return day, i


def _match_calendar_date(
    tokens: list[_Token], i: int, v: _Vocabulary
) -> tuple[_CalendarDate, int] | None:
    """ISO, numeric month/day[/year] (day/month in a day-first language), "Dec 3 [2026]" or
    "3 [of] Dec [[of] 2026]"."""
    if i >= len(tokens):
        return None
    token = tokens[i]
    if token.kind == "iso":
        iso_year, month, day = (int(part) for part in token.parts)
        return _CalendarDate(iso_year, month, day), i + 1
    if token.kind == "slash":
        month, day = int(token.parts[0]), int(token.parts[1])
        if v.day_first:
            month, day = day, month
        year: int | None = None
        if len(token.parts) == 3:
            year = int(token.parts[2])
            if len(token.parts[2]) == 2:
                year += _TWO_DIGIT_YEAR_BASE
        return _CalendarDate(year, month, day), i + 1

    month_word = _word_at(tokens, i)
    if month_word in v.months:  # "Dec 3", "December 3rd, 2026"
        matched_day = _match_day(tokens, i + 1, v)
        if matched_day is None:
            return None
        day, j = matched_day
    else:  # "3 Dec", "3rd of December 2026", "3 de diciembre"
        matched_day = _match_day(tokens, i, v)
        if matched_day is None:
            return None
        day, j = matched_day
        day_is_marked = j > i + 1  # it had an ordinal suffix: "3rd"
        if _word_at(tokens, j) in v.day_month_joiners:
            j += 1
        month_word = _word_at(tokens, j)
        if month_word not in v.months:
            return None
        j += 1
        if not day_is_marked and _is_bare_hour_at(tokens, j, v):
            # "7 Dec 3" may be 03:00 on Dec 7 or 07:00 on Dec 3: refuse to guess.
            raise WhenParseError(ParseErrorCode.UNREADABLE, "number on both sides of the month")
    if _word_at(tokens, j) in v.day_month_joiners and _year_at(tokens, j + 1) is not None:
        j += 1  # "3 de diciembre de 2026"
    year = _year_at(tokens, j)
    if year is not None:
        j += 1
    return _CalendarDate(year, v.months[month_word], day), j


def _is_bare_hour_at(tokens: list[_Token], i: int, v: _Vocabulary) -> bool:
    """A plain 1-2 digit number at ``i`` not followed by am/pm or an ordinal suffix."""
    return _short_number_at(tokens, i) is not None and (
        _phrase_at(tokens, i + 1, v.meridiems) is None
        and not (_word_at(tokens, i + 1) in v.ordinal_suffixes and tokens[i + 1].attached)
    )


def _match_date(tokens: list[_Token], i: int, v: _Vocabulary) -> tuple[_DatePhrase, int] | None:
    calendar = _match_calendar_date(tokens, i, v)
    if calendar is not None:
        return calendar
    relative = _phrase_at(tokens, i, v.relative_days)
    if relative is not None:
        return _RelativeDay(v.relative_days[relative[0]]), relative[1]
    modifier = _phrase_at(tokens, i, v.weekday_modifiers)
    if modifier is not None:
        weekday_word = _word_at(tokens, modifier[1])
        if weekday_word in v.weekdays:
            return _NextWeekday(v.weekdays[weekday_word]), modifier[1] + 1
        return None
    word = _word_at(tokens, i)
    if word in v.weekdays:
        weekday = v.weekdays[word]
        # "Thursday, December 3, 2026": a weekday may introduce a full date.
        calendar = _match_calendar_date(tokens, i + 1, v)
        if calendar is not None:
            found, j = calendar
            return (
                _CalendarDate(found.year, found.month, found.day, stated_weekday=weekday),
                j,
            )
        return _NextWeekday(weekday), i + 1
    return None


def _match_time(tokens: list[_Token], i: int, v: _Vocabulary) -> tuple[_TimePhrase, int] | None:
    """``14:30``, ``9.15``, ``2:30 pm``, ``2pm``, a bare hour ``10``, ``noon``,
    ``3 de la tarde``."""
    if i >= len(tokens):
        return None
    token = tokens[i]
    if token.kind == "clock":
        hour, minute = int(token.parts[0]), int(token.parts[1])
        second = int(token.parts[2]) if len(token.parts) == 3 else 0
    elif token.kind == "num" and len(token.text) <= 2:
        hour, minute, second = int(token.text), 0, 0
    elif token.kind == "word" and token.text in v.named_times:
        hour, minute = v.named_times[token.text]
        return _TimePhrase(hour, minute), i + 1
    else:
        return None
    meridiem = _phrase_at(tokens, i + 1, v.meridiems)
    if meridiem is not None:
        return _TimePhrase(hour, minute, second, v.meridiems[meridiem[0]]), meridiem[1]
    return _TimePhrase(hour, minute, second), i + 1


def _parse_tokens(
    tokens: list[_Token], v: _Vocabulary
) -> tuple[_DatePhrase | None, _TimePhrase | None]:
    """Find at most one date phrase and one time phrase, in any order."""
    date_phrase: _DatePhrase | None = None
    time_phrase: _TimePhrase | None = None
    i = 0
    while i < len(tokens):
        filler = _phrase_at(tokens, i, v.fillers)
        if filler is not None:
            i = filler[1]
            if i >= len(tokens) or _phrase_at(tokens, i, v.fillers) is not None:
                raise WhenParseError(ParseErrorCode.UNREADABLE, "dangling 'at'/'on'")
            continue
        found_date = _match_date(tokens, i, v)
        if found_date is not None:
            if date_phrase is not None:
                raise WhenParseError(ParseErrorCode.UNREADABLE, "more than one date")
            date_phrase, i = found_date
            continue
        found_time = _match_time(tokens, i, v)
        if found_time is not None:
            if time_phrase is not None:
                raise WhenParseError(ParseErrorCode.UNREADABLE, "more than one time")
            time_phrase, i = found_time
            continue
        raise WhenParseError(ParseErrorCode.UNREADABLE, f"unexpected {tokens[i].text!r}")
    return date_phrase, time_phrase


# --------------------------------------------------------------------------------------
# Validation and resolution
# --------------------------------------------------------------------------------------


def _to_clock(phrase: _TimePhrase) -> time:
    hour, minute = phrase.hour, phrase.minute
    if not (0 <= minute <= 59 and 0 <= phrase.second <= 59):
        raise WhenParseError(
            ParseErrorCode.INVALID_TIME, f"minute {minute} / second {phrase.second}"
        )
    if phrase.meridiem is None:
        if not 0 <= hour <= 23:
            raise WhenParseError(ParseErrorCode.INVALID_TIME, f"hour {hour}")
        return time(hour, minute)
    if not 1 <= hour <= 12:
        raise WhenParseError(ParseErrorCode.INVALID_TIME, f"hour {hour} {phrase.meridiem}")
    # 12am is midnight and 12pm is noon; "de la noche" is p.m. from 6 to 11, else a.m.
    hour %= 12
    if phrase.meridiem == "pm" or (phrase.meridiem == "night" and hour >= 6):
        hour += 12
    return time(hour, minute)


def _to_calendar_date(phrase: _CalendarDate, today: date) -> date:
    month, day = phrase.month, phrase.day
    if not (1 <= month <= 12 and 1 <= day <= 31):
        raise WhenParseError(ParseErrorCode.INVALID_DATE, f"month {month} / day {day}")
    year = phrase.year
    if year is None:
        # The next occurrence of that month/day, today included; past checks happen later.
        year = today.year if (month, day) >= (today.month, today.day) else today.year + 1
    try:
        result = date(year, month, day)
    except ValueError as exc:  # Feb 30, year 0, year 10000
        raise WhenParseError(ParseErrorCode.INVALID_DATE, str(exc)) from exc
    if phrase.stated_weekday is not None and result.weekday() != phrase.stated_weekday:
        raise WhenParseError(
            ParseErrorCode.INVALID_DATE, f"{result.isoformat()} is not that weekday"
        )
    return result


def _to_relative_date(phrase: _RelativeDay | _NextWeekday, clock: time, now: datetime) -> date:
    today = now.date()
    if isinstance(phrase, _RelativeDay):
        days = phrase.days
    else:
        days = (phrase.weekday - today.weekday()) % 7
        # Today's weekday means today only while that time is still ahead of us.
        if days == 0 and datetime.combine(today, clock) <= now:
            days = 7
    try:
        return today + timedelta(days=days)
    except OverflowError as exc:
        raise WhenParseError(ParseErrorCode.INVALID_DATE, "beyond the calendar") from exc


def parse_when(text: str, *, now_local: datetime, lang: str = "en") -> datetime:
    """Read a patient's typed date and time, in the words of `lang` (see LANGUAGES; Spanish
    reads English words too, and numeric dates day first).

    ``now_local`` is the patient's current *naive* wall-clock time; it fills in missing
    years and turns "tomorrow"/"thursday" into dates. Returns a naive wall-clock datetime
    with zero seconds and microseconds. Raises :class:`WhenParseError` (and nothing else)
    for any string.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    if not isinstance(now_local, datetime) or now_local.tzinfo is not None:
        raise TypeError("now_local must be a naive datetime")

    stripped = text.strip()
    if not stripped:
        raise WhenParseError(ParseErrorCode.EMPTY)
    if len(stripped) > MAX_INPUT_CHARS:
        raise WhenParseError(ParseErrorCode.UNREADABLE, "too long")

    vocabulary = _VOCABULARIES.get(lang, _ENGLISH)
    date_phrase, time_phrase = _parse_tokens(_tokenize(stripped.casefold()), vocabulary)
    if date_phrase is None and time_phrase is None:
        raise WhenParseError(ParseErrorCode.UNREADABLE, "no date or time found")

    clock = _to_clock(time_phrase) if time_phrase is not None else None
    day: date | None = None
    if isinstance(date_phrase, _CalendarDate):
        # Checked before "missing_time": "Feb 30" is better answered with "no such date".
        day = _to_calendar_date(date_phrase, now_local.date())
    if date_phrase is None:
        raise WhenParseError(ParseErrorCode.MISSING_DATE)
    if clock is None:
        raise WhenParseError(ParseErrorCode.MISSING_TIME)
    if isinstance(date_phrase, _RelativeDay | _NextWeekday):
        day = _to_relative_date(date_phrase, clock, now_local)
    assert day is not None  # every date phrase kind is handled above
    return datetime.combine(day, clock)
