"""Read the date and time a patient typed, as they type it ("tommorow 10am", "the 15th at 3pm",
"in 3 days", "mañana a las 3 de la tarde", "it's on wed. the 16th around 9:30").

:func:`read_when` turns free text into a :class:`WhenReading`: a day, a time, or both, as
*naive local wall-clock* values. Whether the result is in the past, or falls into a
daylight-saving gap, is decided elsewhere (``bot.services.appointments`` with
:mod:`foundation.timemath`). :func:`parse_when` is the strict form: a whole date and time or a
:class:`WhenParseError`.

How a text is read:

1. **Tokenize** with one regular expression whose alternatives cannot backtrack into each
   other, so the work is linear in the input length. Digit runs glued by one kind of
   separator (``12/3/2026``, ``14:30``, ``2026-12-03``, ``9.15``) form one token classified
   by its shape; words are folded (case, accents, dots, apostrophes); a longer word that is
   no word of the language but one or two typing slips away from a month, a weekday or a day
   word is read as that word (``tommorow``, ``wendsday``, ``decmber``).
2. **Scan** left to right for what the text says: days (dates, weekdays, "tomorrow", "in 3
   days", "the 15th", holidays), times ("2:30", "3pm", "half past 2", "a las 3 y media"),
   parts of the day, spans ("next week", "december": the patient is asked which day),
   alternatives ("tomorrow or wednesday"); any other word is skipped, so "my appointment is
   on dec 15 at 2pm thanks" reads as Dec 15, 2 PM.
3. **Decide and resolve**: one day and one time at most (two days are a choice to ask
   about), a bare number is an hour next to a day ("tomorrow at 10", "sat 10") and a
   question alone ("2"), hours without a.m./p.m. follow the clinic convention (1-7 are
   afternoon, 8-11 morning, "07:00" and 13-23 as written), missing years are the next
   occurrence, relative days are turned into dates using ``now_local``.

Numeric dates are month/day in English and day/month in Spanish; one that can only be read
the other way round (``24/12`` in English) is read so, and marked (``WhenReading.swapped``)
for the read-back to say so. The words are data, in :mod:`bot.domain.when_words`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from importlib import resources
from typing import Final, Literal, TypeAlias

from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.domain.accents import unaccented
from bot.domain.when_words import (
    AMBIGUOUS_DATE_WORDS,
    COUNTED_NOUNS,
    DAY_MONTH_JOINERS,
    FILLERS,
    MERIDIEMS,
    MINUTES_BEFORE_HOUR,
    MONTHS,
    NAMED_TIMES,
    NOT_A_TIME,
    OCLOCK,
    ORDINAL_SUFFIXES,
    RELATIVE_DAYS,
    VOCABULARIES,
    WEEKDAY_MODIFIERS,
    WEEKDAYS,
    ZONE_WORDS,
    Meridiem,
    PartOfDay,
    Unit,
    Vocabulary,
    WeekdaySuffix,
)

__all__ = [
    "DAY_MONTH_JOINERS",
    "FILLERS",
    "LANGUAGES",
    "MERIDIEMS",
    "MONTHS",
    "NAMED_TIMES",
    "ORDINAL_SUFFIXES",
    "RELATIVE_DAYS",
    "WEEKDAYS",
    "WEEKDAY_MODIFIERS",
    "Expect",
    "ParseErrorCode",
    "WhenParseError",
    "WhenReading",
    "parse_when",
    "read_when",
]


class ParseErrorCode(StrEnum):
    """Why a text is not a date and time; the patient's answer (template `appointment_error`)
    has a paragraph for each."""

    EMPTY = "empty"
    UNREADABLE = "unreadable"
    MISSING_TIME = "missing_time"
    MISSING_DATE = "missing_date"
    INVALID_DATE = "invalid_date"  # Feb 30, 13/45
    INVALID_TIME = "invalid_time"  # 25:00, 13pm, 0am
    VAGUE = "vague"  # "next week", "december", "afternoon", a lone "2": which day, exactly?
    CHOICE = "choice"  # "tomorrow or wednesday": two days, or two times with no day
    WEEKDAY_MISMATCH = "weekday_mismatch"  # "Wednesday the 15th" when the 15th is a Tuesday


class WhenParseError(ValueError):
    """The text could not be read as a date and time; ``code`` says why. ``day`` is the date
    read when the weekday written beside it does not match (WEEKDAY_MISMATCH)."""

    def __init__(self, code: ParseErrorCode, detail: str = "", *, day: date | None = None) -> None:
        super().__init__(f"{code}: {detail}" if detail else str(code))
        self.code = code
        self.detail = detail
        self.day = day


@dataclass(frozen=True, slots=True)
class WhenReading:
    """What a text says: a day, a time of day, or both (never neither).

    ``part`` is the part of the day named without a time ("tomorrow morning"): the caller
    asks for the time, and knows "this morning" is already over in the afternoon.
    ``swapped`` marks a numeric date read against the language's order (``24/12`` in
    English), which the read-back says. ``other_day`` is the day a week after ``day`` when
    the text may mean either: "next tuesday" said on a Monday is tomorrow to some and the
    Tuesday of next week to many (the caller asks which). ``by_weekday`` marks a day named by
    its weekday alone, the coming one ("tuesday", "this tuesday", "next tuesday"): no date,
    no "tomorrow", no week said; an answer to "this week's or next week's?" that only says
    the weekday again picks neither. ``next_year`` marks a date written without its year
    that passed only lately (:data:`RECENTLY_PASSED_DAYS`), so it is read almost a year
    ahead: "12/3" typed on December 7 is next year's December 3, which the read-back says (a
    slip of the month, or a date from an old note, is likelier than a visit a year away)."""

    day: date | None = None
    clock: time | None = None
    part: PartOfDay | None = None
    swapped: bool = False
    other_day: date | None = None
    by_weekday: bool = False
    next_year: bool = False

    @property
    def complete(self) -> bool:
        return self.day is not None and self.clock is not None

    def at(self) -> datetime:
        """The wall time; only for a complete reading."""
        if self.day is None or self.clock is None:
            raise ValueError("not a complete date and time")
        return datetime.combine(self.day, self.clock)

    def merged(self, earlier: WhenReading) -> WhenReading:
        """This answer completed by an earlier half answer: "tomorrow", then "2:30"."""
        if self.complete:
            return self
        mine = self.day is not None
        return WhenReading(
            self.day if mine else earlier.day,
            self.clock if self.clock is not None else earlier.clock,
            self.part if mine else earlier.part,
            self.swapped if mine else earlier.swapped,
            self.other_day if mine else earlier.other_day,
            self.by_weekday if mine else earlier.by_weekday,
            self.next_year if mine else earlier.next_year,
        )


Expect = Literal["time", "date"]
"""What the question just asked for: a lone number answers it ("2" is 2 PM after "what
time?", the 2nd after "which day?")."""

LANGUAGES: Final = frozenset(VOCABULARIES)
"""The languages read_when reads; any other is read as English."""
RECENTLY_PASSED_DAYS: Final = 31
"""A date without its year that passed at most this many days ago is read as its next
occurrence, almost a year ahead, and said so (`WhenReading.next_year`)."""

# Nobody types a date and time in more characters than this; longer text is rejected up
# front so hostile input costs nothing.
MAX_INPUT_CHARS: Final = 200

# Two-digit years ("12/3/26") are read in this century.
_TWO_DIGIT_YEAR_BASE: Final = 2000
_MAX_PHRASE_WORDS: Final = 5
# Hours without a.m./p.m. from 1 to this one are afternoon hours: nobody books 3 a.m.
_LAST_AFTERNOON_BARE_HOUR: Final = 7

# --------------------------------------------------------------------------------------
# Tokenizer
# --------------------------------------------------------------------------------------

TokenKind: TypeAlias = Literal["num", "date", "clock", "junk", "word"]


@dataclass(frozen=True, slots=True)
class _Token:
    kind: TokenKind
    text: str
    # Digit groups of numeric tokens, e.g. ("12", "3", "2026") for "12/3/2026".
    parts: tuple[str, ...] = ()
    # True when the token starts right where the previous one ended ("3rd", "2pm").
    attached: bool = False
    sep: str = ""


# Alternatives start with disjoint character classes (space / digit / letter / other), and
# each repeated group must begin with a separator, so matching never backtracks.
_TOKEN_RE: Final = re.compile(
    r"""
      (?P<space>\s+)
    | (?P<num>[0-9]+(?:[/:.\-][0-9]+)*)
    | (?P<word>[^\W\d_]+(?:['’.][^\W\d_]+)*\.?)
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)

# "2026-12-03T14:30": the ISO "T" glued between a date and a time becomes a space.
_ISO_T_RE: Final = re.compile(r"(-[0-9]{1,2})t(?=[0-9])")
_WORD_MARKS: Final = str.maketrans("", "", ".'’")
_SEPARATORS: Final = frozenset("/:.-")
_KEPT_MARKS: Final = frozenset("@$€#")  # "@ 3"; "$150", "#930": no times
_SHORT: Final = (1, 2)


def _classify_number(text: str, attached: bool) -> _Token:
    """Classify a run of digit groups by its separator and group lengths.

    Lengths are checked before any ``int()`` so absurdly long digit runs are never
    converted; what fits no shape is ``junk`` (a phone number, a code)."""
    seps = {ch for ch in text if ch in _SEPARATORS}
    if not seps:
        kind: TokenKind = "num" if len(text) <= 4 else "junk"
        return _Token(kind, text, (text,), attached)
    if len(seps) > 1:
        return _Token("junk", text, (), attached)
    sep = seps.pop()
    parts = tuple(text.split(sep))
    lengths = tuple(len(part) for part in parts)
    if sep == ":" or (sep == "." and len(parts) == 2):
        if len(parts) in (2, 3) and lengths[0] in _SHORT and all(n == 2 for n in lengths[1:]):
            return _Token("clock", text, parts, attached, sep)
        return _Token("junk", text, (), attached)
    if len(parts) == 3 and lengths[0] == 4 and lengths[1] in _SHORT and lengths[2] in _SHORT:
        return _Token("date", text, parts, attached, "ymd")
    if (
        len(parts) in (2, 3)
        and lengths[0] in _SHORT
        and lengths[1] in _SHORT
        and (len(parts) == 2 or lengths[2] in (2, 4))
    ):
        return _Token("date", text, parts, attached, sep)
    return _Token("junk", text, (), attached)


def _tokenize(text: str) -> list[_Token]:
    """Split casefolded text into tokens; punctuation other than "@$€#" vanishes."""
    text = _ISO_T_RE.sub(r"\1 ", text)
    tokens: list[_Token] = []
    prev_end = -1
    for match in _TOKEN_RE.finditer(text):
        kind = match.lastgroup
        attached = match.start() == prev_end
        if kind == "space":
            continue
        prev_end = match.end()
        lexeme = match.group()
        if kind == "num":
            tokens.append(_classify_number(lexeme, attached))
        elif kind == "word":
            word = unaccented(lexeme.translate(_WORD_MARKS))
            if word:
                tokens.append(_Token("word", word, attached=attached))
        elif lexeme in _KEPT_MARKS:
            tokens.append(_Token("word", lexeme, attached=attached))
    return _glue_shorthands(tokens)


def _glue_shorthands(tokens: list[_Token]) -> list[_Token]:
    """ "2moro", "1ro": a number glued to letters that is one word of the vocabulary."""
    glued: list[_Token] = []
    for token in tokens:
        previous = glued[-1] if glued else None
        if (
            token.kind == "word"
            and token.attached
            and previous is not None
            and previous.kind == "num"
            and (previous.text + token.text) in _SHORTHANDS
        ):
            glued[-1] = _Token("word", previous.text + token.text, attached=previous.attached)
            continue
        glued.append(token)
    return glued


_SHORTHANDS: Final = frozenset(
    word
    for vocabulary in VOCABULARIES.values()
    for word in vocabulary.relative_days
    if word[0].isdigit()
) | {"1ro"}


# --------------------------------------------------------------------------------------
# Typing slips
# --------------------------------------------------------------------------------------

# Common words a slip-corrector must leave alone (they are close to a vocabulary word).
_KEEP: Final = frozenset(
    {
        "there",
        "these",
        "those",
        "three",
        "mayor",
        "monde",
        "marco",
        "marcos",
        "junior",
        "dayton",
        "sunny",
        "thanks",
        "tomar",
        "manera",
        "mismo",
        "miedo",
        "madre",
        "martha",
        "octavo",
        "novio",
        "novia",
        "julia",
        "junto",
        "mejor",
        "mayoria",
        "today",
        "toda",
        "todo",
        "todos",
        "todas",
        "tarde",
        "tardes",
        "nunca",
        "done",
        "tome",
        "mine",
        "sure",
        "fine",
        "june",
        "time",
        "date",
        "more",
        "once",
        "nada",
        "mano",
        "mama",
        "some",
        "ante",
        "antes",
        "enter",
        "noche",
        "hora",
        "horas",
        "also",
        "come",
        "same",
        "year",
        "yeah",
    }
)
_MIN_SLIP_LENGTH: Final = 4


@functools.lru_cache(maxsize=8)
def _slip_targets(vocabulary_id: int, size: int) -> tuple[frozenset[str], tuple[str, ...]]:
    """The words a vocabulary knows, and the long ones a slip may be corrected to."""
    vocabulary = _vocabulary_by_id[vocabulary_id]
    known: set[str] = set()
    for words in _phrase_sets(vocabulary):
        for phrase in words:
            known.update(phrase.split())
    known |= ZONE_WORDS
    targets = tuple(
        sorted(
            word
            for word in (
                *vocabulary.months,
                *vocabulary.weekdays,
                *(w for phrase in vocabulary.relative_days for w in phrase.split()),
                *(w for phrase in vocabulary.today_parts for w in phrase.split()),
                *(w for phrase in vocabulary.parts_of_day for w in phrase.split()),
            )
            if len(word) > _MIN_SLIP_LENGTH and word not in vocabulary.number_words
        )
    )
    return frozenset(known), targets


def _phrase_sets(vocabulary: Vocabulary) -> Iterable[Collection[str]]:
    v = vocabulary
    return (
        v.months, v.weekdays, v.relative_days, v.weekday_modifiers, v.weekday_suffixes,
        v.named_times, v.meridiems, v.parts_of_day, v.today_parts, v.hour_markers, v.fillers,
        v.ordinal_suffixes, v.day_month_joiners, v.day_markers, v.hour_units, v.number_words,
        v.ordinal_words, v.minutes_after_hour, v.offset_introducers, v.offset_anchors,
        v.units, v.half_units, v.holidays, v.vague_phrases, v.alternatives,
        MINUTES_BEFORE_HOUR, OCLOCK,
    )  # fmt: skip


_vocabulary_by_id: dict[int, Vocabulary] = {id(v): v for v in VOCABULARIES.values()}


@functools.lru_cache(maxsize=2048)
def _corrected(word: str, targets: tuple[str, ...]) -> str | None:
    """The one vocabulary word `word` is a slip of: one edit away for words of 4-6 letters,
    two for longer ones (a swap of two letters is one edit); None when none or several are."""
    limit = 1 if len(word) < 7 else 2
    found = process.extract(word, targets, scorer=OSA.distance, score_cutoff=limit, limit=3)
    if not found:
        return None
    best = found[0][1]
    closest = {name for name, distance, _ in found if distance == best}
    if len(closest) > 1:  # "moday": Monday or today? A slip seldom changes the first letter.
        closest = {name for name in closest if name[0] == word[0]}
    return closest.pop() if len(closest) == 1 else None


@functools.cache
def _real_words() -> frozenset[str]:
    """Common English and Spanish words within a slip of a date word ("banana", "abrir",
    "match"): real words, never read as the date word they look like. Made by
    scripts/build_slip_words.py from word frequencies, read once, on first use."""
    text = resources.files("bot.domain").joinpath("slip_words.tsv").read_text("utf-8")
    return frozenset(
        line.split("\t", 1)[0] for line in text.splitlines() if line and not line.startswith("#")
    )


def knows(vocabulary: Vocabulary, word: str) -> bool:
    """Whether `word` is one of `vocabulary`'s words (of any of its phrases, or a zone's)."""
    return word in _slip_targets(id(vocabulary), _size(vocabulary))[0]


def slip_of(word: str, vocabulary: Vocabulary, *, keep_real: bool = True) -> str | None:
    """The date word of `vocabulary` that `word` (casefolded, without accents) is a typing
    slip of, or None: a word the vocabulary knows, a short one, a common word close to a date
    word (:data:`_KEEP` and, unless `keep_real` is False, the real words of
    :func:`_real_words`) or one near none or several date words is no slip."""
    if len(word) < _MIN_SLIP_LENGTH or not word.isascii() or word in _KEEP:
        return None
    known, targets = _slip_targets(id(vocabulary), _size(vocabulary))
    if word in known or (keep_real and word in _real_words()):
        return None
    return _corrected(word, targets)


def _fix_slips(tokens: list[_Token], vocabulary: Vocabulary) -> list[_Token]:
    fixed: list[_Token] = []
    for token in tokens:
        if token.kind == "word" and (better := slip_of(token.text, vocabulary)) is not None:
            token = replace(token, text=better)
        fixed.append(token)
    return fixed


def _size(vocabulary: Vocabulary) -> int:
    return sum(len(words) for words in _phrase_sets(vocabulary))


# --------------------------------------------------------------------------------------
# What a text says
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _CalendarDate:
    """An explicit date; ``year`` is None when left out, ``month`` when only the day of the
    month was written ("the 15th")."""

    year: int | None
    month: int | None
    day: int
    stated_weekday: int | None = None  # "Thursday, December 3"
    swapped: bool = False
    # "sab 9": the 9th, if it is a Saturday, else 9:00 on Saturday.
    or_hour: bool = False


@dataclass(frozen=True, slots=True)
class _DaysAhead:
    days: int


@dataclass(frozen=True, slots=True)
class _Weekday:
    weekday: int
    mode: WeekdaySuffix
    plus_days: int = 0  # "a week from friday"


@dataclass(frozen=True, slots=True)
class _MonthsAhead:
    months: int


@dataclass(frozen=True, slots=True)
class _MinutesAhead:
    minutes: int


_DatePhrase: TypeAlias = _CalendarDate | _DaysAhead | _Weekday | _MonthsAhead | _MinutesAhead


@dataclass(frozen=True, slots=True)
class _TimePhrase:
    """A time as written; seconds ("14:30:00") are range-checked, then dropped. ``as_written``:
    on the 24-hour clock ("07:00", "16h", "1530"), so no convention applies."""

    hour: int
    minute: int
    second: int = 0
    meridiem: Meridiem | None = None
    as_written: bool = False


@dataclass(slots=True)
class _Findings:
    dates: list[_DatePhrase] = field(default_factory=list)
    times: list[_TimePhrase] = field(default_factory=list)
    parts: list[PartOfDay] = field(default_factory=list)
    bare: list[int] = field(default_factory=list)  # lone numbers: an hour, a day or nothing
    vague: bool = False
    alternatives: bool = False
    ambiguous_day_month: bool = False  # "7 Dec 3"
    year_or_time: tuple[int, _TimePhrase | None] | None = None  # "12/9 2026", "12/9 2030"
    before_day: list[_TimePhrase] = field(default_factory=list)  # "930 wed", "1030 wed at 3"
    junk: bool = False


class _Scanner:
    """One left-to-right pass over the tokens, collecting what they say."""

    def __init__(self, tokens: list[_Token], vocabulary: Vocabulary) -> None:
        self.t = tokens
        self.v = vocabulary
        self.found = _Findings()
        self.after_day = -1  # where the last day, date or part of the day read ended
        self.before_day = -1  # a compact time read only as it comes before a day

    # --- small readers ----------------------------------------------------------------------
    def word(self, i: int) -> str | None:
        if i < len(self.t) and self.t[i].kind == "word":
            return self.t[i].text
        return None

    def phrase(self, i: int, phrases: Collection[str]) -> tuple[str, int] | None:
        """The longest of `phrases` (one or more words) written at ``i``, and the index after."""
        words: list[str] = []
        for j in range(i, min(i + _MAX_PHRASE_WORDS, len(self.t))):
            word = self.word(j)
            if word is None:
                break
            words.append(word)
        for count in range(len(words), 0, -1):
            phrase = " ".join(words[:count])
            if phrase in phrases:
                return phrase, i + count
        return None

    def small_number(self, i: int) -> int | None:
        """A plain 1-2 digit number at ``i`` (day of month or hour)."""
        if i < len(self.t) and self.t[i].kind == "num" and len(self.t[i].text) <= 2:
            return int(self.t[i].text)
        return None

    def year(self, i: int) -> tuple[int, int] | None:
        if i < len(self.t) and self.t[i].kind == "num" and len(self.t[i].text) == 4:
            value = int(self.t[i].text)
            if 1900 <= value <= 2199:
                return value, i + 1
        return None

    def glued(self, i: int, words: Collection[str]) -> bool:
        return i < len(self.t) and self.t[i].attached and self.word(i) in words

    # --- the pass -----------------------------------------------------------------------
    def scan(self) -> _Findings:
        i = 0
        marked = False  # an hour marker ("at", "a las") came just before
        while i < len(self.t):
            days = len(self.found.dates) + len(self.found.parts)
            step = self.step(i, marked)
            if step is None:
                marked_now = self.phrase(i, self.v.hour_markers)
                if marked_now is not None:
                    i, marked = marked_now[1], True
                    continue
                token = self.t[i]
                if token.kind == "num":
                    self.found.bare.append(int(token.text))
                elif token.kind in ("junk", "date", "clock"):
                    self.found.junk = True
                i += 1
            else:
                if len(self.found.dates) + len(self.found.parts) > days:
                    self.after_day = step
                i = step
            marked = False
        return self.found

    def step(self, i: int, marked: bool) -> int | None:
        """Read one phrase at ``i`` into the findings; the index after it, or None."""
        v, found = self.v, self.found
        if (alt := self.phrase(i, v.alternatives)) is not None:
            found.alternatives = True
            return alt[1]
        if (offset := self.offset(i)) is not None:
            found.dates.append(offset[0])
            return offset[1]
        if (weekday := self.weekday(i)) is not None:
            found.dates.append(weekday[0])
            return weekday[1]
        if (vague := self.phrase(i, v.vague_phrases)) is not None:
            found.vague = True
            return vague[1]
        if (today := self.phrase(i, v.today_parts)) is not None:
            found.dates.append(_DaysAhead(0))
            found.parts.append(v.today_parts[today[0]])
            return today[1]
        if (holiday := self.phrase(i, v.holidays)) is not None:
            month, day = v.holidays[holiday[0]]
            found.dates.append(_CalendarDate(None, month, day))
            return holiday[1]
        if (relative := self.phrase(i, v.relative_days)) is not None:
            found.dates.append(_DaysAhead(v.relative_days[relative[0]]))
            return relative[1]
        if (calendar := self.calendar(i)) is not None:
            found.dates.append(calendar[0])
            return calendar[1]
        if (of_month := self.day_of_month(i)) is not None:
            found.dates.append(of_month[0])
            return of_month[1]
        if not marked and (year := self.year_after_date(i)) is not None:
            found.year_or_time = year
            self.after_day = i + 1
            return i + 1
        if (clock := self.time(i, marked)) is not None:
            (found.before_day if self.before_day == i else found.times).append(clock[0])
            return clock[1]
        if (part := self.phrase(i, v.parts_of_day)) is not None:
            found.parts.append(v.parts_of_day[part[0]])
            return part[1]
        word = self.word(i)
        if word in v.months and (word not in AMBIGUOUS_DATE_WORDS or self.near_number(i)):
            found.vague = True  # a month alone: which day?
            return i + 1
        return None

    def year_after_date(self, i: int) -> tuple[int, _TimePhrase | None] | None:
        """ "12/9 2026": a year-shaped number right after a date written without one is its year,
        or a time ("12/9 2030": 20:30?); :func:`_decide` tells which, knowing today."""
        year = self.year(i)
        last = self.found.dates[-1] if self.found.dates else None
        if year is None or self.after_day != i or not isinstance(last, _CalendarDate):
            return None
        if last.year is not None or last.month is None:
            return None
        clock = self.compact(i, marked=False)
        if clock is not None and clock[1] != i + 1:
            return None  # "12/9 2030 hrs": a time
        return year[0], clock[0] if clock is not None else None

    def near_number(self, i: int) -> bool:
        return any(0 <= j < len(self.t) and self.t[j].kind == "num" for j in (i - 1, i + 1))

    # --- days ---------------------------------------------------------------------------
    def day_number(self, i: int) -> tuple[int, int, bool] | None:
        """A day of the month: ``3``, ``03``, ``3rd``, ``1ro``, ``fifth``; and whether it was
        marked as one (suffix or ordinal word)."""
        number = self.small_number(i)
        if number is not None:
            if self.glued(i + 1, self.v.ordinal_suffixes):
                return number, i + 2, True
            return number, i + 1, False
        if (ordinal := self.phrase(i, self.v.ordinal_words)) is not None:
            return self.v.ordinal_words[ordinal[0]], ordinal[1], True
        return None

    def calendar(self, i: int) -> tuple[_CalendarDate, int] | None:
        """ISO, numeric dates, "Dec 3 [2026]", "December the 9th", "3 [of] Dec [2026]",
        "15 de diciembre de 2026"."""
        if i >= len(self.t):
            return None
        token = self.t[i]
        if token.kind == "date":
            return self.numeric_date(token), i + 1
        v = self.v
        month_word = self.word(i)
        if month_word in v.months:  # "Dec 3", "December the 9th", "january fifth"
            j = i + 1
            if self.word(j) in ("the", "el"):
                j += 1
            day = self.day_number(j)
            if day is None or (month_word in AMBIGUOUS_DATE_WORDS and j != i + 1):
                return None
            number, j, marked = day
            if (not marked and self.glued(j, GLUED)) or self.phrase(j, v.meridiems) is not None:
                return None  # "December 10am": a month and a time
            return self.with_year(_CalendarDate(None, v.months[month_word], number), j)
        day = self.day_number(i)
        if day is None:
            return None
        number, j, marked = day
        if self.word(j) in v.day_month_joiners:
            j += 1
        month_word = self.word(j)
        if month_word not in v.months:
            return None
        j += 1
        year_at = j
        found, j = self.with_year(_CalendarDate(None, v.months[month_word], number), j)
        if not marked and j == year_at and self.bare_number_at(j):
            # "7 Dec 3" may be 3:00 on Dec 7 or 7:00 on Dec 3: ask rather than guess.
            self.found.ambiguous_day_month = True
        return found, j

    def with_year(self, found: _CalendarDate, j: int) -> tuple[_CalendarDate, int]:
        joined = self.word(j) in self.v.day_month_joiners and self.year(j + 1) is not None
        if joined:
            j += 1  # "3 de diciembre de 2026"
        year = self.year(j)
        if year is not None and (joined or not _time_shaped(self.t[j].text)):
            return replace(found, year=year[0]), year[1]
        return found, j  # "dec 9 2026", "dec 9 1930": a year or a time (year_after_date)

    def bare_number_at(self, i: int) -> bool:
        return self.small_number(i) is not None and self.time(i, marked=False) is None

    def numeric_date(self, token: _Token) -> _CalendarDate:
        if token.sep == "ymd":
            iso_year, month, day = (int(part) for part in token.parts)
            return _CalendarDate(iso_year, month, day)
        first, second = int(token.parts[0]), int(token.parts[1])
        month, day = (second, first) if self.v.day_first else (first, second)
        swapped = False
        if month > 12 and day <= 12:  # 24/12 in English, 12/25 in Spanish: only one reading
            month, day, swapped = day, month, True
        year: int | None = None
        if len(token.parts) == 3:
            year = int(token.parts[2])
            if len(token.parts[2]) == 2:
                year += _TWO_DIGIT_YEAR_BASE
        return _CalendarDate(year, month, day, swapped=swapped)

    def day_of_month(self, i: int) -> tuple[_CalendarDate, int] | None:
        """ "the 15th", "on the 8th", "8th", "el 15", "el día quince", "el primero"."""
        v = self.v
        marker = self.phrase(i, v.day_markers)
        j = marker[1] if marker is not None else i
        if marker is not None and (calendar := self.calendar(j)) is not None:
            return calendar
        day = self.day_number(j)
        if day is None and marker is not None:
            word = self.phrase(j, v.number_words)
            if word is not None and self.word(j) not in ("a", "an", "un", "una", "uno"):
                day = v.number_words[word[0]], word[1], True
        if day is None:
            return None
        number, end, marked = day
        if marker is None and not marked:
            return None
        if marked and self.word(end) in COUNTED_NOUNS:
            return None  # "my first infusion", "the 3rd session": an order, not a date
        if marker is not None and not marked and self.phrase(end, v.meridiems) is not None:
            return None  # "el 3 de la tarde" is an hour
        if not 1 <= number <= 31:
            return None
        return _CalendarDate(None, None, number), end

    def weekday(self, i: int) -> tuple[_DatePhrase, int] | None:
        """[this|next|last|el próximo] <weekday> [after next|que viene|de la próxima semana]
        [<date>]."""
        v = self.v
        mode: WeekdaySuffix = "coming"
        j = i
        modifier = self.phrase(i, v.weekday_modifiers)
        if modifier is not None and self.word(modifier[1]) in v.weekdays:
            mode, j = v.weekday_modifiers[modifier[0]], modifier[1]
        word = self.word(j)
        if word not in v.weekdays:
            return None
        weekday = v.weekdays[word]
        j += 1
        suffix = self.phrase(j, v.weekday_suffixes)
        if suffix is not None:
            mode, j = v.weekday_suffixes[suffix[0]], suffix[1]
        # "Thursday, December 3, 2026", "thursday the 10th", "el lunes 14": a weekday may
        # introduce a date, which it must match.
        calendar = self.calendar(j)
        if calendar is None:
            calendar = self.day_of_month(j)
        if (
            calendar is None
            and v.day_first
            and (number := self.small_number(j)) is not None
            and self.time(j, marked=False) is None
            and self.phrase(j + 1, v.meridiems) is None
        ):
            calendar = _CalendarDate(None, None, number, or_hour=True), j + 1
        if calendar is not None and mode in ("coming", "upcoming", "next"):
            found, end = calendar
            return replace(found, stated_weekday=weekday), end
        return _Weekday(weekday, mode), j

    def offset(self, i: int) -> tuple[_DatePhrase, int] | None:
        """ "in 3 days", "in half an hour", "dentro de 2 semanas", "3 weeks from today",
        "a week from friday"."""
        v = self.v
        introducer = self.phrase(i, v.offset_introducers)
        j = introducer[1] if introducer is not None else i
        amount = self.amount(j)
        if amount is None:
            return None
        count, unit, j = amount
        anchor = self.phrase(j, v.offset_anchors)
        if introducer is None and anchor is None:
            return None
        if anchor is not None:
            base = self.step_anchor(anchor[1])
            if base is None:
                return None
            found, end = base
            return _shifted(found, count, unit), end
        return _shifted(_DaysAhead(0), count, unit), j

    def step_anchor(self, j: int) -> tuple[_DatePhrase, int] | None:
        v = self.v
        if self.word(j) in ("now", "ahora"):
            return _DaysAhead(0), j + 1
        if (relative := self.phrase(j, v.relative_days)) is not None:
            return _DaysAhead(v.relative_days[relative[0]]), relative[1]
        return self.weekday(j)

    def amount(self, j: int) -> tuple[float, Unit, int] | None:
        """ "3 days", "two weeks", "a week", "half an hour", "media hora", "quince dias"."""
        v = self.v
        half = self.phrase(j, v.half_units)
        if half is not None and (unit := self.phrase(half[1], v.units)) is not None:
            return 0.5, v.units[unit[0]], unit[1]
        count: int | None = None
        number = j < len(self.t) and self.t[j].kind == "num" and len(self.t[j].text) <= 3
        if number:
            count, after = int(self.t[j].text), j + 1
        elif (word := self.phrase(j, v.number_words)) is not None:
            count, after = v.number_words[word[0]], word[1]
        if count is None:
            return None
        unit = self.phrase(after, v.units)
        if unit is None:
            return None
        return count, v.units[unit[0]], unit[1]

    # --- times --------------------------------------------------------------------------
    def time(self, i: int, marked: bool) -> tuple[_TimePhrase, int] | None:
        """ "14:30", "9.15", "2:30 pm", "2pm", "10a", "16h", "10h30", "1530", "noon", "half
        past 2", "3 o'clock", "at three thirty", "a las 3 y media", "4 menos diez"."""
        if i >= len(self.t):
            return None
        v = self.v
        token = self.t[i]
        if (named := self.phrase(i, v.named_times)) is not None:
            hour, minute = v.named_times[named[0]]
            return _TimePhrase(hour, minute, as_written=True), named[1]
        if (before := self.phrase(i, MINUTES_BEFORE_HOUR)) is not None:
            hour_at = self.hour_number(before[1])
            if hour_at is None:
                return None
            hour, j = hour_at
            minutes = MINUTES_BEFORE_HOUR[before[0]]
            found = _TimePhrase(hour, 0)
            return self.with_meridiem(_with_minutes(found, minutes), j)
        if token.kind == "clock":
            hour, minute = int(token.parts[0]), int(token.parts[1])
            second = int(token.parts[2]) if len(token.parts) == 3 else 0
            as_written = hour == 0 or hour > 12 or token.parts[0].startswith("0")
            found = _TimePhrase(hour, minute, second, as_written=as_written)
            return self.with_meridiem(found, i + 1, hour_units=True)
        if token.kind == "num" and len(token.text) in (3, 4):
            return self.compact(i, marked)
        hour_at = self.hour_number(i)
        if hour_at is None:
            return None
        hour, j = hour_at
        is_digit = token.kind == "num"
        # "10h30", "16h", "10hs", "16 horas"
        glued_minutes = self.small_number(j + 1) if self.glued(j, ("h",)) else None
        if is_digit and glued_minutes is not None and self.t[j + 1].attached:
            return _TimePhrase(hour, glued_minutes, as_written=True), j + 2
        if is_digit and (unit := self.phrase(j, v.hour_units)) is not None:
            return _TimePhrase(hour, 0, as_written=True), unit[1]
        if (after := self.phrase(j, v.minutes_after_hour)) is not None:
            found = _with_minutes(_TimePhrase(hour, 0), v.minutes_after_hour[after[0]])
            return self.with_meridiem(found, after[1])
        if is_digit and j < len(self.t) and self.t[j].kind == "num" and marked:
            spoken = self.small_number(j)  # "at 2 30"
            if spoken is not None and len(self.t[j].text) == 2 and spoken <= 59:
                return self.with_meridiem(_TimePhrase(hour, spoken), j + 1)
        found = _TimePhrase(hour, 0)
        with_meridiem = self.with_meridiem(found, j)
        if with_meridiem[1] != j or marked:
            return with_meridiem
        if (oclock := self.phrase(j, OCLOCK)) is not None:
            return found, oclock[1]
        return None

    def compact(self, i: int, marked: bool) -> tuple[_TimePhrase, int] | None:
        """ "930", "1030a", "945am", "1630", "930hs": H:MM or HH:MM written without the colon,
        read as the same time with it ("9:30" is 9:30 AM, "1:30" 1:30 PM, "0930" and "1630" as
        written). Only where it is a time: after "at", with a.m./p.m. or "h" written, or
        next to a day or a date ("wed 930", "930 tomorrow"); never inside a longer number (a
        phone number: "555 1234"), nor a year after a date (see :meth:`step`)."""
        text = self.t[i].text
        hour, minute = int(text[:-2]), int(text[-2:])
        if (text[0] == "0" and len(text) == 3) or not _time_shaped(text):
            return None
        as_written = hour == 0 or hour > 12 or text[0] == "0"
        found, end = self.with_meridiem(
            _TimePhrase(hour, minute, as_written=as_written), i + 1, hour_units=True
        )
        after_day = self.after_day == i
        if self.word(i - 1) in NOT_A_TIME or self.word(end) in NOT_A_TIME:
            return None
        if (self.numeric(i - 1) and not after_day) or (self.numeric(end) and not self.day_at(end)):
            return None
        alone = len(self.t) == 1 and len(text) == 4 and text[0] in "01"  # "1530": what day?
        if marked or end != i + 1 or alone or after_day:
            return found, end
        if self.day_at(end):
            self.before_day = i  # "room 1030 wed at 3": the time at 3 wins
            return found, end
        return None

    def numeric(self, i: int) -> bool:
        return 0 <= i < len(self.t) and self.t[i].kind in ("num", "junk", "clock")

    def day_at(self, j: int) -> bool:
        """Whether a day or a date is written at ``j`` (fillers skipped: "930 on wed")."""
        while self.word(j) in self.v.fillers:
            j += 1
        if j >= len(self.t):
            return False
        v, ambiguous = self.v, self.found.ambiguous_day_month
        found = (
            self.offset(j) is not None
            or self.weekday(j) is not None
            or self.phrase(j, v.today_parts) is not None
            or self.phrase(j, v.holidays) is not None
            or self.phrase(j, v.relative_days) is not None
            or self.calendar(j) is not None
            or self.day_of_month(j) is not None
        )
        self.found.ambiguous_day_month = ambiguous
        return found

    def hour_number(self, i: int) -> tuple[int, int] | None:
        """An hour as a 1-2 digit number or a word ("two", "las dos")."""
        number = self.small_number(i)
        if number is not None:
            return number, i + 1
        word = self.phrase(i, self.v.number_words)
        if (
            word is not None
            and word[0] not in ("a", "an", "un", "uno")
            and (self.v.number_words[word[0]] <= 12)
        ):
            return self.v.number_words[word[0]], word[1]
        return None

    def with_meridiem(
        self, found: _TimePhrase, j: int, *, hour_units: bool = False
    ) -> tuple[_TimePhrase, int]:
        v = self.v
        meridiem = self.phrase(j, v.meridiems)
        if meridiem is not None:
            return replace(found, meridiem=v.meridiems[meridiem[0]]), meridiem[1]
        if j < len(self.t) and self.t[j].attached and self.word(j) in GLUED:
            return replace(found, meridiem=GLUED[self.t[j].text]), j + 1
        if hour_units and (unit := self.phrase(j, v.hour_units)) is not None:
            return replace(found, as_written=True), unit[1]
        return found, j


GLUED: Final[dict[str, Meridiem]] = {"a": "am", "p": "pm"}


def _time_shaped(digits: str) -> bool:
    """ "930", "1630", "2026": H:MM or HH:MM written without the colon."""
    return int(digits[:-2]) <= 23 and int(digits[-2:]) <= 59


def _with_minutes(found: _TimePhrase, minutes: int) -> _TimePhrase:
    """ "half past 2" (+30), "3 menos cuarto" (-15): an hour and minutes after or before it."""
    if minutes >= 0:
        return replace(found, minute=minutes)
    return replace(found, hour=found.hour - 1 if found.hour > 1 else 12, minute=60 + minutes)


def _shifted(found: _DatePhrase, count: float, unit: Unit) -> _DatePhrase:
    """A day `count` units after `found` (today, tomorrow, a weekday)."""
    if unit in ("minute", "hour"):
        return _MinutesAhead(round(count * (60 if unit == "hour" else 1)))
    if unit in ("month", "year"):
        return _MonthsAhead(round(count * (12 if unit == "year" else 1)))
    days = round(count * (7 if unit == "week" else 1))
    if isinstance(found, _DaysAhead):
        return _DaysAhead(found.days + days)
    if isinstance(found, _Weekday):
        return replace(found, plus_days=found.plus_days + days)
    return found


# --------------------------------------------------------------------------------------
# Deciding and resolving
# --------------------------------------------------------------------------------------


_PART_MERIDIEMS: Final[dict[PartOfDay, Meridiem]] = {
    "morning": "am", "afternoon": "pm", "evening": "pm", "night": "night",
}  # fmt: skip


def _to_clock(phrase: _TimePhrase, part: PartOfDay | None) -> time:
    hour, minute = phrase.hour, phrase.minute
    if not (0 <= minute <= 59 and 0 <= phrase.second <= 59):
        raise WhenParseError(
            ParseErrorCode.INVALID_TIME, f"minute {minute} / second {phrase.second}"
        )
    meridiem = phrase.meridiem
    if meridiem is None and not phrase.as_written and part is not None and 1 <= hour <= 12:
        meridiem = _PART_MERIDIEMS[part]
    if meridiem is None:
        if not 0 <= hour <= 23:
            raise WhenParseError(ParseErrorCode.INVALID_TIME, f"hour {hour}")
        if not phrase.as_written and 1 <= hour <= _LAST_AFTERNOON_BARE_HOUR:
            hour += 12  # the clinic convention: "at 3" is 3 PM
        return time(hour, minute)
    if not 1 <= hour <= 12:
        raise WhenParseError(ParseErrorCode.INVALID_TIME, f"hour {hour} {meridiem}")
    # 12am is midnight and 12pm is noon; "de la noche" is p.m. from 6 to 11, else a.m.;
    # "del mediodía" is 12 noon and p.m. up to 5.
    hour %= 12
    if (
        meridiem == "pm"
        or (meridiem == "night" and hour >= 6)
        or (meridiem == "noon" and hour <= 5 and phrase.hour != 12)
    ):
        hour += 12
    elif meridiem == "noon" and phrase.hour == 12:
        hour = 12
    return time(hour, minute)


def _next_day_of_month(day: int, today: date) -> date:
    """The next date (today included) whose day of the month is `day`."""
    year, month = today.year, today.month
    if day < today.day:
        month += 1
    for _ in range(13):
        if month > 12:
            year, month = year + 1, 1
        try:
            return date(year, month, day)
        except ValueError:
            month += 1
    raise WhenParseError(ParseErrorCode.INVALID_DATE, f"day {day}")


def _calendar_day(phrase: _CalendarDate, today: date) -> date:
    month, day = phrase.month, phrase.day
    if month is None:
        if not 1 <= day <= 31:
            raise WhenParseError(ParseErrorCode.INVALID_DATE, f"day {day}")
        result = _next_day_of_month(day, today)
    else:
        if not (1 <= month <= 12 and 1 <= day <= 31):
            raise WhenParseError(ParseErrorCode.INVALID_DATE, f"month {month} / day {day}")
        year = phrase.year
        if year is None:
            # The next occurrence of that month/day, today included; past checks come later.
            year = today.year if (month, day) >= (today.month, today.day) else today.year + 1
        try:
            result = date(year, month, day)
        except ValueError as exc:  # Feb 30, year 0, year 10000
            raise WhenParseError(ParseErrorCode.INVALID_DATE, str(exc)) from exc
    if phrase.stated_weekday is not None and result.weekday() != phrase.stated_weekday:
        raise WhenParseError(
            ParseErrorCode.WEEKDAY_MISMATCH,
            f"{result.isoformat()} is not that weekday",
            day=result,
        )
    return result


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    for last in (day.day, 30, 29, 28):
        try:
            return date(year, month + 1, min(day.day, last))
        except ValueError:
            continue
    raise WhenParseError(ParseErrorCode.INVALID_DATE, "beyond the calendar")


def _relative_day(phrase: _DatePhrase, clock: time | None, now: datetime) -> date:
    today = now.date()
    if isinstance(phrase, _DaysAhead):
        days = phrase.days
    elif isinstance(phrase, _MonthsAhead):
        return _add_months(today, phrase.months)
    else:
        assert isinstance(phrase, _Weekday)
        ahead = (phrase.weekday - today.weekday()) % 7
        if phrase.mode == "last":
            days = -((today.weekday() - phrase.weekday) % 7 or 7)
        elif phrase.mode == "next_week":
            days = 7 - today.weekday() + phrase.weekday
        else:
            # Today's weekday means today only while that time is still ahead of us, and never
            # after "next" or "coming" ("next monday" said on a Monday is a week ahead).
            if ahead == 0 and (
                phrase.mode in ("next", "upcoming")
                or clock is None
                or datetime.combine(today, clock) <= now
            ):
                ahead = 7
            days = ahead + (7 if phrase.mode == "after_next" else 0)
        days += phrase.plus_days
    try:
        return today + timedelta(days=days)
    except OverflowError as exc:
        raise WhenParseError(ParseErrorCode.INVALID_DATE, "beyond the calendar") from exc


def _decide(found: _Findings, now: datetime, expect: Expect | None) -> WhenReading:
    dates = list(dict.fromkeys(found.dates))
    times = list(dict.fromkeys(found.times or found.before_day))
    bare = found.bare
    if not (dates or times or bare or found.parts or found.vague):
        raise WhenParseError(ParseErrorCode.UNREADABLE, "no date or time found")
    if len(dates) > 1:
        raise WhenParseError(ParseErrorCode.CHOICE, "more than one day")
    if found.ambiguous_day_month:
        raise WhenParseError(ParseErrorCode.VAGUE, "number on both sides of the month")
    phrase = dates[0] if dates else None
    if found.year_or_time is not None and isinstance(phrase, _CalendarDate):
        phrase, times = _year_or_time(phrase, times, found.year_or_time, now)
    if found.alternatives and bare and phrase is not None and not times:
        raise WhenParseError(ParseErrorCode.CHOICE, "a day or another")  # "dec 15 or 16"
    if len(times) + (len(bare) if times and found.alternatives else 0) > 1:
        if not found.alternatives:
            raise WhenParseError(ParseErrorCode.CHOICE, "more than one time")
        times, bare = [], []  # "2 or 3pm tomorrow": the day is clear, the time is not
    elif times:
        bare = []
    if bare and not times:
        if len(bare) > 1:
            raise WhenParseError(ParseErrorCode.VAGUE, "numbers alone")
        if phrase is None and expect == "time" and bare[0] >= 100 and _time_shaped(str(bare[0])):
            hour, minute = divmod(bare[0], 100)  # "930" answering "what time?"
            times = [_TimePhrase(hour, minute, as_written=hour > 12)]
        elif phrase is not None or expect == "time":
            times = [_TimePhrase(bare[0], 0)]
        elif expect == "date":
            phrase = _CalendarDate(None, None, bare[0])
        else:
            raise WhenParseError(ParseErrorCode.VAGUE, "a number alone")
    if phrase is None and (found.vague or not times):
        raise WhenParseError(ParseErrorCode.VAGUE, "a span or a part of the day")
    part = found.parts[0] if found.parts else None
    clock = _to_clock(times[0], part) if times else None
    if isinstance(phrase, _MinutesAhead):
        moment = (now + timedelta(minutes=phrase.minutes)).replace(second=0, microsecond=0)
        return WhenReading(moment.date(), moment.time())
    if phrase is None:
        return WhenReading(None, clock)
    swapped = next_year = False
    if isinstance(phrase, _CalendarDate):
        try:
            day = _calendar_day(phrase, now.date())
        except WhenParseError as exc:
            if not (phrase.or_hour and clock is None and phrase.stated_weekday is not None):
                raise
            if exc.code is not ParseErrorCode.WEEKDAY_MISMATCH or phrase.day > 12:
                raise
            clock = _to_clock(_TimePhrase(phrase.day, 0), part)
            day = _relative_day(_Weekday(phrase.stated_weekday, "coming"), clock, now)
            return WhenReading(day, clock)
        swapped = phrase.swapped
        next_year = _passed_lately(phrase, day, now.date())
    else:
        day = _relative_day(phrase, clock, now)
    by_weekday = (
        isinstance(phrase, _Weekday)
        and phrase.mode in ("coming", "upcoming", "next")
        and not phrase.plus_days
    )
    return WhenReading(
        day,
        clock,
        part if clock is None else None,
        swapped,
        _week_later(phrase, day, now),
        by_weekday,
        next_year,
    )


def _passed_lately(phrase: _CalendarDate, day: date, today: date) -> bool:
    """Whether a month and day written without a year were read almost a year ahead because
    they passed at most :data:`RECENTLY_PASSED_DAYS` days ago ("12/3" on December 7, "12/30"
    on January 5)."""
    if phrase.year is not None or phrase.month is None:
        return False
    try:
        passed = day.replace(year=day.year - 1)
    except ValueError:  # February 29
        return False
    return 0 < (today - passed).days <= RECENTLY_PASSED_DAYS


def _week_later(phrase: _DatePhrase, day: date, now: datetime) -> date | None:
    """The other reading of "next <weekday>" (and only of it: not "this tuesday", "tuesday",
    "tuesday after next"): the same weekday a week later, when the coming one is still in
    this Monday-to-Sunday week ("next tuesday" on a Monday: tomorrow, or a week after?). Said
    on a Friday, the coming Tuesday is next week's already: one reading."""
    if not isinstance(phrase, _Weekday) or phrase.mode != "next" or phrase.plus_days:
        return None
    today = now.date()
    next_monday = today + timedelta(days=7 - today.weekday())
    if day >= next_monday:
        return None
    return day + timedelta(days=7)


def _year_or_time(
    phrase: _CalendarDate,
    times: list[_TimePhrase],
    year_or_time: tuple[int, _TimePhrase | None],
    now: datetime,
) -> tuple[_CalendarDate, list[_TimePhrase]]:
    """ "12/9 2026" is a date with its year, "12/9 2026 930" too; "12/9 1930" is a time when
    it cannot be a year of a visit; "12/9 2030" (a far year, or 8:30 PM?) is asked about."""
    year, clock = year_or_time
    if clock is None or times or now.year - 1 <= year <= now.year + 2:
        return replace(phrase, year=year), times
    if not now.year - 10 <= year <= now.year + 10:
        return phrase, [clock]
    raise WhenParseError(ParseErrorCode.VAGUE, "a year or a time")


def read_when(
    text: str, *, now_local: datetime, lang: str = "en", expect: Expect | None = None
) -> WhenReading:
    """Read what a patient typed, in the words of `lang` (see LANGUAGES; Spanish reads
    English words too, and numeric dates day first).

    ``now_local`` is the patient's current *naive* wall-clock time; it fills in missing years
    and turns "tomorrow"/"thursday" into dates. Returns a day, a time or both; raises
    :class:`WhenParseError` (and nothing else) for any other string."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    if not isinstance(now_local, datetime) or now_local.tzinfo is not None:
        raise TypeError("now_local must be a naive datetime")
    stripped = text.strip()
    if not stripped:
        raise WhenParseError(ParseErrorCode.EMPTY)
    if len(stripped) > MAX_INPUT_CHARS:
        raise WhenParseError(ParseErrorCode.UNREADABLE, "too long")
    vocabulary = VOCABULARIES.get(lang, VOCABULARIES["en"])
    tokens = _fix_slips(_tokenize(stripped.casefold()), vocabulary)
    return _decide(_Scanner(tokens, vocabulary).scan(), now_local, expect)


def parse_when(text: str, *, now_local: datetime, lang: str = "en") -> datetime:
    """A whole date and time, read as :func:`read_when` reads it; a missing day or time is a
    :class:`WhenParseError` (MISSING_DATE, MISSING_TIME). Returns a naive wall-clock datetime
    with zero seconds and microseconds."""
    reading = read_when(text, now_local=now_local, lang=lang)
    if reading.day is None:
        raise WhenParseError(ParseErrorCode.MISSING_DATE)
    if reading.clock is None:
        raise WhenParseError(ParseErrorCode.MISSING_TIME)
    return reading.at()
