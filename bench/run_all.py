"""Runs every benchmark, each in a fresh process, then prints a summary table.

    .venv/bin/python -m bench.run_all [--quick] [--only scale,limit]

Each benchmark's own figures are printed as it finishes; progress goes to stderr. ``--quick``
runs each on a small size, a smoke test of every script in a few minutes: its figures are not
the ones the targets were set for.
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import ROOT, log, print_machine


@dataclass(frozen=True)
class Bench:
    """How run_all runs one benchmark script (``bench/<name>.py``)."""

    full: tuple[str, ...] = ()
    """Options of a full run, beyond the script's own defaults."""
    quick: tuple[str, ...] = ()
    """Options of a ``--quick`` run."""
    summary: bool = True
    """The script writes its result with ``--json FILE`` (``bench_main``) for the summary
    table; the others' figures are only printed."""


# Every benchmark script of bench/, in the order they run; tests/unit/test_bench_run_all.py
# checks that each script of bench/ is here or in HELPERS.
BENCHMARKS: dict[str, Bench] = {
    "scale": Bench(quick=("--patients", "10000", "--starts", "1", "--runs", "5")),
    "throughput": Bench(quick=("--messages", "2000", "--rounds", "1")),
    "limit": Bench(quick=("--messages", "300")),
    "punctuality": Bench(quick=("--rows", "2000", "--spread", "10", "--lead", "5")),
    "updates": Bench(
        quick=("--updates", "400", "--latency", "0", "--rounds", "1", "--patients", "100")
    ),
    "aiogram_import": Bench(quick=("--rounds", "1")),
    "replicas": Bench(quick=("--messages", "2000", "--replicas", "1", "2", "--rounds", "1")),
    "service_scope": Bench(quick=("--updates", "2000")),
    "faq_matcher": Bench(quick=("--rounds", "1"), summary=False),
    "safety_screen": Bench(quick=("--rounds", "1"), summary=False),
    "screen_startup": Bench(quick=("--rounds", "1"), summary=False),
    "hostile_edits": Bench(quick=("--rounds", "1"), summary=False),
    "intake_parse": Bench(
        quick=("--rows", "2000", "--patients", "1000", "--rounds", "1"), summary=False
    ),
    "intake": Bench(quick=("--rows", "1000", "--patients", "500"), summary=False),
    # 500 a round, as bench/README.md's figures; its default, 2,000, takes minutes.
    "intake_api": Bench(
        full=("--visits", "500"), quick=("--visits", "100", "--rounds", "1"), summary=False
    ),
}
# The modules of bench/ that are not benchmarks.
HELPERS = ("__init__", "common", "echo_bot", "fake_server", "run_all")

Row = tuple[str, str, str, bool | None]


def _rows(name: str, r: dict[str, Any]) -> list[Row]:
    if name == "scale":
        return [
            ("scale (a) bot start to ready", f"{r['ready_s']:.2f} s", "<= 5 s", r["ready_s"] <= 5),
            ("scale (b) peak RSS", f"{r['rss_mib']:.0f} MiB", "<= 200 MB", r["rss_mib"] <= 200),
            (
                f"scale (c) claim 1,000: {r['pending']:,} vs {r['small_pending']:,} pending",
                f"{r['claim_big_ms']:.1f} / {r['claim_small_ms']:.1f} ms = {r['claim_ratio']:.2f}x",
                "<= 1.5x",
                r["claim_ratio"] <= 1.5,
            ),
        ]
    if name == "throughput":
        return [
            (
                "throughput engine vs bare sequential",
                f"{r['engine']:.0f} vs {r['bare_sequential']:.0f} msg/s = {r['ratio']:.0%}"
                f" (bare x{r['concurrency']}: {r['bare_concurrent']:.0f})",
                ">= 70%",
                r["ratio"] >= 0.7,
            )
        ]
    if name == "limit":
        return [
            (
                "limit 30/s: exactly once, 429s",
                f"{'yes' if r['exactly_once'] else 'NO'}, {r['too_many']} x 429",
                "yes",
                bool(r["exactly_once"]),
            ),
            (
                "limit 30/s: sustained rate",
                f"{r['rate']:.2f} msg/s",
                f">= {0.9 * r['cap']:.0f} msg/s",
                r["rate"] >= 0.9 * r["cap"],
            ),
        ]
    if name == "punctuality":
        return [
            (
                "punctuality lateness p50 / p99 / max",
                f"{r['p50_ms']:.0f} / {r['p99_ms']:.0f} / {r['max_ms']:.0f} ms",
                "p99 <= 1,000 ms",
                r["p99_ms"] <= 1000,
            )
        ]
    if name == "updates":
        return _updates_rows(r)
    if name == "replicas":
        rows = r["rows"]
        rates = [row["rate"] for row in rows]
        return [
            (
                "replicas on PostgreSQL: msg/s (x 1 replica)",
                ", ".join(
                    f"{row['replicas']}: {row['rate']:,.0f} ({row['ratio']:.2f}x,"
                    f" {row['cpu_ms']:.2f} CPU ms/msg)"
                    for row in rows
                ),
                "each replica adds msg/s, every reminder once",
                all(b > a for a, b in itertools.pairwise(rates))
                and all(row["exactly_once"] for row in rows),
            )
        ]
    if name == "aiogram_import":
        return [
            (
                "aiogram import: lazy / as shipped",
                f"time {r['time_ratio']:.2f} ({r['lazy_s']:.2f} vs {r['shipped_s']:.2f} s),"
                f" peak RSS {r['rss_ratio']:.2f} ({r['lazy_rss_mib']:.0f} vs"
                f" {r['shipped_rss_mib']:.0f} MiB)",
                "<= 0.7 each, or delete lazy_aiogram",
                r["time_ratio"] <= 0.7 and r["rss_ratio"] <= 0.7,
            )
        ]
    if name == "service_scope":
        return [
            (
                "service_scope: a FAQ question / /invite",
                f"{r['question']['us']:.1f} / {r['invite']['us']:.1f} µs per update",
                "",
                None,
            )
        ]
    return []


def _updates_rows(r: dict[str, Any]) -> list[Row]:
    """One row per latency that has a target: bot/echo updates/s of each workload."""
    by_latency: dict[float, list[dict[str, Any]]] = {}
    for row in r["rows"]:
        by_latency.setdefault(row["latency_ms"], []).append(row)
    result: list[Row] = []
    for latency, rows in by_latency.items():
        target = rows[0]["target"]
        if target is None:
            continue
        measured = ", ".join(
            f"{w['workload']} {w['ratio']:.2f} ({w['bot_rate']:,.0f} vs {w['echo_rate']:,.0f}"
            f" upd/s, answer p99 {w['bot_answer_p99_ms'] or 0:,.0f} ms)"
            for w in rows
        )
        result.append(
            (
                f"updates {latency:g} ms: bot / echo updates/s",
                measured,
                f">= {target:g}",
                all(w["ratio"] >= target and w["complete"] for w in rows),
            )
        )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", help="comma-separated subset of " + ", ".join(BENCHMARKS))
    parser.add_argument("--quick", action="store_true", help="each on a small size (a smoke test)")
    args = parser.parse_args(argv)
    only = args.only.split(",") if args.only else list(BENCHMARKS)
    unknown = sorted(set(only) - set(BENCHMARKS))
    if unknown:
        parser.error(f"no benchmark {', '.join(unknown)}")
    chosen = [b for b in BENCHMARKS if b in only]
    results: dict[str, dict[str, Any] | None] = {}
    durations: dict[str, float] = {}
    began_all = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-run-all-") as tmp:
        for name in chosen:
            bench = BENCHMARKS[name]
            out = Path(tmp) / f"{name}.json"
            command = [sys.executable, "-m", f"bench.{name}"]
            command += bench.quick if args.quick else bench.full
            if bench.summary:
                command += ["--json", str(out)]
            log(f"run_all: {' '.join(command[2:])} ...")
            began = time.perf_counter()
            completed = subprocess.run(
                command, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=False
            )
            durations[name] = time.perf_counter() - began
            # The machine description is printed once, below; keep each benchmark's figures.
            figures = completed.stdout.splitlines()[len(_machine_lines(completed.stdout)) :]
            print(f"== {name}", flush=True)
            print("\n".join(figures), flush=True)
            if completed.returncode != 0 or (bench.summary and not out.exists()):
                log(f"run_all: {name} failed (exit {completed.returncode})")
                results[name] = None
            else:
                results[name] = json.loads(out.read_text()) if bench.summary else {}
            print(flush=True)

    print(f"Summary ({time.strftime('%Y-%m-%d')}{', --quick: small sizes' if args.quick else ''})")
    print_machine()
    table = [("benchmark", "measured", "target", "met")]
    for name in chosen:
        result = results[name]
        if result is None:
            table.append((name, "failed to run", "", ""))
            continue
        if not BENCHMARKS[name].summary:
            table.append((name, "figures above", "", ""))
            continue
        for label, measured, target, met in _rows(name, result):
            table.append((label, measured, target, "" if met is None else "yes" if met else "NO"))
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    for k, row in enumerate(table):
        print("  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if k == 0:
            print("  " + "  ".join("-" * w for w in widths))
    print("  durations: " + ", ".join(f"{n} {d:.0f} s" for n, d in durations.items()))
    print(f"  wall time: {time.perf_counter() - began_all:.0f} s")
    return 1 if any(r is None for r in results.values()) else 0


def _machine_lines(stdout: str) -> list[str]:
    """The machine description each benchmark prints first (indented key/value lines)."""
    lines = []
    for line in stdout.splitlines():
        if not line.startswith("  ") or line.split()[0] not in {
            "cpu",
            "cores",
            "ram",
            "os",
            "python",
            "sqlite",
            "libs",
        }:
            break
        lines.append(line)
    return lines


if __name__ == "__main__":
    sys.exit(main())
