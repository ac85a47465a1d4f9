"""The HTTP API upserting visits, beside a bare aiohttp JSON endpoint writing the same row.

    .venv/bin/python -m bench.intake_api     # [--visits 2000] [--patients 100] [--clients 8]
                                             # [--rounds 3] [--database-url URL]

Both servers run in this process on loopback, over one database (a fresh SQLite file, or
``--database-url`` at PostgreSQL: an empty database, migrated here), and the same client
(aiohttp, ``--clients`` requests in flight) sends each ``--visits`` PUTs of distinct visits of
``--patients`` patients, in alternating rounds, so the machine's load falls on both alike:

* **the API**: ``PUT /api/v1/visits/{source}/{external_id}`` with a bearer token, as an
  integration calls it: the token looked up, the rate limit, the body read and validated
  (pydantic), the row built (zones, the status and type mappings, the patient's keyed hash),
  the one intake command (the visit upserted, an invite for a patient's first visit, the
  audit lines), the answer's ``VisitState`` read back; and once more with an
  ``Idempotency-Key`` on every call (the response stored with the work);
* **bare**: a handler that reads the JSON, parses the start, keys the patient reference and
  upserts the same ``intake_visits`` row (select by source and id, insert or update) in one
  transaction, answering ``{"ok": true}``: what any endpoint writing that row pays.

* **intake**: a bare handler calling the intake command itself (pydantic body, the row built,
  ``svc.intake.put`` in one transaction), without the API's token, limits, problems,
  Idempotency-Key or audit line: the API's own cost is its difference from this one.

Reported: visits a second for each (the median round), the ratio to bare, and the SQL
statements a visit took, in one run. Target: the API at 0.5x the bare endpoint or better.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import event, select

from bench.common import log, print_machine

SOURCE = "bench"
SECRET = "bench-intake-secret-" + "x" * 32


def _visits(count: int, patients: int, offset: int) -> list[tuple[str, dict[str, Any]]]:
    first = datetime(2027, 1, 4, 9, 0)
    out = []
    for i in range(count):
        local = first + timedelta(days=(i // 20) % 300, minutes=30 * (i % 20))
        out.append(
            (
                f"APT-{offset + i:07d}",
                {
                    "patient_ref": f"MRN-{i % patients:06d}",
                    "local_start": local.isoformat(),
                    "zone": "America/New_York",
                    "visit_type": "infusion",
                    "status": "booked",
                    "label": "Chair 2",
                },
            )
        )
    return out


async def _drive(
    http: aiohttp.ClientSession,
    url: Callable[[str], str],
    visits: list[tuple[str, dict[str, Any]]],
    clients: int,
    headers: Callable[[str], dict[str, str]],
) -> float:
    """Seconds to PUT every visit, `clients` at a time; every answer must be a 2xx."""
    queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
    for item in visits:
        queue.put_nowait(item)

    async def client() -> None:
        while not queue.empty():
            external_id, body = queue.get_nowait()
            async with http.put(
                url(external_id), data=json.dumps(body), headers=headers(external_id)
            ) as response:
                await response.read()
                assert response.status < 300, (response.status, await response.text())

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return time.perf_counter() - started


def _intake_app(services: Any) -> web.Application:
    """A bare aiohttp handler calling the intake command itself (no token, limits,
    Idempotency-Key, problems or audit line of the API's own): what the API adds is the
    difference."""
    from bot.domain.audit import Surface
    from bot.intake.api_models import VisitPut
    from bot.intake.rows import RowError, build_row

    async def put(request: web.Request) -> web.Response:
        source, external_id = request.match_info["source"], request.match_info["external_id"]
        body = VisitPut.model_validate_json(await request.read())
        async with services.transaction() as svc:
            row = build_row(body.raw_row(source, external_id), svc.intake.rules, svc.intake.keyer)
            assert not isinstance(row, RowError), row
            outcome = await svc.intake.put(row, Surface.API)
        assert outcome.state is not None
        return web.Response(body=outcome.state.model_dump_json(), content_type="application/json")

    bare = web.Application()
    bare.router.add_put("/intake/{source}/{external_id}", put)
    return bare


def _bare_app(session_factory: Any, keyer: Any) -> web.Application:
    from bot.db.models import IntakeVisit
    from foundation.timemath import load_zone

    zone = load_zone("America/New_York")

    async def put(request: web.Request) -> web.Response:
        source, external_id = request.match_info["source"], request.match_info["external_id"]
        body = json.loads(await request.read())
        start = datetime.fromisoformat(body["local_start"]).replace(tzinfo=zone).astimezone(UTC)
        key = keyer.key(source, body["patient_ref"])
        now = datetime.now(UTC)
        async with session_factory() as session, session.begin():
            visit = (
                await session.execute(
                    select(IntakeVisit).where(
                        IntakeVisit.source == source, IntakeVisit.external_id == external_id
                    )
                )
            ).scalar_one_or_none()
            if visit is None:
                visit = IntakeVisit(source=source, external_id=external_id, created_at=now)
                session.add(visit)
            visit.patient_key = key
            visit.starts_at = start
            visit.timezone = body["zone"]
            visit.visit_type = body["visit_type"]
            visit.status = body["status"]
            visit.label = body["label"]
            visit.updated_at = now
        return web.json_response({"ok": True})

    bare = web.Application()
    bare.router.add_put("/bare/{source}/{external_id}", put)
    return bare


async def _serve(web_app: web.Application) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = next(a[1] for a in runner.addresses if isinstance(a, tuple))
    return runner, int(port)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from bot.config import Settings
    from bot.db.migrate import upgrade
    from bot.domain.audit import Surface
    from bot.factory import create_application
    from bot.intake.patient_ref import PatientKeyer
    from bot.web.app import serve_api_while_polling

    folder = Path(tempfile.mkdtemp(prefix="bench-intake-api-"))
    url = args.database_url or f"sqlite+aiosqlite:///{folder / 'bench.db'}"
    settings = Settings(
        _env_file=None,
        bot_token="42:BENCH",
        telegram_api_url="http://127.0.0.1:9",  # never called
        database_url=url,
        api_enabled=True,
        api_rate_per_minute=1_000_000,
        api_burst=100_000,
        intake_patient_key=SECRET,
        log_level="WARNING",
    )
    app = create_application(settings)
    await upgrade(app.db_engine)
    statements = [0]

    @event.listens_for(app.db_engine.sync_engine, "before_cursor_execute")
    def _count(*_: Any) -> None:
        statements[0] += 1

    async with app.context.transaction() as svc:
        token = (await svc.api_tokens.create(Surface.CLI, "bench", SOURCE)).token
    keyer = PatientKeyer(SECRET)
    bare_runner, bare_port = await _serve(_bare_app(app.context.session_factory, keyer))
    intake_runner, intake_port = await _serve(_intake_app(app.context))
    figures: dict[str, list[float]] = {"api": [], "api+key": [], "bare": [], "intake": []}
    per_visit: dict[str, float] = {}
    try:
        async with (
            serve_api_while_polling(app, port=0) as api_port,
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=args.clients)) as http,
        ):
            assert api_port is not None
            auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            kinds: dict[str, tuple[Callable[[str], str], Callable[[str], dict[str, str]]]] = {
                "api": (
                    lambda e: f"http://127.0.0.1:{api_port}/api/v1/visits/{SOURCE}/{e}",
                    lambda e: auth,
                ),
                "api+key": (
                    lambda e: f"http://127.0.0.1:{api_port}/api/v1/visits/{SOURCE}/{e}",
                    lambda e: {**auth, "Idempotency-Key": f"k-{e}"},
                ),
                "bare": (
                    lambda e: f"http://127.0.0.1:{bare_port}/bare/{SOURCE}/{e}",
                    lambda e: {"Content-Type": "application/json"},
                ),
                "intake": (
                    lambda e: f"http://127.0.0.1:{intake_port}/intake/{SOURCE}/{e}",
                    lambda e: {"Content-Type": "application/json"},
                ),
            }
            offset = 0
            # A warm-up round of each (imports, first queries, the content's first refresh).
            for where, headers in kinds.values():
                warm = _visits(min(200, args.visits), args.patients, offset)
                offset += len(warm)
                await _drive(http, where, warm, args.clients, headers)
            for number in range(args.rounds):
                for kind, (where, headers) in kinds.items():
                    batch = _visits(args.visits, args.patients, offset)
                    offset += len(batch)
                    before = statements[0]
                    seconds = await _drive(http, where, batch, args.clients, headers)
                    per_visit[kind] = (statements[0] - before) / len(batch)
                    figures[kind].append(len(batch) / seconds)
                    log(f"round {number + 1} {kind}: {len(batch) / seconds:,.0f} visits/s")
    finally:
        await bare_runner.cleanup()
        await intake_runner.cleanup()
        await app.bot.session.close()
        await app.db_engine.dispose()
    return {
        "rates": {kind: statistics.median(rates) for kind, rates in figures.items()},
        "statements": per_visit,
        "database": "PostgreSQL" if args.database_url else "SQLite",
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visits", type=int, default=2000, help="PUTs per round and kind")
    parser.add_argument("--patients", type=int, default=100)
    parser.add_argument("--clients", type=int, default=8, help="requests in flight")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default SQLite)")
    args = parser.parse_args(argv)
    result = asyncio.run(run(args))
    print_machine()
    print(
        f"{result['database']}, {args.visits:,} visits a round, {args.patients} patients, "
        f"{args.clients} in flight, median of {args.rounds} rounds"
    )
    rates, statements = result["rates"], result["statements"]
    for kind in ("bare", "intake", "api", "api+key"):
        print(
            f"{kind:<8} {rates[kind]:>8,.0f} visits/s   {rates[kind] / rates['bare']:.2f}x bare"
            f"   {statements[kind]:.1f} SQL statements a visit"
        )


if __name__ == "__main__":
    main()
