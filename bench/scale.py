"""Scale: 100,000 patients, each with one upcoming appointment (about 500,000 pending rows).

(a) bot start to ready: a fresh process validates the content, builds the Application with
    create_application, runs the migrations and computes the first wake-up (next_due);
    measured from just before the process is spawned to its "ready" line (target <= 5 s);
(b) peak RSS of that process (VmHWM at ready; target <= 200 MB);
(c) ReminderRepository.claim of 1,000 due rows (in a transaction, rolled back) with 500,000
    pending vs with 5,000 pending: medians and their ratio (target ~1, <= 1.5).

    .venv/bin/python -m bench.scale [--patients 100000] [--starts 3] [--runs 15]

Heavy imports are inside functions so that the child process (``--child``) times them itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

DUE = 1_000
SMALL_PATIENTS = 1_000


# --------------------------------------------------------------------------- child


def _process_age() -> float | None:
    """Seconds since this process was created, from /proc (10 ms resolution)."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")
        return time.clock_gettime(time.CLOCK_BOOTTIME) - started
    except (OSError, ValueError, IndexError):
        return None


def _peak_rss_kb() -> int:
    """This process's peak resident set (VmHWM) in KiB. Not ru_maxrss: Linux carries the
    parent's high-water mark across fork + exec into it, so a child of this big benchmark
    process would report the parent's size, not its own."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


async def _child_main(db_path: str) -> dict[str, Any]:
    phases: dict[str, float] = {}
    mark = time.perf_counter()

    def phase(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        phases[name] = round(now - mark, 4)
        mark = now

    from bench.common import prepare_like_the_bot

    prepare_like_the_bot()
    from bot.config import Settings
    from bot.content.validate import validate_content
    from bot.db.migrate import upgrade
    from bot.factory import create_application
    from bot.runtime import freeze_startup_heap

    phase("imports")
    rss_after_imports = _peak_rss_kb()
    settings = Settings(
        _env_file=None,
        bot_token="42:BENCH",
        telegram_api_url="http://127.0.0.1:9",  # never contacted
        database_url=f"sqlite+aiosqlite:///{db_path}",
        log_level="WARNING",
    )
    problems = validate_content(settings.messages_dir, settings.default_language)
    phase("validate_content")
    app = create_application(settings)
    phase("create_application")
    await upgrade(app.db_engine)
    phase("migrations")
    upcoming = await app.reminders.next_due()
    phase("next_due")
    freeze_startup_heap()
    phase("freeze_heap")
    result = {
        "phases": phases,
        "age_at_ready": _process_age(),
        "maxrss_kb": _peak_rss_kb(),
        "maxrss_after_imports_kb": rss_after_imports,
        "next_due": upcoming.isoformat() if upcoming else None,
        "content_problems": len(problems),
    }
    print(json.dumps(result), flush=True)  # "ready"
    await app.bot.session.close()
    await app.db_engine.dispose()
    return result


def start_once(db_path: Path) -> dict[str, Any]:
    from bench.common import ROOT

    began = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.scale", "--child", str(db_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    ready = time.perf_counter() - began
    process.wait(timeout=60)
    result: dict[str, Any] = json.loads(line)
    result["spawn_to_ready"] = ready
    return result


# --------------------------------------------------------------------------- databases


async def build(path: Path, patients: int, now: Any) -> int:
    from datetime import UTC, datetime, timedelta

    from bench.common import PlanShape, Row, build_db
    from foundation.timemath import load_zone

    shape = PlanShape()
    zone = load_zone("America/New_York")
    today = now.astimezone(zone).date()
    # Visits 4..33 days ahead, 08:00-16:45 local in 15-minute slots.
    starts = [
        datetime.combine(
            today + timedelta(days=4 + i % 30),
            datetime.min.time(),
        ).replace(tzinfo=zone, hour=8 + (i // 30) % 36 // 4, minute=15 * ((i // 30) % 4))
        for i in range(patients)
    ]
    starts = [s.astimezone(UTC) for s in starts]
    due_from = now - timedelta(minutes=10)

    def rows_for(i: int, start: datetime) -> list[Row]:
        rows = shape.rows(start)
        if i < DUE:  # the first step of the first DUE patients is due now
            first = rows[0]
            rows = [Row(first.step_key, due_from + timedelta(milliseconds=i), first.expires_at)]
            rows += shape.rows(start)[1:]
        return rows

    return await build_db(path, starts, rows_for, now)


# --------------------------------------------------------------------------- claim cost


async def time_queries(paths: list[Path], runs: int) -> list[dict[str, Any]]:
    """Median timings on each database; the databases take turns run by run, so a noisy
    neighbour on the machine affects them alike."""
    from datetime import timedelta

    from bench.common import database_url, median, now_utc
    from bot.db.connection import create_engine, create_session_factory
    from bot.db.reminders import ReminderRepository
    from bot.services.patient_notices import PATIENT_NOTICES

    engines = [create_engine(database_url(path)) for path in paths]
    factories = [create_session_factory(engine) for engine in engines]
    timings: list[dict[str, list[float]]] = [
        {"claim": [], "expire_overdue": [], "next_due": []} for _ in paths
    ]
    claimed = [0] * len(paths)
    try:
        for run in range(runs + 2):  # the first two warm the pool and the page cache
            for k, factory in enumerate(factories):
                now = now_utc()
                async with factory() as session:
                    # As the engine's store makes it: a notice to a patient goes first.
                    repo = ReminderRepository(session, notices=PATIENT_NOTICES)
                    transaction = await session.begin()
                    began = time.perf_counter()
                    await repo.expire_overdue(now)
                    middle = time.perf_counter()
                    ids = await repo.claim(now, "bench-claim", now + timedelta(seconds=60), DUE)
                    ended = time.perf_counter()
                    await transaction.rollback()
                    began_next = time.perf_counter()
                    await repo.next_due()
                    ended_next = time.perf_counter()
                    await session.rollback()
                if run >= 2:
                    timings[k]["expire_overdue"].append(middle - began)
                    timings[k]["claim"].append(ended - middle)
                    timings[k]["next_due"].append(ended_next - began_next)
                claimed[k] = len(ids)
    finally:
        for engine in engines:
            await engine.dispose()
    return [
        {
            "claimed": claimed[k],
            "claim_min": min(t["claim"]),
            **{name: median(values) for name, values in t.items()},
        }
        for k, t in enumerate(timings)
    ]


# --------------------------------------------------------------------------- main


async def run(patients: int, starts: int, runs: int) -> dict[str, Any]:
    from bench.common import count_statuses, log, median, now_utc

    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        big, small = Path(tmp) / "big.db", Path(tmp) / "small.db"
        now = now_utc()
        began = time.perf_counter()
        written = await build(big, patients, now)
        log(
            f"scale: built {patients:,} patients / {written:,} reminder rows in "
            f"{time.perf_counter() - began:.1f}s ({big.stat().st_size / 2**20:.0f} MiB)"
        )
        small_written = await build(small, SMALL_PATIENTS, now)
        big_pending = count_statuses(big).get("pending", 0)
        small_pending = count_statuses(small).get("pending", 0)

        startups = []
        for k in range(starts):
            result = start_once(big)
            log(
                f"scale: start {k + 1}/{starts}: ready after {result['spawn_to_ready']:.2f}s, "
                f"peak RSS {result['maxrss_kb'] / 1024:.0f} MiB, phases {result['phases']}"
            )
            startups.append(result)

        log(f"scale: timing claim of {DUE:,} rows, {runs} runs on each database")
        on_big, on_small = await time_queries([big, small], runs)

    ready = [s["spawn_to_ready"] for s in startups]
    rss = [s["maxrss_kb"] / 1024 for s in startups]
    ratio = on_big["claim"] / on_small["claim"]
    phases = {name: median([s["phases"][name] for s in startups]) for name in startups[0]["phases"]}
    print(f"scale: {patients:,} patients, {big_pending:,} pending rows ({written:,} written)")
    print(
        f"  (a) bot start to ready   median {median(ready):.2f} s "
        f"(runs: {', '.join(f'{r:.2f}' for r in ready)})   target <= 5 s"
    )
    print("      phases (median s):  " + ", ".join(f"{k} {v:.3f}" for k, v in phases.items()))
    print(f"      content problems: {startups[0]['content_problems']}")
    imports_rss = max(s["maxrss_after_imports_kb"] / 1024 for s in startups)
    print(
        f"  (b) peak RSS            max {max(rss):.0f} MiB   target <= 200 MB"
        f"   (of which after the imports alone: {imports_rss:.0f} MiB)"
    )
    print(
        f"  (c) claim {DUE:,} due rows  {big_pending:,} pending: {on_big['claim'] * 1000:.1f} ms"
        f" | {small_pending:,} pending: {on_small['claim'] * 1000:.1f} ms"
        f" | ratio {ratio:.2f}   target <= 1.5"
    )
    print(
        f"      fastest of {runs}: {on_big['claim_min'] * 1000:.1f} ms | "
        f"{on_small['claim_min'] * 1000:.1f} ms | ratio "
        f"{on_big['claim_min'] / on_small['claim_min']:.2f}"
    )
    print(
        f"      (medians of {runs}; claimed {on_big['claimed']} / {on_small['claimed']};"
        f" expire_overdue {on_big['expire_overdue'] * 1000:.1f} / "
        f"{on_small['expire_overdue'] * 1000:.1f} ms;"
        f" next_due {on_big['next_due'] * 1000:.1f} / {on_small['next_due'] * 1000:.1f} ms)"
    )
    return {
        "pending": big_pending,
        "small_pending": small_pending,
        "small_written": small_written,
        "ready_s": median(ready),
        "rss_mib": max(rss),
        "claim_big_ms": on_big["claim"] * 1000,
        "claim_small_ms": on_small["claim"] * 1000,
        "claim_ratio": ratio,
        "next_due_big_ms": on_big["next_due"] * 1000,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--child", metavar="DB", help=argparse.SUPPRESS)
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--starts", type=int, default=3, help="fresh processes started")
    parser.add_argument("--runs", type=int, default=25, help="timed claims per database")
    parser.add_argument("--json", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        asyncio.run(_child_main(args.child))
        return {}
    from bench.common import print_machine, quiet_logs

    quiet_logs()
    print_machine()
    result = asyncio.run(run(args.patients, args.starts, args.runs))
    if args.json:
        args.json.write_text(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
