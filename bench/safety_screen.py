"""The crisis screen's cost per message: the screen at a base commit vs. now.

    .venv/bin/python -m bench.safety_screen        # [--base 4823ce4] [--rounds 7]

The old screen is `bot/domain/safety.py` and every `messages/<lang>/safety.toml` as of
``--base`` (read with `git show` into a temporary module; the default is the screen before
issue 16, the one before issue 10 was 5b384be); the new one is the working tree's, as the bot
builds it, with its learned layer and without. They screen the same messages: the reviewed
safety corpora (`tests/corpora/safety/*/*.txt`, crisis and ordinary, English and Spanish), the
ordinary ones alone (the common case: the screen runs on every update), and a long ordinary
message (4,096 characters, Telegram's most), alone and with a crisis sentence at its end.
Reported: the best of ``--rounds`` passes, in µs per message, and new/old. Also: the time to
build each screen (at start-up).

``--lexicon-at COMMIT`` adds a column: this code with the lexicons (``messages/*/safety.toml``)
as of COMMIT, without a learned layer, next to "lexicon" (this code, these lexicons): what the
lexicon's growth since COMMIT costs, on the same messages, in the same process.
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
LONG_SENTENCE = "my chest is fine and the breathing exercises help my depression, see you at 10 "
CRISIS_END = " honestly i want to end my life"


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
    categories: dict[str, list[str]] = {}
    patterns: dict[str, list[Any]] = {}
    exclusions: list[str] = []
    alerting: set[str] = set()
    for lang in ("en", "es"):
        try:
            lexicon = tomllib.loads(_git_show(base, f"messages/{lang}/safety.toml"))
        except subprocess.CalledProcessError:
            continue
        for c in lexicon["category"]:
            categories.setdefault(c["key"], []).extend(c["phrases"])
            patterns.setdefault(c["key"], []).extend(
                module.Proximity(tuple(p["first"]), tuple(p["then"]), p.get("within", 3))
                for p in c.get("pattern", [])
            )
            if c.get("alert_staff", True):
                alerting.add(c["key"])
        exclusions.extend(lexicon.get("exclusions", {}).get("phrases", []))
    if not any(patterns.values()) and not (set(categories) - alerting):
        detector = module.CrisisDetector(categories, exclusions)  # before proximity patterns
    else:
        quiet = set(categories) - alerting
        detector = module.CrisisDetector(categories, exclusions, patterns=patterns, quiet=quiet)
    return detector.check


def _lexicon_at(commit: str, workdir: Path) -> Callable[[str], Any]:
    """This code's screen over the lexicons as they were at ``commit`` (no learned layer)."""
    from bot.content.loading import load_file
    from bot.content.schemas import SafetyLexicon, crisis_detector

    parts = []
    for lang in ("en", "es"):
        path = workdir / lang / "safety.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_git_show(commit, f"messages/{lang}/safety.toml"), encoding="utf-8")
        parts.append(load_file(SafetyLexicon, path))
    return crisis_detector(parts).check


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
    parser.add_argument("--base", default="4823ce4", help="the commit of the old screen")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--lexicon-at", help="also time the lexicons as of this commit")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        old = _old_check(args.base, Path(tmp))
        old_build = time.perf_counter() - start
        start = time.perf_counter()
        detector = Content(ROOT / "messages").crisis_detector
        new_build = time.perf_counter() - start
        screens: list[tuple[str, Callable[[str], Any]]] = [
            ("new", detector.check),
            ("lexicon", detector.with_model(None).check),
        ]
        if args.lexicon_at:
            screens.append(
                (f"lexicon@{args.lexicon_at}", _lexicon_at(args.lexicon_at, Path(tmp) / "at"))
            )
        long = (LONG_SENTENCE * 80)[:4096]
        sets = (
            ("all", _messages(("crisis", "ordinary"))),
            ("ordinary", _messages(("ordinary",))),
            ("long", [long]),
            ("long+crisis", [long[: 4096 - len(CRISIS_END)] + CRISIS_END]),
        )
        print(f"build: old {old_build * 1000:.0f} ms, new {new_build * 1000:.0f} ms")
        for name, messages in sets:
            for check in (old, *(c for _, c in screens)):  # warm up
                _per_message(check, messages, 1)
            log(f"{name}: {len(messages)} messages, {args.rounds} rounds")
            old_us = _per_message(old, messages, args.rounds)
            figures = [f"old {old_us:8.2f}"]
            for label, check in screens:
                us = _per_message(check, messages, args.rounds)
                figures.append(f"{label} {us:8.2f} ({us / old_us:4.2f}x)")
            print(f"{name:<12} {len(messages):>4} msgs  µs/msg: " + "  ".join(figures))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
