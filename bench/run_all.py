"""Runs every benchmark, each in a fresh process, then prints a summary table.

    .venv/bin/python -m bench.run_all [--only scale,limit]

Each benchmark's own figures are printed as it finishes; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import ROOT, log, print_machine

BENCHMARKS = (
    "scale",
    "throughput",
    "limit",
    "punctuality",
    "updates",
    "aiogram_import",
    "replicas",
)


def _rows(name: str, r: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    if name == "scale":
        return [
            ("scale (a) bot start to ready", f"{r['ready_s']:.2f} s", "<= 5 s", r["ready_s"] <= 5),
            ("scale (b) peak RSS", f"{r['rss_mib']:.0f} MiB", "<= 200 MB", r["rss_mib"] <= 200),
            (
                "scale (c) claim 1,000: 500k vs 5k pending",
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
    return []


def _updates_rows(r: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    """One row per latency that has a target: bot/echo updates/s of each workload."""
    by_latency: dict[float, list[dict[str, Any]]] = {}
    for row in r["rows"]:
        by_latency.setdefault(row["latency_ms"], []).append(row)
    result = []
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
    args = parser.parse_args(argv)
    chosen = [b for b in BENCHMARKS if not args.only or b in args.only.split(",")]
    results: dict[str, dict[str, Any] | None] = {}
    durations: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-run-all-") as tmp:
        for name in chosen:
            out = Path(tmp) / f"{name}.json"
            log(f"run_all: {name} ...")
            began = time.perf_counter()
            completed = subprocess.run(
                [sys.executable, "-m", f"bench.{name}", "--json", str(out)],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                text=True,
                check=False,
            )
            durations[name] = time.perf_counter() - began
            # The machine description is printed once, below; keep each benchmark's figures.
            figures = completed.stdout.splitlines()[len(_machine_lines(completed.stdout)) :]
            print("\n".join(figures), flush=True)
            if completed.returncode != 0 or not out.exists():
                log(f"run_all: {name} failed (exit {completed.returncode})")
                results[name] = None
            else:
                results[name] = json.loads(out.read_text())
            print(flush=True)

    print(f"Summary ({time.strftime('%Y-%m-%d')})")
    print_machine()
    table = [("benchmark", "measured", "target", "met")]
    for name in chosen:
        result = results[name]
        if result is None:
            table.append((name, "failed to run", "", ""))
            continue
        for label, measured, target, met in _rows(name, result):
            table.append((label, measured, target, "yes" if met else "NO"))
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    for k, row in enumerate(table):
        print("  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if k == 0:
            print("  " + "  ".join("-" * w for w in widths))
    print("  durations: " + ", ".join(f"{n} {d:.0f} s" for n, d in durations.items()))
    return 0


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
