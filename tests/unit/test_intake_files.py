"""What an import hands back (bot/services/intake_files.py): the links' CSV keeps a
spreadsheet from running a cell as a formula, the QR page escapes what it shows, the
per-row lines never show a patient's reference; and the settings' intake checks."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.config import INTAKE_KEY_MIN_BYTES, Settings
from bot.content.store import Content
from bot.intake.patient_ref import MIN_SECRET_BYTES
from bot.intake.rows import RowError, RowErrorCode, RowReason, RowValues
from bot.services.intake import IntakeReport, IssuedInvite, RowOutcome, RowResult
from bot.services.intake_files import invite_lines, links_csv, qr_page, report_lines

START = datetime(2027, 3, 14, 13, 30, tzinfo=UTC)
BUNDLED = Path(__file__).resolve().parents[2] / "messages"


def issued(label: str | None = '=HYPERLINK("x")', key: str = "k1") -> IssuedInvite:
    return IssuedInvite(
        invite_id=1,
        patient_key=key,
        code="abcDEF_123-xyz",
        expires_at=START - timedelta(days=1),
        label=label,
        first_start=START,
        zone="America/New_York",
        visit_type="esketamine",
        external_ids=("A-1", "A-2"),
    )


def test_links_csv_neutralises_formulas_and_keeps_the_clinics_reference() -> None:
    lines = invite_lines([issued()], {"k1": "+1 203 555"}, "ClinicBot")
    data = links_csv(lines)
    assert data.startswith("\ufeff".encode())
    [row] = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert row["patient"] == "'+1 203 555"
    assert row["label"].startswith("'=HYPERLINK")
    assert row["appointment_ids"] == "A-1 A-2"
    assert row["first_visit"] == "2027-03-14 09:30" and row["zone"] == "America/New_York"
    assert row["link"] == "https://t.me/ClinicBot?start=abcDEF_123-xyz"


def test_qr_page_escapes_and_leaves_the_type_off_the_cards() -> None:
    lines = invite_lines([issued(label="<b>Chair</b>")], {"k1": "MRN<1>"}, "ClinicBot")
    page = qr_page(lines).decode("utf-8")
    assert "&lt;b&gt;Chair&lt;/b&gt;" in page and "MRN&lt;1&gt;" in page
    assert "<b>Chair" not in page and "esketamine" not in page
    assert page.count("data:image/png;base64,") == 1


def test_report_lines_name_the_row_and_the_reason_never_the_values() -> None:
    error = RowError(
        RowErrorCode.UNKNOWN_STATUS,
        "status",
        RowReason.UNKNOWN_STATUS,
        RowValues(source="acme", named="booked, <cancelled>"),
        3,
    )
    report = IntakeReport(
        (
            RowOutcome(
                RowResult.CREATED,
                "acme",
                "A-1",
                line=2,
                patient_key="k1",
                invite=issued(),
                zone_assumed=True,
            ),
            RowOutcome(RowResult.ERROR, "", None, line=3, error=error),
        ),
        applied=False,
    )
    content = Content(BUNDLED)
    text = "\n".join(
        report_lines(report, clinic_zone="America/New_York", content=content, lang="en")
    )
    assert "line 2  created    A-1  (new link; read in America/New_York)" in text
    reason = "not a status mapped for source acme (known: booked, <cancelled>)"
    assert f"line 3  error      status: {reason}" in text
    assert "k1" not in text and "abcDEF" not in text
    # In the staff member's language, from messages/es (plain text: no HTML escapes).
    spanish = report_lines(report, clinic_zone="America/New_York", content=content, lang="es")
    assert (
        "status: no es un estado asignado para el origen acme (conocidos: booked, <cancelled>)"
        in (spanish[1])
    )


def test_the_intake_secret_is_checked_and_never_repeated() -> None:
    assert INTAKE_KEY_MIN_BYTES == MIN_SECRET_BYTES
    with pytest.raises(ValidationError) as short:
        Settings(_env_file=None, intake_patient_key="too-short-secret")
    [error] = short.value.errors()  # what the command line prints: the message alone
    assert "at least 32 bytes" in error["msg"] and "too-short-secret" not in error["msg"]
    assert Settings(_env_file=None, intake_patient_key="").intake_patient_key is None
    with pytest.raises(ValidationError, match="not source names"):
        Settings(_env_file=None, intake_statuses={"Bad Source": {"x": "booked"}})
    ok = Settings(_env_file=None, intake_patient_key="s" * 32, intake_csv_source="acme")
    assert ok.intake_enabled and ok.intake_csv_source == "acme"
