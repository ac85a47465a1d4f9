"""Replicas: 1, 2 and 3 bot processes on one PostgreSQL database, 10,000 reminders due at once,
a fake Bot API without a limit: does adding a replica add throughput?

Each run: a fresh PostgreSQL database, migrated once (`python -m bot db upgrade`); N replicas
(`python -m bot run`, tests/integration/replicas.py) started and ready; then the 10,000 rows
are written (one consented patient and visit each, tests/integration/replicas.py's seeder) due
a few seconds later, so that every replica, woken by its housekeeping pass, starts on them at
the same instant. SEND_RATE=0 (no rate limit of the bot's own), the default batch (200),
concurrency (32) and lease (60 s). The fake Bot API (bench/fake_server.py) runs in a process of
its own and answers at once.

Per run: messages/s = messages / (due instant -> the last one received by the server);
CPU ms per message = the CPU (user + system, /proc/<pid>/stat) of all the replicas together
between the due instant and the end, per message; the same for the fake server. Every chat must
get its reminder exactly once. Runs go 1, 2, 3 replicas, then 3, 2, 1 in the next round (the
machine's speed drifts), and the table shows the median per count and its ratio to 1 replica.

    .venv/bin/python -m bench.replicas [--messages 10000] [--replicas 1 2 3] [--rounds 2]

Needs PostgreSQL (TEST_POSTGRES_URL, default postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bench.common import CHAT_BASE, FakeServer, bench_main, fake_server_process, log
from tests.integration.pg import fresh_postgres_database
from tests.integration.replicas import (
    ReplicaRig,
    migrate,
    reminder_statuses,
    seed_due_reminders,
)

LEAD = 4.0
"""Seconds between writing the rows and their due time: every replica's housekeeping pass
(each second) has planned its wake-up for the due instant by then."""
STALL_SECONDS = 60.0


@dataclass
class Run:
    replicas: int
    messages: int
    seconds: float
    first_s: float
    """Due instant -> the first message received."""
    cpu_s: float
    server_cpu_s: float
    chats: int
    repeated: int
    statuses: dict[str, int]

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds > 0 else 0.0

    @property
    def cpu_ms(self) -> float:
        return self.cpu_s * 1000 / max(self.messages, 1)

    @property
    def server_cpu_ms(self) -> float:
        return self.server_cpu_s * 1000 / max(self.messages, 1)


async def one_run(server: FakeServer, replicas: int, n: int, folder: Path) -> Run:
    settings = {"SEND_RATE": "0"}
    async with fresh_postgres_database("bench_replicas") as url:
        await migrate(url)
        async with ReplicaRig(
            server.base_url, server.token, url, folder, webhook=False, settings=settings
        ) as rig:
            started = await rig.start(replicas)
            await server.reset()
            wall, mono = datetime.now(UTC), time.monotonic()
            due_at = mono + LEAD
            await seed_due_reminders(
                url, n, first_chat=CHAT_BASE, now=wall, due_at=wall + timedelta(seconds=LEAD)
            )
            if time.monotonic() >= due_at:
                log(f"replicas: writing {n:,} rows took longer than {LEAD:g} s")
            await asyncio.sleep(max(due_at - time.monotonic(), 0))
            cpu = sum(r.cpu_seconds() for r in started)
            server_cpu = server.cpu_seconds()
            stats = await _wait_all(server, n, rig)
            cpu = sum(r.cpu_seconds() for r in started) - cpu
            server_cpu = server.cpu_seconds() - server_cpu
            codes = await rig.stop()
            if any(code != 0 for code in codes.values()):
                log(f"replicas: exit codes {codes}")
        statuses = await reminder_statuses(url)
    return Run(
        replicas=replicas,
        messages=stats["ok"],
        seconds=(stats["last_ok_at"] or due_at) - due_at,
        first_s=(stats["first_ok_at"] or due_at) - due_at,
        cpu_s=cpu,
        server_cpu_s=server_cpu,
        chats=stats["chats"],
        repeated=stats["chats_more_than_once"],
        statuses=statuses,
    )


async def _wait_all(server: FakeServer, n: int, rig: ReplicaRig) -> dict[str, Any]:
    """Until every chat got its reminder (or nothing moved for STALL_SECONDS)."""
    last, moved = -1, time.monotonic()
    while True:
        stats = await server.stats()
        if stats["chats"] >= n:
            return stats
        if stats["ok"] != last:
            last, moved = stats["ok"], time.monotonic()
        dead = [r.index for r in rig.replicas if not r.alive]
        if dead or time.monotonic() - moved > STALL_SECONDS:
            log(f"replicas: gave up at {stats['chats']:,}/{n:,} chats (replicas exited: {dead})")
            return stats
        await asyncio.sleep(0.2)


async def run(messages: int, replicas: list[int], rounds: int) -> dict[str, Any]:
    runs: dict[int, list[Run]] = {k: [] for k in replicas}
    with (
        tempfile.TemporaryDirectory(prefix="bench-replicas-") as tmp,
        fake_server_process() as server,
    ):
        try:
            for k in range(rounds):
                order = replicas if k % 2 == 0 else list(reversed(replicas))
                for count in order:
                    result = await one_run(server, count, messages, Path(tmp) / f"{k}-{count}")
                    runs[count].append(result)
                    log(
                        f"replicas: round {k + 1}, {count} replica(s): {result.rate:,.0f} msg/s, "
                        f"{result.cpu_ms:.2f} CPU ms/msg, first after {result.first_s:.2f} s"
                    )
        except pytest.skip.Exception as exc:  # fresh_postgres_database: no server
            raise SystemExit(f"replicas: {exc.msg}") from None
    return report(runs, messages, rounds)


def report(runs: dict[int, list[Run]], messages: int, rounds: int) -> dict[str, Any]:
    print(
        f"replicas: {messages:,} reminders due at once, PostgreSQL, fake Bot API in its own "
        f"process without a limit; median of {rounds} round(s)"
    )
    base = statistics.median(r.rate for r in runs[min(runs)])
    base_cpu = statistics.median(r.cpu_ms for r in runs[min(runs)])
    header = (
        "replicas",
        "msg/s",
        "x 1st",
        "CPU ms/msg: replicas",
        "x 1st",
        "fake server",
        "runs msg/s",
        "delivered",
    )
    rows: list[tuple[str, ...]] = [header]
    figures = []
    for count, results in runs.items():
        rate = statistics.median(r.rate for r in results)
        cpu = statistics.median(r.cpu_ms for r in results)
        server_cpu = statistics.median(r.server_cpu_ms for r in results)
        problems = [_problem(r, messages) for r in results if _problem(r, messages)]
        exact = not problems
        rows.append(
            (
                str(count),
                f"{rate:,.0f}",
                f"{rate / base:.2f}",
                f"{cpu:.2f}",
                f"{cpu / base_cpu:.2f}",
                f"{server_cpu:.2f}",
                ", ".join(f"{r.rate:,.0f}" for r in results),
                "exactly once" if exact else "NO: " + "; ".join(problems),
            )
        )
        figures.append(
            {
                "replicas": count,
                "rate": rate,
                "ratio": rate / base,
                "cpu_ms": cpu,
                "server_cpu_ms": server_cpu,
                "exactly_once": exact,
            }
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for k, row in enumerate(rows):
        cells = [
            c.ljust(widths[i]) if i in (0, 7) else c.rjust(widths[i]) for i, c in enumerate(row)
        ]
        print("  " + "  ".join(cells).rstrip())
        if k == 0:
            print("  " + "  ".join("-" * w for w in widths))
    print(
        "  msg/s: messages / (due instant -> the last received); CPU: user + system of all the "
        "replicas from the due instant to the last message, per message (PostgreSQL's own "
        "CPU not included)"
    )
    return {"messages": messages, "rounds": rounds, "rows": figures}


def _problem(run: Run, messages: int) -> str:
    """What was wrong with a run's delivery ("" when every chat got its reminder once)."""
    if run.chats == messages and run.repeated == 0 and run.statuses == {"sent": messages}:
        return ""
    return f"{run.chats:,}/{messages:,} chats, {run.repeated} more than once, rows {run.statuses}"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    options: dict[str, dict[str, Any]] = {
        "--messages": {"type": int, "default": 10_000},
        "--replicas": {"type": int, "nargs": "+", "default": [1, 2, 3]},
        "--rounds": {"type": int, "default": 2},
    }
    return bench_main(__doc__ or "", argv, options, run)


if __name__ == "__main__":
    main()
