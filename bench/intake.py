"""Importing the clinic's schedule: a CSV of visits through the intake service (issue 21).

    .venv/bin/python -m bench.intake      # [--rows 10000] [--patients 5000] [--database both]

The export of bench/intake_parse.py (a BOM, CRLF, the clinic's own headers and words, three
personal columns dropped, starts in three forms): ``--rows`` visits of ``--patients``
patients, read and applied as `infusion-companion visits import` does (``svc.intake``, one
transaction), on a fresh database each: SQLite (a file) and PostgreSQL (TEST_POSTGRES_URL,
default postgresql://postgres@127.0.0.1:5432/postgres; skipped, and said so, when it does
not answer). Timed, in rows per second:

* **read**: the file read into rows (``read_csv``, patient keys included);
* **dry run**: the preview of the whole file on the empty database (nothing written);
* **apply**: the first import: every visit created, one invite per patient;
* **again**: the same file again (every row unchanged, no invite);
* **linked moves**: a tenth of the patients open their links (their visits become
  appointments with reminders), then an export with every visit an hour later: moves of the
  linked patients' appointments re-planned (``keep_sent``), notices queued.

The target of the issue: 10,000 rows applied in under 30 s on SQLite. (The HTTP API's half
of this benchmark is wt-api's, to be added to this script.)
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from bench.common import log, print_machine
from bench.intake_parse import export
from bot.config import BUNDLED_MESSAGES_DIR, Settings
from bot.content.store import Content
from bot.db.connection import create_engine, create_session_factory
from bot.db.migrate import upgrade
from bot.db.models import Appointment, IntakeVisit, Invite, Reminder
from bot.domain.audit import Surface
from bot.intake.rows import IntakeRow, RowError
from bot.services.container import Services
from bot.services.intake import IntakeReport
from bot.services.patient_notices import PatientNotices
from bot.services.staff_alerts import StaffAlerts
from foundation.clock import FrozenClock

NOW = datetime(2027, 1, 1, 12, 0, tzinfo=UTC)  # the export's visits start 2027-01-04
SECRET = "bench-intake-secret-" + "x" * 32
SOURCE = "bench"
SETTINGS: dict[str, Any] = {
    "intake_patient_key": SECRET,
    "intake_statuses": {SOURCE: {"Scheduled": "booked", "Canceled": "cancelled", "DNA": "noshow"}},
    "intake_visit_types": {SOURCE: {"consult": "consultation", "Follow-up": "esketamine"}},
    "clinic_timezone": "America/New_York",
}


@asynccontextmanager
async def database(kind: str, folder: Path) -> AsyncIterator[str | None]:
    """A fresh database's URL, migrated; None when PostgreSQL does not answer."""
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{folder / 'intake.db'}"
        engine = create_engine(url)
        await upgrade(engine)
        await engine.dispose()
        yield url
        return
    from tests.integration.pg import fresh_postgres_database, postgres_answers

    why_not = await postgres_answers()
    if why_not is not None:
        log(f"PostgreSQL skipped: {why_not}")
        yield None
        return
    async with fresh_postgres_database("bench_intake", migrated=True) as url:
        yield url


def services_on(url: str, clock: FrozenClock) -> tuple[Services, Any]:
    settings = Settings(_env_file=None, database_url=url, **SETTINGS)
    engine = create_engine(url)
    return (
        Services(
            settings=settings,
            content=Content(BUNDLED_MESSAGES_DIR, "en"),
            clock=clock,
            session_factory=create_session_factory(engine),
            staff_alerts=StaffAlerts(settings.staff_ids, clock),
            patient_notices=PatientNotices(clock),
        ),
        engine,
    )


async def timed(work: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = await work()
    return time.perf_counter() - started, result


async def run(
    kind: str, data: bytes, moved: bytes, rows: int, link_share: float, analyze: bool
) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-intake-") as folder:
        async with database(kind, Path(folder)) as url:
            if url is None:
                print(f"{kind:<10} skipped (no server)")
                return
            clock = FrozenClock(NOW)
            services, engine = services_on(url, clock)
            try:
                await _steps(
                    kind, services, data, moved, rows, link_share, analyze and kind == "postgres"
                )
            finally:
                await engine.dispose()


async def _steps(
    kind: str,
    services: Services,
    data: bytes,
    moved: bytes,
    rows: int,
    link_share: float,
    analyze: bool,
) -> None:
    def line(step: str, seconds: float, count: int, note: str = "") -> None:
        rate = count / seconds
        figures = f"{count:>7,} rows {seconds:>8.2f} s {rate:>10,.0f} rows/s"
        print(f"{kind:<10} {step:<14} {figures}  {note}")

    async def read(payload: bytes) -> list[IntakeRow | RowError]:
        async with services.transaction() as svc:
            found = svc.intake.read_csv(payload, SOURCE)
        assert not found.errors, found.errors[:3]
        return list(found.rows)

    seconds, parsed = await timed(lambda: read(data))
    line("read", seconds, len(parsed))

    async def preview() -> IntakeReport:
        async with services.transaction() as svc:
            return await svc.intake.preview(parsed)

    seconds, report = await timed(preview)
    line("dry run", seconds, len(report.outcomes), f"{report.new_links:,} links to make")

    async def apply(items: list[IntakeRow | RowError]) -> IntakeReport:
        async with services.transaction() as svc:
            return await svc.intake.apply(items, Surface.CLI)

    seconds, report = await timed(lambda: apply(parsed))
    line("apply", seconds, len(report.outcomes), f"{report.new_links:,} invites made")
    target = "  (target: 10,000 in < 30 s)" if kind == "sqlite" and rows == 10_000 else ""
    if target:
        print(f"{'':<10} {'':<14} {'met' if seconds < 30 else 'MISSED'}{target}")

    if analyze:
        # What autovacuum does within a minute or so of a large write: without statistics
        # PostgreSQL's planner reads the new 10,000 rows in full for each lookup by id.
        async with services.session_factory() as session:
            await session.execute(text("ANALYZE intake_visits, intake_patients, invites"))
            await session.commit()
    seconds, again = await timed(lambda: apply(parsed))
    unchanged = sum(1 for o in again.outcomes if o.result.value == "unchanged")
    line("again", seconds, len(again.outcomes), f"{unchanged:,} unchanged, {again.new_links} links")

    # A share of the patients open their links: their visits become appointments.
    invites = report.invites
    opened = invites[: max(1, int(len(invites) * link_share))]
    started = time.perf_counter()
    for n, invite in enumerate(opened):
        async with services.transaction() as svc:
            patient = await svc.repo.add_patient(
                telegram_id=50_000_000 + n, chat_id=50_000_000 + n, language="en",
                timezone="America/New_York", now=NOW,
            )  # fmt: skip
            patient.consented_at = NOW
            await svc.invites.redeem(invite.code, patient)
    link_seconds = time.perf_counter() - started
    async with services.session_factory() as session:
        appointments = (
            await session.execute(select(func.count()).select_from(Appointment))
        ).scalar_one()
        reminders = (await session.execute(select(func.count()).select_from(Reminder))).scalar_one()
    print(
        f"{kind:<10} {'links opened':<14} {len(opened):>7,} pats {link_seconds:>8.2f} s "
        f"{len(opened) / link_seconds:>10,.0f} links/s  {appointments:,} appointments, "
        f"{reminders:,} reminders"
    )

    moved_rows = await read(moved)
    seconds, report = await timed(lambda: apply(moved_rows))
    counts = report.counts
    line("linked moves", seconds, len(report.outcomes),
         ", ".join(f"{v:,} {k.value}" for k, v in sorted(counts.items())))  # fmt: skip
    async with services.session_factory() as session:
        visits = (await session.execute(select(func.count()).select_from(IntakeVisit))).scalar_one()
        invites_stored = (
            await session.execute(select(func.count()).select_from(Invite))
        ).scalar_one()
    log(f"{kind}: {visits:,} visits, {invites_stored:,} invites stored")


def shifted(data: bytes) -> bytes:
    """The same export with every start an hour later (an instant keeps its offset)."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    at = rows[0].index("Start Time")
    for row in rows[1:]:
        start = row[at]
        stamp = datetime.strptime(start[:16].replace("T", " "), "%Y-%m-%d %H:%M")
        sep = "T" if "T" in start[:16] else " "
        row[at] = (stamp + timedelta(hours=1)).strftime(f"%Y-%m-%d{sep}%H:%M") + start[16:]
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--patients", type=int, default=5_000)
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument(
        "--linked", type=float, default=0.1, help="share of patients who open their link"
    )
    parser.add_argument(
        "--analyze",
        action="store_true",
        help="PostgreSQL: ANALYZE the intake tables after the first import, as autovacuum "
        "soon would (without it the planner has no statistics for the rows just written)",
    )
    args = parser.parse_args()
    data = export(args.rows, args.patients)
    moved = shifted(data)
    log(f"export: {args.rows} rows, {args.patients} patients, {len(data) / 1024:.0f} KiB")
    print_machine()
    kinds = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    for kind in kinds:
        asyncio.run(run(kind, data, moved, args.rows, args.linked, args.analyze))


if __name__ == "__main__":
    main()
