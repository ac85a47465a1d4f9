"""Mutation testing of the code whose mistakes would hurt most: does the suite notice when it
is broken? mutmut (configured in pyproject.toml, [tool.mutmut]) changes one thing at a time
(a comparison, a constant, a call left out...) in the functions below, runs the tests that
reach each function, and counts a mutant as killed when a test fails (or hangs).

    .venv/bin/python scripts/mutation.py [--max-children 2] [--sample K] [TARGET ...]

TARGET is one or more of: safety, booking, forget, claims, sender (default: all; each is
defined, with the tests that judge it, in tests/mutation_targets.py). Installs
mutmut (the `mutation` extra of pyproject.toml) into .venv when it is missing, runs it in
mutants/ (kept: a second run retests only what changed; `.venv/bin/mutmut browse` shows each
surviving mutant), and prints the score of each target as a Markdown table for
docs/mutation.md. Not part of the test run or CI: about 1.6 hours for all 2,000 mutants on the
2-core machine. `--sample K` tests every K-th mutant of each function (mutmut_1, mutmut_1+K,
...), the same ones each time (the others are generated and skipped, a fraction of a second
each).

The score is mutmut's: killed (and timed out) / every mutant tested. A mutant that survives is
a change to the code no test noticed: a missing test, or code that does nothing.
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.mutation_targets import TARGETS, sampled  # noqa: E402

VENV = ROOT / ".venv" / "bin"
DETECTED = ("killed", "timeout")
NOT_TESTED = ("skipped", "not checked")


def ensure_mutmut() -> None:
    if (VENV / "mutmut").exists():
        return
    print("installing mutmut (pyproject.toml's `mutation` extra) into .venv", flush=True)
    subprocess.run(
        [str(VENV / "python"), "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[test,mutation]"],
        check=True,
    )


def results() -> dict[str, str]:
    """Every mutant's name and status, from mutmut's records."""
    out = subprocess.run(
        [str(VENV / "mutmut"), "results", "--all", "true"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = re.findall(r"^\s+(\S+): (.+)$", out, flags=re.MULTILINE)
    return {name: status.strip() for name, status in found}


def table(chosen: list[str], statuses: dict[str, str], every: int) -> str:
    lines = [
        "| target | mutants | killed | timeout | survived | no tests | other | score |",
        "|---|---|---|---|---|---|---|---|",
    ]
    overall: Counter[str] = Counter()
    for key in chosen:
        target = TARGETS[key]
        counts = Counter(
            status
            for name, status in statuses.items()
            if any(fnmatch.fnmatchcase(name, p) for p in target.mutants) and sampled(name, every)
        )
        overall += counts
        lines.append(_row(target.title, counts))
    lines.append(_row("**all**", overall))
    return "\n".join(lines)


def _row(title: str, counts: Counter[str]) -> str:
    tested = sum(n for status, n in counts.items() if status not in NOT_TESTED)
    detected = sum(counts[s] for s in DETECTED)
    other = tested - detected - counts["survived"] - counts["no tests"]
    score = f"{100 * detected / tested:.1f}%" if tested else "-"
    return (
        f"| {title} | {tested} | {counts['killed']} | {counts['timeout']} | "
        f"{counts['survived']} | {counts['no tests']} | {other} | {score} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="*", metavar="TARGET", help=", ".join(TARGETS))
    parser.add_argument("--max-children", type=int, default=2)
    parser.add_argument("--sample", type=int, default=1, metavar="K", help="every K-th mutant")
    args = parser.parse_args()
    unknown = set(args.targets) - set(TARGETS)
    if unknown:
        parser.error(f"unknown target {', '.join(sorted(unknown))} (known: {', '.join(TARGETS)})")
    chosen = args.targets or list(TARGETS)
    ensure_mutmut()
    patterns = [p for key in chosen for p in TARGETS[key].mutants]
    # mutmut keeps each mutant's result, and a mutant skipped for the sample is recorded as
    # having no tests: a run with another sample starts afresh.
    marker = ROOT / "mutants" / "sample"
    if marker.exists() and marker.read_text() != str(args.sample):
        shutil.rmtree(ROOT / "mutants")
    marker.parent.mkdir(exist_ok=True)
    marker.write_text(str(args.sample))
    started = time.monotonic()
    run = subprocess.run(
        [str(VENV / "mutmut"), "run", "--max-children", str(args.max_children), *patterns],
        cwd=ROOT,
        # tests/mutation_targets.py runs no test for a mutant out of the sample.
        env={**os.environ, "MUTATION_SAMPLE": str(args.sample)},
    )
    minutes = (time.monotonic() - started) / 60
    if run.returncode != 0:
        print(f"mutmut run failed ({run.returncode})", file=sys.stderr)
        return run.returncode
    sample = f", every {args.sample}th mutant" if args.sample > 1 else ""
    print(f"\nmutmut run: {minutes:.0f} minutes, --max-children {args.max_children}{sample}\n")
    print(table(chosen, results(), args.sample))
    return 0


if __name__ == "__main__":
    sys.exit(main())
