"""bot.intake.fhir: an R4 Appointment as an intake row, and the checks parsers skip."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.intake.fhir import FHIR_STATUS, FhirRules, read_appointment
from bot.intake.rows import IntakeRow, IntakeStatus, RowError, RowErrorCode
from tests.unit.intake_support import KEYER, PERSONAL, RULES

ROOT = Path(__file__).resolve().parents[2]
SYSTEM = "https://ehr.acme.example/appointments"
FHIR = FhirRules(
    sources={SYSTEM: "acme"},
    visit_types={
        "http://snomed.info/sct|394701000": "infusion",
        "CONSULT": "consult",
        "https://ehr.acme.example/types|NOPLAN": "massage",
    },
)

APPOINTMENT: dict[str, Any] = {
    "resourceType": "Appointment",
    "id": "example",
    "identifier": [
        {"system": "urn:other", "value": "ignored"},
        {"system": SYSTEM, "value": "A-100"},
    ],
    "status": "booked",
    "description": f"Infusion for {PERSONAL[0]}",
    "comment": f"Call {PERSONAL[2]}",
    "appointmentType": {
        "coding": [
            {"system": "http://terminology.hl7.org/CodeSystem/v2-0276", "code": "ROUTINE"},
            {"system": "http://snomed.info/sct", "code": "394701000"},
        ]
    },
    "start": "2027-05-03T09:30:00-04:00",
    "end": "2027-05-03T11:30:00.000-04:00",
    "participant": [
        {"actor": {"reference": "Practitioner/dr-1", "display": "Dr. Who"}, "status": "accepted"},
        {"actor": {"reference": "Patient/pat-42", "display": PERSONAL[0]}, "status": "accepted"},
    ],
}


def read(resource: Any) -> IntakeRow | RowError:
    return read_appointment(resource, rules=FHIR, intake=RULES, keyer=KEYER)


def changed(**changes: Any) -> dict[str, Any]:
    resource = copy.deepcopy(APPOINTMENT)
    for key, value in changes.items():
        if value is None:
            resource.pop(key, None)
        else:
            resource[key] = value
    return resource


def refused(resource: Any) -> RowError:
    result = read(resource)
    assert isinstance(result, RowError), result
    return result


def test_an_appointment_is_read() -> None:
    row = read(APPOINTMENT)
    assert isinstance(row, IntakeRow), str(row)
    assert (row.source, row.external_id, row.visit_type, row.status) == (
        "acme",
        "A-100",
        "infusion",
        IntakeStatus.BOOKED,
    )
    assert row.start is not None and row.start.at == datetime(2027, 5, 3, 13, 30, tzinfo=UTC)
    assert row.end == datetime(2027, 5, 3, 15, 30, tzinfo=UTC)
    assert row.patient_key == KEYER.key("acme", "pat-42")
    assert row.label is None and row.language is None
    for value in (*PERSONAL, "pat-42", "Dr. Who"):
        assert value not in repr(row)


@pytest.mark.parametrize(("code", "ours"), [(c, o) for c, o in FHIR_STATUS.items() if o])
def test_statuses_that_are_visits(code: str, ours: IntakeStatus) -> None:
    row = read(changed(status=code))
    assert isinstance(row, IntakeRow) and row.status is ours


@pytest.mark.parametrize("code", ["proposed", "pending", "waitlist", "Booked", "tentative", ""])
def test_statuses_that_are_not_visits_yet_or_not_r4(code: str) -> None:
    assert refused(changed(status=code)).code is RowErrorCode.UNKNOWN_STATUS


def test_every_r4_status_is_decided() -> None:
    r4 = {"proposed", "pending", "booked", "arrived", "fulfilled", "cancelled", "noshow",
          "entered-in-error", "checked-in", "waitlist"}  # fmt: skip
    assert set(FHIR_STATUS) == r4


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"identifier": [{"system": "urn:other", "value": "1"}]}, "unknown_source", "identifier"),
        ({"identifier": [{"system": SYSTEM, "value": " "}]}, "bad_id", "identifier"),
        ({"start": "2027-05-03T09:30:00"}, "bad_start", "start"),  # no offset
        ({"start": "2027-05-03T09:30-04:00"}, "bad_start", "start"),  # no seconds
        ({"end": "2027-05-03T09:30:00-04:00"}, "end_before_start", "end"),
        ({"end": "2027-05-03T12:30:00+05:00"}, "end_before_start", "end"),  # offsets count
        ({"end": None}, "missing", "end"),
        ({"start": None}, "missing", "start"),
        ({"start": None, "end": None}, "missing", "start"),
        ({"appointmentType": None}, "unknown_visit_type", "appointmentType"),
        ({"appointmentType": {"coding": [{"system": "x", "code": "394701000"}]}},
         "unknown_visit_type", "appointmentType"),
        ({"appointmentType": {"coding": [{"system": "https://ehr.acme.example/types",
                                          "code": "NOPLAN"}]}},
         "unknown_visit_type", "appointmentType"),
        ({"participant": [{"actor": {"reference": "Practitioner/1"}}]}, "bad_patient",
         "participant"),
        ({"participant": [{"actor": {"reference": "Patient/1"}},
                          {"actor": {"reference": "Patient/2"}}]}, "bad_patient", "participant"),
        ({"participant": [{"actor": {"reference": "#contained"}}]}, "bad_patient",
         "participant"),
    ],
)  # fmt: skip
def test_problems_refuse_the_appointment(changes: dict[str, Any], code: str, field: str) -> None:
    error = refused(changed(**changes))
    assert (error.code.value, error.field) == (code, field)


def test_a_cancellation_may_have_no_times_and_any_code_system_matches_a_bare_code() -> None:
    coding = {"coding": [{"system": "urn:x", "code": "CONSULT"}]}
    row = read(changed(status="cancelled", start=None, end=None, appointmentType=coding))
    assert isinstance(row, IntakeRow) and row.start is None and row.visit_type == "consult"


def test_absolute_patient_references_and_history() -> None:
    participant = [{"actor": {"reference": "https://fhir.example/r4/Patient/pat-42/_history/3"}}]
    row = read(changed(participant=participant))
    assert isinstance(row, IntakeRow) and row.patient_key == KEYER.key("acme", "pat-42")


@pytest.mark.parametrize(
    "resource",
    [None, [], "Appointment", {"resourceType": "Patient"}, {"resourceType": "Appointment"},
     {**APPOINTMENT, "identifier": "A-100"}, {**APPOINTMENT, "participant": {"x": 1}}],
)  # fmt: skip
def test_what_is_not_an_appointment_is_refused_without_its_values(resource: Any) -> None:
    error = refused(resource)
    assert error.code is RowErrorCode.NOT_AN_APPOINTMENT
    assert "A-100" not in str(error) and "Patient" not in str(error).replace("Appointment", "")


def test_the_mapping_doc_names_every_status_and_element_read() -> None:
    doc = (ROOT / "docs" / "fhir-mapping.md").read_text(encoding="utf-8")
    for code, ours in FHIR_STATUS.items():
        assert f"| `{code}` | {f'`{ours.value}`' if ours else 'refused'}" in doc, code
    for element in ("identifier", "status", "start", "end", "appointmentType", "participant"):
        assert f"`{element}" in doc


@settings(max_examples=300, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(
                st.sampled_from(
                    [
                        "resourceType",
                        "status",
                        "start",
                        "end",
                        "identifier",
                        "participant",
                        "actor",
                        "reference",
                        "system",
                        "value",
                        "coding",
                        "code",
                        "appointmentType",
                    ]
                ),
                inner,
                max_size=5,
            )
        ),
        max_leaves=20,
    )
)
def test_any_json_is_a_row_or_a_row_error(resource: Any) -> None:
    result = read(resource)
    assert isinstance(result, IntakeRow | RowError)
    if isinstance(result, RowError):
        json.dumps(str(result))


@settings(max_examples=200, deadline=None)
@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1)),
       st.integers(-12 * 60, 14 * 60), st.integers(-600, 600))  # fmt: skip
def test_start_before_end_is_judged_on_instants(start: datetime, offset: int, minutes: int) -> None:
    """Property: with any offsets, a row is read exactly when the end instant is after the
    start instant (and within a day)."""
    from datetime import timedelta, timezone

    zone = timezone(timedelta(minutes=offset))
    begin = start.replace(microsecond=0, tzinfo=UTC)
    finish = (begin + timedelta(minutes=minutes)).astimezone(zone)
    result = read(changed(start=begin.isoformat(), end=finish.isoformat()))
    if minutes > 0:
        assert isinstance(result, IntakeRow), str(result)
        assert result.end == begin + timedelta(minutes=minutes)
    else:
        assert isinstance(result, RowError) and result.code is RowErrorCode.END_BEFORE_START
