"""Tests for foundation.timemath: DST gaps and overlaps over real tzdata transitions."""

from __future__ import annotations

import functools
import zoneinfo
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from foundation.timemath import (
    AmbiguousLocalTime,
    LocalTimeError,
    NonexistentLocalTime,
    UnknownZone,
    load_zone,
    resolve_local,
    to_local,
)

NEW_YORK = ZoneInfo("America/New_York")

# A spread of rules: northern/southern DST, 30-minute and 2-hour shifts, negative DST
# (Dublin), DST abolished (Sao_Paulo, Apia, Tehran), Ramadan suspensions (Casablanca),
# and zones that never change.
ZONES = (
    "America/New_York",
    "America/Los_Angeles",
    "America/St_Johns",
    "America/Sao_Paulo",
    "America/Santiago",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Berlin",
    "Africa/Casablanca",
    "Asia/Tehran",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Pacific/Apia",
    "Antarctica/Troll",
)

RANGE_START = datetime(2020, 1, 1)
RANGE_END = datetime(2035, 12, 31, 23, 59)


def utc(
    year: int,
    month: int,
    day: int,
    hour: int = 0,
    minute: int = 0,
    second: int = 0,
    microsecond: int = 0,
) -> datetime:
    return datetime(year, month, day, hour, minute, second, microsecond, tzinfo=UTC)


def wall_of(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


def oracle(local: datetime, zone: ZoneInfo) -> list[datetime]:
    """Every UTC instant whose wall time in ``zone`` is ``local``, found without ``fold``.

    Collect the offsets the zone uses within two days of ``local`` and keep the
    candidates ``local - offset`` that map back to ``local``.
    """
    probe = local.replace(tzinfo=UTC)
    offsets = {
        (probe + timedelta(hours=hours)).astimezone(zone).utcoffset() for hours in range(-48, 49)
    }
    candidates = set()
    for offset in offsets:
        assert offset is not None
        candidate = probe - offset
        if wall_of(candidate, zone) == local:
            candidates.add(candidate)
    return sorted(candidates)


@functools.cache
def transitions(zone_name: str) -> tuple[datetime, ...]:
    """UTC instants (minute precision) at which ``zone_name`` changes offset, 2020-2035."""
    zone = ZoneInfo(zone_name)

    def offset_at(instant: datetime) -> timedelta | None:
        return instant.astimezone(zone).utcoffset()

    found = []
    day = utc(2020, 1, 1)
    while day.year < 2036:
        nxt = day + timedelta(days=1)
        if offset_at(day) != offset_at(nxt):
            lo, hi = day, nxt  # offset(lo) differs from offset(hi): bisect to the minute
            while hi - lo > timedelta(minutes=1):
                mid = lo + (hi - lo) // 2
                if offset_at(mid) == offset_at(lo):
                    lo = mid
                else:
                    hi = mid
            found.append(hi)
        day = nxt
    return tuple(found)


# --------------------------------------------------------------------------------------
# resolve_local: concrete transitions
# --------------------------------------------------------------------------------------


def test_new_york_spring_forward_gap_is_nonexistent() -> None:
    with pytest.raises(NonexistentLocalTime) as info:
        resolve_local(datetime(2026, 3, 8, 2, 30), NEW_YORK)
    assert info.value.local == datetime(2026, 3, 8, 2, 30)
    assert info.value.zone is NEW_YORK
    assert isinstance(info.value, LocalTimeError)
    assert isinstance(info.value, ValueError)


def test_new_york_fall_back_overlap_is_ambiguous() -> None:
    with pytest.raises(AmbiguousLocalTime) as info:
        resolve_local(datetime(2026, 11, 1, 1, 30), NEW_YORK)
    err = info.value
    assert err.local == datetime(2026, 11, 1, 1, 30)
    assert err.zone is NEW_YORK
    assert err.earlier == utc(2026, 11, 1, 5, 30)
    assert err.later == utc(2026, 11, 1, 6, 30)
    assert err.earlier.tzinfo is UTC
    assert err.later.tzinfo is UTC


def test_fold_picks_occurrence_of_ambiguous_time() -> None:
    local = datetime(2026, 11, 1, 1, 30)
    assert resolve_local(local, NEW_YORK, fold=0) == utc(2026, 11, 1, 5, 30)
    assert resolve_local(local, NEW_YORK, fold=1) == utc(2026, 11, 1, 6, 30)


@pytest.mark.parametrize("fold", [None, 0, 1])
def test_fold_does_not_rescue_a_nonexistent_time(fold: int | None) -> None:
    with pytest.raises(NonexistentLocalTime):
        resolve_local(datetime(2026, 3, 8, 2, 30), NEW_YORK, fold=fold)


@pytest.mark.parametrize("fold", [None, 0, 1])
def test_fold_is_irrelevant_for_ordinary_times(fold: int | None) -> None:
    result = resolve_local(datetime(2026, 7, 4, 9, 0), NEW_YORK, fold=fold)
    assert result == utc(2026, 7, 4, 13, 0)
    assert result.tzinfo is UTC


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (datetime(2026, 3, 8, 1, 59), utc(2026, 3, 8, 6, 59)),  # last minute of EST
        (datetime(2026, 3, 8, 3, 0), utc(2026, 3, 8, 7, 0)),  # first minute of EDT
        (datetime(2026, 11, 1, 0, 59), utc(2026, 11, 1, 4, 59)),  # before the overlap
        (datetime(2026, 11, 1, 2, 0), utc(2026, 11, 1, 7, 0)),  # after the overlap
    ],
)
def test_new_york_edges_of_transitions(local: datetime, expected: datetime) -> None:
    assert resolve_local(local, NEW_YORK) == expected


@pytest.mark.parametrize(
    ("zone_name", "local"),
    [
        ("Europe/London", datetime(2026, 3, 29, 1, 30)),
        ("Australia/Lord_Howe", datetime(2026, 10, 4, 2, 15)),  # 02:00 -> 02:30
        ("America/Sao_Paulo", datetime(2018, 11, 4, 0, 30)),  # back when it had DST
        ("Pacific/Apia", datetime(2011, 12, 30, 12, 0)),  # the day Samoa skipped
        ("Pacific/Apia", datetime(2020, 9, 27, 3, 30)),  # its last spring-forward
        ("Antarctica/Troll", datetime(2026, 3, 29, 2, 59)),  # 2-hour jump
    ],
)
def test_nonexistent_times_around_the_world(zone_name: str, local: datetime) -> None:
    with pytest.raises(NonexistentLocalTime):
        resolve_local(local, ZoneInfo(zone_name))


@pytest.mark.parametrize(
    ("zone_name", "local", "earlier", "later"),
    [
        (
            "Europe/London",
            datetime(2026, 10, 25, 1, 30),
            utc(2026, 10, 25, 0, 30),
            utc(2026, 10, 25, 1, 30),
        ),
        (  # 30-minute overlap: +11:00 -> +10:30
            "Australia/Lord_Howe",
            datetime(2026, 4, 5, 1, 45),
            utc(2026, 4, 4, 14, 45),
            utc(2026, 4, 4, 15, 15),
        ),
        (  # negative DST in tzdata: winter is the "daylight" period
            "Europe/Dublin",
            datetime(2026, 10, 25, 1, 30),
            utc(2026, 10, 25, 0, 30),
            utc(2026, 10, 25, 1, 30),
        ),
        (
            "America/Sao_Paulo",
            datetime(2019, 2, 16, 23, 30),
            utc(2019, 2, 17, 1, 30),
            utc(2019, 2, 17, 2, 30),
        ),
        (  # 2-hour overlap
            "Antarctica/Troll",
            datetime(2026, 10, 25, 2, 30),
            utc(2026, 10, 25, 0, 30),
            utc(2026, 10, 25, 2, 30),
        ),
    ],
)
def test_ambiguous_times_around_the_world(
    zone_name: str, local: datetime, earlier: datetime, later: datetime
) -> None:
    with pytest.raises(AmbiguousLocalTime) as info:
        resolve_local(local, ZoneInfo(zone_name))
    assert (info.value.earlier, info.value.later) == (earlier, later)


@pytest.mark.parametrize(
    "local",
    [
        datetime(2026, 11, 1, 0, 30),  # used to be a gap when Brazil had DST
        datetime(2026, 2, 21, 23, 30),  # used to be an overlap
        datetime(2026, 10, 18, 0, 0),
    ],
)
def test_sao_paulo_has_no_dst_now(local: datetime) -> None:
    zone = ZoneInfo("America/Sao_Paulo")
    assert resolve_local(local, zone) == local.replace(tzinfo=UTC) + timedelta(hours=3)


def test_apia_no_longer_observes_dst() -> None:
    zone = ZoneInfo("Pacific/Apia")
    local = datetime(2026, 9, 27, 3, 30)
    assert resolve_local(local, zone) == utc(2026, 9, 26, 14, 30)


def test_sub_minute_precision_is_kept() -> None:
    local = datetime(2026, 7, 4, 9, 0, 5, 123456)
    assert resolve_local(local, NEW_YORK) == utc(2026, 7, 4, 13, 0, 5, 123456)


def test_resolve_local_rejects_aware_input() -> None:
    with pytest.raises(TypeError):
        resolve_local(datetime(2026, 7, 4, 9, 0, tzinfo=UTC), NEW_YORK)


def test_resolve_local_rejects_bad_fold() -> None:
    with pytest.raises(ValueError, match="fold"):
        resolve_local(datetime(2026, 7, 4, 9, 0), NEW_YORK, fold=2)


def test_naive_fold_attribute_on_input_is_ignored() -> None:
    local = datetime(2026, 11, 1, 1, 30, fold=1)
    with pytest.raises(AmbiguousLocalTime):
        resolve_local(local, NEW_YORK)


# --------------------------------------------------------------------------------------
# to_local
# --------------------------------------------------------------------------------------


def test_to_local_converts_and_sets_fold() -> None:
    first = to_local(utc(2026, 11, 1, 5, 30), NEW_YORK)
    second = to_local(utc(2026, 11, 1, 6, 30), NEW_YORK)
    assert first.replace(tzinfo=None) == second.replace(tzinfo=None) == datetime(2026, 11, 1, 1, 30)
    assert (first.fold, second.fold) == (0, 1)
    assert first.tzinfo is NEW_YORK
    assert first.utcoffset() == timedelta(hours=-4)
    assert second.utcoffset() == timedelta(hours=-5)


def test_to_local_accepts_any_aware_instant() -> None:
    instant = datetime(2026, 7, 4, 16, 0, tzinfo=timezone(timedelta(hours=3)))
    assert to_local(instant, NEW_YORK).replace(tzinfo=None) == datetime(2026, 7, 4, 9, 0)


def test_to_local_rejects_naive_input() -> None:
    with pytest.raises(TypeError):
        to_local(datetime(2026, 7, 4, 13, 0), NEW_YORK)


# --------------------------------------------------------------------------------------
# Property tests
# --------------------------------------------------------------------------------------

minute_times = st.datetimes(min_value=RANGE_START, max_value=RANGE_END).map(
    lambda moment: moment.replace(second=0, microsecond=0)
)


@st.composite
def times_near_transitions(draw: st.DrawFn) -> tuple[str, datetime]:
    """A zone and a wall time within three hours of one of its real transitions."""
    zone_name = draw(st.sampled_from([name for name in ZONES if transitions(name)]))
    instant = draw(st.sampled_from(transitions(zone_name)))
    shift = timedelta(minutes=draw(st.integers(min_value=-180, max_value=180)))
    return zone_name, wall_of(instant, ZoneInfo(zone_name)) + shift


def outcome(local: datetime, zone: ZoneInfo) -> datetime | LocalTimeError:
    try:
        return resolve_local(local, zone)
    except LocalTimeError as err:
        return err


def check_against_oracle(zone_name: str, local: datetime) -> None:
    zone = ZoneInfo(zone_name)
    expected = oracle(local, zone)
    result = outcome(local, zone)
    if isinstance(result, NonexistentLocalTime):
        assert expected == []
        assert result.local == local
    elif isinstance(result, AmbiguousLocalTime):
        assert result.earlier < result.later
        assert expected == [result.earlier, result.later]
        assert wall_of(result.earlier, zone) == local
        assert wall_of(result.later, zone) == local
        assert resolve_local(local, zone, fold=0) == result.earlier
        assert resolve_local(local, zone, fold=1) == result.later
    else:
        assert isinstance(result, datetime), f"unexpected {result!r}"
        assert expected == [result]
        assert result.tzinfo is UTC
        assert wall_of(result, zone) == local
        assert to_local(result, zone).replace(tzinfo=None) == local


@settings(max_examples=300)
@given(zone_name=st.sampled_from(ZONES), local=minute_times)
def test_property_random_times_round_trip_or_raise(zone_name: str, local: datetime) -> None:
    check_against_oracle(zone_name, local)


@settings(max_examples=500)
@given(case=times_near_transitions())
def test_property_times_near_transitions(case: tuple[str, datetime]) -> None:
    check_against_oracle(*case)


def test_transition_fixture_finds_both_kinds() -> None:
    """Guard for the property test above: it really does visit gaps and overlaps."""
    kinds: set[type[object]] = set()
    zone = ZoneInfo("Australia/Lord_Howe")
    for instant in transitions("Australia/Lord_Howe")[:2]:
        for minutes in (-15, 15):
            kinds.add(type(outcome(wall_of(instant, zone) + timedelta(minutes=minutes), zone)))
    assert {NonexistentLocalTime, AmbiguousLocalTime} <= kinds


@given(local=minute_times)
def test_property_fixed_offset_zone_never_raises(local: datetime) -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    assert resolve_local(local, tokyo) == local.replace(tzinfo=UTC) - timedelta(hours=9)


# --------------------------------------------------------------------------------------
# load_zone
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("America/New_York", "America/New_York"),
        (" america/new_york ", "America/New_York"),
        ("AMERICA/NEW_YORK", "America/New_York"),
        ("\tEurope/London\n", "Europe/London"),
        ("australia/lord_howe", "Australia/Lord_Howe"),
        ("utc", "UTC"),
    ],
)
def test_load_zone_accepts_iana_names(text: str, key: str) -> None:
    zone = load_zone(text)
    assert isinstance(zone, ZoneInfo)
    assert zone.key == key


@pytest.mark.skipif(
    "EST5EDT" not in zoneinfo.available_timezones(), reason="EST5EDT not in this tzdata"
)
def test_load_zone_accepts_legacy_names_that_tzdata_lists() -> None:
    assert load_zone("EST5EDT").key == "EST5EDT"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "Mars/Olympus",
        "UTC+3",
        "GMT+25",
        "../../etc/passwd",
        "/usr/share/zoneinfo/UTC",
        "America/../Europe/London",
        "America/New York",
        "America/New_York/",
        "localtime",
        "posixrules",
        "Europe/London\x00",
        "x" * 10_000,
    ],
)
def test_load_zone_rejects_unknown_names(text: str) -> None:
    with pytest.raises(UnknownZone):
        load_zone(text)


def test_unknown_zone_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="Mars/Olympus"):
        load_zone("Mars/Olympus")


def test_load_zone_rejects_non_strings() -> None:
    with pytest.raises(UnknownZone):
        load_zone(None)  # type: ignore[arg-type]


@given(st.text(max_size=80))
def test_property_load_zone_only_raises_unknown_zone(text: str) -> None:
    try:
        zone = load_zone(text)
    except UnknownZone:
        return
    assert zone.key.casefold() == text.strip().casefold()
