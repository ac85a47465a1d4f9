"""The HTTP API under test: the real application (the harness's), its web application served
on a free loopback port as the polling runtime serves it (bot/web/app.py
``serve_api_while_polling``), a token made through the service, and an aiohttp client."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from multidict import CIMultiDictProxy
from sqlalchemy import select

from bot.db.audit import AuditRecord, AuditRepository
from bot.domain.audit import Surface
from bot.web.app import serve_api_while_polling
from tests.fake_telegram.server import FakeTelegramServer
from tests.integration.harness import Harness, start_harness

SOURCE = "acme"
PATIENT_KEY = "k" * 48
FHIR_SYSTEM = "urn:oid:2.16.840.1.113883.3.7777"
FHIR_TYPES = {"http://clinic.example/types|KET-IV": "infusion", "SPRAVATO": "esketamine"}


@dataclass
class Api:
    harness: Harness
    base: str
    token: str
    http: aiohttp.ClientSession

    def url(self, path: str) -> str:
        return self.base + path

    def auth(self, token: str | None = None, **headers: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}", **headers}

    async def call(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | bytes | None = None,
        *,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, dict[str, Any] | list[Any], CIMultiDictProxy[str]]:
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        async with self.http.request(
            method,
            self.url(path),
            data=data,
            headers={**self.auth(token), "Content-Type": "application/json", **(headers or {})},
        ) as response:
            raw = await response.read()
            return response.status, (json.loads(raw) if raw else {}), response.headers

    async def make_token(self, name: str, source: str = SOURCE) -> str:
        async with self.harness.app.context.transaction() as svc:
            made = await svc.api_tokens.create(Surface.CLI, name, source)
        return made.token

    async def audit(self) -> list[AuditRecord]:
        async with self.harness.app.context.session_factory() as session:
            return list(reversed(await AuditRepository(session).recent(limit=500)))

    async def count(self, model: Any, *where: Any) -> int:
        async with self.harness.app.context.session_factory() as session:
            result = await session.execute(select(model).where(*where))
            return len(result.scalars().all())


def api_settings(**overrides: Any) -> dict[str, Any]:
    return {
        "api_enabled": True,
        "intake_patient_key": PATIENT_KEY,
        "fhir_sources": {FHIR_SYSTEM: SOURCE, "urn:other": "other"},
        "fhir_visit_types": FHIR_TYPES,
        **overrides,
    }


@asynccontextmanager
async def start_api(
    telegram: FakeTelegramServer,
    tmp_path: Path,
    *,
    now: Any,
    token: str | None = None,
    **overrides: Any,
) -> AsyncIterator[Api]:
    """The API served; its token made anew, or `token` (one a first replica made)."""
    async with (
        start_harness(telegram, tmp_path, now=now, **api_settings(**overrides)) as harness,
        serve_api_while_polling(harness.app, port=0) as port,
        aiohttp.ClientSession() as http,
    ):
        assert port is not None
        api = Api(harness, f"http://127.0.0.1:{port}", token or "", http)
        if token is None:
            api.token = await api.make_token("acme-ehr")
        yield api


def visit(**fields: Any) -> dict[str, Any]:
    """A valid PUT body: a booked infusion at a local time in the clinic's zone."""
    return {
        "patient_ref": "MRN-0042",
        "local_start": "2026-11-26T10:00:00",
        "zone": "America/New_York",
        "visit_type": "infusion",
        "status": "booked",
        "label": "J.D.",
        **fields,
    }


def appointment(**fields: Any) -> dict[str, Any]:
    """A FHIR R4 Appointment the settings above map to source acme, type infusion."""
    return {
        "resourceType": "Appointment",
        "id": "apt-1",
        "identifier": [{"system": FHIR_SYSTEM, "value": "A-100"}],
        "status": "booked",
        "appointmentType": {
            "coding": [{"system": "http://clinic.example/types", "code": "KET-IV"}]
        },
        "start": "2026-11-26T10:00:00-05:00",
        "end": "2026-11-26T12:00:00-05:00",
        "participant": [
            {"actor": {"reference": "Patient/p-77", "display": "Jane Roe"}},
            {"actor": {"reference": "Practitioner/dr-1"}},
        ],
        "description": "Jane Roe, ketamine infusion",
        **fields,
    }
