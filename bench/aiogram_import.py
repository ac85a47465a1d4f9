"""Importing aiogram as it ships vs. as the bot imports it (bot/lazy_aiogram.py).

    .venv/bin/python -m bench.aiogram_import        # [--rounds 5]

Each import runs in a fresh interpreter (an import happens once per process), the two kinds
taking turns, and imports what the bot's start needs: `Bot`, `Dispatcher` and the types and
methods packages, then builds what the first update needs (an `Update`). Reported per kind:
the median wall time and the median peak RSS (`VmHWM`), and their ratios; the module is worth
keeping only while the ratios stay well below 1.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from bench.common import ROOT, bench_main, log, median

_CHILD = """
import json, time
start = time.perf_counter()
if {lazy}:
    from bot.lazy_aiogram import prepare_aiogram
    prepare_aiogram(True)
from aiogram import Bot, Dispatcher
import aiogram.methods, aiogram.types
aiogram.types.Update.model_validate({{"update_id": 1, "message": {{"message_id": 1, "date": 0,
    "chat": {{"id": 1, "type": "private"}}, "text": "hi"}}}})
seconds = time.perf_counter() - start
with open("/proc/self/status") as status:
    rss_kib = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print(json.dumps({{"seconds": seconds, "rss_mib": rss_kib / 1024}}))
"""


def _one(lazy: bool) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD.format(lazy=lazy)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(done.stdout)
    return result


async def run(rounds: int) -> dict[str, Any]:
    samples: dict[str, list[dict[str, float]]] = {"shipped": [], "lazy": []}
    for i in range(rounds):
        log(f"round {i + 1}/{rounds}")
        for kind in ("shipped", "lazy") if i % 2 == 0 else ("lazy", "shipped"):
            samples[kind].append(_one(kind == "lazy"))
    result: dict[str, Any] = {}
    for kind, runs in samples.items():
        result[f"{kind}_s"] = median([r["seconds"] for r in runs])
        result[f"{kind}_rss_mib"] = median([r["rss_mib"] for r in runs])
    result["time_ratio"] = result["lazy_s"] / result["shipped_s"]
    result["rss_ratio"] = result["lazy_rss_mib"] / result["shipped_rss_mib"]
    for kind in samples:
        print(f"{kind:8} {result[f'{kind}_s']:.2f} s  {result[f'{kind}_rss_mib']:.0f} MiB")
    print(f"lazy / shipped: time {result['time_ratio']:.2f}, peak RSS {result['rss_ratio']:.2f}")
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    options = {"--rounds": {"type": int, "default": 5}}
    return bench_main(__doc__ or "", argv, options, run)


if __name__ == "__main__":
    main()
