"""When a reminder step is sent, as the team says it: "2 hours before", "the day before at
6pm", "the day after at 10am", "3 days before", "at the start", in English or Spanish ("2 horas
antes", "el día anterior a las 18:00", "al día siguiente a las 10am", "al inicio"), read into
the plan's own offsets (scheduler/plan.py: ``-2h``, ``-1d@18:00``, ``+1d@10:00``, ``-3d``,
``0``). An offset typed as such is taken as it is. Pure functions, no I/O.

Two shapes, as the plan has them: an amount of time before or after the start (elapsed time),
or a clock time on a day counted from the visit's date ("the day before at 6pm" stays at 6pm
when the clocks change).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import time

__all__ = ["read_step_time"]

_OFFSET_RE = re.compile(r"^(?:0|[+-]?\d{1,6}[mhd]|[+-]?\d{1,2}d@\d{1,2}:\d{2})$")
_UNIT_WORDS = {
    "m": ("minute", "minutes", "min", "mins", "minuto", "minutos"),
    "h": ("hour", "hours", "hr", "hrs", "hora", "horas"),
    "d": ("day", "days", "dia", "dias"),
}
_UNIT_OF = {word: unit for unit, words in _UNIT_WORDS.items() for word in words}
_ONE = {"a", "an", "one", "un", "una", "uno"}
_BEFORE = {"before", "earlier", "prior", "antes"}
_AFTER = {"after", "later", "despues"}
_START = (
    "at the start", "at the start of the visit", "at the visit", "when the visit starts",
    "at start", "al inicio", "al comienzo", "al empezar", "al inicio de la visita",
    "a la hora de la visita", "0",
)  # fmt: skip
# A day counted from the visit's date, in words.
_DAYS = {
    "the day before": -1, "the evening before": -1, "the night before": -1,
    "the morning before": -1, "the day prior": -1, "el dia anterior": -1, "el dia antes": -1,
    "la vispera": -1, "la noche anterior": -1, "la noche antes": -1, "la tarde anterior": -1,
    "the day of the visit": 0, "the same day": 0, "on the day": 0, "that day": 0,
    "the morning of the visit": 0, "el mismo dia": 0, "el dia de la visita": 0,
    "the day after": 1, "the next day": 1, "the following day": 1, "el dia siguiente": 1,
    "al dia siguiente": 1, "el dia despues": 1,
}  # fmt: skip
_CLOCK_RE = re.compile(
    r"^(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?\s*(?:h\b)?\s*"
    r"(?P<half>am|a\s*m|pm|p\s*m|de la manana|de la tarde|de la noche|in the morning"
    r"|in the afternoon|in the evening)?$"
)
_NAMED_CLOCK = {"noon": time(12, 0), "midday": time(12, 0), "mediodia": time(12, 0),
                "midnight": time(0, 0), "medianoche": time(0, 0)}  # fmt: skip
_AT = ("at", "a las", "a la", "alas", "@")
_MAX_DAYS = 30


def _plain(text: str) -> str:
    """Lower case, accents and dots dropped, one space between words."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    letters = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    letters = letters.replace(".", " ").replace(",", " ")
    return " ".join(letters.split())


def _clock(text: str) -> time:
    if text in _NAMED_CLOCK:
        return _NAMED_CLOCK[text]
    match = _CLOCK_RE.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a clock time like 6pm or 18:00")
    hour, minute = int(match["hour"]), int(match["minute"] or 0)
    half = (match["half"] or "").replace(" ", "")
    if half:
        if not 1 <= hour <= 12:
            raise ValueError(f"{text!r}: with am or pm the hour is 1 to 12")
        later = half in ("pm", "delatarde", "intheafternoon", "intheevening", "delanoche")
        hour = hour % 12 + (12 if later else 0)
        if half == "delanoche" and hour == 12:
            hour = 0  # "las 12 de la noche" is midnight
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise ValueError(f"{text!r} is not a clock time")
    return time(hour, minute)


def _amount(words: list[str]) -> tuple[int, str]:
    """``2 hours`` -> (2, "h"); ``an hour`` -> (1, "h")."""
    if len(words) != 2:
        raise ValueError("not an amount")
    count, unit = words
    if unit not in _UNIT_OF:
        raise ValueError("not an amount")
    if count in _ONE:
        return 1, _UNIT_OF[unit]
    if not count.isascii() or not count.isdigit() or len(count) > 6:
        raise ValueError("not an amount")
    return int(count), _UNIT_OF[unit]


def _split_clock(text: str) -> tuple[str, time | None]:
    """The day part of a phrase and its clock time ("the day before at 6pm")."""
    for word in _AT:
        marker = f" {word} "
        if marker in f" {text} ":
            head, _, tail = f" {text} ".partition(marker)
            return head.strip(), _clock(tail.strip())
    return text, None


def _anchored(days: int, at: time) -> str:
    if abs(days) > _MAX_DAYS:
        raise ValueError(f"more than {_MAX_DAYS} days from the visit")
    sign = "-" if days < 0 else "+" if days > 0 else ""
    return f"{sign}{abs(days)}d@{at:%H:%M}"


def read_step_time(text: str) -> str:
    """The plan offset (``-1d@18:00``) for what the team typed; ValueError saying what it
    can read otherwise. Any language the module knows is read (a member may write in either)."""
    raw = text.strip()
    if _OFFSET_RE.match(raw.replace(" ", "")):
        return raw.replace(" ", "")
    plain = _plain(raw)
    if plain in _START:
        return "0"
    day_part, at = _split_clock(plain)
    if at is not None and day_part in _DAYS:
        return _anchored(_DAYS[day_part], at)
    words = day_part.split()
    if words and words[-1] in _BEFORE | _AFTER:
        sign = -1 if words[-1] in _BEFORE else 1
        try:
            count, unit = _amount(words[:-1])
        except ValueError:
            pass
        else:
            if at is not None:
                if unit != "d":
                    raise ValueError("a clock time goes with days: “2 days before at 6pm”")
                return _anchored(sign * count, at)
            return f"{'-' if sign < 0 else '+'}{count}{unit}" if count else "0"
    raise ValueError(
        "write it like “2 hours before”, “3 days before”, “the day before at 6pm”, "
        "“the day after at 10am” or “at the start”"
    )
