"""The reminder plan: which messages a patient gets around each visit, and when.

The plan is data that clinic staff edit (`messages/plan.toml`; the comments at the top of that
file describe every field). This module turns the file into frozen objects and refuses a file
with any mistake in it: every :class:`PlanError` names the file, the line and the field, so the
person who edited it can fix it without reading Python.

Everything here is pure: no clock, no database, no Telegram. Local wall time <-> UTC goes
through :mod:`scheduler.timemath`.
"""

from __future__ import annotations

import difflib
import functools
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

from scheduler.timemath import NonexistentLocalTime, resolve_local, to_local

__all__ = [
    "BUTTONS",
    "DEFAULT_SNOOZE",
    "MAX_OFFSET",
    "MAX_SNOOZE",
    "MAX_STEPS",
    "MIN_SNOOZE",
    "Offset",
    "Plan",
    "PlanError",
    "QuietHours",
    "Step",
    "load_plan",
    "parse_offset",
    "parse_plan",
    "resolve_wall",
]

BUTTONS = frozenset({"done", "snooze", "attend", "checklist"})
MAX_OFFSET = timedelta(days=30)
MAX_OFFSET_DAYS = 30
DEFAULT_SNOOZE = timedelta(hours=3)
MIN_SNOOZE = timedelta(minutes=5)
MAX_SNOOZE = timedelta(hours=24)
MAX_STEPS = 50

_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}
_MAX_DIGITS = 6  # bounds the work on hostile input; 30 days is 43200m
_RELATIVE_RE = re.compile(r"([+-]?)(\d+)([mhd])")
_ANCHORED_RE = re.compile(r"([+-]?)(\d+)d@(\d{1,2}):(\d{2})")
_TIME_RE = re.compile(r"(\d{1,2}):(\d{2})")
_DURATION_RE = re.compile(r"(\d+)([mhd])")
_KEY_RE = re.compile(r"[a-z][a-z0-9_]{0,31}")
_TEMPLATE_RE = re.compile(r"[a-z0-9_]+(?:/[a-z0-9_]+)*")
_OFFSET_EXAMPLES = "-3d, -48h, -90m, +1d or -1d@19:00"
_Fail = Callable[[str], NoReturn]


# --------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------


class PlanError(ValueError):
    """A plan file that cannot be used. ``str(e)`` is ``"{source}:{line}: {field}: {message}"``
    (``":{line}"`` is left out when the line is unknown)."""

    def __init__(self, source: str, line: int | None, field: str, message: str) -> None:
        self.source = source
        self.line = line
        self.field = field
        self.message = message
        where = source if line is None else f"{source}:{line}"
        super().__init__(f"{where}: {field}: {message}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.source, self.line, self.field, self.message))


# --------------------------------------------------------------------------------------
# Wall time
# --------------------------------------------------------------------------------------


def _require_aware(instant: datetime, name: str) -> datetime:
    if not isinstance(instant, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(instant).__name__}")
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise TypeError(f"{name} must be an aware datetime, got a naive one")
    return instant.astimezone(UTC)


def _end_of_gap(wall: datetime, zone: ZoneInfo) -> datetime:
    """The instant the clocks jump over ``wall`` (which lies in a DST gap): the first existing
    moment after the gap, e.g. 03:00 EDT for 02:30 on a spring-forward night in New York."""
    naive = wall.replace(tzinfo=None, fold=0)
    # Read with the offsets before and after the jump, the wall time gives one instant on
    # each side of the transition; bisect on whole seconds (transitions are on whole seconds).
    one, other = (naive.replace(tzinfo=zone, fold=f).astimezone(UTC) for f in (0, 1))
    low = int(min(one, other).timestamp()) - 1
    high = int(max(one, other).timestamp()) + 1
    after = datetime.fromtimestamp(high, UTC).astimezone(zone).utcoffset()
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, UTC).astimezone(zone).utcoffset() == after:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def resolve_wall(wall: datetime, zone: ZoneInfo, *, fold: int = 0) -> datetime:
    """A naive wall time in ``zone`` as an aware UTC instant, never raising for DST.

    An ambiguous wall time (clocks going back) gives the occurrence ``fold`` picks (0 = the
    first); a nonexistent one (clocks going forward) gives the first existing moment after
    the gap: 02:30 on a New York spring-forward night is 03:00 EDT.
    """
    try:
        return resolve_local(wall, zone, fold=fold)
    except NonexistentLocalTime:
        return _end_of_gap(wall, zone)


# --------------------------------------------------------------------------------------
# Offsets
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Offset:
    """When, relative to the appointment start. Two forms:

    relative: ``"-3d"``, ``"-48h"``, ``"-90m"``, ``"+1d"``, ``"0"``, ``"+90m"`` (units m/h/d;
    ``d`` is 24 hours of elapsed time, whatever the clocks do in between).

    anchored: ``"-1d@19:00"`` is on the local calendar day N days from the appointment's local
    date, at that local wall time (the evening before). ``"+1d@10:00"`` too. ``"0d@07:00"`` is
    the appointment's own day; it counts as before the visit (see :attr:`is_after_start`).
    """

    text: str
    delta: timedelta | None = None
    days: int | None = None
    at: time | None = None

    def __post_init__(self) -> None:
        relative = self.delta is not None
        anchored = self.days is not None and self.at is not None
        partly_anchored = self.days is not None or self.at is not None
        if relative == anchored or (relative and partly_anchored):
            raise ValueError("an Offset has either a delta or both days and at")

    def __str__(self) -> str:
        return self.text

    def resolve(self, start: datetime, zone: ZoneInfo) -> datetime:
        """The instant (aware, UTC) this offset names for an appointment starting at ``start``.

        Anchored offsets use the wall clock in ``zone``: a wall time the clocks skip moves to
        the first moment after the gap, one they show twice means its first occurrence.
        """
        start = _require_aware(start, "start")
        if self.delta is not None:
            return start + self.delta
        assert self.days is not None
        assert self.at is not None
        local_day = to_local(start, zone).date() + timedelta(days=self.days)
        return resolve_wall(datetime.combine(local_day, self.at), zone)

    @property
    def is_after_start(self) -> bool:
        """Positive offsets (``"+1d"``, ``"+1d@10:00"``): a follow-up after the visit.

        ``"0"`` and ``"0d@HH:MM"`` are not: they belong to the visit's own run-up.
        """
        if self.delta is not None:
            return self.delta > timedelta(0)
        return self.days is not None and self.days > 0


def parse_offset(text: str) -> Offset:
    """Read an offset (see :class:`Offset`); ValueError with a message for staff otherwise."""
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not an offset like {_OFFSET_EXAMPLES}")
    cleaned = text.strip()
    if cleaned == "0":
        return Offset(cleaned, delta=timedelta(0))

    if match := _RELATIVE_RE.fullmatch(cleaned):
        sign, amount, unit = match.groups()
        _check_amount(text, amount)
        count = int(amount)
        if count and not sign:
            raise ValueError(
                f"{text!r} needs a sign: -{cleaned} for before the appointment,"
                f" +{cleaned} for after it"
            )
        delta = count * _UNITS[unit]
        if delta > MAX_OFFSET:
            raise ValueError(f"{text!r} is more than 30 days from the appointment")
        return Offset(cleaned, delta=-delta if sign == "-" else delta)

    if match := _ANCHORED_RE.fullmatch(cleaned):
        sign, amount, hours, minutes = match.groups()
        _check_amount(text, amount)
        days = int(amount)
        if days and not sign:
            raise ValueError(
                f"{text!r} needs a sign: -{cleaned} for before the appointment,"
                f" +{cleaned} for after it"
            )
        if days > MAX_OFFSET_DAYS:
            raise ValueError(f"{text!r} is more than 30 days from the appointment")
        if int(hours) > 23 or int(minutes) > 59:
            raise ValueError(f"{text!r}: {hours}:{minutes} is not a time of day (00:00-23:59)")
        return Offset(
            cleaned, days=-days if sign == "-" else days, at=time(int(hours), int(minutes))
        )

    raise ValueError(f"{text!r} is not an offset like {_OFFSET_EXAMPLES}")


def _check_amount(text: str, amount: str) -> None:
    if len(amount.lstrip("0")) > _MAX_DIGITS:
        raise ValueError(f"{text!r} is more than 30 days from the appointment")


def _parse_wall_time(value: object) -> time:
    """``"21:00"`` (or a TOML local time such as ``21:00:00``) as a whole-minute time."""
    if isinstance(value, time) and value.tzinfo is None:
        if value.second or value.microsecond:
            raise ValueError(f"{value.isoformat()} must be a whole minute, like 21:00")
        return value
    if isinstance(value, str) and (match := _TIME_RE.fullmatch(value.strip())):
        hours, minutes = (int(part) for part in match.groups())
        if hours <= 23 and minutes <= 59:
            return time(hours, minutes)
    raise ValueError(f"{_show(value)} is not a time like 21:00 (HH:MM, 00:00-23:59)")


# --------------------------------------------------------------------------------------
# Plan objects
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuietHours:
    """Local wall-clock hours in which nothing is sent. ``start`` is inclusive, ``end``
    exclusive; 21:00 -> 08:00 crosses midnight, 13:00 -> 14:00 does not."""

    start: time
    end: time

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if not isinstance(value, time) or value.tzinfo is not None:
                raise TypeError(f"quiet hours {name} must be a naive time")
        if self.start == self.end:
            raise ValueError("quiet hours must not start and end at the same time")

    @property
    def crosses_midnight(self) -> bool:
        return self.end < self.start

    def contains(self, wall: time) -> bool:
        wall = wall.replace(tzinfo=None, fold=0)
        if self.crosses_midnight:
            return wall >= self.start or wall < self.end
        return self.start <= wall < self.end


@dataclass(frozen=True)
class Step:
    """One message of the plan. ``template`` is a text name such as ``reminders/playlist``
    (rendered per language); ``items`` are the checklist items it is about; ``expires`` is
    until when a late delivery is still useful."""

    key: str
    at: Offset
    template: str
    items: tuple[str, ...]
    buttons: tuple[str, ...]
    expires: Offset

    @property
    def is_follow_up(self) -> bool:
        """A step after the visit (``at`` is a positive offset)."""
        return self.at.is_after_start


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]
    checklist: tuple[str, ...]
    quiet_hours: QuietHours | None
    snooze: timedelta = DEFAULT_SNOOZE

    def step(self, key: str) -> Step | None:
        return next((step for step in self.steps if step.key == key), None)


# --------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------

_TOP_LEVEL_FIELDS = ("checklist", "snooze", "quiet_hours", "step")
_QUIET_FIELDS = ("start", "end")
_STEP_FIELDS = ("key", "at", "template", "items", "buttons", "expires")
_HEADER_RE = re.compile(r"\s*\[\[?\s*([^\[\]#]+?)\s*\]\]?\s*(?:#.*)?")
_TOML_POSITION_RE = re.compile(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)\s*$")

# Anchored and mixed offsets are compared on this appointment (a Thursday afternoon with no
# clock change within 30 days either side).
_SAMPLE_WALL = datetime(2026, 12, 3, 14, 30)
_SAMPLE_ZONE = "America/New_York"


@functools.cache
def _sample() -> tuple[datetime, ZoneInfo]:
    zone = ZoneInfo(_SAMPLE_ZONE)
    return resolve_local(_SAMPLE_WALL, zone), zone


def _show(value: object) -> str:
    """A value roughly as it was written in TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_show(item) for item in value) + "]"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, (datetime, time)):
        return value.isoformat()
    return repr(value)


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _describe(instant: datetime, zone: ZoneInfo) -> str:
    return to_local(instant, zone).strftime("%a %Y-%m-%d %H:%M")


class _Lines:
    """Finds where things are in the raw text: tomllib gives no positions once parsed."""

    def __init__(self, text: str) -> None:
        # Numbered like tomllib and editors do: only "\n" ends a line.
        self.lines = text.split("\n")
        if self.lines and self.lines[-1] == "":
            self.lines.pop()
        self.headers: list[tuple[int, str]] = []  # (line number, `a.b` of `[a.b]` / `[[a.b]]`)
        for number, line in enumerate(self.lines, start=1):
            if match := _HEADER_RE.fullmatch(line):
                name = re.sub(r"\s*\.\s*", ".", match.group(1))
                self.headers.append((number, name.replace('"', "").replace("'", "")))

    def _assignment(self, name: str, first: int, last: int) -> int | None:
        """The first line in [first, last] (1-based) that assigns ``name``."""
        pattern = re.compile(
            rf"""\s*(?:{re.escape(name)}|"{re.escape(name)}"|'{re.escape(name)}')\s*="""
        )
        for number in range(first, min(last, len(self.lines)) + 1):
            if pattern.match(self.lines[number - 1]):
                return number
        return None

    def _section_end(self, header_line: int) -> int:
        later = [number for number, _ in self.headers if number > header_line]
        return later[0] - 1 if later else len(self.lines)

    def table(self, name: str, occurrence: int = 1) -> int | None:
        """The line of the ``occurrence``-th header ``[name]`` or ``[[name]]``."""
        found = [number for number, header in self.headers if header == name]
        return found[occurrence - 1] if 0 < occurrence <= len(found) else None

    def top_level(self, name: str) -> int | None:
        """Where a top-level key is set: ``name = ...`` before the first table, or its table."""
        first_table = self.headers[0][0] - 1 if self.headers else len(self.lines)
        found = self._assignment(name, 1, first_table)
        if found is None:
            found = self.table(name)
        if found is None:  # dotted keys such as `quiet_hours.start = ...`, or an inline table
            found = next(
                (
                    number
                    for number, line in enumerate(self.lines, start=1)
                    if re.match(rf"\s*{re.escape(name)}\s*[.=]", line)
                ),
                None,
            )
        return found

    def in_table(self, table: str, field: str, occurrence: int = 1) -> int | None:
        """Where ``field`` is set in a table (falls back to the table's header line)."""
        header = self.table(table, occurrence)
        if header is None:
            return self.top_level(table) if occurrence == 1 else None
        found = self._assignment(field, header + 1, self._section_end(header))
        return header if found is None else found


class _Parser:
    def __init__(self, text: str, source: str) -> None:
        self.text = text
        self.source = source
        self.lines = _Lines(text)

    # -- errors -------------------------------------------------------------------------

    def fail(self, line: int | None, field: str, message: str) -> NoReturn:
        raise PlanError(self.source, line, field, message)

    def fail_top(self, name: str, message: str) -> NoReturn:
        self.fail(self.lines.top_level(name), name, message)

    def fail_quiet(self, name: str, message: str) -> NoReturn:
        self.fail(self.lines.in_table("quiet_hours", name), f"quiet_hours.{name}", message)

    def fail_step(self, number: int, name: str, message: str) -> NoReturn:
        self.fail(self.lines.in_table("step", name, number), f"step[{number}].{name}", message)

    # -- the document ---------------------------------------------------------------------

    def parse(self) -> Plan:
        try:
            data = tomllib.loads(self.text)
        except tomllib.TOMLDecodeError as exc:
            raise self.syntax_error(exc) from exc
        for name in data:
            if name not in _TOP_LEVEL_FIELDS:
                self.fail_top(
                    name,
                    f"unknown setting{_suggest(name, _TOP_LEVEL_FIELDS)};"
                    f" expected {', '.join(_TOP_LEVEL_FIELDS)}",
                )
        checklist = self.parse_checklist(data.get("checklist", []))
        snooze = self.parse_snooze(data.get("snooze"))
        quiet = self.parse_quiet_hours(data.get("quiet_hours"))
        steps = self.parse_steps(data.get("step"), checklist)
        return Plan(steps=steps, checklist=checklist, quiet_hours=quiet, snooze=snooze)

    def syntax_error(self, exc: tomllib.TOMLDecodeError) -> PlanError:
        message = str(exc)
        line: int | None = None
        if match := _TOML_POSITION_RE.search(message):
            message = message[: match.start()]
            if match.group(1):
                line = int(match.group(1))
                message += f" (column {match.group(2)})"
            else:
                line = max(len(self.lines.lines), 1)
                message += " (at the end of the file)"
        return PlanError(self.source, line, "syntax", f"not valid TOML: {message}")

    def parse_checklist(self, value: object) -> tuple[str, ...]:
        items = self.string_list(value, lambda msg: self.fail_top("checklist", msg))
        seen: set[str] = set()
        for item in items:
            if not _KEY_RE.fullmatch(item):
                self.fail_top(
                    "checklist",
                    f"{item!r} is not an item key like eye_mask (a lowercase letter, then"
                    " lowercase letters, digits or _; at most 32)",
                )
            if item in seen:
                self.fail_top("checklist", f"{item!r} is listed twice")
            seen.add(item)
        return tuple(items)

    def parse_snooze(self, value: object) -> timedelta:
        if value is None:
            return DEFAULT_SNOOZE
        match = _DURATION_RE.fullmatch(value.strip()) if isinstance(value, str) else None
        if match is None:
            self.fail_top("snooze", f'{_show(value)} is not a duration like "3h" or "90m"')
        amount, unit = match.groups()
        if len(amount.lstrip("0")) > _MAX_DIGITS:
            self.fail_top("snooze", f"{_show(value)} must be between 5m and 24h")
        snooze = int(amount) * _UNITS[unit]
        if not MIN_SNOOZE <= snooze <= MAX_SNOOZE:
            self.fail_top("snooze", f"{_show(value)} must be between 5m and 24h")
        return snooze

    def parse_quiet_hours(self, value: object) -> QuietHours | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            self.fail_top(
                "quiet_hours",
                'must be a table: a [quiet_hours] line, then start = "21:00" and'
                ' end = "08:00" (leave the table out for no quiet hours)',
            )
        for name in value:
            if name not in _QUIET_FIELDS:
                self.fail_quiet(
                    name, f"unknown field{_suggest(name, _QUIET_FIELDS)}; expected start, end"
                )
        times: dict[str, time] = {}
        for name in _QUIET_FIELDS:
            if name not in value:
                self.fail_quiet(name, "missing (required, a time like 21:00)")
            try:
                times[name] = _parse_wall_time(value[name])
            except ValueError as exc:
                self.fail_quiet(name, str(exc))
        if times["start"] == times["end"]:
            self.fail_quiet(
                "end",
                f"{times['end']:%H:%M} is the same as start; leave [quiet_hours] out for none",
            )
        return QuietHours(times["start"], times["end"])

    def parse_steps(self, value: object, checklist: tuple[str, ...]) -> tuple[Step, ...]:
        if value is None:
            self.fail(None, "step", "the plan needs at least one [[step]]")
        if isinstance(value, dict):
            self.fail_top("step", "write [[step]] (double brackets) before each step")
        if not isinstance(value, list) or not all(isinstance(s, dict) for s in value):
            self.fail_top("step", "must be a list of [[step]] tables")
        if not value:
            self.fail_top("step", "the plan needs at least one [[step]]")
        if len(value) > MAX_STEPS:
            self.fail(
                self.lines.table("step", MAX_STEPS + 1) or self.lines.top_level("step"),
                f"step[{MAX_STEPS + 1}]",
                f"a plan has at most {MAX_STEPS} steps, this one has {len(value)}",
            )
        steps: list[Step] = []
        for number, table in enumerate(value, start=1):
            step = self.parse_step(number, table, checklist)
            earlier = next((s for s in steps if s.key == step.key), None)
            if earlier is not None:
                self.fail_step(
                    number,
                    "key",
                    f"{step.key!r} is already the key of step[{steps.index(earlier) + 1}]",
                )
            steps.append(step)
        return tuple(steps)

    def parse_step(self, number: int, table: Mapping[str, Any], checklist: tuple[str, ...]) -> Step:
        def fail(name: str, message: str) -> NoReturn:
            self.fail_step(number, name, message)

        for name in table:
            if name not in _STEP_FIELDS:
                fail(
                    name,
                    f"unknown field{_suggest(name, _STEP_FIELDS)};"
                    f" expected {', '.join(_STEP_FIELDS)}",
                )
        for name in ("key", "at", "template"):
            if name not in table:
                fail(name, "missing (required)")

        key = self.string(table["key"], lambda msg: fail("key", msg), 'like "playlist"')
        if not _KEY_RE.fullmatch(key):
            fail(
                "key",
                f"{key!r} is not a key like evening_before (a lowercase letter, then lowercase"
                " letters, digits or _; at most 32)",
            )

        at = self.offset(table["at"], lambda msg: fail("at", msg))

        template = self.string(
            table["template"], lambda msg: fail("template", msg), 'like "reminders/playlist"'
        )
        if not _TEMPLATE_RE.fullmatch(template):
            fail(
                "template",
                f"{template!r} is not a text name like reminders/playlist (lowercase letters,"
                " digits, _ and /; no language and no extension)",
            )

        items = self.string_list(table.get("items", []), lambda msg: fail("items", msg))
        for item in items:
            if item not in checklist:
                declared = ", ".join(checklist) if checklist else "nothing"
                fail(
                    "items",
                    f"{item!r} is not in checklist{_suggest(item, checklist)};"
                    f" the checklist has {declared}",
                )
        if len(set(items)) != len(items):
            fail("items", "an item is listed twice")

        buttons = self.string_list(table.get("buttons", []), lambda msg: fail("buttons", msg))
        for button in buttons:
            if button not in BUTTONS:
                fail(
                    "buttons",
                    f"{button!r} is not a button{_suggest(button, BUTTONS)};"
                    f" choose from {', '.join(sorted(BUTTONS))}",
                )
        if len(set(buttons)) != len(buttons):
            fail("buttons", "a button is listed twice")
        if "done" in buttons and not items:
            fail("buttons", '"done" ticks the step\'s items, so the step needs items')
        if "checklist" in buttons and not checklist:
            fail("buttons", '"checklist" shows the checklist, but the plan has no checklist')

        if "expires" in table:
            expires = self.offset(table["expires"], lambda msg: fail("expires", msg))
        elif at.is_after_start:
            fail(
                "expires",
                f"missing: a follow-up (at {at.text!r} is after the appointment start) must"
                ' say until when it is still worth sending, e.g. expires = "+3d"',
            )
        else:
            expires = parse_offset("0")

        start, zone = _sample()
        at_instant = at.resolve(start, zone)
        expires_instant = expires.resolve(start, zone)
        if not at.is_after_start and (expires.is_after_start or expires_instant > start):
            fail(
                "expires",
                f"{expires.text!r} is after the appointment start, but this step comes before"
                f' the visit (at {at.text!r}); use "0" (the start) or earlier',
            )
        if expires_instant <= at_instant:
            fail(
                "expires",
                f"{expires.text!r} must be later than at {at.text!r}"
                f" (for a sample appointment on {_describe(start, zone)} {zone.key}:"
                f" at is {_describe(at_instant, zone)},"
                f" expires is {_describe(expires_instant, zone)})",
            )

        return Step(
            key=key,
            at=at,
            template=template,
            items=tuple(items),
            buttons=tuple(buttons),
            expires=expires,
        )

    # -- value helpers --------------------------------------------------------------------

    @staticmethod
    def string(value: object, fail: _Fail, example: str) -> str:
        if not isinstance(value, str):
            fail(f"expected text in quotes {example}, got {_show(value)}")
        return value

    @staticmethod
    def string_list(value: object, fail: _Fail) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            fail(f'expected a list of texts like ["a", "b"], got {_show(value)}')
        return list(value)

    @staticmethod
    def offset(value: object, fail: _Fail) -> Offset:
        if not isinstance(value, str):
            fail(f'expected an offset in quotes, like "-3d" or "-1d@19:00", got {_show(value)}')
        try:
            return parse_offset(value)
        except ValueError as exc:
            fail(str(exc))


def parse_plan(text: str, source: str = "plan.toml") -> Plan:
    """Read and check a plan; :class:`PlanError` (naming source, line and field) if it is wrong."""
    return _Parser(text, source).parse()


def load_plan(path: Path) -> Plan:
    """Read and check the plan file at ``path``; :class:`PlanError` if it is missing or wrong."""
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise PlanError(source, None, "file", "not found") from None
    except OSError as exc:
        raise PlanError(source, None, "file", f"cannot be read ({exc.strerror or exc})") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise PlanError(source, line, "file", "is not UTF-8 text") from exc
    return parse_plan(text.removeprefix("\ufeff"), source)
