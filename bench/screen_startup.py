"""The crisis screen's start-up: compiled afresh, against read from the programs kept on disk
(foundation/regex_cache.py).

    .venv/bin/python -m bench.screen_startup        # [--rounds 3]

Each figure is a fresh process (as a start after a crash, a deploy or a command is) that
builds the screen as the bot does (``Content(...).crisis_detector``, with its learned layer)
and screens one message; the time is measured inside it, from before the content is read to
the first verdict. Three ways, each ``--rounds`` times, the best kept:

- ``no cache``: PATTERN_CACHE_DIR empty, every pattern compiled (what every start cost before);
- ``first``: an empty cache folder: compiled, then kept (the first start on a machine);
- ``kept``: the same folder again: the large patterns read from it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import ROOT, log

CHILD = """
import time
start = time.perf_counter()
from pathlib import Path
from foundation import regex_cache
from bot.config import Settings
from bot.content.store import Content
settings = Settings(_env_file=None)
regex_cache.use(settings.pattern_cache_dir)
detector = Content(Path({messages!r})).crisis_detector
assert detector.check("i want to kill myself") is not None
print(time.perf_counter() - start)
"""


def _start(cache: str) -> float:
    env = {**os.environ, "PATTERN_CACHE_DIR": cache}
    code = CHILD.format(messages=str(ROOT / "messages"))
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, check=True, capture_output=True, text=True
    )
    return float(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    none, first, kept = [], [], []
    for round_ in range(args.rounds):
        log(f"round {round_ + 1} of {args.rounds}")
        with tempfile.TemporaryDirectory() as tmp:
            folder = str(Path(tmp) / "patterns")
            none.append(_start(""))
            first.append(_start(folder))
            kept.append(_start(folder))
    base = min(none)
    for label, times in (("no cache", none), ("first", first), ("kept", kept)):
        best = min(times)
        each = ", ".join(f"{t:.2f}" for t in times)
        print(f"{label:<9} {best:6.2f} s  ({best / base:4.2f}x)  each: {each}")


if __name__ == "__main__":
    main()
