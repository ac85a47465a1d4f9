"""The import contracts of pyproject.toml ([tool.importlinter]) hold, and they bite.

`lint-imports` runs over a copy of bot/, scheduler/ and foundation/: once as it is (every
contract kept), once with a scheduler module importing the bot (the scheduler's contract
broken), once with a foundation module importing the scheduler (the foundation's).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    for package in ("bot", "scheduler", "foundation"):
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def lint_imports(where: Path) -> subprocess.CompletedProcess[str]:
    # The copy comes first on the path, ahead of the editable install of the worktree.
    env = {**os.environ, "PYTHONPATH": str(where)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo"],
        cwd=where,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_code_keeps_every_contract(copy: Path) -> None:
    result = lint_imports(copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_scheduler_module_importing_the_bot_breaks_a_contract(copy: Path) -> None:
    wakeup = copy / "scheduler" / "wakeup.py"
    wakeup.write_text(wakeup.read_text() + "\nimport bot.db  # noqa: E402\n")
    result = lint_imports(copy)
    assert result.returncode != 0
    assert "scheduler.wakeup -> bot.db" in result.stdout
    assert "1 broken" in result.stdout


def test_a_foundation_module_importing_the_scheduler_breaks_a_contract(copy: Path) -> None:
    clock = copy / "foundation" / "clock.py"
    clock.write_text(clock.read_text() + "\nimport scheduler.plan  # noqa: E402\n")
    result = lint_imports(copy)
    assert result.returncode != 0
    assert "foundation.clock -> scheduler.plan" in result.stdout
    assert "1 broken" in result.stdout


def test_the_intake_core_importing_the_database_breaks_a_contract(copy: Path) -> None:
    rows = copy / "bot" / "intake" / "rows.py"
    rows.write_text(rows.read_text() + "\nimport bot.db.patients  # noqa: E402\n")
    result = lint_imports(copy)
    assert result.returncode != 0
    assert "bot.intake.rows -> bot.db.patients" in result.stdout
