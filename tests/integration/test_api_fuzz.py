"""The HTTP API fuzzed from its own OpenAPI document (schemathesis), against the real
application on loopback with a valid token: every operation, with data that fits the schema
and data that does not; no answer is a 5xx, and every answer is one the document describes
(status, media type, body schema, headers).

Slow (a minute or so): left out of the default run, run by `pytest -m slow` and .ci/run. The
generation is derandomised, so a run is repeatable; FUZZ_EXAMPLES sets the examples per
operation and mode (default 60)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from bot.intake.api_models import API_PREFIX
from tests.conftest import DEFAULT_NOW
from tests.fake_telegram.server import FakeTelegramServer
from tests.integration.api_rig import SOURCE, start_api

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


def _pin_source(document: dict[str, Any]) -> dict[str, Any]:
    """The token's own source in half the paths' place: other sources are a 403 each (tested
    in test_api.py), and the fuzzer would seldom reach the intake command otherwise."""
    for item in document["paths"].values():
        for parameter in item.get("parameters", []):
            if parameter["name"] == "source":
                parameter["schema"] = {"type": "string", "enum": [SOURCE, "other"]}
    return document


def _fuzz(document: dict[str, Any], base_url: str, token: str) -> tuple[list[str], int]:
    """Every operation, positive then negative data; the failures, one line each, and how
    many requests were made."""
    schema = schemathesis.openapi.from_dict(document)
    failures: list[str] = []
    made = [0]
    headers = {"Authorization": f"Bearer {token}"}
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an Err raises here: a test error
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case: schemathesis.Case) -> None:
                response = case.call(base_url=base_url, headers=headers, timeout=10)
                made[0] += 1
                try:
                    case.validate_response(response, checks=CHECKS)
                except Exception as exc:  # every failure of every operation is listed
                    failures.append(
                        f"{case.operation.label}: {response.status_code} "
                        f"{type(exc).__name__}: {str(exc)[:300]}"
                    )

            try:
                run()
            except Unsatisfiable:  # nothing of this operation can be made invalid (no body)
                continue
    return failures, made[0]


@pytest.mark.slow  # about 19 s of generated requests: .ci/run runs it
async def test_the_api_answers_fuzzed_requests_as_documented_and_never_with_a_5xx(
    telegram: FakeTelegramServer, tmp_path: Path
) -> None:
    async with start_api(
        telegram, tmp_path, now=DEFAULT_NOW, api_rate_per_minute=1_000_000, api_burst=100_000
    ) as api:
        async with api.http.get(api.url(f"{API_PREFIX}/openapi.json")) as response:
            document = _pin_source(await response.json())
        # The fuzzer's HTTP client blocks: it runs in a thread while this loop serves.
        failures, made = await asyncio.to_thread(_fuzz, document, api.base, api.token)
    assert failures == [], "\n".join(sorted(set(failures))[:40])
    assert made >= 4 * EXAMPLES  # it did reach the server
