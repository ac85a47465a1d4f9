"""The HTTP API's bodies (pydantic v2), its errors (RFC 9457) and its OpenAPI 3.1 document.

``PUT /api/v1/visits/{source}/{external_id}`` creates, moves or cancels one visit (the body
is :class:`VisitPut`); ``GET`` on the same path answers :class:`VisitState`. Every error is
a :class:`Problem` (``application/problem+json``). The answers the patients give go back as
:class:`AnswerEvent`, signed (:mod:`bot.intake.signing`), listed under the document's
``webhooks``. :func:`openapi_document` builds the document from these same models, so the
published schema is the one requests are validated with.

A request's personal fields (:data:`PERSONAL_FIELDS`: a name, e-mail, phone, date of birth,
address) are dropped on arrival, before validation; any other unknown field is refused, so
a misspelt field is not silently lost. Problems name fields, never their values.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    NaiveDatetime,
    ValidationError,
    model_validator,
)
from pydantic.json_schema import models_json_schema

from bot.domain.visits import Attendance, Checkin
from bot.intake.csv_import import is_personal_header
from bot.intake.events import EventType
from bot.intake.rows import (
    MAX_EXTERNAL_ID,
    MAX_LABEL,
    MAX_PATIENT_REF,
    SOURCE_PATTERN,
    IntakeStatus,
    RawRow,
    RowError,
)
from bot.intake.signing import SIGNATURE_HEADER

__all__ = [
    "API_PREFIX",
    "PROBLEM_MEDIA_TYPE",
    "AnswerEvent",
    "Problem",
    "ProblemField",
    "VisitPut",
    "VisitState",
    "openapi_document",
    "problem_from_row_error",
    "problem_from_validation",
]

API_PREFIX = "/api/v1"
PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "https://infusion-companion.invalid/problems/"
"""Problem types are URIs; the wiring may publish pages there (RFC 9457 section 3.1.1)."""

_REF = "#/components/schemas/{model}"
_Text80 = Annotated[str, Field(min_length=1, max_length=MAX_LABEL)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _drop_personal(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {
                k: v
                for k, v in data.items()
                if not (isinstance(k, str) and k not in cls.model_fields and is_personal_header(k))
            }
        return data


class VisitPut(_Body):
    """Create, move or cancel the visit named in the path. Exactly one of ``start`` (an
    RFC 3339 instant with its offset) and ``local_start`` (a wall time; read in ``zone``, or
    in the clinic's zone, which the answer then shows); a cancellation may give neither."""

    patient_ref: str = Field(
        min_length=1,
        max_length=MAX_PATIENT_REF,
        description="The patient's reference in the clinic's system; kept only as a keyed hash.",
    )
    start: AwareDatetime | None = Field(default=None, examples=["2027-03-14T09:30:00-04:00"])
    local_start: NaiveDatetime | None = Field(default=None, examples=["2027-03-14T09:30:00"])
    zone: str | None = Field(
        default=None, max_length=64, description="IANA zone", examples=["America/New_York"]
    )
    fold: Literal[0, 1] | None = Field(
        default=None,
        description="For a local time that happens twice: 0 the earlier (the default), 1 later.",
    )
    end: AwareDatetime | None = None
    visit_type: str = Field(min_length=1, max_length=64)
    status: str = Field(
        min_length=1,
        max_length=64,
        description="booked, cancelled, noshow, fulfilled, or the source's own word for one",
    )
    label: _Text80 | None = Field(default=None, description="What staff see")
    language: str | None = Field(default=None, max_length=35, examples=["en", "es"])

    @model_validator(mode="after")
    def _one_start(self) -> VisitPut:
        if self.start is not None and self.local_start is not None:
            raise ValueError("give start or local_start, not both")
        return self

    def raw_row(self, source: str, external_id: str) -> RawRow:
        """The body as the intake command every source builds; ``build_row`` checks the
        rest (zone, type, the status mapping, language)."""
        when = self.start or self.local_start
        return RawRow(
            source=source,
            external_id=external_id,
            patient=self.patient_ref,
            visit_type=self.visit_type,
            status=self.status,
            start=when.isoformat() if when is not None else None,
            zone=self.zone,
            fold=None if self.fold is None else str(self.fold),
            end=self.end.isoformat() if self.end is not None else None,
            label=self.label,
            language=self.language,
        )


class ReminderCounts(BaseModel):
    sent: int = Field(ge=0)
    failed: int = Field(ge=0)
    pending: int = Field(ge=0)


class ChecklistProgress(BaseModel):
    done: int = Field(ge=0)
    total: int = Field(ge=0)


class VisitState(BaseModel):
    """A visit as the bot has it: what was read (to show back) and what the patient did."""

    source: str
    external_id: str
    status: IntakeStatus
    start: datetime | None = Field(description="UTC")
    zone: str | None = Field(description="The zone the start was read in")
    zone_assumed: bool = Field(description="The request gave no zone: the clinic's was used")
    ambiguous: bool = Field(description="The local time happens twice; fold says which")
    fold: Literal[0, 1] = 0
    visit_type: str
    label: str | None = None
    linked: bool = Field(description="The patient has opened the bot for this visit")
    reminders: ReminderCounts
    attendance: Attendance | None = None
    checkin: Checkin | None = None
    checklist: ChecklistProgress
    revision: int = Field(
        ge=1,
        description="Counts every change of the visit, the clinic's and the patient's; "
        "the same number its events carry: ignore an event whose revision is not higher "
        "than the one you have",
    )


class ProblemField(BaseModel):
    pointer: str = Field(description="JSON Pointer (RFC 6901) into the request body")
    detail: str


class Problem(BaseModel):
    """RFC 9457 problem details, with the fields at fault as the extension ``errors``."""

    type: str = "about:blank"
    title: str
    status: int = Field(ge=400, le=599)
    detail: str | None = None
    instance: str | None = None
    errors: list[ProblemField] | None = None

    def body(self) -> bytes:
        """The ``application/problem+json`` body: members without a value left out (RFC 9457
        gives each member a type; null is none of them)."""
        return self.model_dump_json(exclude_none=True).encode("utf-8")


class VisitRef(BaseModel):
    source: str
    external_id: str


class AnswerEvent(BaseModel):
    """What the bot POSTs to the clinic's system when a patient answers, or moves or cancels a
    visit in the bot (bot/intake/events.py), signed in the ``X-Companion-Signature`` header.
    ``id`` is the same on a retry (deduplicate on it); ``revision`` orders one visit's events
    (they may arrive out of order). ``data`` holds codes (and a moved visit's new start and
    zone), never anything the patient wrote."""

    id: str = Field(description="Unique per event; repeated on retries")
    type: EventType
    occurred_at: AwareDatetime = Field(description="When it happened, UTC")
    source: str = Field(description="The clinic's schedule the visit comes from")
    external_id: str = Field(description="The appointment's id in that schedule")
    revision: int = Field(
        ge=1,
        description="The visit's revision after this change: higher for every later change "
        "of the visit (the clinic's too, as the API's visit shows it). Events may arrive out "
        "of order: ignore one whose revision is not higher than the one you have",
    )
    data: dict[str, str] = Field(
        default_factory=dict,
        description="visit.moved: start (the new start, UTC, as occurred_at) and zone (IANA); "
        "visit.checkin: answer (ok, off, call, typed); patient.unreachable: reason (blocked); "
        "the others: empty",
    )

    def body(self) -> bytes:
        """The exact bytes sent and signed: compact JSON."""
        return self.model_dump_json().encode("utf-8")


def _pointer(loc: tuple[int | str, ...]) -> str:
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in loc]
    return "/" + "/".join(parts) if parts else ""


def problem_from_validation(exc: ValidationError, *, instance: str | None = None) -> Problem:
    """A 422 naming each field at fault; pydantic's ``input`` (the values) is left out."""
    fields = [
        ProblemField(pointer=_pointer(tuple(e["loc"])), detail=e["msg"]) for e in exc.errors()
    ]
    return Problem(
        type=PROBLEM_BASE + "invalid-body",
        title="The request body is not valid",
        status=422,
        detail=f"{len(fields)} field(s) at fault",
        instance=instance,
        errors=fields,
    )


def problem_from_row_error(
    error: RowError, body: VisitPut, *, instance: str | None = None
) -> Problem:
    """A 422 for a body that was well formed but cannot be a visit (an unknown type, ...),
    pointing at the member of ``body`` the row's field came from."""
    start = "/local_start" if body.local_start is not None else "/start"
    pointer = {"patient": "/patient_ref", "external_id": "", "start": start}.get(
        error.field or "", f"/{error.field}" if error.field else ""
    )
    return Problem(
        type=PROBLEM_BASE + error.code.value.replace("_", "-"),
        title="The visit cannot be read",
        status=422,
        detail=str(error),
        instance=instance,
        errors=[ProblemField(pointer=pointer, detail=error.message)],
    )


def _content(name: str, media: str = "application/json") -> dict[str, Any]:
    return {media: {"schema": {"$ref": _REF.format(model=name)}}}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": _content("Problem", PROBLEM_MEDIA_TYPE)}


def openapi_document(*, version: str = "1", server_url: str | None = None) -> dict[str, Any]:
    """The API's OpenAPI 3.1 document, its schemas from the models above."""
    _, top = models_json_schema(
        [
            (VisitPut, "validation"),
            (VisitState, "serialization"),
            (Problem, "serialization"),
            (AnswerEvent, "serialization"),
        ],
        ref_template=_REF,
    )
    schemas = top.get("$defs", {})
    path_params = [
        {
            "name": "source",
            "in": "path",
            "required": True,
            "schema": {"type": "string", "pattern": f"^{SOURCE_PATTERN.pattern}$"},
            "description": "The clinic's schedule the visit comes from",
        },
        {
            "name": "external_id",
            "in": "path",
            "required": True,
            "schema": {"type": "string", "minLength": 1, "maxLength": MAX_EXTERNAL_ID},
            "description": "The appointment's id in that schedule",
        },
    ]
    idempotency = {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "schema": {"type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[ -~]+$"},
        "description": "The same key with the same request within a day gets the same "
        "response, and the work is done once; with another request, a 422.",
    }
    common = {
        "401": _problem("No or a wrong API token"),
        "403": _problem("The token may not use this source"),
        "413": _problem("The request body is too large"),
        "429": {
            **_problem("Too many requests from this token; try again after Retry-After"),
            "headers": {
                "Retry-After": {
                    "description": "Seconds to wait",
                    "schema": {"type": "integer", "minimum": 1},
                }
            },
        },
        "503": _problem("Visits cannot be received now (the clinic's intake settings)"),
    }
    writes = {
        "400": _problem("The body is not JSON, or the Idempotency-Key is not usable"),
        "404": _problem("No such visit (a cancel of one never sent)"),
        "422": _problem(
            "The body is not valid, names an unknown type, status or zone, or the "
            "Idempotency-Key was used for another request"
        ),
    }
    reads = {"400": _problem("A query value is not usable"), "404": _problem("No such visit")}
    created = {
        "200": {"description": "Updated (or unchanged)", "content": _content("VisitState")},
        "201": {"description": "Created", "content": _content("VisitState")},
    }
    schemas["FhirAppointment"] = {
        "type": "object",
        "description": "A FHIR R4 Appointment (docs/fhir-mapping.md: the elements read)",
        "required": ["resourceType", "status"],
        "properties": {
            "resourceType": {"const": "Appointment"},
            "id": {"type": "string", "pattern": "^[A-Za-z0-9.-]{1,64}$"},
            "status": {"type": "string"},
            "identifier": {"type": "array", "items": {"type": "object"}},
            "appointmentType": {"type": "object"},
            "start": {"type": "string"},
            "end": {"type": "string"},
            "participant": {"type": "array", "items": {"type": "object"}},
        },
        "additionalProperties": True,
    }
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "infusion-companion intake API",
            "version": version,
            "description": "Visits from the clinic's schedule; answers go back as signed "
            f"events ({SIGNATURE_HEADER}: t=<unix>,v1=<hex HMAC-SHA256 of 't.body'>). Every "
            "error is a problem (RFC 9457, application/problem+json).",
        },
        "paths": {
            f"{API_PREFIX}/visits/{{source}}/{{external_id}}": {
                "parameters": path_params,
                "put": {
                    "operationId": "putVisit",
                    "summary": "Create, move or cancel a visit",
                    "parameters": [idempotency],
                    "requestBody": {"required": True, "content": _content("VisitPut")},
                    "responses": {**created, **writes, **common},
                },
                "delete": {
                    "operationId": "cancelVisit",
                    "summary": "Cancel a visit",
                    "parameters": [idempotency],
                    "responses": {
                        "200": {"description": "Cancelled", "content": _content("VisitState")},
                        **writes,
                        **common,
                    },
                },
                "get": {
                    "operationId": "getVisit",
                    "summary": "A visit's state: linked, reminders, answers, checklist",
                    "responses": {
                        "200": {"description": "The visit", "content": _content("VisitState")},
                        **reads,
                        **common,
                    },
                },
            },
            f"{API_PREFIX}/visits": {
                "get": {
                    "operationId": "listVisits",
                    "summary": "The token's source's visits of a day (the clinic's zone)",
                    "parameters": [
                        {
                            "name": "date",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "string", "format": "date"},
                            "description": "YYYY-MM-DD",
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "Earliest first",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "array",
                                        "items": {"$ref": _REF.format(model="VisitState")},
                                    }
                                }
                            },
                        },
                        **reads,
                        **common,
                    },
                }
            },
            f"{API_PREFIX}/fhir/Appointment/{{id}}": {
                "parameters": [
                    {
                        "name": "id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "pattern": "^[A-Za-z0-9.-]{1,64}$"},
                        "description": "The Appointment's logical id",
                    }
                ],
                "put": {
                    "operationId": "putFhirAppointment",
                    "summary": "Create, move or cancel a visit from a FHIR R4 Appointment",
                    "parameters": [idempotency],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/fhir+json": {
                                "schema": {"$ref": _REF.format(model="FhirAppointment")}
                            },
                            "application/json": {
                                "schema": {"$ref": _REF.format(model="FhirAppointment")}
                            },
                        },
                    },
                    "responses": {
                        **created,
                        **writes,
                        "400": _problem(
                            "Not JSON, an unusable Idempotency-Key, or the resource's id is "
                            "not the path's"
                        ),
                        **common,
                    },
                },
            },
            f"{API_PREFIX}/openapi.json": {
                "get": {
                    "operationId": "getOpenApi",
                    "summary": "This document",
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "OpenAPI 3.1",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
        },
        "webhooks": {
            "answer": {
                "post": {
                    "summary": "A patient answered, moved or cancelled a visit (signed in "
                    + SIGNATURE_HEADER
                    + ")",
                    "description": "Events may arrive out of order (sent after the commit, "
                    "retried) and more than once (deduplicate on id). Each carries the visit's "
                    "revision, which every later change of the visit, the clinic's or the "
                    "patient's, raises, and which the visit's GET, PUT and DELETE answers "
                    "carry too: keep the highest revision per (source, external_id) and ignore "
                    "an event whose revision is not higher; on a gap, GET the visit.",
                    "parameters": [
                        {
                            "name": SIGNATURE_HEADER,
                            "in": "header",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "requestBody": {"required": True, "content": _content("AnswerEvent")},
                    "responses": {"2XX": {"description": "Received"}},
                }
            }
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }
    if server_url:
        document["servers"] = [{"url": server_url}]
    return document
