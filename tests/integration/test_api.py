"""The HTTP API over real HTTP on loopback, against the real application and database:
tokens and their scope, problem details, Idempotency-Key, the body and rate limits, the
OpenAPI document, visits through the intake command, FHIR Appointments, and the audit log
(every call, never patient data)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from openapi_spec_validator import validate
from sqlalchemy import select

from bot.db.models import ApiIdempotency, IntakeVisit
from bot.domain.audit import Surface
from bot.intake.api_models import API_PREFIX, PROBLEM_MEDIA_TYPE
from bot.services.retention import RetentionService
from bot.web.api import build_api_app
from bot.web.app import serve_api_while_polling
from tests.conftest import DEFAULT_NOW
from tests.fake_telegram.server import FakeTelegramServer
from tests.integration.api_rig import Api, appointment, start_api, visit

V = f"{API_PREFIX}/visits"
FHIR = f"{API_PREFIX}/fhir/Appointment"


@pytest.fixture
async def api(telegram: FakeTelegramServer, tmp_path: Path) -> AsyncIterator[Api]:
    async with start_api(telegram, tmp_path, now=DEFAULT_NOW) as rig:
        yield rig


def assert_problem(status: int, body: Any, headers: Any, expected: int) -> dict[str, Any]:
    """RFC 9457: the media type, and type/title/status as members."""
    assert status == expected, body
    assert headers["Content-Type"].startswith(PROBLEM_MEDIA_TYPE)
    assert isinstance(body, dict)
    assert body["status"] == expected
    assert body["type"].startswith("https://") or body["type"] == "about:blank"
    assert isinstance(body["title"], str) and body["title"]
    assert None not in body.values()
    return body


# --- the document ---------------------------------------------------------------------------
async def test_the_openapi_document_is_served_valid_and_names_every_route(api: Api) -> None:
    async with api.http.get(api.url(f"{API_PREFIX}/openapi.json")) as response:  # no token
        assert response.status == 200
        document = await response.json()
    validate(document)
    assert document["openapi"] == "3.1.0"
    served: set[tuple[str, str]] = set()
    for resource in build_api_app(api.harness.app).router.resources():
        info = resource.get_info()
        path = API_PREFIX + info.get("path", info.get("formatter", ""))
        path = path.replace("{id:[A-Za-z0-9.-]{1,64}}", "{id}")
        for route in resource:
            served.add((path, route.method.lower()))
    documented = {
        (p, m) for p, item in document["paths"].items() for m in item if m != "parameters"
    }
    assert served == documented
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method == "parameters" or path.endswith("openapi.json"):
                continue
            assert {"401", "413", "429"} <= set(operation["responses"]), (path, method)


# --- tokens ---------------------------------------------------------------------------------
async def test_no_wrong_or_revoked_token_is_a_401_problem(api: Api) -> None:
    path = f"{V}/acme/A-1"
    async with api.http.get(api.url(path)) as response:
        body = await response.json(content_type=None)
        assert_problem(response.status, body, response.headers, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    for header in ("Basic abc", "Bearer", "Bearer icp_not-a-token", f"Token {api.token}"):
        async with api.http.get(api.url(path), headers={"Authorization": header}) as response:
            body = await response.json(content_type=None)
            assert_problem(response.status, body, response.headers, 401)
    spare = await api.make_token("spare")
    status, _, _ = await api.call("GET", f"{V}?date=2026-11-26", token=spare)
    assert status == 200
    async with api.harness.app.context.transaction() as svc:
        await svc.api_tokens.revoke(Surface.CLI, "spare")
    status, body, headers = await api.call("GET", f"{V}?date=2026-11-26", token=spare)
    assert_problem(status, body, headers, 401)


async def test_a_token_reaches_only_its_own_source(api: Api) -> None:
    status, body, headers = await api.call("PUT", f"{V}/other/A-1", visit())
    assert_problem(status, body, headers, 403)
    for method in ("GET", "DELETE"):
        status, body, headers = await api.call(method, f"{V}/other/A-1")
        assert_problem(status, body, headers, 403)
    assert await api.count(IntakeVisit) == 0
    # FHIR: the identifier's system names another source.
    other = appointment(identifier=[{"system": "urn:other", "value": "A-9"}])
    status, body, headers = await api.call("PUT", f"{FHIR}/apt-1", other)
    assert_problem(status, body, headers, 403)
    assert await api.count(IntakeVisit) == 0


# --- visits ---------------------------------------------------------------------------------
async def test_a_visit_is_created_read_listed_updated_and_cancelled(api: Api) -> None:
    status, made, _ = await api.call("PUT", f"{V}/acme/A-1", visit())
    assert status == 201, made
    assert isinstance(made, dict)
    assert (made["source"], made["external_id"], made["status"]) == ("acme", "A-1", "booked")
    assert made["start"].startswith("2026-11-26T15:00:00")  # 10:00 in New York, in UTC
    assert made["linked"] is False
    status, again, _ = await api.call("PUT", f"{V}/acme/A-1", visit())
    assert status == 200
    assert again == made
    status, read, _ = await api.call("GET", f"{V}/acme/A-1")
    assert (status, read) == (200, made)
    status, listed, _ = await api.call("GET", f"{V}?date=2026-11-26")
    assert (status, listed) == (200, [made])
    status, other_day, _ = await api.call("GET", f"{V}?date=2026-11-27")
    assert (status, other_day) == (200, [])
    status, moved, _ = await api.call(
        "PUT", f"{V}/acme/A-1", visit(local_start="2026-11-27T09:00:00")
    )
    assert status == 200
    assert isinstance(moved, dict) and moved["start"].startswith("2026-11-27T14:00:00")
    status, cancelled, _ = await api.call("DELETE", f"{V}/acme/A-1")
    assert status == 200
    assert isinstance(cancelled, dict) and cancelled["status"] == "cancelled"
    for method in ("GET", "DELETE"):
        status, body, headers = await api.call(method, f"{V}/acme/NEVER")
        assert_problem(status, body, headers, 404)


async def test_bodies_that_are_not_visits_are_problems_naming_fields_not_values(
    api: Api,
) -> None:
    status, body, headers = await api.call("PUT", f"{V}/acme/A-1", b"{not json")
    assert_problem(status, body, headers, 400)
    status, body, headers = await api.call(
        "PUT", f"{V}/acme/A-1", {"patient_ref": "MRN-SECRET-77", "status": "booked"}
    )
    problem = assert_problem(status, body, headers, 422)
    assert {"/visit_type"} <= {e["pointer"] for e in problem["errors"]}
    assert "MRN-SECRET-77" not in json.dumps(problem)
    status, body, headers = await api.call(
        "PUT", f"{V}/acme/A-1", visit(patient_ref="MRN-SECRET-77", visit_type="massage")
    )
    problem = assert_problem(status, body, headers, 422)
    assert [e["pointer"] for e in problem["errors"]] == ["/visit_type"]
    assert "MRN-SECRET-77" not in json.dumps(problem) and "massage" not in json.dumps(problem)
    # A start the clocks skip (14 March 2027, 02:30 in New York).
    status, body, headers = await api.call(
        "PUT", f"{V}/acme/A-1", visit(local_start="2027-03-14T02:30:00")
    )
    problem = assert_problem(status, body, headers, 422)
    assert [e["pointer"] for e in problem["errors"]] == ["/local_start"]
    status, body, headers = await api.call("GET", f"{V}?date=26/11/2026")
    assert_problem(status, body, headers, 400)
    status, body, headers = await api.call("GET", f"{V}")
    assert_problem(status, body, headers, 400)
    assert await api.count(IntakeVisit) == 0


async def test_unknown_paths_and_methods_are_problems_too(api: Api) -> None:
    status, body, headers = await api.call("GET", f"{API_PREFIX}/nothing-here")
    assert_problem(status, body, headers, 404)
    status, body, headers = await api.call("POST", f"{V}/acme/A-1", visit())
    assert_problem(status, body, headers, 405)
    assert {"PUT", "GET", "DELETE"} <= set(headers["Allow"].split(","))


async def test_an_unexpected_failure_is_a_500_problem_logged_by_class_only(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.services.intake import IntakeService

    async def broken(self: IntakeService, source: str, external_id: str) -> None:
        raise RuntimeError("MRN-SECRET-77 in a message")

    monkeypatch.setattr(IntakeService, "state", broken)
    with caplog.at_level(logging.ERROR):
        status, body, headers = await api.call("GET", f"{V}/acme/A-1")
    assert_problem(status, body, headers, 500)
    assert "RuntimeError" in caplog.text
    assert "MRN-SECRET-77" not in caplog.text
    [line] = [a for a in await api.audit() if a.action == "api.call"]
    assert line.outcome == "refused"
    assert line.after is not None and line.after["status"] == 500


# --- Idempotency-Key ------------------------------------------------------------------------
async def test_an_idempotency_key_replays_the_stored_answer_and_refuses_another_request(
    api: Api,
) -> None:
    key = {"Idempotency-Key": "7b0c9e3a-first"}
    status, first, headers = await api.call("PUT", f"{V}/acme/A-1", visit(), headers=key)
    assert status == 201
    assert "Idempotent-Replayed" not in headers
    # The visit moves meanwhile (without the key): the replay is still the first answer.
    moved = visit(local_start="2026-11-27T09:00:00")
    assert (await api.call("PUT", f"{V}/acme/A-1", moved))[0] == 200
    status, replay, headers = await api.call("PUT", f"{V}/acme/A-1", visit(), headers=key)
    assert (status, replay) == (201, first)
    assert headers["Idempotent-Replayed"] == "true"
    status, state, _ = await api.call("GET", f"{V}/acme/A-1")
    assert isinstance(state, dict) and state["start"].startswith("2026-11-27")  # not redone
    status, body, headers = await api.call(
        "PUT", f"{V}/acme/A-1", visit(label="other"), headers=key
    )
    problem = assert_problem(status, body, headers, 422)
    assert problem["type"].endswith("idempotency-key-reused")
    # Another path with the same key is another request too.
    status, body, headers = await api.call("PUT", f"{V}/acme/A-2", visit(), headers=key)
    assert_problem(status, body, headers, 422)
    assert await api.count(IntakeVisit, IntakeVisit.external_id == "A-2") == 0
    # Keys are per token: another token's same key is its own.
    other = await api.make_token("second")
    status, _, headers = await api.call("PUT", f"{V}/acme/A-3", visit(), headers=key, token=other)
    assert status == 201 and "Idempotent-Replayed" not in headers
    for bad in ("x" * 129, "naïve"):
        status, body, headers = await api.call(
            "DELETE", f"{V}/acme/A-1", headers={"Idempotency-Key": bad}
        )
        assert_problem(status, body, headers, 400)


async def test_two_requests_with_one_key_at_once_do_the_work_once(api: Api) -> None:
    key = {"Idempotency-Key": "same-time"}
    answers = await asyncio.gather(
        *(api.call("PUT", f"{V}/acme/A-1", visit(), headers=key) for _ in range(4))
    )
    assert {status for status, _, _ in answers} == {201}
    assert len({json.dumps(body) for _, body, _ in answers}) == 1
    assert sum("Idempotent-Replayed" in h for _, _, h in answers) == 3
    assert await api.count(IntakeVisit) == 1
    imports = [a for a in await api.audit() if a.action == "visits.import"]
    assert len(imports) <= 1  # the work's own audit line, once


async def test_the_same_new_visit_sent_several_times_at_once_is_made_once(api: Api) -> None:
    answers = await asyncio.gather(*(api.call("PUT", f"{V}/acme/A-1", visit()) for _ in range(4)))
    statuses = sorted(status for status, _, _ in answers)
    assert statuses == [200, 200, 200, 201], answers
    assert await api.count(IntakeVisit) == 1


async def test_keys_are_dropped_after_a_day_by_the_retention_job(api: Api) -> None:
    h = api.harness
    key = {"Idempotency-Key": "yesterday"}
    assert (await api.call("PUT", f"{V}/acme/A-1", visit(), headers=key))[0] == 201
    retention = RetentionService(h.app.context.session_factory, h.clock, days=180)
    h.clock.advance(timedelta(hours=23))
    await retention.run()
    assert await api.count(ApiIdempotency) == 1
    h.clock.advance(timedelta(hours=2))
    await retention.run()
    assert await api.count(ApiIdempotency) == 0
    status, _, headers = await api.call("PUT", f"{V}/acme/A-1", visit(label="x"), headers=key)
    assert status == 200 and "Idempotent-Replayed" not in headers


# --- limits ---------------------------------------------------------------------------------
async def test_a_body_over_the_limit_is_a_413_problem(
    telegram: FakeTelegramServer, tmp_path: Path
) -> None:
    async with start_api(telegram, tmp_path, now=DEFAULT_NOW, api_max_body=1024) as api:
        big = visit(label="x" * 2000)
        status, body, headers = await api.call("PUT", f"{V}/acme/A-1", big)
        assert_problem(status, body, headers, 413)

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
            for _ in range(8):
                yield b" " * 512

        async with api.http.put(
            api.url(f"{V}/acme/A-1"), data=chunks(), headers=api.auth()
        ) as response:
            body = await response.json(content_type=None)
            assert_problem(response.status, body, response.headers, 413)
        assert (await api.call("PUT", f"{V}/acme/A-1", visit()))[0] == 201


async def test_over_the_rate_a_token_gets_429_with_retry_after(
    telegram: FakeTelegramServer, tmp_path: Path
) -> None:
    async with start_api(
        telegram, tmp_path, now=DEFAULT_NOW, api_rate_per_minute=30, api_burst=3
    ) as api:
        path = f"{V}?date=2026-11-26"
        for _ in range(3):
            assert (await api.call("GET", path))[0] == 200
        status, body, headers = await api.call("GET", path)
        problem = assert_problem(status, body, headers, 429)
        assert problem["type"].endswith("rate-limited")
        assert int(headers["Retry-After"]) == 2  # one call every 2 s
        # Another token has its own allowance.
        other = await api.make_token("second")
        assert (await api.call("GET", path, token=other))[0] == 200
        api.harness.clock.advance(timedelta(seconds=2))
        assert (await api.call("GET", path))[0] == 200
        assert (await api.call("GET", path))[0] == 429
        refused = [a for a in await api.audit() if a.after and a.after.get("status") == 429]
        assert len(refused) == 2


# --- FHIR -----------------------------------------------------------------------------------
async def test_a_fhir_appointment_is_a_visit(api: Api) -> None:
    status, made, _ = await api.call("PUT", f"{FHIR}/apt-1", appointment())
    assert status == 201, made
    assert isinstance(made, dict)
    assert (made["source"], made["external_id"], made["visit_type"]) == (
        "acme",
        "A-100",
        "infusion",
    )
    assert made["start"].startswith("2026-11-26T15:00:00")
    # Moved, then cancelled; the id in the body may be left out.
    moved = appointment(start="2026-11-27T10:00:00-05:00", end="2026-11-27T12:00:00-05:00")
    del moved["id"]
    status, state, _ = await api.call("PUT", f"{FHIR}/apt-1", moved)
    assert status == 200 and isinstance(state, dict) and state["start"].startswith("2026-11-27")
    status, state, _ = await api.call("PUT", f"{FHIR}/apt-1", appointment(status="cancelled"))
    assert status == 200 and isinstance(state, dict) and state["status"] == "cancelled"
    # The name in the resource went no further than the parser.
    async with api.harness.app.context.session_factory() as session:
        rows = (await session.execute(select(IntakeVisit))).scalars().all()
    assert "Jane" not in repr([vars(r) for r in rows])
    assert "Jane" not in repr(await api.audit())


@pytest.mark.parametrize(
    ("change", "status", "pointer"),
    [
        ({"status": "maybe"}, 422, "/status"),  # not an R4 code
        ({"status": "proposed"}, 422, "/status"),  # not booked yet
        ({"end": "2026-11-26T09:00:00-05:00"}, 422, "/end"),  # before the start
        ({"start": "2026-11-26T10:00:00"}, 422, "/start"),  # no offset
        ({"appointmentType": {"coding": [{"code": "MASSAGE"}]}}, 422, "/appointmentType"),
        ({"participant": []}, 422, "/participant"),
        ({"identifier": [{"system": "urn:nobody", "value": "1"}]}, 422, "/identifier"),
        ({"resourceType": "Patient"}, 422, ""),
        ({"id": "apt-2"}, 400, None),  # not the path's id
    ],
)
async def test_fhir_appointments_that_cannot_be_visits_are_problems(
    api: Api, change: dict[str, Any], status: int, pointer: str | None
) -> None:
    got, body, headers = await api.call("PUT", f"{FHIR}/apt-1", appointment(**change))
    problem = assert_problem(got, body, headers, status)
    if pointer is not None:
        assert [e["pointer"] for e in problem.get("errors", [{"pointer": ""}])] == [pointer]
    assert "Jane" not in json.dumps(problem)
    assert await api.count(IntakeVisit) == 0


# --- audit ----------------------------------------------------------------------------------
async def test_every_call_is_audited_without_patient_data(api: Api) -> None:
    await api.call("PUT", f"{V}/acme/A-1", visit(patient_ref="MRN-SECRET-77", label="J.D."))
    await api.call("GET", f"{V}/acme/A-1")
    await api.call("GET", f"{V}?date=2026-11-26")
    await api.call("PUT", f"{V}/other/A-1", visit(patient_ref="MRN-SECRET-77"))
    await api.call("PUT", f"{V}/acme/A-1", b"[1, 2")
    await api.call("GET", f"{V}/acme/A-1", token="icp_wrong")
    await api.call("PUT", f"{FHIR}/apt-1", appointment())
    await api.call("DELETE", f"{V}/acme/A-1")
    calls = [a for a in await api.audit() if a.action == "api.call"]
    seen = [(a.after or {}).get("route") for a in calls]
    assert seen == [
        "putVisit",
        "getVisit",
        "listVisits",
        "putVisit",
        "putVisit",
        "getVisit",
        "putFhirAppointment",
        "cancelVisit",
    ]
    statuses = [(a.after or {}).get("status") for a in calls]
    assert statuses == [201, 200, 200, 403, 400, 401, 201, 200]
    assert [a.outcome for a in calls] == ["done"] * 3 + ["refused"] * 3 + ["done"] * 2
    assert calls[0].target.startswith("api_token:") and calls[5].target == "api_token:none"
    everything = json.dumps([[a.target, a.before, a.after] for a in await api.audit()])
    for private in ("MRN-SECRET-77", "J.D.", "Jane", "2026-11-26T15:00", "p-77"):
        assert private not in everything


async def test_the_api_is_served_only_when_enabled(
    telegram: FakeTelegramServer, tmp_path: Path
) -> None:
    from tests.integration.harness import start_harness

    async with (
        start_harness(telegram, tmp_path, now=DEFAULT_NOW) as h,
        serve_api_while_polling(h.app, port=0) as port,
    ):
        assert port is None


async def test_polling_serves_the_api_on_web_port_while_the_bot_runs(
    telegram: FakeTelegramServer, tmp_path: Path
) -> None:
    from bot.factory import create_application, create_bot
    from bot.runtime import StartupError, run_polling
    from tests.integration.harness import make_settings
    from tests.integration.replicas import free_port

    port = free_port()
    settings = make_settings(telegram, tmp_path, api_enabled=True, web_port=port)
    app = create_application(settings, bot=create_bot(settings, session=telegram.session()))
    runner = asyncio.create_task(run_polling(settings, app, handle_signals=False))
    try:
        document = None
        async with aiohttp.ClientSession() as http:
            for _ in range(300):  # the start-up (migrations, menus) comes first
                try:
                    async with http.get(
                        f"http://127.0.0.1:{port}{API_PREFIX}/openapi.json"
                    ) as response:
                        document = await response.json()
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
        assert document is not None and document["openapi"] == "3.1.0"
        # A second process on the same port: one line, no traceback.
        other = make_settings(telegram, tmp_path / "other", api_enabled=True, web_port=port)
        (tmp_path / "other").mkdir()
        second = create_application(other, bot=create_bot(other, session=telegram.session()))
        with pytest.raises(StartupError, match=f"cannot listen on 127.0.0.1:{port}"):
            await run_polling(other, second, handle_signals=False)
    finally:
        await app.dispatcher.stop_polling()
        await asyncio.wait_for(runner, 10)
