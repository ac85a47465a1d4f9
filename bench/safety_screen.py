"""The crisis screen's cost per message: the screen before issue 10 vs. now.

    .venv/bin/python -m bench.safety_screen        # [--base 5b384be] [--rounds 7]

The old screen is `bot/domain/safety.py` and `messages/en/safety.toml` as of ``--base`` (read
with `git show` into a temporary module); the new one is the working tree's, over every
language's lexicon, as the bot builds it. Both screen the same messages: the safety corpora
(`tests/corpora/safety/*/*.txt`, crisis and ordinary, English and Spanish) and the ordinary
ones alone (the common case: the screen runs on every update). Reported: the best of
``--rounds`` passes, in µs per message, and new/old.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.common import ROOT, log
from bot.content.store import Content

CORPORA = ROOT / "tests" / "corpora" / "safety"


def _messages(kinds: Sequence[str]) -> list[str]:
    return [
        line.strip()
        for path in sorted(CORPORA.glob("*/*.txt"))
        if path.stem in kinds
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def _git_show(base: str, path: str) -> str:
    return subprocess.run(
        ["git", "show", f"{base}:{path}"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout


def _old_check(base: str, workdir: Path) -> Callable[[str], Any]:
    module_path = workdir / "old_safety.py"
    module_path.write_text(_git_show(base, "bot/domain/safety.py"), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("old_safety", module_path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["old_safety"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    lexicon = tomllib.loads(_git_show(base, "messages/en/safety.toml"))
    categories = {c["key"]: c["phrases"] for c in lexicon["category"]}
    exclusions = lexicon.get("exclusions", {}).get("phrases", [])
    detector = module.CrisisDetector(categories, exclusions)
    return detector.check


def _per_message(check: Callable[[str], Any], messages: Sequence[str], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for text in messages:
            check(text)
        best = min(best, time.perf_counter() - start)
    return best / len(messages) * 1e6


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="5b384be", help="the commit of the old screen")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        old = _old_check(args.base, Path(tmp))
        new = Content(ROOT / "messages").crisis_detector.check
        for name, kinds in (("all", ("crisis", "ordinary")), ("ordinary", ("ordinary",))):
            messages = _messages(kinds)
            for check in (old, new):  # warm up
                _per_message(check, messages, 1)
            log(f"{name}: {len(messages)} messages, {args.rounds} rounds")
            old_us = _per_message(old, messages, args.rounds)
            new_us = _per_message(new, messages, args.rounds)
            print(
                f"{name:<9} {len(messages):>4} messages  old {old_us:6.2f} µs/msg  "
                f"new {new_us:6.2f} µs/msg  new/old {new_us / old_us:4.2f}"
            )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
