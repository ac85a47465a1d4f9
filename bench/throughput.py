"""Throughput: 10,000 reminders due at once, sent to a local fake Bot API with no rate limit.

The engine (Sender rate=0, per_chat_interval=0; the default batch and concurrency) runs
run_due() until everything is sent; it is compared with bare aiogram loops of
``await bot.send_message(chat_id, text)`` against the same server: one sequential, and one
with as many concurrent senders as the engine allows (reminder_concurrency). The server runs
in its own process (bench/fake_server.py), so on a 2-core machine it does not compete with the
measured loop for one core. Target: engine >= 70% of the bare sequential loop's rate.

Besides msgs/s it prints where the CPU went, per message: the measured process (client), the
server process, and (engine) the time spent inside the render callable (ReminderView).

    .venv/bin/python -m bench.throughput [--messages 10000] [--rounds 3]
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.common import (
    CHAT_BASE,
    FakeServer,
    PlanShape,
    application,
    bench_main,
    build_db,
    count_statuses,
    fake_server_process,
    log,
    make_bot,
    make_settings,
    now_utc,
    one_due_row_each,
    reset_to_pending,
    sample_text,
    settled_heap,
    warm_up,
)


@dataclass
class Measure:
    rate: float
    client_cpu_ms: float
    server_cpu_ms: float
    render_ms: float = 0.0


class _Meter:
    def __init__(self, server: FakeServer, n: int) -> None:
        self.server, self.n = server, n

    def __enter__(self) -> _Meter:
        self.wall = time.perf_counter()
        self.cpu = time.process_time()
        self.server_cpu = self.server.cpu_seconds()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu
        self.server_cpu = self.server.cpu_seconds() - self.server_cpu

    def measure(self, delivered: int, render: float = 0.0) -> Measure:
        per = 1000 / max(delivered, 1)
        return Measure(delivered / self.wall, self.cpu * per, self.server_cpu * per, render * per)


async def bare(
    server: FakeServer,
    settings: Any,
    n: int,
    concurrency: int,
    text: str,
    markup: Any = None,
) -> Measure:
    """`await bot.send_message(chat_id, text)` for n chats, `concurrency` at once (with
    `markup`: the same keyboard on every message)."""
    bot = make_bot(settings)
    try:
        await warm_up(bot)
        await server.reset()
        chats = iter(range(CHAT_BASE, CHAT_BASE + n))

        async def worker() -> None:
            for chat_id in chats:
                await bot.send_message(chat_id, text, reply_markup=markup)

        with settled_heap(), _Meter(server, n) as meter:
            await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        await bot.session.close()
    stats = await server.stats()
    if stats["ok"] != n:
        log(f"throughput: bare loop delivered {stats['ok']} of {n}")
    return meter.measure(stats["ok"])


async def engine(server: FakeServer, settings: Any, db: Path, n: int) -> tuple[Measure, dict]:
    reset_to_pending(db)
    async with application(settings) as app:
        reminders = app.reminders
        render, spent = reminders.render, [0.0]
        sample: list[Any] = []

        def timed_render(batch: Any) -> Any:
            began = time.perf_counter()
            try:
                message = render(batch)
            finally:
                spent[0] += time.perf_counter() - began
            if (
                not sample
                and message.markup is not None
                and len(message.markup.inline_keyboard) > 1
            ):
                sample.append(message)
            return message

        reminders.render = timed_render
        await warm_up(app.bot)
        await server.reset()
        sent = 0
        with _Meter(server, n) as meter:
            while rows := await reminders.run_due():
                sent += rows
    stats = await server.stats()
    statuses = count_statuses(db)
    check = {
        "rows_sent": sent,
        "http_200": stats["ok"],
        "chats": stats["chats"],
        "chats_more_than_once": stats["chats_more_than_once"],
        "db": statuses,
        "mean_text_chars": stats["mean_text_chars"],
        "sample": sample[0] if sample else None,
    }
    if sent != n or stats["ok"] != n or statuses.get("sent") != n:
        log(f"throughput: engine run incomplete: {check}")
    return meter.measure(stats["ok"], spent[0]), check


def _mean(values: list[Measure]) -> Measure:
    k = len(values)
    return Measure(
        sum(v.rate for v in values) / k,
        sum(v.client_cpu_ms for v in values) / k,
        sum(v.server_cpu_ms for v in values) / k,
        sum(v.render_ms for v in values) / k,
    )


async def run(n: int, rounds: int) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix="bench-throughput-") as tmp,
        fake_server_process() as server,
    ):
        db = Path(tmp) / "throughput.db"
        now = now_utc()
        due = [now - timedelta(minutes=1)] * n
        starts, rows_for = one_due_row_each(PlanShape(), due, now + timedelta(days=3))
        await build_db(db, starts, rows_for, now)
        settings = make_settings(db, server.base_url, send_rate=0, send_chat_interval=0)
        concurrency = settings.reminder_concurrency
        log(
            f"throughput: {n:,} due rows built; engine batch {settings.reminder_batch}, "
            f"concurrency {concurrency}"
        )
        # Each round: the engine, then the bare loops with texts as long as the engine's
        # rendered reminders were (the first engine run also warms everything up).
        sequential, parallel, keyboard, engines = [], [], [], []
        for k in range(rounds):
            measure, check = await engine(server, settings, db, n)
            engines.append(measure)
            log(f"throughput: round {k + 1}: engine {measure.rate:.0f} msg/s")
            text = sample_text(round(check["mean_text_chars"]))
            sequential.append(await bare(server, settings, n, 1, text))
            log(f"throughput: round {k + 1}: bare sequential {sequential[-1].rate:.0f} msg/s")
            parallel.append(await bare(server, settings, n, concurrency, text))
            log(f"throughput: round {k + 1}: bare x{concurrency} {parallel[-1].rate:.0f} msg/s")
            rendered = check["sample"]
            keyboard.append(await bare(server, settings, n, 1, rendered.text, rendered.markup))
            log(f"throughput: round {k + 1}: bare sequential + keyboard {keyboard[-1].rate:.0f}")

    seq, par, kbd, eng = _mean(sequential), _mean(parallel), _mean(keyboard), _mean(engines)
    print(f"throughput: {n:,} reminders due at once, fake Bot API in its own process, no limit")
    print("                                    msg/s    CPU ms/msg: client  server  (render)")
    for label, m, runs in (
        ("bare aiogram loop, sequential", seq, sequential),
        (f"bare aiogram loop, {concurrency} at once", par, parallel),
        ("bare sequential, text + keyboard", kbd, keyboard),
        ("engine run_due()", eng, engines),
    ):
        render = f"({m.render_ms:.2f})" if m.render_ms else ""
        print(
            f"  {label:<32} {m.rate:7.0f}   {m.client_cpu_ms:17.2f} {m.server_cpu_ms:7.2f}  "
            f"{render:<8} runs: {', '.join(f'{r.rate:.0f}' for r in runs)}"
        )
    if rounds > 1:
        # Each round's engine and bare loops run minutes apart at most: on a shared machine
        # whose speed drifts, these ratios are steadier than the ratio of the means.
        per_round = [e.rate / b.rate for e, b in zip(engines, sequential, strict=True)]
        print(
            "  engine / bare sequential per round: "
            + ", ".join(f"{r:.0%}" for r in per_round)
            + f"; median {statistics.median(per_round):.0%}"
        )
    print(
        f"  engine / bare sequential = {eng.rate / seq.rate:.0%} (target >= 70%);"
        f"  engine / bare x{concurrency} = {eng.rate / par.rate:.0%};"
        f"  engine / bare with keyboard = {eng.rate / kbd.rate:.0%}"
    )
    print(
        f"  last engine run: {check['http_200']:,} HTTP 200 to {check['chats']:,} chats "
        f"({check['chats_more_than_once']} more than once), rows {check['db']}; "
        f"texts {check['mean_text_chars']:.0f} chars + keyboard (bare loops: same length, "
        "no keyboard; the keyboard loop sends one rendered reminder, text and buttons, to each)"
    )
    return {
        "bare_sequential": seq.rate,
        "bare_concurrent": par.rate,
        "bare_keyboard": kbd.rate,
        "concurrency": concurrency,
        "engine": eng.rate,
        "ratio": eng.rate / seq.rate,
        "engine_client_cpu_ms": eng.client_cpu_ms,
        "engine_render_ms": eng.render_ms,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    options = {
        "--messages": {"type": int, "default": 10_000},
        "--rounds": {"type": int, "default": 3},
    }
    return bench_main(__doc__ or "", argv, options, lambda messages, rounds: run(messages, rounds))


if __name__ == "__main__":
    main()
