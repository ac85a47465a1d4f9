"""Shared helpers of the benchmarks: fast database building, the fake Bot API in its own process,
the application wiring, a machine description and small statistics.

Databases are built the way the bot would find them: the schema comes from the Alembic
migrations (so `alembic_version` is at head), then patients, appointments and reminder rows are
written with bulk Core inserts (one executemany per table) straight into the tables, with
timestamps already in the column format SQLAlchemy uses on SQLite. No ORM object per row.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import (
    AsyncIterator,
    Callable,
    Coroutine,
    Iterable,
    Iterator,
    Sequence,
)
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "42:BENCH"
ZONE = "America/New_York"
CHAT_BASE = 10_000_000
"""Patient i (0-based) has telegram_id == chat_id == CHAT_BASE + i."""


def log(message: str) -> None:
    """Progress goes to stderr; figures go to stdout."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- machine


def machine() -> dict[str, str]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = "unknown"
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break

    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "-"

    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "ram": ram,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "libs": ", ".join(
            f"{n} {version(n)}"
            for n in ("aiogram", "aiohttp", "SQLAlchemy", "aiosqlite", "APScheduler")
        ),
    }


def print_machine() -> None:
    for key, value in machine().items():
        print(f"  {key:<7} {value}")


# --------------------------------------------------------------------------- statistics


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


# --------------------------------------------------------------------------- database


def database_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def ts(instant: datetime) -> str:
    """An aware instant as stored by UTCDateTime on SQLite (naive UTC, always microseconds)."""
    return instant.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


async def create_schema(path: Path) -> None:
    """An empty database at the migrations' head, created through the bot's own engine."""
    from bot.db.connection import create_engine
    from bot.db.migrate import upgrade

    engine = create_engine(database_url(path))
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


# Untyped table stand-ins: the values are written as given (timestamps pre-formatted by ts()).
_PATIENTS = sa.table(
    "patients",
    *(
        sa.column(c)
        for c in [
            "id",
            "telegram_id",
            "chat_id",
            "language",
            "timezone",
            "consented_at",
            "reachable",
            "reminders_paused",
            "created_at",
        ]
    ),
)
_APPOINTMENTS = sa.table(
    "appointments",
    *(
        sa.column(c)
        for c in [
            "id",
            "patient_id",
            "starts_at",
            "timezone",
            "status",
            "attendance",
            "created_at",
            "updated_at",
        ]
    ),
)
_REMINDERS = sa.table(
    "reminders",
    *(
        sa.column(c)
        for c in [
            "id",
            "appointment_id",
            "step_key",
            "due_at",
            "expires_at",
            "status",
            "attempts",
            "lease_until",
            "lease_owner",
            "sent_at",
            "message_id",
            "reason",
            "updated_at",
        ]
    ),
)


@dataclass(frozen=True)
class Row:
    """One reminder row of an appointment."""

    step_key: str
    due_at: datetime
    expires_at: datetime


RowsFor = Callable[[int, datetime], Iterable[Row]]
"""(patient index, appointment start) -> the reminder rows of that appointment."""


def bulk_load(
    path: Path,
    starts: Sequence[datetime],
    rows_for: RowsFor,
    *,
    now: datetime,
    chunk: int = 50_000,
) -> int:
    """Patient i has one scheduled appointment at starts[i] and the rows rows_for(i, start),
    all pending. Returns the number of reminder rows written."""
    engine = sa.create_engine(f"sqlite:///{path}")
    stamp = ts(now)
    written = 0
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("PRAGMA synchronous=OFF")
            conn.execute(
                sa.insert(_PATIENTS),
                [
                    {
                        "id": i + 1,
                        "telegram_id": CHAT_BASE + i,
                        "chat_id": CHAT_BASE + i,
                        "language": "en",
                        "timezone": ZONE,
                        "consented_at": stamp,
                        "reachable": True,
                        "reminders_paused": False,
                        "created_at": stamp,
                    }
                    for i in range(len(starts))
                ],
            )
            conn.execute(
                sa.insert(_APPOINTMENTS),
                [
                    {
                        "id": i + 1,
                        "patient_id": i + 1,
                        "starts_at": ts(start),
                        "timezone": ZONE,
                        "status": "scheduled",
                        "attendance": None,
                        "created_at": stamp,
                        "updated_at": stamp,
                    }
                    for i, start in enumerate(starts)
                ],
            )
            batch: list[dict[str, Any]] = []
            for i, start in enumerate(starts):
                for row in rows_for(i, start):
                    written += 1
                    batch.append(
                        {
                            "id": written,
                            "appointment_id": i + 1,
                            "step_key": row.step_key,
                            "due_at": ts(row.due_at),
                            "expires_at": ts(row.expires_at),
                            "status": "pending",
                            "attempts": 0,
                            "lease_until": None,
                            "lease_owner": None,
                            "sent_at": None,
                            "message_id": None,
                            "reason": None,
                            "updated_at": stamp,
                        }
                    )
                if len(batch) >= chunk:
                    conn.execute(sa.insert(_REMINDERS), batch)
                    batch = []
            if batch:
                conn.execute(sa.insert(_REMINDERS), batch)
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        engine.dispose()
    return written


async def build_db(path: Path, starts: Sequence[datetime], rows_for: RowsFor, now: datetime) -> int:
    await create_schema(path)
    return await asyncio.to_thread(bulk_load, path, starts, rows_for, now=now)


def count_statuses(path: Path) -> dict[str, int]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return dict(conn.execute("SELECT status, count(*) FROM reminders GROUP BY status"))


def reset_to_pending(path: Path) -> None:
    """Put every reminder row back to pending (to run the same workload again)."""
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute(
            "UPDATE reminders SET status='pending', attempts=0, lease_owner=NULL, "
            "lease_until=NULL, sent_at=NULL, message_id=NULL, reason=NULL"
        )


# --------------------------------------------------------------------------- the plan


class PlanShape:
    """The bundled plan's steps, with their offsets from the appointment start as the real
    planner computes them (scheduler.due.compute_due), cached per start."""

    def __init__(self) -> None:
        from bot.config import BUNDLED_MESSAGES_DIR
        from bot.content.store import Content
        from foundation.timemath import load_zone

        self.plan = Content(BUNDLED_MESSAGES_DIR, "en").plan
        self.zone = load_zone(ZONE)
        self.keys = [s.key for s in self.plan.steps]
        self.before_visit = [s.key for s in self.plan.steps if not s.is_follow_up]
        self._cache: dict[datetime, list[Row]] = {}

    def rows(self, start: datetime) -> list[Row]:
        from scheduler.due import compute_due

        cached = self._cache.get(start)
        if cached is None:
            cached = []
            for step in self.plan.steps:
                due = compute_due(step, start, self.zone, self.plan.quiet_hours)
                if due is not None:
                    cached.append(Row(step.key, due.due, due.expires))
            self._cache[start] = cached
        return cached


def one_due_row_each(
    shape: PlanShape, due_times: Sequence[datetime], start: datetime
) -> tuple[list[datetime], RowsFor]:
    """One appointment per patient at `start`, each with a single row (a before-the-visit step,
    cycling through them) due at due_times[i] and expiring at the plan's expiry."""
    by_key = {r.step_key: r for r in shape.rows(start)}
    keys = [k for k in shape.before_visit if k in by_key]

    def rows_for(i: int, _start: datetime) -> list[Row]:
        key = keys[i % len(keys)]
        return [Row(key, due_times[i], by_key[key].expires_at)]

    return [start] * len(due_times), rows_for


# --------------------------------------------------------------------------- fake Bot API


@dataclass
class FakeServer:
    """tests/fake_telegram/server.py running in a child process (see bench/fake_server.py)."""

    process: subprocess.Popen[str]
    base_url: str
    token: str = TOKEN

    async def call(self, method: str, **params: Any) -> Any:
        import aiohttp

        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{self.base_url}/bot{self.token}/{method}", json=params) as response,
        ):
            body = await response.json()
        if not body.get("ok"):
            raise RuntimeError(f"{method}: {body}")
        return body["result"]

    async def stats(self) -> dict[str, Any]:
        return await self.call("benchStats")

    async def reset(self, rate_limit: float | None = None) -> None:
        await self.call("benchReset", rate_limit=rate_limit)

    async def set_latency(self, seconds: float) -> None:
        """Delay the answers of every Bot API method but getUpdates."""
        await self.call("benchLatency", seconds=seconds)

    async def push(self, updates: list[dict[str, Any]]) -> float:
        """Queue `updates` in one go; returns when the server queued them (time.monotonic())."""
        return float((await self.call("benchPush", updates=updates))["at"])

    async def polling(self) -> int:
        """How many getUpdates long polls are waiting on the server."""
        return int(await self.call("benchPolling"))

    async def answers(self) -> list[list[Any]]:
        """[pushed at, kind, ack at, reply at] per update pushed since the last reset."""
        return await self.call("benchAnswers")

    async def sent_texts(self) -> dict[str, int]:
        """{text: count} of the sendMessage requests since the last reset."""
        return dict(await self.call("benchSent"))

    async def handled(self) -> int:
        """How many updates pushed since the last reset have all their answers."""
        return int((await self.call("benchAnswers", summary=True))["handled"])

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the server process has used so far."""
        return process_cpu_seconds(self.process.pid)


def process_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def fake_server_process(rate_limit: float | None = None) -> Iterator[FakeServer]:
    command = [sys.executable, "-m", "bench.fake_server", "--token", TOKEN]
    if rate_limit is not None:
        command += ["--rate-limit", str(rate_limit)]
    process = subprocess.Popen(
        command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        if not line.startswith("http://"):
            raise RuntimeError(f"fake server did not start: {line!r}")
        yield FakeServer(process, line)
    finally:
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --------------------------------------------------------------------------- the application


def make_settings(db_path: Path, api_url: str, **overrides: Any) -> Any:
    from bot.config import Settings

    values: dict[str, Any] = {
        "bot_token": TOKEN,
        "telegram_api_url": api_url,
        "database_url": database_url(db_path),
        "staff_ids": frozenset({9001}),
        "clinic_timezone": ZONE,
        "log_level": "WARNING",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


def make_bot(settings: Any, *, plain: bool = False) -> Any:
    """The bot as the integration tests build it: create_bot with the bot's own session class
    (JSON requests), whose close() skips aiogram's SSL grace sleep; ``plain``: aiogram's
    AiohttpSession instead (the echo bots)."""
    from aiogram.client.session.aiohttp import AiohttpSession

    from bot.factory import create_bot
    from bot.telegram.session import JsonSession
    from tests.fake_telegram.server import FakeTelegramServer

    base = AiohttpSession if plain else JsonSession
    return create_bot(
        settings, session=FakeTelegramServer.session_at(settings.telegram_api_url, base)
    )


@contextlib.asynccontextmanager
async def application(settings: Any, clock: Any = None) -> AsyncIterator[Any]:
    from bot.db.migrate import upgrade
    from bot.factory import create_application

    app = create_application(settings, clock=clock, bot=make_bot(settings))
    await upgrade(app.db_engine)
    with settled_heap():  # as run_polling does once the bot has started
        try:
            yield app
        finally:
            await app.bot.session.close()
            await app.db_engine.dispose()


@contextlib.contextmanager
def settled_heap() -> Iterator[None]:
    """What `bot.runtime.run_polling` does with the start-up heap (collect once, then freeze),
    undone on exit; the bare loops get the same, so comparisons see only the code."""
    import gc

    from bot.runtime import freeze_startup_heap

    freeze_startup_heap()
    try:
        yield
    finally:
        gc.unfreeze()


async def warm_up(bot: Any, n: int = 50, chat_base: int = 1) -> None:
    """A few requests so connections and caches exist before timing starts."""
    await asyncio.gather(*(bot.send_message(chat_base + i, "warm-up") for i in range(n)))


def sample_text(length: int = 320) -> str:
    """A text about as long as a rendered reminder."""
    words = "Your visit is coming up soon; here is what helps you prepare for it. "
    return (words * (length // len(words) + 1))[:length].rstrip()


def prepare_like_the_bot() -> None:
    """Import aiogram as `infusion-companion run` does (`bot.cli.main`), before anything else
    imports it: `LAZY_AIOGRAM=false` in the environment measures aiogram as it ships."""
    from bot.config import Settings
    from bot.lazy_aiogram import prepare_aiogram

    prepare_aiogram(Settings(_env_file=None).lazy_aiogram)


def quiet_logs() -> None:
    import logging

    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    logging.getLogger("apscheduler").setLevel(logging.ERROR)


def now_utc() -> datetime:
    return datetime.now(UTC)


def bench_main(
    doc: str,
    argv: list[str] | None,
    options: dict[str, dict[str, Any]],
    run: Callable[..., Coroutine[Any, Any, dict[str, Any]]],
) -> dict[str, Any]:
    """The command line every benchmark shares: its own options (flag -> add_argument
    keywords, passed to `run` by name), quiet logs, the machine, then `run`; `--json FILE`
    (used by run_all) writes the result."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    for flag, spec in options.items():
        parser.add_argument(flag, **spec)
    parser.add_argument("--json", type=Path, help=argparse.SUPPRESS)
    args = vars(parser.parse_args(argv))
    out = args.pop("json")
    prepare_like_the_bot()
    quiet_logs()
    print_machine()
    result = asyncio.run(run(**args))
    if out:
        out.write_text(json.dumps(result))
    return result
