"""Tests for scheduler.plan: offsets, quiet hours, and the plan file's loader and validator."""

from __future__ import annotations

import pickle
import re
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from foundation.timemath import resolve_local, resolve_wall
from scheduler.plan import (
    BUTTONS,
    DEFAULT_SNOOZE,
    Offset,
    Plan,
    QuietHours,
    Step,
    parse_offset,
)
from scheduler.plan_loading import PlanError, load_plan, parse_plan

NEW_YORK = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
PLAN_FILE = Path(__file__).resolve().parents[2] / "messages" / "plans" / "infusion.toml"


def local(
    zone: ZoneInfo,
    year: int,
    month: int,
    day: int,
    hour: int = 0,
    minute: int = 0,
    second: int = 0,
    *,
    fold: int = 0,
) -> datetime:
    """An instant (aware UTC) from a wall time in ``zone``."""
    return resolve_local(datetime(year, month, day, hour, minute, second), zone, fold=fold)


def wall(instant: datetime, zone: ZoneInfo) -> tuple[datetime, timedelta | None]:
    """The wall time and UTC offset the clocks in ``zone`` show at ``instant``."""
    shown = instant.astimezone(zone)
    return shown.replace(tzinfo=None, fold=0), shown.utcoffset()


EST = timedelta(hours=-5)
EDT = timedelta(hours=-4)


# --------------------------------------------------------------------------------------
# parse_offset
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("-3d", timedelta(days=-3)),
        ("-48h", timedelta(hours=-48)),
        ("-90m", timedelta(minutes=-90)),
        ("+1d", timedelta(days=1)),
        ("0", timedelta(0)),
        ("+90m", timedelta(minutes=90)),
        ("-0m", timedelta(0)),
        ("0h", timedelta(0)),
        ("-30d", timedelta(days=-30)),
        ("+720h", timedelta(days=30)),
        ("-43200m", timedelta(days=-30)),
        (" -2h ", timedelta(hours=-2)),
    ],
)
def test_parse_relative_offsets(text: str, delta: timedelta) -> None:
    offset = parse_offset(text)
    assert offset.delta == delta
    assert offset.days is None
    assert offset.at is None
    assert offset.text == text.strip()
    assert str(offset) == text.strip()


@pytest.mark.parametrize(
    ("text", "days", "at"),
    [
        ("-1d@19:00", -1, time(19, 0)),
        ("+1d@10:00", 1, time(10, 0)),
        ("0d@07:00", 0, time(7, 0)),
        ("-3d@7:05", -3, time(7, 5)),
        ("-30d@23:59", -30, time(23, 59)),
        ("+2d@00:00", 2, time(0, 0)),
    ],
)
def test_parse_anchored_offsets(text: str, days: int, at: time) -> None:
    offset = parse_offset(text)
    assert (offset.delta, offset.days, offset.at) == (None, days, at)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("-3x", "'-3x' is not an offset like -3d, -48h, -90m, +1d or -1d@19:00"),
        ("", "'' is not an offset like"),
        ("-", "'-' is not an offset like"),
        ("--1d", "is not an offset like"),
        ("-1.5d", "is not an offset like"),
        ("-1 d", "is not an offset like"),
        ("-1D", "is not an offset like"),
        ("-1w", "is not an offset like"),
        ("-1d@1900", "is not an offset like"),
        ("-1d@19", "is not an offset like"),
        ("-1h@19:00", "is not an offset like"),
        ("3d", "'3d' needs a sign: -3d for before the appointment, +3d for after it"),
        ("1d@10:00", "needs a sign"),
        ("-31d", "'-31d' is more than 30 days from the appointment"),
        ("+721h", "more than 30 days"),
        ("-43201m", "more than 30 days"),
        ("-99999999999999999999d", "more than 30 days"),
        ("-31d@10:00", "more than 30 days"),
        ("-1d@24:00", "'-1d@24:00': 24:00 is not a time of day (00:00-23:59)"),
        ("-1d@19:60", "19:60 is not a time of day"),
    ],
)
def test_parse_offset_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_offset(text)


def test_parse_offset_rejects_non_text() -> None:
    with pytest.raises(ValueError, match="not an offset"):
        parse_offset(3)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "after"),
    [
        ("-3d", False),
        ("0", False),
        ("+0m", False),
        ("+1m", True),
        ("+1d", True),
        ("-1d@19:00", False),
        ("0d@23:00", False),
        ("+1d@00:00", True),
    ],
)
def test_is_after_start(text: str, after: bool) -> None:
    assert parse_offset(text).is_after_start is after


def test_offset_is_either_relative_or_anchored() -> None:
    with pytest.raises(ValueError, match="either"):
        Offset("x")
    with pytest.raises(ValueError, match="either"):
        Offset("x", delta=timedelta(0), days=1, at=time(1))
    with pytest.raises(ValueError, match="either"):
        Offset("x", days=1)


@given(minutes=st.integers(-30 * 1440, 30 * 1440))
def test_property_relative_offsets_round_trip(minutes: int) -> None:
    for text in (f"{minutes:+d}m",) + ((f"{minutes // 60:+d}h",) if minutes % 60 == 0 else ()):
        assert parse_offset(text).delta == timedelta(minutes=minutes)


# --------------------------------------------------------------------------------------
# Offset.resolve
# --------------------------------------------------------------------------------------


def test_relative_offset_is_elapsed_time_across_dst() -> None:
    start = local(NEW_YORK, 2026, 11, 2, 10, 0)  # Monday after the clocks went back
    resolved = parse_offset("-3d").resolve(start, NEW_YORK)
    assert resolved == start - timedelta(hours=72)
    assert resolved.tzinfo is UTC
    assert wall(resolved, NEW_YORK) == (datetime(2026, 10, 30, 11, 0), EDT)


def test_resolve_accepts_any_aware_start_and_rejects_naive() -> None:
    start = local(NEW_YORK, 2026, 12, 3, 14, 30)
    offset = parse_offset("-1d@19:00")
    assert offset.resolve(start.astimezone(NEW_YORK), NEW_YORK) == offset.resolve(start, NEW_YORK)
    with pytest.raises(TypeError, match="aware"):
        offset.resolve(datetime(2026, 12, 3, 14, 30), NEW_YORK)
    with pytest.raises(TypeError, match="aware"):
        parse_offset("-1d").resolve(datetime(2026, 12, 3, 14, 30), NEW_YORK)


def test_anchored_evening_before_across_spring_forward() -> None:
    start = local(NEW_YORK, 2027, 3, 14, 10, 0)  # EDT, the clocks went forward at 02:00
    resolved = parse_offset("-1d@19:00").resolve(start, NEW_YORK)
    assert wall(resolved, NEW_YORK) == (datetime(2027, 3, 13, 19, 0), EST)
    assert resolved == datetime(2027, 3, 14, 0, 0, tzinfo=UTC)
    assert start - resolved == timedelta(hours=14)  # 15 hours of wall clock, 14 elapsed


def test_anchored_wall_time_in_the_gap_moves_to_the_end_of_the_gap() -> None:
    start = local(NEW_YORK, 2027, 3, 14, 10, 0)
    resolved = parse_offset("0d@02:30").resolve(start, NEW_YORK)
    assert wall(resolved, NEW_YORK) == (datetime(2027, 3, 14, 3, 0), EDT)
    assert resolved == datetime(2027, 3, 14, 7, 0, tzinfo=UTC)


def test_anchored_ambiguous_wall_time_takes_the_first_occurrence() -> None:
    start = local(NEW_YORK, 2026, 11, 1, 10, 0)
    resolved = parse_offset("0d@01:30").resolve(start, NEW_YORK)
    assert wall(resolved, NEW_YORK) == (datetime(2026, 11, 1, 1, 30), EDT)
    assert resolved == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)


def test_anchored_day_is_the_local_date_of_the_start() -> None:
    # 00:30 on Dec 3 in New York is still Dec 2 in UTC: the evening before is Dec 2.
    start = local(NEW_YORK, 2026, 12, 3, 0, 30)
    resolved = parse_offset("-1d@19:00").resolve(start, NEW_YORK)
    assert wall(resolved, NEW_YORK) == (datetime(2026, 12, 2, 19, 0), EST)
    follow = parse_offset("+1d@10:00").resolve(start, NEW_YORK)
    assert wall(follow, NEW_YORK) == (datetime(2026, 12, 4, 10, 0), EST)


def test_lord_howe_half_hour_gap() -> None:
    # Lord Howe moves its clocks from 02:00 to 02:30 on the first Sunday of October.
    start = local(LORD_HOWE, 2026, 10, 4, 12, 0)
    resolved = parse_offset("0d@02:15").resolve(start, LORD_HOWE)
    assert wall(resolved, LORD_HOWE) == (datetime(2026, 10, 4, 2, 30), timedelta(hours=11))


def test_resolve_wall_handles_gaps_and_folds() -> None:
    assert resolve_wall(datetime(2027, 3, 14, 2, 0), NEW_YORK) == datetime(
        2027, 3, 14, 7, 0, tzinfo=UTC
    )
    assert resolve_wall(datetime(2027, 3, 14, 2, 59, 59), NEW_YORK) == datetime(
        2027, 3, 14, 7, 0, tzinfo=UTC
    )
    assert resolve_wall(datetime(2026, 11, 1, 1, 0), NEW_YORK, fold=1) == datetime(
        2026, 11, 1, 6, 0, tzinfo=UTC
    )
    assert resolve_wall(datetime(2026, 12, 3, 14, 30), NEW_YORK) == datetime(
        2026, 12, 3, 19, 30, tzinfo=UTC
    )


# --------------------------------------------------------------------------------------
# QuietHours
# --------------------------------------------------------------------------------------


def test_quiet_hours_across_midnight() -> None:
    quiet = QuietHours(time(21, 0), time(8, 0))
    assert quiet.crosses_midnight
    assert quiet.contains(time(21, 0))
    assert quiet.contains(time(23, 59, 59))
    assert quiet.contains(time(0, 0))
    assert quiet.contains(time(7, 59, 59))
    assert not quiet.contains(time(8, 0))
    assert not quiet.contains(time(20, 59, 59))
    assert not quiet.contains(time(12, 0))


def test_quiet_hours_within_a_day() -> None:
    quiet = QuietHours(time(13, 0), time(14, 0))
    assert not quiet.crosses_midnight
    assert quiet.contains(time(13, 0))
    assert quiet.contains(time(13, 59))
    assert not quiet.contains(time(14, 0))
    assert not quiet.contains(time(12, 59))
    assert not quiet.contains(time(0, 0))


def test_quiet_hours_must_not_be_empty() -> None:
    with pytest.raises(ValueError, match="same time"):
        QuietHours(time(21, 0), time(21, 0))


@given(start=st.times(), end=st.times(), probe=st.times())
def test_property_quiet_hours_contains(start: time, end: time, probe: time) -> None:
    if start == end:
        return
    quiet = QuietHours(start, end)
    minutes = [
        (t.hour * 60 + t.minute) * 60 + t.second + t.microsecond / 1e6 for t in (start, end, probe)
    ]
    begin, finish, value = minutes
    expected = begin <= value < finish if begin < finish else (value >= begin or value < finish)
    assert quiet.contains(probe) is expected
    # A window and its complement cover the day exactly once.
    assert quiet.contains(probe) != QuietHours(end, start).contains(probe)


# --------------------------------------------------------------------------------------
# The real plan file
# --------------------------------------------------------------------------------------


def test_default_plan_file() -> None:
    plan = load_plan(PLAN_FILE)
    assert isinstance(plan, Plan)
    assert plan.checklist == ("playlist", "headphones", "eye_mask", "ride", "relaxation")
    assert plan.snooze == timedelta(hours=3)
    assert plan.quiet_hours == QuietHours(time(21, 0), time(8, 0))
    assert [s.key for s in plan.steps] == [
        "playlist",
        "ride",
        "evening_before",
        "arrival",
        "follow_up",
    ]
    assert plan.step("playlist") == Step(
        key="playlist",
        at=parse_offset("-3d"),
        template="reminders/playlist",
        items=("playlist", "headphones"),
        buttons=("done", "snooze"),
        expires=parse_offset("-1d"),
    )
    ride = plan.step("ride")
    assert ride is not None
    assert (ride.at.text, ride.items, ride.buttons, ride.expires.text) == (
        "-2d",
        ("ride",),
        ("done", "snooze", "attend"),
        "-3h",
    )
    evening = plan.step("evening_before")
    assert evening is not None
    assert (evening.at.days, evening.at.at, evening.items, evening.buttons) == (
        -1,
        time(19, 0),
        ("eye_mask",),
        ("done", "snooze", "checklist"),
    )
    assert evening.expires.text == "-2h"
    arrival = plan.step("arrival")
    assert arrival is not None
    assert (arrival.at.text, arrival.template, arrival.items, arrival.buttons) == (
        "-2h",
        "reminders/arrival",
        ("relaxation",),
        ("done", "attend"),
    )
    assert arrival.expires.delta == timedelta(0)
    follow_up = plan.step("follow_up")
    assert follow_up is not None
    assert follow_up.is_follow_up
    assert (follow_up.items, follow_up.buttons, follow_up.expires.text) == (
        (),
        ("checkin",),
        "+3d",
    )
    assert [s.is_follow_up for s in plan.steps] == [False, False, False, False, True]
    assert plan.step("nope") is None
    assert all(set(s.buttons) <= BUTTONS for s in plan.steps)


def test_default_plan_file_is_documented() -> None:
    text = PLAN_FILE.read_text(encoding="utf-8")
    header = text.split("\nchecklist =", 1)[0]
    for field in (
        "checklist",
        "snooze",
        "quiet_hours",
        "start",
        "end",
        "key",
        "at",
        "template",
        "items",
        "buttons",
        "expires",
        *BUTTONS,
    ):
        assert re.search(rf"^#\s+(\[{field}\]|\"?{field}\"?)\s", header, re.M), field


def test_plan_source_defaults_to_plan_toml() -> None:
    with pytest.raises(PlanError) as info:
        parse_plan("checklist = []\n")
    assert str(info.value) == "plan.toml: step: the plan needs at least one [[step]]"


# --------------------------------------------------------------------------------------
# Validation errors: file, line and field
# --------------------------------------------------------------------------------------

BASE = """\
checklist = ["playlist", "ride"]
snooze = "3h"

[quiet_hours]
start = "21:00"
end = "08:00"

[[step]]
key = "playlist"
at = "-3d"
template = "reminders/playlist"
items = ["playlist"]
buttons = ["done", "snooze"]
expires = "-1d"

[[step]]
key = "ride"
at = "-2d"
template = "reminders/ride"
items = ["ride"]
buttons = ["done"]
expires = "-3h"
"""
SOURCE = "messages/plan.toml"


def edit(line: int, new: str | None, *, insert: bool = False) -> str:
    """BASE with its line ``line`` (1-based) replaced, removed (None) or preceded by ``new``."""
    lines = BASE.splitlines()
    if insert:
        assert new is not None
        lines.insert(line - 1, new)
    elif new is None:
        del lines[line - 1]
    else:
        lines[line - 1] = new
    return "\n".join(lines) + "\n"


def error_of(text: str) -> PlanError:
    with pytest.raises(PlanError) as info:
        parse_plan(text, SOURCE)
    return info.value


def test_base_is_valid() -> None:
    plan = parse_plan(BASE, SOURCE)
    assert [s.key for s in plan.steps] == ["playlist", "ride"]


def test_plan_error_parts() -> None:
    err = error_of(edit(18, 'at = "-3x"'))
    assert str(err) == (
        "messages/plan.toml:18: step[2].at:"
        " '-3x' is not an offset like -3d, -48h, -90m, +1d or -1d@19:00"
    )
    assert (err.source, err.line, err.field) == (SOURCE, 18, "step[2].at")
    assert err.message == "'-3x' is not an offset like -3d, -48h, -90m, +1d or -1d@19:00"
    assert isinstance(err, ValueError)
    copy = pickle.loads(pickle.dumps(err))
    assert (str(copy), copy.line) == (str(err), 18)


def test_plan_error_without_line() -> None:
    err = PlanError("x.toml", None, "file", "not found")
    assert str(err) == "x.toml: file: not found"


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        # TOML syntax, with the line tomllib reports
        (edit(10, "at = -3d"), ":10: syntax:", "not valid TOML: Expected newline"),
        (edit(17, 'key = "ride"\nkey = "x"'), ":18: syntax:", "Cannot overwrite a value"),
        (BASE + "x = [1,\n", ":23: syntax:", "at the end of the file"),
        # typo protection
        (edit(2, 'snoze = "3h"'), ":2: snoze:", "unknown setting (did you mean 'snooze'?)"),
        (edit(4, "[quiet_hour]"), ":4: quiet_hour:", "unknown setting (did you mean"),
        (edit(6, 'ends = "08:00"'), ":6: quiet_hours.ends:", "unknown field (did you mean"),
        (
            edit(21, 'button = ["done"]'),
            ":21: step[2].button:",
            "unknown field (did you mean 'buttons'?); expected key, at, template, items,",
        ),
        (edit(10, 'when = "-3d"'), ":10: step[1].when:", "unknown field"),
        # missing required fields: the step's header line
        (edit(19, None), ":16: step[2].template:", "missing (required)"),
        (edit(17, None), ":16: step[2].key:", "missing (required)"),
        (edit(10, None), ":8: step[1].at:", "missing (required)"),
        (edit(6, None), ":4: quiet_hours.end:", "missing (required"),
        # keys
        (
            edit(17, 'key = "playlist"'),
            ":17: step[2].key:",
            "'playlist' is already the key of step[1]",
        ),
        (edit(17, 'key = "Ride"'), ":17: step[2].key:", "'Ride' is not a key like evening_before"),
        (edit(17, f'key = "{"r" * 33}"'), ":17: step[2].key:", "is not a key like"),
        (edit(17, "key = 3"), ":17: step[2].key:", "expected text in quotes"),
        # offsets
        (edit(18, 'at = "-3x"'), ":18: step[2].at:", "'-3x' is not an offset like -3d, -48h"),
        (edit(18, 'at = "2d"'), ":18: step[2].at:", "'2d' needs a sign"),
        (edit(18, 'at = "-40d"'), ":18: step[2].at:", "more than 30 days"),
        (edit(18, 'at = "-1d@25:00"'), ":18: step[2].at:", "25:00 is not a time of day"),
        (edit(18, "at = -2"), ":18: step[2].at:", "expected an offset in quotes"),
        (edit(22, 'expires = "soon"'), ":22: step[2].expires:", "is not an offset like"),
        # template
        (edit(19, 'template = "reminders/Ride.html"'), ":19: step[2].template:", "is not a text"),
        (edit(19, 'template = "/etc/passwd"'), ":19: step[2].template:", "is not a text name"),
        # items and buttons
        (
            edit(20, 'items = ["rid"]'),
            ":20: step[2].items:",
            "'rid' is not in checklist (did you mean 'ride'?); the checklist has playlist, ride",
        ),
        (edit(20, 'items = "ride"'), ":20: step[2].items:", "expected a list of texts"),
        (edit(20, 'items = ["ride", "ride"]'), ":20: step[2].items:", "listed twice"),
        (
            edit(21, 'buttons = ["done", "snoze"]'),
            ":21: step[2].buttons:",
            "'snoze' is not a button",
        ),
        (edit(21, 'buttons = ["done", "done"]'), ":21: step[2].buttons:", "listed twice"),
        (edit(20, "items = []"), ":21: step[2].buttons:", '"done" ticks the step\'s items'),
        (edit(20, None), ":20: step[2].buttons:", "needs items"),
        (
            edit(1, "checklist = []")
            .replace('items = ["playlist"]', "items = []")
            .replace('items = ["ride"]', "items = []")
            .replace('["done"]', '["checklist"]')
            .replace('["done", "snooze"]', "[]"),
            ":21: step[2].buttons:",
            "the plan has no checklist",
        ),
        # expires
        (
            edit(22, 'expires = "+1h"'),
            ":22: step[2].expires:",
            "'+1h' is after the appointment start, but this step comes before the visit",
        ),
        (
            edit(22, 'expires = "0d@23:00"'),
            ":22: step[2].expires:",
            "is after the appointment start",
        ),
        (edit(22, 'expires = "-3d"'), ":22: step[2].expires:", "'-3d' must be later than at '-2d'"),
        (edit(22, 'expires = "-48h"'), ":22: step[2].expires:", "must be later than at"),
        (
            edit(18, 'at = "-1d@19:00"').replace('expires = "-3h"', 'expires = "-1d"'),
            ":22: step[2].expires:",
            "'-1d' must be later than at '-1d@19:00' (for a sample appointment on"
            " Thu 2026-12-03 14:30 America/New_York: at is Wed 2026-12-02 19:00,"
            " expires is Wed 2026-12-02 14:30)",
        ),
        (
            edit(18, 'at = "+1d"').replace('expires = "-3h"', 'expires = "+1d@08:00"'),
            ":22: step[2].expires:",
            "must be later than at '+1d'",
        ),
        (
            edit(18, 'at = "+1d"').replace('expires = "-3h"\n', ""),
            ":16: step[2].expires:",
            "missing: a follow-up (at '+1d' is after the appointment start) must say",
        ),
        (
            edit(10, 'at = "0"').replace('expires = "-1d"', 'expires = "0"'),
            ":14: step[1].expires:",
            "'0' must be later than at '0'",
        ),
        (
            edit(10, 'at = "-10m"').replace('expires = "-1d"\n', ""),
            None,
            None,
        ),
        # quiet hours
        (edit(6, 'end = "21:00"'), ":6: quiet_hours.end:", "21:00 is the same as start"),
        (edit(5, 'start = "25:00"'), ":5: quiet_hours.start:", "'25:00' is not a time like 21:00"),
        (edit(5, 'start = "9pm"'), ":5: quiet_hours.start:", "is not a time like 21:00"),
        (edit(5, "start = 21"), ":5: quiet_hours.start:", "21 is not a time like 21:00"),
        (edit(5, "start = 21:00:30"), ":5: quiet_hours.start:", "must be a whole minute"),
        (
            'quiet_hours = "21-8"\n' + "\n".join(BASE.splitlines()[6:]),
            ":1: quiet_hours:",
            "must be a table",
        ),
        # snooze
        (edit(2, 'snooze = "2m"'), ":2: snooze:", "'2m' must be between 5m and 24h"),
        (edit(2, 'snooze = "25h"'), ":2: snooze:", "'25h' must be between 5m and 24h"),
        (edit(2, 'snooze = "2d"'), ":2: snooze:", "must be between 5m and 24h"),
        (edit(2, 'snooze = "3 hours"'), ":2: snooze:", "is not a duration like"),
        (edit(2, "snooze = 3"), ":2: snooze:", "3 is not a duration like"),
        (edit(2, 'snooze = "99999999999h"'), ":2: snooze:", "must be between"),
        # checklist
        (edit(1, 'checklist = ["playlist", "ride", "ride"]'), ":1: checklist:", "listed twice"),
        (edit(1, 'checklist = ["playlist", "Ride"]'), ":1: checklist:", "'Ride' is not an item"),
        (edit(1, 'checklist = "playlist"'), ":1: checklist:", "expected a list of texts"),
        # steps
        (BASE.replace("[[step]]", "[step]", 1).split("\n[[step]]")[0], ":8: step:", "[[step]]"),
        ("checklist = []\nstep = []\n", ":2: step:", "at least one [[step]]"),
    ],
)
def test_validation_errors(text: str, where: str | None, message: str | None) -> None:
    if where is None:
        parse_plan(text, SOURCE)  # a control case: valid
        return
    err = error_of(text)
    assert str(err).startswith(SOURCE + where + " "), str(err)
    assert message is not None
    assert message in err.message, str(err)


def test_no_steps_has_no_line() -> None:
    err = error_of('checklist = []\nsnooze = "3h"\n')
    assert str(err) == f"{SOURCE}: step: the plan needs at least one [[step]]"
    assert err.line is None


def test_at_most_fifty_steps() -> None:
    step = '[[step]]\nkey = "s{n}"\nat = "-{n}h"\ntemplate = "reminders/x"\n'
    ok = "".join(step.format(n=n) for n in range(1, 51))
    assert len(parse_plan(ok).steps) == 50
    too_many = ok + step.format(n=51)
    err = error_of(too_many)
    assert err.line == 50 * 4 + 1
    assert err.field == "step[51]"
    assert "at most 50 steps" in err.message


def test_defaults() -> None:
    plan = parse_plan('[[step]]\nkey = "a"\nat = "-1h"\ntemplate = "a"\n')
    assert plan.checklist == ()
    assert plan.snooze == DEFAULT_SNOOZE
    assert plan.quiet_hours is None
    (step,) = plan.steps
    assert (step.items, step.buttons, step.expires) == ((), (), parse_offset("0"))
    assert not step.is_follow_up


def test_lines_are_found_in_the_right_step_despite_comments() -> None:
    text = """\
# comment
checklist = ["a"]   # inline

[[step]]   # first
key = "one"
at = "-1d"
template = "t"
expires = "-2h"

# second step
[[ step ]]
  key = "two"
  "at" = "-1d"
  template = "t"
  expires = "-2d"   # before at
"""
    err = error_of(text)
    assert (err.line, err.field) == (15, "step[2].expires")


def test_a_step_field_missing_in_one_step_is_not_taken_from_the_next() -> None:
    text = """\
[[step]]
key = "one"
template = "t"

[[step]]
key = "two"
at = "-1d"
template = "t"
"""
    err = error_of(text)
    assert (err.line, err.field) == (1, "step[1].at")


# --------------------------------------------------------------------------------------
# load_plan
# --------------------------------------------------------------------------------------


def test_load_plan_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "plan.toml"
    with pytest.raises(PlanError) as info:
        load_plan(path)
    assert str(info.value) == f"{path}: file: not found"


def test_load_plan_names_the_path_and_line(tmp_path: Path) -> None:
    path = tmp_path / "plan.toml"
    path.write_text(edit(18, 'at = "-3x"'), encoding="utf-8")
    with pytest.raises(PlanError) as info:
        load_plan(path)
    assert str(info.value).startswith(f"{path}:18: step[2].at: '-3x' is not an offset")


def test_load_plan_syntax_error_line(tmp_path: Path) -> None:
    path = tmp_path / "plan.toml"
    path.write_text(edit(14, "expires = "), encoding="utf-8")
    with pytest.raises(PlanError) as info:
        load_plan(path)
    assert (info.value.line, info.value.field) == (14, "syntax")


def test_load_plan_rejects_binary(tmp_path: Path) -> None:
    path = tmp_path / "plan.toml"
    path.write_bytes(b'checklist = []\nsnooze = "\xff"\n')
    with pytest.raises(PlanError) as info:
        load_plan(path)
    assert (info.value.line, info.value.field) == (2, "file")
    assert "UTF-8" in info.value.message


def test_load_plan_accepts_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "plan.toml"
    path.write_bytes(b"\xef\xbb\xbf" + BASE.encode())
    assert len(load_plan(path).steps) == 2


def test_load_plan_directory(tmp_path: Path) -> None:
    with pytest.raises(PlanError) as info:
        load_plan(tmp_path)
    assert info.value.field == "file"


@settings(max_examples=60)
@given(junk=st.text(max_size=200))
def test_property_any_text_is_a_plan_or_a_plan_error(junk: str) -> None:
    for text in (junk, BASE + junk, BASE.replace('\n[[step]]\nkey = "ride"', junk, 1)):
        error: PlanError | None = None
        try:
            parse_plan(text, SOURCE)
        except PlanError as exc:
            error = exc
        if error is not None:
            assert str(error).startswith(SOURCE)
            assert error.line is None or 1 <= error.line <= text.count("\n") + 1


def test_line_numbers_count_only_newlines() -> None:
    # U+2028 and U+0085 are not line breaks for TOML (str.splitlines would count them).
    text = (
        "# a comment\u2028with a line separator\x85\n"
        '[[step]]\nkey = "a"\ntemplate = "t"\nat = "-3x"\n'
    )
    err = error_of(text)
    assert (err.line, err.field) == (5, "step[1].at")


def test_windows_line_endings() -> None:
    err = error_of(edit(18, 'at = "-3x"').replace("\n", "\r\n"))
    assert (err.line, err.field) == (18, "step[2].at")
