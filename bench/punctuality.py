"""Punctuality: 10,000 pending rows due spread evenly over ~60 s (starting after a lead time so
that all setup is done first), the real SystemClock and the real Wakeup (APScheduler) driving
the engine, unlimited Sender rate against the fake Bot API in its own process.

Reports p50 / p99 / max lateness: the moment the send completed minus the row's due_at
(engine.stats.lateness, recorded by the engine when Telegram accepted the message).
Target: p99 <= 1 s.

    .venv/bin/python -m bench.punctuality [--rows 10000] [--spread 60] [--lead 10]
"""

from __future__ import annotations

import asyncio
import importlib
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.common import (
    PlanShape,
    application,
    bench_main,
    build_db,
    count_statuses,
    fake_server_process,
    log,
    make_settings,
    now_utc,
    one_due_row_each,
    percentile,
)


async def run(n: int, spread: float, lead: float) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix="bench-punctuality-") as tmp,
        fake_server_process() as server,
    ):
        db = Path(tmp) / "punctuality.db"
        shape = PlanShape()
        importlib.import_module("bot.factory")  # the slow imports happen before the clock starts
        now = now_utc()
        first_due = now + timedelta(seconds=lead)
        step = spread / n
        due = [first_due + timedelta(seconds=i * step) for i in range(n)]
        starts, rows_for = one_due_row_each(shape, due, now + timedelta(days=3))
        await build_db(db, starts, rows_for, now)
        settings = make_settings(db, server.base_url, send_rate=0, send_chat_interval=0)
        async with application(settings) as app:  # SystemClock
            await server.reset()
            app.wakeup.start()
            slack = (first_due - now_utc()).total_seconds()
            log(
                f"punctuality: {n:,} rows due from {first_due:%H:%M:%S} over {spread:g}s; "
                f"setup done {slack:.1f}s before the first is due"
            )
            stats = app.reminders.stats
            deadline = time.monotonic() + lead + spread + 120
            last_log = time.monotonic()
            while stats.sent_rows < n and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
                if time.monotonic() - last_log >= 10:
                    last_log = time.monotonic()
                    log(f"punctuality: {stats.sent_rows:,}/{n:,} sent, {stats.passes} passes")
            await app.wakeup.shutdown(grace=5)
            lateness = list(stats.lateness)
            passes = stats.passes
        server_stats = await server.stats()
        statuses = count_statuses(db)

    p50, p99 = percentile(lateness, 50), percentile(lateness, 99)
    early = sum(1 for v in lateness if v < 0)
    print(
        f"punctuality: {n:,} rows due over {spread:g} s ({n / spread:.0f}/s), real clock, "
        "APScheduler wake-ups, no rate limit"
    )
    print(
        f"  lateness (send completed - due_at): p50 {p50 * 1000:.0f} ms, "
        f"p99 {p99 * 1000:.0f} ms, max {max(lateness) * 1000:.0f} ms   target p99 <= 1 s"
    )
    print(
        f"  {len(lateness):,} sent in {passes} engine passes; {early} before due_at; "
        f"{server_stats['ok']:,} HTTP 200 to {server_stats['chats']:,} chats "
        f"({server_stats['chats_more_than_once']} more than once); rows {statuses}"
    )
    return {
        "sent": len(lateness),
        "p50_ms": p50 * 1000,
        "p99_ms": p99 * 1000,
        "max_ms": max(lateness) * 1000,
        "passes": passes,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    options = {
        "--rows": {"type": int, "default": 10_000},
        "--spread": {"type": float, "default": 60.0, "help": "seconds"},
        "--lead": {"type": float, "default": 10.0, "help": "seconds before the first"},
    }
    return bench_main(
        __doc__ or "", argv, options, lambda rows, spread, lead: run(rows, spread, lead)
    )


if __name__ == "__main__":
    main()
