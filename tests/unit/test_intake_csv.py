"""bot.intake.csv_import: real exports (BOM, CRLF, quotes, delimiters, aliases), personal
columns dropped, one refusal per bad row, the file refused only when it is no table."""

from __future__ import annotations

import codecs
import csv
import dataclasses
import io
import random
import re
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.intake import csv_import
from bot.intake.csv_import import (
    HEADER_ALIASES,
    PERSONAL_WORDS,
    CsvFileError,
    CsvImport,
    is_personal_header,
    normalize_header,
    read_csv,
)
from bot.intake.rows import IntakeStatus, RawRow, RowErrorCode
from tests.unit.intake_support import KEYER, PERSONAL, RULES

ROOT = Path(__file__).resolve().parents[2]
GOOD_HEADER = ["appointment_id", "patient", "start", "type", "status"]


def read(data: bytes | str, source: str = "acme") -> CsvImport:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return read_csv(raw, source=source, rules=RULES, keyer=KEYER)


def table(rows: list[list[str]], delimiter: str = ",", terminator: str = "\r\n") -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator=terminator).writerows(rows)
    return out.getvalue()


def test_an_export_as_excel_writes_it() -> None:
    """BOM, CRLF, semicolons, headers in their own words and order, a quoted delimiter,
    personal columns: the rows are read and the personal values are nowhere."""
    text = (
        "\ufeffPatient Name;E-mail;Phone;Date of Birth;Appointment ID;MRN;Start Time;TZ;"
        "Visit-Type;Status;Staff Label;Lang;Notes\r\n"
        f'"{PERSONAL[0]}";{PERSONAL[1]};{PERSONAL[2]};{PERSONAL[3]};A-1;MRN-1;'
        '2027-05-03 10:00;Europe/Madrid;KET-IV;Scheduled;"Chair 2; window";es;call first\r\n'
        f'"Doe; John";j@x.org;555;1970-01-01;A-2;MRN-2;2027-05-04 09:00;;consult;DNA;;;\r\n'
    )
    result = read(text)
    assert [r.external_id for r in result.rows] == ["A-1", "A-2"]
    first, second = result.rows
    assert first.start is not None and first.start.at == datetime(2027, 5, 3, 8, 0, tzinfo=UTC)
    assert (first.visit_type, first.status, first.label, first.language) == (
        "infusion",
        IntakeStatus.BOOKED,
        "Chair 2; window",
        "es",
    )
    assert second.start is not None and second.start.zone_assumed
    assert second.status is IntakeStatus.NOSHOW
    assert result.dropped == ("patient_name", "e_mail", "phone", "date_of_birth")
    assert result.ignored == ("notes",)
    assert result.columns["patient"] == "mrn" and result.columns["zone"] == "tz"
    shown = repr(result) + "".join(str(e) for e in result.errors)
    for value in (*PERSONAL, "Doe; John", "j@x.org", "1970-01-01", "MRN-1", "call first"):
        assert value not in shown


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
@pytest.mark.parametrize("terminator", ["\r\n", "\n", "\r"])
def test_delimiters_and_line_ends(delimiter: str, terminator: str) -> None:
    rows = [GOOD_HEADER, ["A-1", "MRN-1", "2027-05-03T10:00-04:00", "infusion", "booked"]]
    result = read(table(rows, delimiter, terminator))
    assert [r.external_id for r in result.rows] == ["A-1"] and not result.errors


def test_utf16_and_windows_1252_exports() -> None:
    rows = [[*GOOD_HEADER, "label"], ["A-1", "MRN-1", "2027-05-03 10:00", "consult", "booked",
                                       "Café"]]  # fmt: skip
    utf16 = codecs.BOM_UTF16_LE + table(rows, "\t").encode("utf-16-le")
    assert read(utf16).rows[0].label == "Café"
    assert read(table(rows).encode("cp1252")).rows[0].label == "Café"


def test_date_and_time_columns() -> None:
    text = "id,patient,date,time,type,status\nA-1,M,2027-05-03,9:30 AM,consult,booked\n"
    [row] = read(text).rows
    assert row.start is not None and row.start.at == datetime(2027, 5, 3, 13, 30, tzinfo=UTC)


def test_a_refusal_names_the_files_own_columns() -> None:
    """The front desk sees its export's headers, not our field names: a day-first date in
    "Appointment Date"/"Appointment Time" columns is refused as that pair; an unknown type names
    "appointment_type"; the same id twice names the id column as the file calls it."""
    text = (
        "Appt ID,patient,Appointment Date,Appointment Time,Appointment Type,status\n"
        "A-1,M,20/12/2027,9:30 AM,consult,booked\n"
        "A-2,M,2027-12-20,9:30 AM,massage,booked\n"
        "A-3,M,2027-12-21,9:30 AM,consult,booked\n"
        "A-3,N,2027-12-22,9:30 AM,consult,booked\n"
    )
    found = {(e.line, e.field) for e in read(text).errors}
    date_time, kind = "appointment_date/appointment_time", "appointment_type"
    assert found == {(2, date_time), (3, kind), (4, "appt_id"), (5, "appt_id")}


@pytest.mark.parametrize(
    ("header", "says"),
    [
        ("id,patient,start,type,status,Status", "columns 5 and 6 have the same header (status)"),
        ("id,patient,start,type,status,appointment_id", "columns 1 (id) and 6 (appointment_id)"),
        (
            "id,patient,start,type,status,Email,EMAIL ",
            "columns 6 and 7 have the same header (email)",
        ),
        ("id,patient,type,status", "no column for start (or date and time)"),
        ("id,start,type", "no column for patient, status"),
        ("id,patient,start,date,time,type,status", "both a start column and date/time"),
        ("id,patient,date,type,status", "no column for start"),
    ],
)
def test_a_header_that_cannot_be_read_refuses_the_file(header: str, says: str) -> None:
    with pytest.raises(CsvFileError) as caught:
        read(header + "\nA-1,M,2027-05-03T10:00Z,consult,booked\n")
    assert caught.value.line == 1
    assert says in str(caught.value) and str(caught.value).startswith("line 1: ")


def test_bad_rows_are_refused_alone_with_their_line() -> None:
    text = (
        "id,patient,start,type,status,label\n"
        "A-1,M1,2027-05-03T10:00Z,consult,booked,\n"
        '"A-2",M2,2027-05-03T10:00Z,consult,"two\nlines",\n'  # an unknown status, 2 lines
        "A-3,M3,2027-05-03T10:00Z,massage,booked,\n"
        "\n"
        "A-4,M4,2027-05-03T10:00Z,consult,booked,,surplus\n"
        "A-5,M5,2027-05-03T10:00Z,consult,booked,,,\n"  # empty trailing fields: fine
        "A-6,M6,2027-03-14 02:30,consult,booked\n"
    )
    result = read(text)
    assert [r.external_id for r in result.rows] == ["A-1", "A-5"]
    assert [r.line for r in result.rows] == [2, 8]
    assert [(e.line, e.code) for e in result.errors] == [
        (3, RowErrorCode.UNKNOWN_STATUS),
        (5, RowErrorCode.UNKNOWN_VISIT_TYPE),
        (7, RowErrorCode.BAD_RECORD),
        (9, RowErrorCode.NONEXISTENT_TIME),
    ]


def test_the_same_appointment_twice_refuses_both() -> None:
    text = (
        "id,patient,start,type,status\n"
        "A-1,M1,2027-05-03T10:00Z,consult,booked\n"
        "A-2,M2,2027-05-03T10:00Z,consult,booked\n"
        "A-1,M1,2027-05-04T10:00Z,consult,booked\n"
    )
    result = read(text)
    assert [r.external_id for r in result.rows] == ["A-2"]
    assert [(e.line, e.code) for e in result.errors] == [
        (2, RowErrorCode.DUPLICATE),
        (4, RowErrorCode.DUPLICATE),
    ]
    assert "lines 2, 4" in str(result.errors[0])


@pytest.mark.parametrize(
    "data",
    [b"", b"\xef\xbb\xbf", b"\n\n", b'id,patient,start,type,status\n"A-1,M', b"\xff\xfe\x00\xd8"],
)
def test_what_is_no_table_is_refused_whole(data: bytes) -> None:
    with pytest.raises(CsvFileError):
        read(data)


def test_size_and_row_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(CsvFileError, match="over 5 MiB"):
        read(b"x" * (csv_import.MAX_FILE_BYTES + 1))
    monkeypatch.setattr(csv_import, "MAX_ROWS", 2)
    body = "".join(f"A-{i},M,2027-05-03T10:00Z,consult,booked\n" for i in range(3))
    with pytest.raises(CsvFileError, match="more than 2 rows") as caught:
        read("id,patient,start,type,status\n" + body)
    assert caught.value.line == 4


@pytest.mark.parametrize(
    "header",
    ["Name", "First Name", "last_name", "Surname", "E-mail", "email_address", "Phone",
     "Mobile", "Cell Phone", "DOB", "Date of Birth", "BirthDate", "Address", "Street",
     "Zip Code", "Patient Name", "FullName"],
)  # fmt: skip
def test_personal_headers_are_recognised(header: str) -> None:
    assert is_personal_header(header)


def test_every_field_read_is_a_field_of_the_intake_command() -> None:
    fields = {f.name for f in dataclasses.fields(RawRow)} - {"source"}
    assert set(HEADER_ALIASES) == fields


def test_no_read_header_counts_as_personal() -> None:
    for aliases in HEADER_ALIASES.values():
        for alias in aliases:
            assert not is_personal_header(alias), alias
            assert normalize_header(alias) == alias


# ----------------------------------------------------------------------------- the docs


def test_the_docs_list_every_alias_and_personal_word_and_the_template_reads() -> None:
    doc = (ROOT / "docs" / "intake-csv.md").read_text(encoding="utf-8")
    for field, aliases in HEADER_ALIASES.items():
        line = next((ln for ln in doc.splitlines() if ln.startswith(f"| `{field}`")), "")
        cells = line.split("|")
        assert len(cells) > 3, field
        listed = set(re.findall(r"`([a-z_]+)`", cells[2]))
        assert listed == set(aliases), field
    for word in PERSONAL_WORDS:
        assert f"`{word}`" in doc, word
    result = read((ROOT / "docs" / "intake-template.csv").read_bytes())
    assert result.rows and not result.errors, [str(e) for e in result.errors]


# ----------------------------------------------------------------------------- properties

_LABELS = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["C"]), max_size=30).map(
    str.strip
)


@settings(max_examples=150, deadline=None)
@given(
    labels=st.lists(_LABELS, min_size=1, max_size=8),
    delimiter=st.sampled_from([",", ";", "\t"]),
    terminator=st.sampled_from(["\r\n", "\n"]),
    bom=st.booleans(),
    seed=st.integers(0, 2**16),
    case=st.sampled_from([str.upper, str.lower, str.title]),
)
def test_any_export_of_good_rows_reads_back(
    labels: list[str], delimiter: str, terminator: str, bom: bool, seed: int, case: object
) -> None:
    """Property: rows written by a CSV writer (any delimiter, line end, column order, header
    case, a BOM or not, labels with quotes, commas, semicolons) read back as they were."""
    order = ["appointment_id", "patient", "start", "type", "status", "label", "first_name"]
    random.Random(seed).shuffle(order)
    header = [case(h.replace("_", " ")) for h in order]  # type: ignore[operator]
    rows = []
    for i, label in enumerate(labels):
        value = {
            "appointment_id": f"A-{i}",
            "patient": f"M-{i}",
            "start": "2027-05-03T10:00:00+02:00",
            "type": "consult",
            "status": "booked",
            "label": label[:80],
            "first_name": "Quinlan" + label,
        }
        rows.append([value[h] for h in order])
    text = table([header, *rows], delimiter, terminator)
    result = read(("\ufeff" if bom else "") + text)
    assert not result.errors, [str(e) for e in result.errors]
    assert [r.external_id for r in result.rows] == [f"A-{i}" for i in range(len(labels))]
    expected = [unicodedata.normalize("NFC", label[:80].strip()) or None for label in labels]
    assert [r.label for r in result.rows] == expected
    assert "Quinlan" not in repr(result)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_any_bytes_are_rows_or_a_refusal(data: bytes) -> None:
    try:
        result = read(b"id,patient,start,type,status\n" + data)
    except CsvFileError:
        return
    assert len(result.rows) + len(result.errors) <= data.count(b"\n") + data.count(b"\r") + 1
