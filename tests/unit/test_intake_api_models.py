"""bot.intake.api_models: request validation, RFC 9457 problems, the OpenAPI 3.1 document."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openapi_spec_validator import validate
from pydantic import ValidationError

from bot.intake.api_models import (
    API_PREFIX,
    PROBLEM_MEDIA_TYPE,
    AnswerEvent,
    Problem,
    VisitPut,
    openapi_document,
    problem_from_row_error,
    problem_from_validation,
)
from bot.intake.events import EventType, event_body, new_event_id, utc_instant
from bot.intake.rows import IntakeRow, RowError, RowErrorCode, build_row
from tests.unit.intake_support import KEYER, PERSONAL, RULES

BODY: dict[str, Any] = {
    "patient_ref": "MRN-7",
    "start": "2027-05-03T10:00:00-04:00",
    "visit_type": "infusion",
    "status": "Scheduled",
    "label": "Chair 2",
    "language": "es",
}


def put(**changes: Any) -> VisitPut:
    return VisitPut.model_validate({**BODY, **changes})


def test_a_body_becomes_the_intake_command() -> None:
    row = build_row(put().raw_row("acme", "A-1"), RULES, KEYER)
    assert isinstance(row, IntakeRow), str(row)
    assert row.start is not None and row.start.at == datetime(2027, 5, 3, 14, tzinfo=UTC)
    assert (row.status.value, row.visit_type, row.label, row.language) == (
        "booked",
        "infusion",
        "Chair 2",
        "es",
    )


def test_a_local_start_without_a_zone_is_the_clinics_and_shown_back() -> None:
    body = put(start=None, local_start="2027-11-07T01:30:00", fold=1)
    row = build_row(body.raw_row("acme", "A-1"), RULES, KEYER)
    assert isinstance(row, IntakeRow) and row.start is not None
    assert row.start.zone_assumed and row.start.ambiguous and row.start.fold == 1
    assert row.start.at == datetime(2027, 11, 7, 6, 30, tzinfo=UTC)


def test_personal_fields_are_dropped_on_arrival() -> None:
    body = put(name=PERSONAL[0], email=PERSONAL[1], phone=PERSONAL[2], date_of_birth=PERSONAL[3])
    dumped = repr(body) + body.model_dump_json()
    assert not any(value in dumped for value in PERSONAL)


@pytest.mark.parametrize(
    ("changes", "pointer"),
    [
        ({"start": "2027-05-03T10:00:00"}, "/start"),  # no offset
        ({"local_start": "2027-05-03T10:00:00"}, ""),  # both forms
        ({"visit_typ": "infusion"}, "/visit_typ"),  # a typo is not dropped silently
        ({"fold": 2}, "/fold"),
        ({"patient_ref": ""}, "/patient_ref"),
        ({"label": "x" * 81}, "/label"),
    ],
)
def test_invalid_bodies_are_problems_naming_the_field_not_the_value(
    changes: dict[str, Any], pointer: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        put(**{"patient_ref": "MRN-SECRET-99", **changes})
    problem = problem_from_validation(caught.value, instance="/api/v1/visits/acme/A-1")
    assert problem.status == 422 and problem.errors is not None
    assert pointer in [e.pointer for e in problem.errors]
    assert "MRN-SECRET-99" not in problem.model_dump_json()


def test_a_row_error_is_a_problem() -> None:
    body = put(visit_type="massage")
    row = build_row(body.raw_row("acme", "A-1"), RULES, KEYER)
    assert isinstance(row, RowError) and row.code is RowErrorCode.UNKNOWN_VISIT_TYPE
    problem = problem_from_row_error(row, body, instance="/api/v1/visits/acme/A-1")
    assert problem.type.endswith("/unknown-visit-type") and problem.status == 422
    assert problem.errors is not None and problem.errors[0].pointer == "/visit_type"
    assert json.loads(problem.body()).keys() == {
        "type", "title", "status", "detail", "instance", "errors",
    }  # fmt: skip


def test_a_skipped_local_time_points_at_local_start() -> None:
    body = put(start=None, local_start="2027-03-14T02:30:00")
    row = build_row(body.raw_row("acme", "A-1"), RULES, KEYER)
    assert isinstance(row, RowError) and row.code is RowErrorCode.NONEXISTENT_TIME
    problem = problem_from_row_error(row, body)
    assert problem.errors is not None and problem.errors[0].pointer == "/local_start"
    assert "instance" not in json.loads(problem.body())  # no nulls in a problem


def test_an_answer_event_body_is_compact_json() -> None:
    event = AnswerEvent(
        id="ev_1",
        type=EventType.VISIT_CHECKIN,
        occurred_at=datetime(2027, 5, 1, tzinfo=UTC),
        source="acme",
        external_id="A-1",
        revision=7,
        data={"answer": "ok"},
    )
    body = json.loads(event.body())
    assert body == {
        "id": "ev_1",
        "type": "visit.checkin",
        "occurred_at": "2027-05-01T00:00:00Z",
        "source": "acme",
        "external_id": "A-1",
        "revision": 7,
        "data": {"answer": "ok"},
    }
    assert b" " not in event.body()


def test_an_event_body_is_utc_in_whole_seconds_and_refuses_a_naive_time() -> None:
    madrid = datetime(2027, 5, 1, 12, 30, 15, 999, tzinfo=ZoneInfo("Europe/Madrid"))
    body = json.loads(
        event_body(
            event_id="x",
            event_type=EventType.VISIT_CONFIRMED,
            occurred_at=madrid,
            source="acme",
            external_id="A-1",
            revision=2,
        )
    )
    assert body["revision"] == 2
    assert body["occurred_at"] == "2027-05-01T10:30:15Z" and body["data"] == {}
    # A moved visit's new start (visit.moved's data.start) is written the same way.
    assert utc_instant(madrid) == body["occurred_at"]
    with pytest.raises(ValueError, match="aware"):
        utc_instant(datetime(2027, 5, 1))
    with pytest.raises(ValueError, match="aware"):
        event_body(
            event_id="x",
            event_type=EventType.VISIT_CONFIRMED,
            occurred_at=datetime(2027, 5, 1),
            source="acme",
            external_id="A-1",
            revision=1,
        )
    assert len({new_event_id() for _ in range(50)}) == 50


# ----------------------------------------------------------------------------- OpenAPI


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def test_the_document_is_openapi_3_1_and_every_ref_resolves() -> None:
    document = openapi_document(server_url="https://clinic.example")
    validate(document)  # openapi-spec-validator: the 3.1 schema, by the document's version
    assert document["openapi"] == "3.1.0"
    path = document["paths"][f"{API_PREFIX}/visits/{{source}}/{{external_id}}"]
    assert set(path) >= {"put", "get", "parameters"}
    schemas = document["components"]["schemas"]
    assert {"VisitPut", "VisitState", "Problem", "AnswerEvent"} <= set(schemas)
    refs = _refs(document)
    assert refs and all(ref.startswith("#/components/schemas/") for ref in refs)
    for ref in refs:
        assert isinstance(_resolve(document, ref), dict), ref
    problem = path["put"]["responses"]["422"]["content"][PROBLEM_MEDIA_TYPE]["schema"]
    assert _resolve(document, problem["$ref"]) == schemas["Problem"]
    json.dumps(document)  # serialisable as it is


def test_the_webhook_publishes_every_event_type_and_the_moved_visits_data() -> None:
    document = openapi_document()
    validate(document)
    body = document["webhooks"]["answer"]["post"]["requestBody"]["content"]["application/json"]
    event = _resolve(document, body["schema"]["$ref"])
    kind = event["properties"]["type"]
    kind = _resolve(document, kind["$ref"]) if "$ref" in kind else kind
    assert kind["enum"] == [t.value for t in EventType]
    assert {"visit.moved", "visit.cancelled"} <= set(kind["enum"])
    assert "``visit.moved``: moved the visit" in kind["description"]  # the enum's docstring
    assert "visit.moved: start" in event["properties"]["data"]["description"]


def test_events_and_the_visit_carry_the_visits_revision_for_ordering() -> None:
    document = openapi_document()
    schemas = document["components"]["schemas"]
    for name in ("AnswerEvent", "VisitState"):
        assert "revision" in schemas[name]["required"], name
        revision = schemas[name]["properties"]["revision"]
        assert revision["type"] == "integer" and revision["minimum"] == 1
        assert "not higher" in revision["description"]
    answer = document["webhooks"]["answer"]["post"]
    assert "out of order" in answer["description"] and "revision" in answer["description"]
    with pytest.raises(ValueError, match="revision"):
        AnswerEvent.model_validate(
            {"id": "x", "type": "visit.confirmed", "occurred_at": "2027-05-01T00:00:00Z",
             "source": "acme", "external_id": "A-1", "revision": 0}
        )  # fmt: skip


def test_the_documents_schemas_are_the_models_schemas() -> None:
    schemas = openapi_document()["components"]["schemas"]
    assert schemas["Problem"]["required"] == Problem.model_json_schema()["required"]
    assert schemas["VisitPut"]["additionalProperties"] is False
    assert set(schemas["VisitPut"]["properties"]) == set(VisitPut.model_fields)


def test_a_broken_ref_would_be_caught() -> None:
    document = openapi_document()
    document["paths"][f"{API_PREFIX}/visits/{{source}}/{{external_id}}"]["get"]["responses"]["200"][
        "content"
    ]["application/json"]["schema"]["$ref"] = "#/components/schemas/Nope"
    with pytest.raises(KeyError):
        [_resolve(document, ref) for ref in _refs(document)]
