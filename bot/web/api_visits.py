"""The API's routes: visits by the clinic's own id, and FHIR Appointments.

Each reads its path and body, checks the token's source, and calls the one intake command
(``svc.intake``, bot/services/intake.py) inside the call's transaction (bot/web/api_calls.py
``Call.write`` / ``Call.read``). A row the intake command refuses (an unknown type, status or
zone; a start the clocks skip) is a 422 naming the field, never its value.

==========================================  ===============================================
``PUT /visits/{source}/{external_id}``      create (201) or update (200): a ``VisitPut``
``DELETE /visits/{source}/{external_id}``   cancel (200); 404 when never sent
``GET /visits/{source}/{external_id}``      its ``VisitState``; 404 when never sent
``GET /visits?date=YYYY-MM-DD``             the token's source's visits that day (clinic's
                                            zone), earliest first
``PUT /fhir/Appointment/{id}``              a FHIR R4 Appointment (docs/fhir-mapping.md):
                                            create (201) or update (200)
==========================================  ===============================================
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from bot.domain.audit import Surface
from bot.intake.api_models import (
    PROBLEM_BASE,
    Problem,
    ProblemField,
    VisitPut,
    problem_from_row_error,
    problem_from_validation,
)
from bot.intake.fhir import FhirRules, read_appointment
from bot.intake.rows import IntakeRow, RowError, build_row
from bot.services.container import ServiceScope
from bot.services.intake import IntakeService, IntakeUnavailable, RowOutcome, RowResult
from bot.web.api_calls import CALL_KEY, Answer, ApiProblem, Call, problem

__all__ = ["add_visit_routes"]

_VISIT = "/visits/{source}/{external_id}"


def _call(request: web.Request) -> Call:
    call = request[CALL_KEY]
    if not isinstance(call, Call):  # every route is behind the CallGuard, which sets it
        raise TypeError("an API route was reached without its call")
    return call


def _intake(svc: ServiceScope) -> IntakeService:
    """The intake command, or a 503 when the intake settings are missing or wrong (the
    operator's to fix: INTAKE_PATIENT_KEY, INTAKE_STATUSES, INTAKE_VISIT_TYPES)."""
    intake = svc.intake
    try:
        intake.rules  # noqa: B018 - refuses when intake is not configured
        intake.keyer  # noqa: B018
    except IntakeUnavailable:
        raise ApiProblem(
            problem(
                503,
                "intake-unavailable",
                "Visits cannot be received now",
                "The clinic's intake settings are not complete; its operator is to fix them.",
            )
        ) from None
    return intake


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:  # not UTF-8, or not JSON
        raise ApiProblem(
            problem(400, "not-json", "The request body is not JSON", "Send a JSON object.")
        ) from None


def _visit_body(body: bytes, instance: str) -> VisitPut:
    data = _json(body)
    try:
        return VisitPut.model_validate(data)
    except ValidationError as exc:
        raise ApiProblem(problem_from_validation(exc, instance=instance)) from None


def _answer_outcome(outcome: RowOutcome, error: Problem | None) -> Answer:
    if outcome.result is RowResult.ERROR:
        assert error is not None
        raise ApiProblem(error)
    if outcome.result is RowResult.NOT_FOUND or outcome.state is None:
        raise _not_found()
    status = 201 if outcome.result is RowResult.CREATED else 200
    return Answer.of(status, outcome.state)


def _not_found() -> ApiProblem:
    return ApiProblem(
        problem(404, "no-such-visit", "No such visit", "No visit with this id was ever sent.")
    )


async def put_visit(request: web.Request) -> web.StreamResponse:
    call = _call(request)
    source, external_id = request.match_info["source"], request.match_info["external_id"]
    call.require_source(source)
    body = _visit_body(call.body or b"", request.path)

    async def work(svc: ServiceScope) -> Answer:
        intake = _intake(svc)
        row = build_row(body.raw_row(source, external_id), intake.rules, intake.keyer)
        if isinstance(row, RowError):
            raise ApiProblem(problem_from_row_error(row, body, instance=request.path))
        outcome = await intake.put(row, Surface.API)
        error = (
            problem_from_row_error(outcome.error, body, instance=request.path)
            if outcome.error is not None
            else None
        )
        return _answer_outcome(outcome, error)

    return await call.write(work)


async def delete_visit(request: web.Request) -> web.StreamResponse:
    call = _call(request)
    source, external_id = request.match_info["source"], request.match_info["external_id"]
    call.require_source(source)

    async def work(svc: ServiceScope) -> Answer:
        outcome = await _intake(svc).cancel(source, external_id, Surface.API)
        error = _row_problem(outcome.error, request.path) if outcome.error else None
        answer = _answer_outcome(outcome, error)
        return Answer(200, answer.body)  # a cancel never creates

    return await call.write(work)


async def get_visit(request: web.Request) -> web.StreamResponse:
    call = _call(request)
    source, external_id = request.match_info["source"], request.match_info["external_id"]
    call.require_source(source)

    async def work(svc: ServiceScope) -> Answer:
        state = await _intake(svc).state(source, external_id)
        if state is None:
            raise _not_found()
        return Answer.of(200, state)

    return await call.read(work)


def _day(value: str | None) -> date:
    try:
        if value is None or len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise ApiProblem(
            problem(
                400,
                "bad-date",
                "The date is not usable",
                "Give ?date=YYYY-MM-DD, a day in the clinic's zone.",
            )
        ) from None


async def list_visits(request: web.Request) -> web.StreamResponse:
    call = _call(request)
    day = _day(request.query.get("date"))

    async def work(svc: ServiceScope) -> Answer:
        states = await _intake(svc).visits_on(call.source, day)
        return Answer.of(200, list(states))

    return await call.read(work)


def _row_problem(error: RowError, instance: str) -> Problem:
    """A FHIR resource's (or a cancel's) row error: the pointer is the element's name."""
    pointer = f"/{error.field}" if error.field else ""
    return Problem(
        type=PROBLEM_BASE + error.code.value.replace("_", "-"),
        title="The visit cannot be read",
        status=422,
        detail=str(error),
        instance=instance,
        errors=[ProblemField(pointer=pointer, detail=error.message)],
    )


def _fhir_rules(svc: ServiceScope) -> FhirRules:
    settings = svc.settings
    return FhirRules(sources=settings.fhir_sources, visit_types=settings.fhir_visit_types)


async def put_fhir_appointment(request: web.Request) -> web.StreamResponse:
    call = _call(request)
    resource_id = request.match_info["id"]
    resource = _json(call.body or b"")
    if not isinstance(resource, dict):
        raise ApiProblem(
            problem(422, "not-an-appointment", "The body is not a FHIR R4 Appointment")
        )
    if "id" in resource and resource["id"] != resource_id:
        # FHIR's update: the resource's id is the one in the URL.
        raise ApiProblem(
            problem(
                400,
                "id-mismatch",
                "The resource's id is not the one in the path",
                "PUT Appointment/{id} carries the resource with that id (or none).",
            )
        )

    async def work(svc: ServiceScope) -> Answer:
        intake = _intake(svc)
        row = read_appointment(
            resource, rules=_fhir_rules(svc), intake=intake.rules, keyer=intake.keyer
        )
        if isinstance(row, RowError):
            raise ApiProblem(_row_problem(row, request.path))
        _check_fhir_source(call, row)
        outcome = await intake.put(row, Surface.API)
        error = _row_problem(outcome.error, request.path) if outcome.error else None
        return _answer_outcome(outcome, error)

    return await call.write(work)


def _check_fhir_source(call: Call, row: IntakeRow) -> None:
    call.require_source(row.source)


def add_visit_routes(api: web.Application) -> None:
    """The routes, named as the OpenAPI document's operationIds (the audit log names them)."""
    api.router.add_put(_VISIT, put_visit, name="putVisit")
    api.router.add_delete(_VISIT, delete_visit, name="cancelVisit")
    api.router.add_get(_VISIT, get_visit, name="getVisit", allow_head=False)
    api.router.add_get("/visits", list_visits, name="listVisits", allow_head=False)
    api.router.add_put(
        "/fhir/Appointment/{id:[A-Za-z0-9.-]{1,64}}",
        put_fhir_appointment,
        name="putFhirAppointment",
    )
