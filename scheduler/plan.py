"""The reminder plan: which messages a patient gets around each visit, and when.

A plan is data that clinic staff edit, one per visit type (`messages/plans/<type>.toml`; the
comments at the top of `infusion.toml` describe every field). These pydantic models are its
shape and every rule it keeps, as the file writes it (offsets and durations as text,
``[[step]]`` tables); a mistake is raised by a validator about the field to fix
(:class:`foundation.data_file.FieldError`), and :mod:`scheduler.plan_loading` turns it into a
line that names the file, the line and the field.

Everything here is pure: no clock, no database, no Telegram. Local wall time <-> UTC goes
through :mod:`foundation.timemath`.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    InstanceOf,
    field_validator,
    model_validator,
)
from pydantic.dataclasses import dataclass as model_dataclass

from foundation.data_file import FieldError, show, suggest
from foundation.timemath import as_utc, resolve_local, resolve_wall, to_local

__all__ = [
    "BUTTONS",
    "DEFAULT_SNOOZE",
    "MAX_OFFSET",
    "MAX_SNOOZE",
    "MAX_STEPS",
    "MIN_SNOOZE",
    "Offset",
    "Plan",
    "Preparation",
    "QuietHours",
    "Step",
    "parse_offset",
]

BUTTONS = frozenset({"done", "snooze", "attend", "checklist", "checkin"})
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
_KEY = "(a lowercase letter, then lowercase letters, digits or _; at most 32)"
_TEMPLATE_RE = re.compile(r"[a-z0-9_]+(?:/[a-z0-9_]+)*")
_OFFSET_EXAMPLES = "-3d, -48h, -90m, +1d or -1d@19:00"
_MODEL = ConfigDict(extra="forbid", frozen=True)
_VALUE = ConfigDict(extra="forbid")  # for pydantic dataclasses, frozen by their decorator

# Anchored and mixed offsets are compared on this appointment (a Thursday afternoon with no
# clock change within 30 days either side).
_SAMPLE_WALL = datetime(2026, 12, 3, 14, 30)
_SAMPLE_ZONE = "America/New_York"


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
        start = as_utc(start, "start")
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
    raise ValueError(f"{show(value)} is not a time like 21:00 (HH:MM, 00:00-23:59)")


# --------------------------------------------------------------------------------------
# How the file writes values
# --------------------------------------------------------------------------------------


@functools.cache
def _sample() -> tuple[datetime, ZoneInfo]:
    zone = ZoneInfo(_SAMPLE_ZONE)
    return resolve_local(_SAMPLE_WALL, zone), zone


def _describe(instant: datetime, zone: ZoneInfo) -> str:
    return to_local(instant, zone).strftime("%a %Y-%m-%d %H:%M")


def _text(value: object, example: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected text in quotes {example}, got {show(value)}")
    return value


def _name(text: str, pattern: re.Pattern[str], what: str) -> str:
    if not pattern.fullmatch(text):
        raise ValueError(f"{text!r} is not {what}")
    return text


def _texts(value: object) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) for item in value):
        raise ValueError(f'expected a list of texts like ["a", "b"], got {show(value)}')
    return tuple(value)


def _offset(value: object) -> Offset:
    if isinstance(value, Offset):
        return value
    if not isinstance(value, str):
        raise ValueError(
            f'expected an offset in quotes, like "-3d" or "-1d@19:00", got {show(value)}'
        )
    return parse_offset(value)


def _snooze(value: object) -> timedelta:
    if isinstance(value, timedelta):
        snooze = value
    else:
        match = _DURATION_RE.fullmatch(value.strip()) if isinstance(value, str) else None
        if match is None:
            raise ValueError(f'{show(value)} is not a duration like "3h" or "90m"')
        amount, unit = match.groups()
        if len(amount.lstrip("0")) > _MAX_DIGITS:
            raise ValueError(f"{show(value)} must be between 5m and 24h")
        snooze = int(amount) * _UNITS[unit]
    if not MIN_SNOOZE <= snooze <= MAX_SNOOZE:
        raise ValueError(f"{show(value)} must be between 5m and 24h")
    return snooze


_OffsetText = Annotated[InstanceOf[Offset], BeforeValidator(_offset)]

# --------------------------------------------------------------------------------------
# The plan
# --------------------------------------------------------------------------------------


@model_dataclass(frozen=True, config=_VALUE)
class QuietHours:
    """Local wall-clock hours in which nothing is sent. ``start`` is inclusive, ``end``
    exclusive; 21:00 -> 08:00 crosses midnight, 13:00 -> 14:00 does not."""

    start: time
    end: time

    @model_validator(mode="after")
    def _check(self) -> QuietHours:
        for name in ("start", "end"):
            if getattr(self, name).tzinfo is not None:
                raise FieldError((name,), "must be a wall time, without a zone")
        if self.start == self.end:
            raise FieldError(
                ("end",),
                f"{self.end:%H:%M} is the same as start; quiet hours must not start and end"
                " at the same time (leave [quiet_hours] out for none)",
            )
        return self

    @property
    def crosses_midnight(self) -> bool:
        return self.end < self.start

    def contains(self, wall: time) -> bool:
        wall = wall.replace(tzinfo=None, fold=0)
        if self.crosses_midnight:
            return wall >= self.start or wall < self.end
        return self.start <= wall < self.end


@model_dataclass(frozen=True, config=_VALUE)
class Step:
    """One message of the plan. ``template`` is a text name such as ``reminders/playlist``
    (rendered per language); ``items`` are the checklist items it is about; ``expires`` is
    until when a late delivery is still useful (the appointment start, ``"0"``, when a step
    before the visit leaves it out; a follow-up must say); ``enabled = false`` switches the
    step off without losing it (nothing is planned or sent for it)."""

    key: str
    at: _OffsetText
    template: str
    items: tuple[str, ...]
    buttons: tuple[str, ...]
    expires: _OffsetText
    enabled: bool = True

    @model_validator(mode="before")
    @classmethod
    def _file_defaults(cls, data: Any) -> Any:
        """What a ``[[step]]`` table may leave out: items, buttons, and expires before a visit."""
        if not isinstance(data, dict):
            return data
        data = {"items": (), "buttons": (), **data}
        if "expires" in data:
            return data
        try:
            at = _offset(data.get("at"))
        except ValueError:
            return data  # the error in `at` is the one to show
        if at.is_after_start:
            raise FieldError(
                ("expires",),
                f"missing: a follow-up (at {at.text!r} is after the appointment start) must"
                ' say until when it is still worth sending, e.g. expires = "+3d"',
            )
        return {**data, "expires": parse_offset("0")}

    @field_validator("key", mode="before")
    @classmethod
    def _key(cls, value: object) -> str:
        return _name(_text(value, 'like "playlist"'), _KEY_RE, f"a key like evening_before {_KEY}")

    @field_validator("template", mode="before")
    @classmethod
    def _template(cls, value: object) -> str:
        return _name(
            _text(value, 'like "reminders/playlist"'),
            _TEMPLATE_RE,
            "a text name like reminders/playlist (lowercase letters, digits, _ and /;"
            " no language and no extension)",
        )

    @field_validator("enabled", mode="before")
    @classmethod
    def _enabled(cls, value: object) -> bool:
        if not isinstance(value, bool):
            raise ValueError(f"expected true or false (without quotes), got {show(value)}")
        return value

    @field_validator("items", mode="before")
    @classmethod
    def _items(cls, value: object) -> tuple[str, ...]:
        items = _texts(value)
        if len(set(items)) != len(items):
            raise ValueError("an item is listed twice")
        return items

    @field_validator("buttons", mode="before")
    @classmethod
    def _buttons(cls, value: object) -> tuple[str, ...]:
        buttons = _texts(value)
        for button in buttons:
            if button not in BUTTONS:
                raise ValueError(
                    f"{button!r} is not a button{suggest(button, BUTTONS)};"
                    f" choose from {', '.join(sorted(BUTTONS))}"
                )
        if len(set(buttons)) != len(buttons):
            raise ValueError("a button is listed twice")
        return buttons

    @property
    def is_follow_up(self) -> bool:
        """A step after the visit (``at`` is a positive offset)."""
        return self.at.is_after_start


class Preparation(BaseModel):
    """``[preparation]``: the clinic's own values for a kind of visit, which its texts print
    (the eating-and-drinking answer, the reminders). A value left out is one the clinic has not
    set: the texts then send patients to the clinic's own instructions. Only the clinic's
    medical instructions belong here; the bot never lists medicines to stop.

    The clear-liquids cut-off is written in hours (``clear_liquids_hours``, as plans before
    visit types did) or in minutes (``clear_liquids_minutes``: "no liquids 30 minutes
    before"), not both; :attr:`liquids_cutoff_minutes` is either, in minutes."""

    model_config = _MODEL

    no_food_hours: int | None = Field(default=None, ge=1, le=24)
    clear_liquids_hours: int | None = Field(default=None, ge=0, le=24)
    clear_liquids_minutes: int | None = Field(default=None, ge=0, le=24 * 60)
    observation_minutes: int | None = Field(default=None, ge=1, le=24 * 60)
    arrival_minutes: int | None = Field(default=None, ge=0, le=240)
    driver_required: bool | None = None

    @field_validator("driver_required", mode="before")
    @classmethod
    def _flag(cls, value: object) -> object:
        if value is not None and not isinstance(value, bool):
            raise ValueError(f"expected true or false (without quotes), got {show(value)}")
        return value

    @model_validator(mode="after")
    def _order(self) -> Preparation:
        if self.clear_liquids_hours is not None and self.clear_liquids_minutes is not None:
            raise FieldError(
                ("clear_liquids_minutes",),
                "clear_liquids_hours is set too: write the cut-off once, in hours or in minutes",
            )
        food, liquids = self.no_food_hours, self.liquids_cutoff_minutes
        if food is not None and liquids is not None and liquids > food * 60:
            name = (
                "clear_liquids_hours"
                if self.clear_liquids_hours is not None
                else ("clear_liquids_minutes")
            )
            value = getattr(self, name)
            raise FieldError(
                (name,),
                f"{value} is more than no_food_hours ({food}): clear liquids are allowed"
                " for longer than food, not for less",
            )
        return self

    @property
    def liquids_cutoff_minutes(self) -> int | None:
        """Until how many minutes before the start clear liquids are fine (None: not set)."""
        if self.clear_liquids_minutes is not None:
            return self.clear_liquids_minutes
        if self.clear_liquids_hours is not None:
            return self.clear_liquids_hours * 60
        return None

    @property
    def any_set(self) -> bool:
        """Whether the clinic set any value at all."""
        return any(getattr(self, name) is not None for name in type(self).model_fields)


class Plan(BaseModel):
    """The whole plan file. Its fields are named as in the file (``[[step]]`` is ``steps``)."""

    model_config = _MODEL

    checklist: tuple[str, ...] = ()
    preparation: Preparation = Preparation()
    snooze: Annotated[timedelta, BeforeValidator(_snooze)] = DEFAULT_SNOOZE
    quiet_hours: QuietHours | None = None
    steps: tuple[Step, ...] = Field(default=(), alias="step", validate_default=True)

    @field_validator("checklist", mode="before")
    @classmethod
    def _checklist(cls, value: object) -> tuple[str, ...]:
        items = _texts(value)
        seen: set[str] = set()
        for item in items:
            _name(item, _KEY_RE, f"an item key like eye_mask {_KEY}")
            if item in seen:
                raise ValueError(f"{item!r} is listed twice")
            seen.add(item)
        return items

    @field_validator("quiet_hours", mode="before")
    @classmethod
    def _quiet_hours(cls, value: object) -> object:
        """The file writes each time as ``"21:00"`` (or a TOML local time of whole minutes)."""
        if value is None or isinstance(value, QuietHours):
            return value
        if not isinstance(value, dict):
            raise ValueError(
                'must be a table: a [quiet_hours] line, then start = "21:00" and'
                ' end = "08:00" (leave the table out for no quiet hours)'
            )
        times = dict(value)
        for name in ("start", "end"):
            if name in times:
                try:
                    times[name] = _parse_wall_time(times[name])
                except ValueError as exc:
                    raise FieldError((name,), str(exc)) from None
        return times

    @field_validator("steps", mode="before")
    @classmethod
    def _steps_shape(cls, value: object) -> object:
        if isinstance(value, dict):
            raise ValueError("write [[step]] (double brackets) before each step")
        if not isinstance(value, (list, tuple)) or not all(
            isinstance(s, (dict, Step)) for s in value
        ):
            raise ValueError("must be a list of [[step]] tables")
        if not value:
            raise ValueError("the plan needs at least one [[step]]")
        if len(value) > MAX_STEPS:
            raise FieldError(
                (MAX_STEPS,), f"a plan has at most {MAX_STEPS} steps, this one has {len(value)}"
            )
        return value

    @field_validator("steps")
    @classmethod
    def _unique_keys(cls, steps: tuple[Step, ...]) -> tuple[Step, ...]:
        first: dict[str, int] = {}
        for index, step in enumerate(steps):
            earlier = first.setdefault(step.key, index)
            if earlier != index:
                raise FieldError(
                    (index, "key"), f"{step.key!r} is already the key of step[{earlier + 1}]"
                )
        return steps

    @model_validator(mode="after")
    def _steps_in_time(self) -> Plan:
        """Each step's buttons and expiry make sense (a rule of the plan file: a step built in
        code may expire before it is due, and then is never sent)."""
        start, zone = _sample()
        for index, step in enumerate(self.steps):
            if "done" in step.buttons and not step.items:
                raise FieldError(
                    ("step", index, "buttons"),
                    '"done" ticks the step\'s items, so the step needs items',
                )
            at, expires = step.at, step.expires
            at_instant = at.resolve(start, zone)
            expires_instant = expires.resolve(start, zone)
            if not at.is_after_start and (expires.is_after_start or expires_instant > start):
                raise FieldError(
                    ("step", index, "expires"),
                    f"{expires.text!r} is after the appointment start, but this step comes"
                    f' before the visit (at {at.text!r}); use "0" (the start) or earlier',
                )
            if expires_instant <= at_instant:
                raise FieldError(
                    ("step", index, "expires"),
                    f"{expires.text!r} must be later than at {at.text!r}"
                    f" (for a sample appointment on {_describe(start, zone)} {zone.key}:"
                    f" at is {_describe(at_instant, zone)},"
                    f" expires is {_describe(expires_instant, zone)})",
                )
        return self

    @model_validator(mode="after")
    def _steps_match_checklist(self) -> Plan:
        checklist = self.checklist
        for index, step in enumerate(self.steps):
            for item in step.items:
                if item not in checklist:
                    declared = ", ".join(checklist) if checklist else "nothing"
                    raise FieldError(
                        ("step", index, "items"),
                        f"{item!r} is not in checklist{suggest(item, checklist)};"
                        f" the checklist has {declared}",
                    )
            if "checklist" in step.buttons and not checklist:
                raise FieldError(
                    ("step", index, "buttons"),
                    '"checklist" shows the checklist, but the plan has no checklist',
                )
        return self

    def step(self, key: str) -> Step | None:
        return next((step for step in self.steps if step.key == key), None)

    def active_step(self, key: str) -> Step | None:
        """The step of this key if it is switched on (None: gone or switched off)."""
        step = self.step(key)
        return step if step is not None and step.enabled else None

    @property
    def active_steps(self) -> tuple[Step, ...]:
        """The steps switched on, in the plan's order: those planned and sent."""
        return tuple(step for step in self.steps if step.enabled)
