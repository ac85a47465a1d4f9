"""A typed answer to "this week's or next week's?" (the two-week choice: "next tuesday" said
while this week's Tuesday is still ahead), read instead of a tap on one of the two dates.

Words are read with the phrases of ``messages/<lang>/which_week.toml`` (staff edit them; its
header explains them): ``unsure`` ("not sure", "I don't know", "no sé") keeps the choice on
screen with a line to check with the clinic, whatever else the text says ("not sure, they just
said friday"); ``this_week`` and ``next_week`` ("next week", "la semana que viene") pick one. A
week phrase with a word of ``negations`` right before or after it in its clause ("not this
week", "esta semana no") names the other week. Both weeks named picks nothing. A question
(:func:`asks`: a "?" anywhere) picks nothing either; when it names a week or one of the two
dates ("is it next week?", "wait is it tomorrow??") the booking service reads it as not sure,
and the choice stays.

A date picks the day it names (:func:`picked_day`): "dec 1", "the 24th", "tomorrow",
"tuesday next week"; with a time, only the time offered. The weekday alone ("tuesday", "next
tuesday") is the question again and picks nothing.

Anything else is None: the text is read as it would be without the choice on screen (a new
date and time, a question, thanks). Pure: no aiogram, no database; the booking service
(bot/services/appointments.py ``week_answer``) holds the clock and the two readings, and its
``week_typed`` turns the answer into the day picked or the choice again, for a patient's
booking, staff's /invite and staff's visit move alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import StrEnum

from bot.domain.accents import unaccented
from bot.domain.text_normalization import normalize
from bot.domain.when_parser import WhenReading

__all__ = ["WeekAnswer", "WeekWords", "asks", "picked_day"]

_CLAUSE_BREAK = re.compile(r"[.!;:,\n\u2026]+|\s[-\u2013\u2014]\s")
"""What ends a clause: "no, next week" is a "no" and then next week."""


class WeekAnswer(StrEnum):
    """What a typed answer to the two-week choice says."""

    EARLIER = "earlier"  # this week's day
    LATER = "later"  # next week's
    UNSURE = "unsure"  # they do not know: the choice stays, with a line to ask the clinic


def _words(text: str) -> tuple[str, ...]:
    return tuple(unaccented(normalize(text)).split())


def _at(said: Sequence[str], phrase: Sequence[str]) -> list[int]:
    """Where `phrase` starts in `said`, its words next to each other."""
    n = len(phrase)
    return [i for i in range(len(said) - n + 1) if n and tuple(said[i : i + n]) == phrase]


class WeekWords:
    """One language's words for the two-week choice (see the module docstring)."""

    def __init__(
        self,
        *,
        this_week: Iterable[str] = (),
        next_week: Iterable[str] = (),
        unsure: Iterable[str] = (),
        negations: Iterable[str] = (),
    ) -> None:
        self._weeks = (
            (WeekAnswer.EARLIER, self._phrases(this_week)),
            (WeekAnswer.LATER, self._phrases(next_week)),
        )
        self._unsure = self._phrases(unsure)
        self._negations = frozenset(w for text in negations for w in _words(text))

    @staticmethod
    def _phrases(phrases: Iterable[str]) -> tuple[tuple[str, ...], ...]:
        # The longest first: "not this week" is read before "this week".
        found = {p for p in (_words(text) for text in phrases) if p}
        return tuple(sorted(found, key=len, reverse=True))

    def said(self, text: str) -> WeekAnswer | None:
        """The week `text` names in words, or that the patient is not sure; None for neither,
        for a question and for both weeks named."""
        if asks(text):
            return None
        return self._read(text)

    def mentions(self, text: str) -> bool:
        """Whether `text` names a week or doubt in words, a question or not ("this week or next
        week?")."""
        clauses = [_words(c) for c in _CLAUSE_BREAK.split(text)]
        return any(
            _at(said, phrase)
            for said in clauses
            for phrases in (self._unsure, *(p for _, p in self._weeks))
            for phrase in phrases
        )

    def _read(self, text: str) -> WeekAnswer | None:
        clauses = [_words(c) for c in _CLAUSE_BREAK.split(text)]
        if any(_at(said, phrase) for said in clauses for phrase in self._unsure):
            return WeekAnswer.UNSURE
        votes: set[WeekAnswer] = set()
        for said in clauses:
            taken: set[int] = set()
            for week, phrases in self._weeks:
                for phrase in phrases:
                    for start in _at(said, phrase):
                        span = set(range(start, start + len(phrase)))
                        if span & taken:
                            continue  # inside a longer phrase already read
                        taken |= span
                        votes.add(self._other(week) if self._negated(said, start, phrase) else week)
        return votes.pop() if len(votes) == 1 else None

    def _negated(self, said: Sequence[str], start: int, phrase: Sequence[str]) -> bool:
        before = said[start - 1] if start else None
        end = start + len(phrase)
        after = said[end] if end < len(said) else None
        return before in self._negations or after in self._negations

    @staticmethod
    def _other(week: WeekAnswer) -> WeekAnswer:
        return WeekAnswer.LATER if week is WeekAnswer.EARLIER else WeekAnswer.EARLIER


def asks(text: str) -> bool:
    """Whether `text` is a question ("is it tomorrow?"): it picks no week and no date."""
    return "?" in text or "¿" in text


def picked_day(reading: WhenReading, earlier: datetime, later: datetime) -> WeekAnswer | None:
    """The one of two offered wall times (naive, local) a typed date names: its day, and its
    time when it says one; None when it names neither, or only the weekday again."""
    if reading.day is None or reading.by_weekday or reading.other_day is not None:
        return None
    for answer, offered in ((WeekAnswer.EARLIER, earlier), (WeekAnswer.LATER, later)):
        if reading.day == offered.date() and reading.clock in (None, offered.time()):
            return answer
    return None
