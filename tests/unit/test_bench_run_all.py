"""bench/run_all.py runs every benchmark script of bench/ (it runs none of them here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.run_all import BENCHMARKS, HELPERS, main

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_every_script_of_bench_is_run_or_a_helper() -> None:
    scripts = {path.stem for path in BENCH.glob("*.py")}
    missing = scripts - set(BENCHMARKS) - set(HELPERS)
    assert not missing, f"add {sorted(missing)} to BENCHMARKS (or HELPERS) in bench/run_all.py"
    assert not set(BENCHMARKS) & set(HELPERS)
    assert set(BENCHMARKS) | set(HELPERS) <= scripts, "a name with no script in bench/"


def test_an_unknown_name_for_only_is_refused() -> None:
    with pytest.raises(SystemExit):
        main(["--only", "scale,nonesuch"])
