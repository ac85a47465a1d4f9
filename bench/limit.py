"""Rate limit: 3,000 reminders due at once against a fake Bot API that answers 429 above
30 sendMessage/s (server.rate_limit = 30, a sliding 1 s window), with the Sender's rate set to
the same 30/s (per_chat_interval 0; one row per distinct chat).

Reports whether everything was delivered exactly once (HTTP 200 sendMessage per chat == 1,
every row `sent`), how many 429s were answered, and the sustained rate (delivered / elapsed):
target within 10% of the cap (>= 27 msg/s).

    .venv/bin/python -m bench.limit [--messages 3000] [--cap 30]
"""

from __future__ import annotations

import asyncio
import contextlib
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
)


async def _progress(app: Any, n: int, began: float) -> None:
    while True:
        await asyncio.sleep(10)
        done = app.reminders.stats.messages
        elapsed = time.perf_counter() - began
        log(f"limit: {done:,}/{n:,} sent after {elapsed:.0f}s ({done / elapsed:.1f} msg/s)")


async def run(n: int, cap: float) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix="bench-limit-") as tmp,
        fake_server_process(rate_limit=cap) as server,
    ):
        db = Path(tmp) / "limit.db"
        now = now_utc()
        due = [now - timedelta(minutes=1)] * n
        starts, rows_for = one_due_row_each(PlanShape(), due, now + timedelta(days=3))
        await build_db(db, starts, rows_for, now)
        settings = make_settings(db, server.base_url, send_rate=cap, send_chat_interval=0)
        log(f"limit: {n:,} due rows built; server cap {cap:g}/s, Sender rate {cap:g}/s")
        async with application(settings) as app:
            await server.reset(rate_limit=cap)
            began = time.perf_counter()
            reporter = asyncio.create_task(_progress(app, n, began))
            sent = 0
            try:
                while rows := await app.reminders.run_due():
                    sent += rows
            finally:
                reporter.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reporter
            elapsed = time.perf_counter() - began
            sender_stats = dict(app.sender.stats)
        stats = await server.stats()
        statuses = count_statuses(db)

    delivered = stats["ok"]
    rate = delivered / elapsed
    span = (stats["last_ok_at"] or 0) - (stats["first_ok_at"] or 0)
    server_rate = (delivered - 1) / span if span > 0 else 0.0
    exactly_once = (
        delivered == n
        and stats["chats"] == n
        and stats["chats_more_than_once"] == 0
        and statuses.get("sent") == n
    )
    print(f"limit: {n:,} reminders due at once; server answers 429 above {cap:g} msg/s")
    print(
        f"  delivered exactly once: {'yes' if exactly_once else 'NO'} "
        f"({delivered:,} HTTP 200 to {stats['chats']:,} chats, "
        f"{stats['chats_more_than_once']} chats more than once; rows {statuses})"
    )
    print(
        f"  429 answers: {stats['too_many']}  (Sender retry_after pauses: "
        f"{sender_stats['retry_after_pauses']}); other errors: {stats['other']}"
    )
    print(
        f"  sustained rate: {rate:.2f} msg/s over {elapsed:.1f} s  "
        f"(target >= {0.9 * cap:.0f}, cap {cap:g}); first-to-last 200 at the server: "
        f"{server_rate:.2f} msg/s; busiest 1 s window: {stats['busiest_second']}"
    )
    return {
        "delivered": delivered,
        "exactly_once": exactly_once,
        "too_many": stats["too_many"],
        "rate": rate,
        "elapsed": elapsed,
        "cap": cap,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    options = {
        "--messages": {"type": int, "default": 3_000},
        "--cap": {"type": float, "default": 30.0},
    }
    return bench_main(__doc__ or "", argv, options, lambda messages, cap: run(messages, cap))


if __name__ == "__main__":
    main()
