"""bot.intake.rows: the one intake command; start resolution at DST edges; status mapping;
patient references kept only as keys (bot.intake.patient_ref)."""

from __future__ import annotations

import dataclasses
import pickle
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.intake.patient_ref import MIN_SECRET_BYTES, PatientKeyer, normalize_reference
from bot.intake.rows import (
    IntakeRow,
    IntakeRules,
    IntakeStatus,
    RawRow,
    RowError,
    RowErrorCode,
    RowProblem,
    build_row,
    fold_word,
    map_status,
    resolve_start,
)
from tests.unit.intake_support import KEYER, RULES, SECRET

NEW_YORK = ZoneInfo("America/New_York")


def raw(**changes: str | None) -> RawRow:
    values: dict[str, str | None] = {
        "source": "acme",
        "external_id": "A-100",
        "patient": "MRN-7",
        "visit_type": "infusion",
        "status": "booked",
        "start": "2027-05-03T10:00:00-04:00",
    }
    values.update(changes)
    return RawRow(**values)  # type: ignore[arg-type]


def ok(row: IntakeRow | RowError) -> IntakeRow:
    assert isinstance(row, IntakeRow), str(row)
    return row


def refused(row: IntakeRow | RowError) -> RowError:
    assert isinstance(row, RowError), row
    return row


# ----------------------------------------------------------------------------- starts


def test_an_instant_with_an_offset_is_taken_as_it_is() -> None:
    start = resolve_start("2027-05-03T10:00:00-04:00", None, clinic_zone=NEW_YORK)
    assert start.at == datetime(2027, 5, 3, 14, 0, tzinfo=UTC)
    assert start.zone is None and not start.zone_assumed and not start.ambiguous
    assert resolve_start("2027-05-03 14:00Z", None, clinic_zone=NEW_YORK).at == start.at


def test_a_local_time_with_a_zone_is_read_there() -> None:
    start = resolve_start("2027-05-03 10:00", "Europe/Madrid", clinic_zone=NEW_YORK)
    assert start.at == datetime(2027, 5, 3, 8, 0, tzinfo=UTC)
    assert start.zone == "Europe/Madrid" and not start.zone_assumed


def test_a_local_time_without_a_zone_is_the_clinics_and_flagged() -> None:
    start = resolve_start("2027-05-03 10:00", None, clinic_zone=NEW_YORK)
    assert start.at == datetime(2027, 5, 3, 14, 0, tzinfo=UTC)
    assert start.zone == "America/New_York" and start.zone_assumed


def test_a_local_time_the_clocks_skip_is_refused() -> None:
    with pytest.raises(RowProblem) as caught:
        resolve_start("2027-03-14 02:30", "America/New_York", clinic_zone=NEW_YORK)
    assert caught.value.code is RowErrorCode.NONEXISTENT_TIME
    assert "America/New_York" in caught.value.message


def test_a_local_time_that_happens_twice_is_the_earliest_unless_told() -> None:
    earliest = resolve_start("2027-11-07 01:30", None, clinic_zone=NEW_YORK)
    assert earliest.at == datetime(2027, 11, 7, 5, 30, tzinfo=UTC)  # EDT, -04:00
    assert earliest.ambiguous and earliest.fold == 0
    later = resolve_start("2027-11-07 01:30", None, clinic_zone=NEW_YORK, fold=1)
    assert later.at == earliest.at + timedelta(hours=1) and later.ambiguous and later.fold == 1


def test_fold_means_nothing_for_a_time_that_happens_once() -> None:
    start = resolve_start("2027-05-03 10:00", None, clinic_zone=NEW_YORK, fold=1)
    assert not start.ambiguous and start.fold == 0


def test_an_offset_must_agree_with_the_zone_given_with_it() -> None:
    agreeing = resolve_start("2027-05-03T10:00-04:00", "America/New_York", clinic_zone=NEW_YORK)
    assert agreeing.zone == "America/New_York"
    with pytest.raises(RowProblem) as caught:
        resolve_start("2027-05-03T10:00-05:00", "America/New_York", clinic_zone=NEW_YORK)
    assert caught.value.code is RowErrorCode.OFFSET_ZONE_MISMATCH


@pytest.mark.parametrize(
    "text",
    ["03/05/2027 10:00", "2027-05-03", "10:00", "2027-13-03 10:00", "2027-02-30T10:00Z",
     "tomorrow", "", "2027-05-03T25:00Z", "2027-05-03T10:00+2:00"],
)  # fmt: skip
def test_what_is_not_an_iso_date_and_time_is_refused(text: str) -> None:
    with pytest.raises(RowProblem) as caught:
        resolve_start(text, None, clinic_zone=NEW_YORK)
    assert caught.value.code is RowErrorCode.BAD_START


@settings(max_examples=300, deadline=None)
@given(
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1)),
    st.sampled_from(["America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Tehran"]),
    st.sampled_from([None, 0, 1]),
)
def test_a_local_time_resolves_to_an_instant_showing_that_time(
    wall: datetime, zone: str, fold: int | None
) -> None:
    """Property: whatever the wall time, it is refused as skipped, or read as an instant
    whose clock in the zone shows it; the earliest of two unless fold=1."""
    wall = wall.replace(second=0, microsecond=0)
    tz = ZoneInfo(zone)
    skipped: RowErrorCode | None = None
    try:
        start = resolve_start(wall.isoformat(sep=" "), zone, clinic_zone=NEW_YORK, fold=fold)
    except RowProblem as problem:
        skipped = problem.code
    if skipped is not None:
        assert skipped is RowErrorCode.NONEXISTENT_TIME
        assert wall.replace(tzinfo=tz).astimezone(UTC).astimezone(tz).replace(tzinfo=None) != wall
        return
    assert start.at.tzinfo is UTC
    assert start.at.astimezone(tz).replace(tzinfo=None) == wall
    candidates = {wall.replace(tzinfo=tz, fold=f).astimezone(UTC) for f in (0, 1)}
    assert start.ambiguous == (len(candidates) == 2)
    if start.ambiguous:
        assert start.at == (max(candidates) if fold == 1 else min(candidates))
        assert start.fold == (fold or 0)


@settings(max_examples=200, deadline=None)
@given(
    st.datetimes(
        min_value=datetime(1990, 1, 1),
        max_value=datetime(2090, 1, 1),
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=-4)), timezone(timedelta(hours=5, minutes=30))]
        ),
    )
)
def test_an_rfc3339_instant_round_trips(instant: datetime) -> None:
    instant = instant.replace(microsecond=0)
    assert resolve_start(instant.isoformat(), None, clinic_zone=NEW_YORK).at == instant


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_any_text_is_a_start_or_a_row_problem(text: str) -> None:
    try:
        start = resolve_start(text, None, clinic_zone=NEW_YORK)
    except RowProblem:
        return
    assert start.at.tzinfo is UTC


# ----------------------------------------------------------------------------- rows


def test_a_full_row_is_read() -> None:
    row = ok(build_row(raw(label="2nd visit", language="es-MX", end="2027-05-03T12:00-04:00"),
                       RULES, KEYER, line=3))  # fmt: skip
    assert (row.source, row.external_id, row.visit_type, row.status) == (
        "acme", "A-100", "infusion", IntakeStatus.BOOKED,
    )  # fmt: skip
    assert row.language == "es" and row.label == "2nd visit" and row.line == 3
    assert row.end == datetime(2027, 5, 3, 16, 0, tzinfo=UTC)
    assert row.patient_key == KEYER.key("acme", "MRN-7")


def test_the_patient_reference_is_kept_only_as_its_key() -> None:
    row = ok(build_row(raw(patient="MRN-0042917"), RULES, KEYER))
    assert "0042917" not in repr(row)
    assert all("0042917" not in str(value) for value in dataclasses.astuple(row))
    assert "0042917" not in repr(raw(patient="MRN-0042917"))
    assert KEYER.matches(row.patient_key, "acme", " MRN-0042917 ")


@pytest.mark.parametrize(
    ("word", "expected"),
    [("Scheduled", "booked"), ("  canceled ", "cancelled"), ("DNA", "noshow"),
     ("booked", "booked"), ("No Show", "noshow"), ("no-show", "noshow"),
     ("FULFILLED", "fulfilled")],
)  # fmt: skip
def test_statuses_map_per_source(word: str, expected: str) -> None:
    assert map_status(word, "acme", RULES) == IntakeStatus(expected)


def test_a_sources_word_is_not_read_for_another_source() -> None:
    with pytest.raises(RowProblem) as caught:
        map_status("Scheduled", "other", RULES)
    assert caught.value.code is RowErrorCode.UNKNOWN_STATUS


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"status": "tentative"}, RowErrorCode.UNKNOWN_STATUS, "status"),
        ({"status": ""}, RowErrorCode.MISSING, "status"),
        ({"visit_type": "massage"}, RowErrorCode.UNKNOWN_VISIT_TYPE, "visit_type"),
        ({"visit_type": None}, RowErrorCode.MISSING, "visit_type"),
        ({"language": "fr"}, RowErrorCode.UNKNOWN_LANGUAGE, "language"),
        ({"zone": "Mars/Olympus", "start": "2027-05-03 10:00"}, RowErrorCode.UNKNOWN_ZONE, "zone"),
        ({"external_id": " "}, RowErrorCode.MISSING, "external_id"),
        ({"external_id": "x" * 129}, RowErrorCode.BAD_ID, "external_id"),
        ({"patient": "MRN\x007"}, RowErrorCode.BAD_PATIENT, "patient"),
        ({"label": "y" * 81}, RowErrorCode.BAD_LABEL, "label"),
        ({"source": "Acme Clinic"}, RowErrorCode.BAD_SOURCE, "source"),
        ({"start": None}, RowErrorCode.MISSING, "start"),
        ({"start": None, "date": "2027-05-03"}, RowErrorCode.MISSING, "time"),
        ({"end": "2027-05-03T09:00-04:00"}, RowErrorCode.END_BEFORE_START, "end"),
        ({"fold": "maybe"}, RowErrorCode.BAD_FOLD, "fold"),
    ],
)
def test_a_row_with_a_problem_is_refused_never_defaulted(
    changes: dict[str, str | None], code: RowErrorCode, field: str
) -> None:
    error = refused(build_row(raw(**changes), RULES, KEYER, line=9))
    assert (error.code, error.field, error.line) == (code, field, 9)
    assert str(error).startswith(f"line 9: {field}: ")


def test_a_cancellation_needs_no_start() -> None:
    row = ok(build_row(raw(status="Canceled", start=None), RULES, KEYER))
    assert row.status is IntakeStatus.CANCELLED and row.start is None


def test_date_and_time_columns_with_a_12_hour_clock() -> None:
    row = ok(build_row(raw(start=None, date="2027-05-03", time="2:15 pm"), RULES, KEYER))
    assert row.start is not None and row.start.at == datetime(2027, 5, 3, 18, 15, tzinfo=UTC)
    assert row.start.zone_assumed
    error = refused(build_row(raw(start=None, date="2027-05-03", time="13:00 pm"), RULES, KEYER))
    assert error.code is RowErrorCode.BAD_START


def test_type_aliases_and_spelling_variants() -> None:
    assert ok(build_row(raw(visit_type="KET-IV"), RULES, KEYER)).visit_type == "infusion"
    assert ok(build_row(raw(visit_type="Follow-Up"), RULES, KEYER)).visit_type == "follow_up"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), min_size=6, max_size=30))
def test_an_error_never_repeats_what_the_row_held(value: str) -> None:
    """Property: whatever lands in a column (a misplaced name, a phone number), the refusal
    names the field, not the value."""
    marker = "Zq" + value + "Qz"
    for name in ("status", "visit_type", "language", "zone", "start", "fold", "end"):
        changes = {name: marker}
        if name == "zone":
            changes["start"] = "2027-05-03 10:00"
        result = build_row(raw(**changes), RULES, KEYER)
        if isinstance(result, RowError):
            assert marker.strip() not in str(result)


def test_rules_refuse_mappings_to_what_does_not_exist() -> None:
    with pytest.raises(ValueError, match="acme"):
        IntakeRules.build(clinic_zone="UTC", visit_types={"a"}, languages={"en"},
                          statuses={"acme": {"Sched": "confirmed"}})  # fmt: skip
    with pytest.raises(ValueError, match="unknown types"):
        IntakeRules.build(clinic_zone="UTC", visit_types={"a"}, languages={"en"},
                          visit_type_aliases={"acme": {"X": "b"}})  # fmt: skip


def test_fold_word() -> None:
    assert fold_word(" No_Show ") == fold_word("no-show") == fold_word("NOSHOW") == "noshow"


# ----------------------------------------------------------------------------- patient keys


def test_keys_are_stable_per_source_and_secret() -> None:
    assert KEYER.key("acme", "MRN-7") == KEYER.key("acme", "  MRN-7 ")
    assert KEYER.key("acme", "Patient/MRN-7") == KEYER.key("acme", "MRN-7")
    assert KEYER.key("acme", "MRN-7") != KEYER.key("other", "MRN-7")
    assert KEYER.key("acme", "MRN-7") != PatientKeyer("t" * 40).key("acme", "MRN-7")
    assert len(KEYER.key("acme", "MRN-7")) == 64


def test_the_secret_never_shows() -> None:
    assert SECRET not in repr(KEYER) and SECRET not in str(KEYER)
    assert not hasattr(KEYER, "__dict__")
    with pytest.raises(TypeError, match="not pickled"):
        pickle.dumps(KEYER)


def test_short_secrets_empty_references_and_nul_sources_are_refused() -> None:
    with pytest.raises(ValueError, match=str(MIN_SECRET_BYTES)):
        PatientKeyer("short")
    with pytest.raises(ValueError, match="empty"):
        KEYER.key("acme", "  ")
    with pytest.raises(ValueError, match="NUL"):
        KEYER.key("ac\x00me", "1")
    assert not KEYER.matches(KEYER.key("acme", "1"), "acme", " ")


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=40), st.text(min_size=1, max_size=40))
def test_a_key_matches_only_its_own_reference(one: str, other: str) -> None:
    if not normalize_reference(one):
        return
    key = KEYER.key("acme", one)
    assert KEYER.matches(key, "acme", one)
    assert KEYER.matches(key, "acme", other) == (
        normalize_reference(one) == normalize_reference(other)
    )
    assert not KEYER.matches(key[:-1] + ("0" if key[-1] != "0" else "1"), "acme", one)
