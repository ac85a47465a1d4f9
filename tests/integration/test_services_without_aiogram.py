"""A new surface (an HTTP endpoint, a web page) gets the clinic's services from ``Services``
without aiogram, and they keep the rules the Telegram handlers keep: an invite, a visit move
and a text edit, with the same permissions and the same audit lines (the team's Telegram tests,
test_staff_telegram.py, test_visit_changes.py and test_staff_content.py, check those lines
for the same actions). The scenario (services_scenario.py) runs in a process of its own, so
that nothing the test process imported can hide an aiogram import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.pg import DATABASE_KINDS
from tests.integration.staff_rig import ENV_ADMIN

ROOT = Path(__file__).resolve().parents[2]
NURSE, PATIENT = 5001, 7001


def run_scenario(kind: str, folder: Path) -> tuple[list[dict[str, object]], list[str]]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.integration.services_scenario", kind, str(folder)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    *lines, last = [json.loads(line) for line in done.stdout.splitlines()]
    return lines, last["aiogram_modules"]


@pytest.mark.parametrize("kind", DATABASE_KINDS)
def test_services_book_move_and_edit_with_telegrams_rules_and_no_aiogram(
    kind: str, tmp_path: Path
) -> None:
    lines, aiogram = run_scenario(kind, tmp_path)
    assert aiogram == []
    assert [
        (line["actor"], line["action"], line["target"], line["outcome"], line["reason"])
        for line in lines
    ] == [
        (ENV_ADMIN, "staff.add", "staff", "done", None),
        (NURSE, "invite.create", "invite", "done", None),
        (None, "invite.redeem", "invite", "done", None),
        (PATIENT, "visit.move", "appointment", "refused", "not_staff"),
        (NURSE, "visit.move", "appointment", "done", None),
        (NURSE, "content.edit", "content", "refused", "role"),
        (ENV_ADMIN, "content.edit", "content", "done", None),
    ]
    assert {line["surface"] for line in lines} == {"api"}
