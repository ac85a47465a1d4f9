"""Tests for scheduler.due: due times, quiet hours and snoozing, over real tzdata."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from foundation.timemath import resolve_local
from scheduler.due import Due, compute_due, in_quiet_hours, snooze_until
from scheduler.plan import Offset, Plan, QuietHours, Step, parse_offset
from scheduler.plan_loading import load_plan

NEW_YORK = ZoneInfo("America/New_York")
ZONES = (
    "America/New_York",
    "America/Los_Angeles",
    "Europe/London",
    "Australia/Lord_Howe",
    "Pacific/Honolulu",
)
PLAN_FILE = Path(__file__).resolve().parents[2] / "messages" / "plans" / "infusion.toml"
NIGHT = QuietHours(time(21, 0), time(8, 0))
MINUTE = timedelta(minutes=1)
EST = timedelta(hours=-5)
EDT = timedelta(hours=-4)


@functools.cache
def default_plan() -> Plan:
    return load_plan(PLAN_FILE)


def step_of(key: str) -> Step:
    step = default_plan().step(key)
    assert step is not None
    return step


def make_step(at: str, expires: str, key: str = "s") -> Step:
    return Step(
        key=key,
        at=parse_offset(at),
        template="reminders/x",
        items=(),
        buttons=(),
        expires=parse_offset(expires),
    )


def ny(
    year: int,
    month: int,
    day: int,
    hour: int = 0,
    minute: int = 0,
    second: int = 0,
    *,
    fold: int = 0,
) -> datetime:
    return resolve_local(datetime(year, month, day, hour, minute, second), NEW_YORK, fold=fold)


def wall(instant: datetime, zone: ZoneInfo = NEW_YORK) -> tuple[datetime, timedelta | None]:
    shown = instant.astimezone(zone)
    return shown.replace(tzinfo=None, fold=0), shown.utcoffset()


# --------------------------------------------------------------------------------------
# Examples: the default plan
# --------------------------------------------------------------------------------------


def test_default_plan_for_a_thursday_afternoon() -> None:
    start = ny(2026, 12, 3, 14, 30)
    quiet = default_plan().quiet_hours
    expected = {
        "playlist": (datetime(2026, 11, 30, 14, 30), datetime(2026, 12, 2, 14, 30)),
        "ride": (datetime(2026, 12, 1, 14, 30), datetime(2026, 12, 3, 11, 30)),
        "evening_before": (datetime(2026, 12, 2, 19, 0), datetime(2026, 12, 3, 12, 30)),
        "arrival": (datetime(2026, 12, 3, 12, 30), datetime(2026, 12, 3, 14, 30)),
        "follow_up": (datetime(2026, 12, 4, 14, 30), datetime(2026, 12, 6, 14, 30)),
    }
    for step in default_plan().steps:
        due = compute_due(step, start, NEW_YORK, quiet)
        assert due is not None, step.key
        assert due.due.tzinfo is UTC
        assert due.expires.tzinfo is UTC
        assert (wall(due.due), wall(due.expires)) == (
            (expected[step.key][0], EST),
            (expected[step.key][1], EST),
        ), step.key


def test_early_appointment_moves_arrival_to_the_evening_before() -> None:
    start = ny(2026, 12, 3, 7, 30)
    due = compute_due(step_of("arrival"), start, NEW_YORK, NIGHT)
    assert due is not None
    # Nominal 05:30 is quiet: the last allowed minute before the night began.
    assert wall(due.due) == (datetime(2026, 12, 2, 20, 59), EST)
    assert due.expires == start


def test_pre_visit_step_in_the_evening_part_of_the_night_moves_earlier() -> None:
    start = ny(2026, 12, 3, 0, 30)
    due = compute_due(step_of("arrival"), start, NEW_YORK, NIGHT)  # nominal 22:30 on Dec 2
    assert due is not None
    assert wall(due.due) == (datetime(2026, 12, 2, 20, 59), EST)


def test_early_morning_nominal_moves_to_the_previous_evening() -> None:
    start = ny(2026, 12, 3, 9, 0)
    step = make_step("-3h", "-1h")  # nominal 06:00 on Dec 3
    due = compute_due(step, start, NEW_YORK, NIGHT)
    assert due is not None
    assert wall(due.due) == (datetime(2026, 12, 2, 20, 59), EST)


def test_follow_up_at_night_moves_to_the_morning() -> None:
    start = ny(2026, 12, 3, 23, 0)
    due = compute_due(step_of("follow_up"), start, NEW_YORK, NIGHT)
    assert due is not None
    assert wall(due.due) == (datetime(2026, 12, 5, 8, 0), EST)  # nominal Dec 4 23:00
    assert due.expires == start + timedelta(days=3)


def test_relative_offsets_are_elapsed_time_in_a_dst_week() -> None:
    start = ny(2026, 11, 2, 10, 0)  # the clocks went back on Sunday Nov 1
    due = compute_due(step_of("playlist"), start, NEW_YORK, NIGHT)
    assert due is not None
    assert due.due == start - timedelta(hours=72)
    assert wall(due.due) == (datetime(2026, 10, 30, 11, 0), EDT)


def test_evening_before_across_spring_forward() -> None:
    start = ny(2027, 3, 14, 10, 0)
    due = compute_due(step_of("evening_before"), start, NEW_YORK, NIGHT)
    assert due is not None
    assert wall(due.due) == (datetime(2027, 3, 13, 19, 0), EST)


def test_no_quiet_hours_means_nominal() -> None:
    start = ny(2026, 12, 3, 7, 30)
    due = compute_due(step_of("arrival"), start, NEW_YORK, None)
    assert due is not None
    assert due.due == start - timedelta(hours=2)


def test_same_day_quiet_hours() -> None:
    lunch = QuietHours(time(13, 0), time(14, 0))
    start = ny(2026, 12, 3, 15, 30)
    due = compute_due(step_of("arrival"), start, NEW_YORK, lunch)  # nominal 13:30
    assert due is not None
    assert wall(due.due) == (datetime(2026, 12, 3, 12, 59), EST)
    follow = compute_due(make_step("+1d", "+2d"), ny(2026, 12, 3, 13, 15), NEW_YORK, lunch)
    assert follow is not None
    assert wall(follow.due) == (datetime(2026, 12, 4, 14, 0), EST)


def test_none_when_moving_out_of_quiet_hours_passes_expiry() -> None:
    # A follow-up at 23:00 that expires an hour later cannot wait for the morning.
    start = ny(2026, 12, 3, 22, 0)
    assert compute_due(make_step("+1h", "+2h"), start, NEW_YORK, NIGHT) is None
    # A pre-visit step moved earlier keeps its slot even before a nominal that is allowed.
    assert compute_due(make_step("-1h", "0"), start, NEW_YORK, NIGHT) is not None


def test_none_for_a_pre_visit_step_that_is_not_before_the_start() -> None:
    start = ny(2026, 12, 3, 6, 0)
    # 0d@07:00 is after a 06:00 start: nothing useful is left.
    assert compute_due(make_step("0d@07:00", "0"), start, NEW_YORK, None) is None
    assert compute_due(make_step("0d@07:00", "0d@08:00"), start, NEW_YORK, None) is None
    # The same step before a 09:00 appointment is fine.
    due = compute_due(make_step("0d@07:00", "0"), ny(2026, 12, 3, 9, 0), NEW_YORK, None)
    assert due is not None
    assert wall(due.due) == (datetime(2026, 12, 3, 7, 0), EST)


def test_pre_visit_expiry_is_capped_at_the_start() -> None:
    start = ny(2026, 12, 3, 6, 0)
    due = compute_due(make_step("-1d@19:00", "0d@08:00"), start, NEW_YORK, None)
    assert due is not None
    assert due.expires == start


def test_none_when_due_is_not_before_expiry() -> None:
    start = ny(2026, 12, 3, 14, 30)
    assert compute_due(make_step("-2h", "-3h"), start, NEW_YORK, None) is None
    assert compute_due(make_step("-2h", "-2h"), start, NEW_YORK, None) is None


def test_naive_start_is_refused() -> None:
    with pytest.raises(TypeError, match="aware"):
        compute_due(step_of("arrival"), datetime(2026, 12, 3, 14, 30), NEW_YORK, None)


def test_due_invariants() -> None:
    instant = ny(2026, 12, 3, 14, 30)
    with pytest.raises(ValueError, match="before"):
        Due(due=instant, expires=instant)
    with pytest.raises(ValueError, match="aware"):
        Due(due=datetime(2026, 12, 3), expires=instant)


# --------------------------------------------------------------------------------------
# Examples: clock changes at the edge of the quiet hours
# --------------------------------------------------------------------------------------


def test_window_starting_in_the_spring_gap_moves_before_the_jump() -> None:
    # Quiet from 02:30 (a time New York skips on 2027-03-14) to 05:00.
    quiet = QuietHours(time(2, 30), time(5, 0))
    start = ny(2027, 3, 14, 6, 0)
    due = compute_due(make_step("-2h", "0"), start, NEW_YORK, quiet)  # nominal 04:00 EDT
    assert due is not None
    assert wall(due.due) == (datetime(2027, 3, 14, 1, 59), EST)


def test_window_ending_in_the_spring_gap_ends_at_the_jump() -> None:
    quiet = QuietHours(time(1, 0), time(2, 30))
    start = ny(2027, 3, 14, 1, 0)
    due = compute_due(make_step("+30m", "+1d"), start, NEW_YORK, quiet)  # nominal 01:30 EST
    assert due is not None
    assert wall(due.due) == (datetime(2027, 3, 14, 3, 0), EDT)


def test_window_ending_in_the_repeated_hour() -> None:
    quiet = QuietHours(time(0, 0), time(1, 30))
    # The first pass through 01:10 (EDT) ends at the first 01:30.
    first = compute_due(make_step("+10m", "+1d"), ny(2026, 11, 1, 1, 0), NEW_YORK, quiet)
    assert first is not None
    assert wall(first.due) == (datetime(2026, 11, 1, 1, 30), EDT)
    # The second pass (EST) is quiet again, and ends at the second 01:30.
    start = ny(2026, 11, 1, 1, 0, fold=1)
    second = compute_due(make_step("+10m", "+1d"), start, NEW_YORK, quiet)
    assert second is not None
    assert wall(second.due) == (datetime(2026, 11, 1, 1, 30), EST)


def test_pre_visit_window_beginning_in_the_repeated_hour_takes_the_first_pass() -> None:
    quiet = QuietHours(time(1, 30), time(5, 0))
    start = ny(2026, 11, 1, 6, 0)
    due = compute_due(make_step("-2h", "0"), start, NEW_YORK, quiet)  # nominal 04:00 EST
    assert due is not None
    assert wall(due.due) == (datetime(2026, 11, 1, 1, 29), EDT)


# --------------------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------------------

minute_instants = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31, 23, 59)
).map(lambda moment: moment.replace(second=0, microsecond=0, tzinfo=UTC))

wall_minutes = st.builds(time, st.integers(0, 23), st.integers(0, 59))


@st.composite
def quiet_hours(draw: st.DrawFn) -> QuietHours | None:
    kind = draw(st.sampled_from(["none", "typical", "random"]))
    if kind == "none":
        return None
    if kind == "typical":
        return draw(
            st.sampled_from(
                [
                    NIGHT,
                    QuietHours(time(22, 30), time(7, 0)),
                    QuietHours(time(13, 0), time(14, 0)),
                    QuietHours(time(0, 0), time(6, 0)),
                    QuietHours(time(1, 30), time(3, 0)),
                ]
            )
        )
    start = draw(wall_minutes)
    end = draw(wall_minutes.filter(lambda t: t != start))
    return QuietHours(start, end)


def relative(min_minutes: int, max_minutes: int) -> st.SearchStrategy[Offset]:
    return st.integers(min_minutes, max_minutes).map(lambda m: parse_offset(f"{m:+d}m"))


def anchored(min_days: int, max_days: int) -> st.SearchStrategy[Offset]:
    return st.builds(
        lambda days, at: parse_offset(f"{days:+d}d@{at:%H:%M}"),
        st.integers(min_days, max_days),
        wall_minutes,
    )


@st.composite
def steps(draw: st.DrawFn) -> Step:
    at = draw(st.one_of(relative(-10 * 1440, 3 * 1440), anchored(-3, 2)))
    if at.is_after_start:
        expires = draw(st.one_of(relative(1, 6 * 1440), anchored(1, 6)))
    else:
        expires = draw(
            st.one_of(st.just(parse_offset("0")), relative(-10 * 1440, 0), anchored(-3, 0))
        )
    return Step(key="s", at=at, template="t", items=(), buttons=(), expires=expires)


@functools.cache
def transitions(zone_name: str) -> tuple[datetime, ...]:
    """The zone's clock changes in 2026-2028, to the minute."""
    zone = ZoneInfo(zone_name)
    found: list[datetime] = []
    instant = datetime(2026, 1, 1, tzinfo=UTC)
    previous = instant.astimezone(zone).utcoffset()
    while instant < datetime(2029, 1, 1, tzinfo=UTC):
        later = instant + timedelta(days=1)  # at most one change a day in these zones
        offset = later.astimezone(zone).utcoffset()
        if offset != previous:
            low, high = 0, 24 * 60  # minutes after ``instant``; clocks change on the minute
            while high - low > 1:
                middle = (low + high) // 2
                if (instant + middle * MINUTE).astimezone(zone).utcoffset() == offset:
                    high = middle
                else:
                    low = middle
            found.append(instant + high * MINUTE)
            previous = offset
        instant = later
    return tuple(found)


DST_ZONES = tuple(name for name in ZONES if transitions(name))


@st.composite
def near_a_clock_change(draw: st.DrawFn) -> tuple[str, datetime, QuietHours, Step]:
    """A step whose nominal time is within hours of a clock change, with quiet hours starting
    or ending near the changing wall time: the hard cases."""
    zone_name = draw(st.sampled_from(DST_ZONES))
    zone = ZoneInfo(zone_name)
    change = draw(st.sampled_from(transitions(zone_name)))
    changing_wall = change.astimezone(zone)
    edge = (
        datetime.combine(changing_wall.date(), changing_wall.time())
        + timedelta(minutes=draw(st.integers(-90, 90)))
    ).time()
    other = draw(wall_minutes.filter(lambda t: t != edge))
    quiet = draw(st.sampled_from([QuietHours(edge, other), QuietHours(other, edge)]))
    step = draw(steps())
    nominal_target = change + timedelta(minutes=draw(st.integers(-360, 360)))
    if step.at.delta is not None:
        start = nominal_target - step.at.delta
    else:
        start = nominal_target + timedelta(days=-(step.at.days or 0))
    return zone_name, start.replace(second=0, microsecond=0), quiet, step


# --------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------


def check_due(step: Step, start: datetime, zone: ZoneInfo, quiet: QuietHours | None) -> None:
    result = compute_due(step, start, zone, quiet)
    nominal = step.at.resolve(start, zone)
    expires = step.expires.resolve(start, zone)
    if not step.is_follow_up:
        expires = min(expires, start)

    if not in_quiet_hours(nominal, zone, quiet):
        # Nothing to move: None exactly when the nominal time is no use.
        useless = nominal >= expires or (not step.is_follow_up and nominal >= start)
        assert (result is None) == useless
        if result is not None:
            assert result.due == nominal
    if result is None:
        return

    assert result.due.tzinfo is UTC
    assert result.expires.tzinfo is UTC
    assert result.due < result.expires
    assert result.expires == expires
    assert not in_quiet_hours(result.due, zone, quiet)
    assert (result.due.second, result.due.microsecond) == (0, 0)
    if step.is_follow_up:
        assert result.due >= nominal
    else:
        assert result.due < start
        assert result.due <= nominal
    if quiet is None:
        assert result.due == nominal
    moved = result.due != nominal
    same_offset = result.due.astimezone(zone).utcoffset() == nominal.astimezone(zone).utcoffset()
    if moved and same_offset:
        # No clock change in between: exactly the window's edge.
        assert quiet is not None
        if step.is_follow_up:
            assert result.due.astimezone(zone).time() == quiet.end
        else:
            assert (
                result.due.astimezone(zone).time()
                == (datetime.combine(datetime(2000, 1, 2), quiet.start) - MINUTE).time()
            )


@settings(max_examples=300, deadline=None)
@given(
    zone_name=st.sampled_from(ZONES),
    start=minute_instants,
    quiet=quiet_hours(),
    step=steps(),
)
def test_property_compute_due(
    zone_name: str, start: datetime, quiet: QuietHours | None, step: Step
) -> None:
    check_due(step, start, ZoneInfo(zone_name), quiet)


@settings(max_examples=200, deadline=None)
@given(case=near_a_clock_change())
def test_property_compute_due_near_clock_changes(
    case: tuple[str, datetime, QuietHours, Step],
) -> None:
    zone_name, start, quiet, step = case
    check_due(step, start, ZoneInfo(zone_name), quiet)


@settings(max_examples=200, deadline=None)
@given(zone_name=st.sampled_from(ZONES), start=minute_instants)
def test_property_default_plan_always_finds_a_time(zone_name: str, start: datetime) -> None:
    zone = ZoneInfo(zone_name)
    plan = default_plan()
    for step in plan.steps:
        due = compute_due(step, start, zone, plan.quiet_hours)
        assert due is not None, step.key
        assert not in_quiet_hours(due.due, zone, plan.quiet_hours)


def test_transitions_fixture_finds_clock_changes() -> None:
    assert len(transitions("America/New_York")) == 6
    assert len(transitions("Australia/Lord_Howe")) == 6
    assert transitions("Pacific/Honolulu") == ()
    assert transitions("America/New_York")[0] == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)


# --------------------------------------------------------------------------------------
# in_quiet_hours
# --------------------------------------------------------------------------------------


def test_in_quiet_hours_uses_the_patients_wall_clock() -> None:
    assert in_quiet_hours(ny(2026, 12, 2, 21, 0), NEW_YORK, NIGHT)
    assert in_quiet_hours(ny(2026, 12, 3, 7, 59), NEW_YORK, NIGHT)
    assert not in_quiet_hours(ny(2026, 12, 3, 8, 0), NEW_YORK, NIGHT)
    assert not in_quiet_hours(ny(2026, 12, 2, 21, 0) - timedelta(seconds=1), NEW_YORK, NIGHT)
    assert not in_quiet_hours(ny(2026, 12, 2, 23, 0), NEW_YORK, None)
    # 23:00 in New York is 20:00 in Los Angeles.
    assert not in_quiet_hours(ny(2026, 12, 2, 23, 0), ZoneInfo("America/Los_Angeles"), NIGHT)


# --------------------------------------------------------------------------------------
# snooze_until
# --------------------------------------------------------------------------------------

THREE_HOURS = timedelta(hours=3)


def test_snooze_outside_quiet_hours() -> None:
    start = ny(2026, 12, 3, 14, 30)
    now = ny(2026, 11, 30, 14, 31, 20)
    assert snooze_until(now, step_of("playlist"), start, NEW_YORK, NIGHT, THREE_HOURS) == (
        now + THREE_HOURS
    )


def test_snooze_into_the_night_comes_earlier_for_a_pre_visit_step() -> None:
    start = ny(2026, 12, 3, 14, 30)
    now = ny(2026, 12, 2, 19, 0)
    until = snooze_until(now, step_of("evening_before"), start, NEW_YORK, NIGHT, THREE_HOURS)
    assert until is not None
    assert wall(until) == (datetime(2026, 12, 2, 20, 59), EST)


def test_snooze_at_night_waits_for_the_morning() -> None:
    start = ny(2026, 12, 3, 14, 30)
    now = ny(2026, 12, 2, 21, 30)  # 20:59 is already past
    until = snooze_until(now, step_of("evening_before"), start, NEW_YORK, NIGHT, THREE_HOURS)
    assert until is not None
    assert wall(until) == (datetime(2026, 12, 3, 8, 0), EST)


def test_snooze_of_a_follow_up_waits_for_the_morning() -> None:
    start = ny(2026, 12, 3, 14, 30)
    now = ny(2026, 12, 4, 20, 0)
    until = snooze_until(now, step_of("follow_up"), start, NEW_YORK, NIGHT, THREE_HOURS)
    assert until is not None
    assert wall(until) == (datetime(2026, 12, 5, 8, 0), EST)


def test_snooze_past_expiry_is_refused() -> None:
    start = ny(2026, 12, 3, 14, 30)
    # ride expires at 11:30 on the day; 3 hours after 10:00 is too late.
    now = ny(2026, 12, 3, 10, 0)
    assert snooze_until(now, step_of("ride"), start, NEW_YORK, NIGHT, THREE_HOURS) is None
    # arrival expires at the start: snoozing 3h at 12:30 would be 15:30.
    now = ny(2026, 12, 3, 12, 30)
    assert snooze_until(now, step_of("arrival"), start, NEW_YORK, NIGHT, THREE_HOURS) is None
    assert snooze_until(now, step_of("arrival"), start, NEW_YORK, NIGHT, timedelta(hours=1)) == (
        now + timedelta(hours=1)
    )
    # After expiry nothing can be snoozed.
    assert snooze_until(start, step_of("arrival"), start, NEW_YORK, None, MINUTE * 5) is None


def test_snooze_at_night_before_an_early_visit_is_refused() -> None:
    start = ny(2026, 12, 3, 7, 30)
    now = ny(2026, 12, 2, 22, 0)  # quiet until 08:00, after the visit began
    assert snooze_until(now, step_of("arrival"), start, NEW_YORK, NIGHT, THREE_HOURS) is None


def test_snooze_rejects_bad_input() -> None:
    start = ny(2026, 12, 3, 14, 30)
    with pytest.raises(ValueError, match="positive"):
        snooze_until(start, step_of("arrival"), start, NEW_YORK, None, timedelta(0))
    with pytest.raises(TypeError, match="aware"):
        snooze_until(datetime(2026, 12, 3), step_of("arrival"), start, NEW_YORK, None, MINUTE)


@settings(max_examples=400, deadline=None)
@given(
    zone_name=st.sampled_from(ZONES),
    start=minute_instants,
    quiet=quiet_hours(),
    step=steps(),
    before=st.integers(-10 * 86400, 6 * 86400),
    snooze_minutes=st.integers(5, 24 * 60),
)
def test_property_snooze_until(
    zone_name: str,
    start: datetime,
    quiet: QuietHours | None,
    step: Step,
    before: int,
    snooze_minutes: int,
) -> None:
    zone = ZoneInfo(zone_name)
    now = start + timedelta(seconds=before)
    snooze = timedelta(minutes=snooze_minutes)
    result = snooze_until(now, step, start, zone, quiet, snooze)
    expires = step.expires.resolve(start, zone)
    if not step.is_follow_up:
        expires = min(expires, start)
    candidate = now + snooze
    if not in_quiet_hours(candidate, zone, quiet):
        assert result == (candidate if candidate < expires else None)
    if result is None:
        return
    assert result.tzinfo is UTC
    assert now < result < expires
    assert not in_quiet_hours(result, zone, quiet)
    if step.is_follow_up:
        assert result >= candidate
    else:
        assert result < start
