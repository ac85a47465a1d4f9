"""A clinic's schedule export (CSV) -> intake rows, or a reason per row.

Tolerant of what real exports look like (docs/intake-csv.md is the staff's guide):

* UTF-8 with or without a byte-order mark, UTF-16 with one (Excel's "Unicode text"), else
  Windows-1252; CRLF, LF or CR line ends; quoted fields with commas, quotes and line breaks;
* the delimiter is read from the header line: comma, semicolon or tab;
* headers in any order, any case, spaces or hyphens for underscores, with the aliases of
  :data:`HEADER_ALIASES`; two columns read as the same field (``id`` and ``appointment_id``,
  or ``status`` twice) refuse the file, naming the line and the columns;
* columns that hold a person's name, e-mail, phone, date of birth or address
  (:func:`is_personal_header`) are recognised and dropped as the file is read: their values
  are in no object this module returns, in no error and in no log line; other unknown
  columns are ignored. The result lists both by header name, so staff see what was not read.

A row with a problem is refused alone (:class:`~bot.intake.rows.RowError`, with its line);
the file is refused whole only when it cannot be read as a table (:class:`CsvFileError`).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace

from bot.intake.patient_ref import PatientKeyer
from bot.intake.rows import (
    IntakeRow,
    IntakeRules,
    RawRow,
    RowError,
    RowErrorCode,
    RowReason,
    RowValues,
    build_row,
)

__all__ = [
    "HEADER_ALIASES",
    "MAX_FILE_BYTES",
    "MAX_ROWS",
    "PERSONAL_WORDS",
    "CsvFileError",
    "CsvImport",
    "is_personal_header",
    "normalize_header",
    "patient_references",
    "read_csv",
]

MAX_FILE_BYTES = 5 * 1024 * 1024
"""5 MiB: some 50,000 rows of a typical export, more than any clinic's season."""
MAX_ROWS = 20_000

HEADER_ALIASES: Mapping[str, tuple[str, ...]] = {
    "external_id": ("appointment_id", "external_id", "id", "appt_id", "booking_id"),
    "patient": ("patient", "patient_id", "mrn", "patient_ref", "patient_reference"),
    "start": ("start", "start_time", "datetime", "starts_at", "start_at"),
    "date": ("date", "start_date", "appointment_date"),
    "time": ("time", "appointment_time"),
    "zone": ("zone", "timezone", "tz", "time_zone"),
    "fold": ("fold", "occurrence"),
    "end": ("end", "end_time", "ends_at", "end_at"),
    "visit_type": ("type", "visit_type", "appointment_type"),
    "status": ("status", "appointment_status"),
    "label": ("label", "staff_label"),
    "language": ("language", "lang", "locale"),
}
"""Our field -> the header names read as it (after :func:`normalize_header`)."""

_FIELD_OF = {alias: name for name, aliases in HEADER_ALIASES.items() for alias in aliases}
_REQUIRED = ("external_id", "patient", "visit_type", "status")

PERSONAL_WORDS = frozenset(
    {
        "name", "names", "firstname", "lastname", "fullname", "surname", "forename",
        "given", "family", "middle", "email", "mail", "phone", "mobile", "cell", "telephone",
        "tel", "fax", "dob", "birth", "birthdate", "birthday", "born", "address", "street",
        "zip", "zipcode", "postcode", "postal", "ssn", "nhs", "insurance",
    }
)  # fmt: skip
"""A header with one of these words (``first_name``, ``E-mail``, ``Date of birth``) holds
something about the person: its column is dropped."""

_DELIMITERS = (",", ";", "\t")


class CsvFileError(ValueError):
    """The file cannot be read as a table; ``line`` is where (None: the whole file)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(f"line {line}: {message}" if line is not None else message)
        self.line = line


@dataclass(frozen=True)
class CsvImport:
    """What a file gave: the rows read, the rows refused, and how its columns were taken."""

    rows: tuple[IntakeRow, ...]
    errors: tuple[RowError, ...]
    columns: Mapping[str, str]
    """Our field -> the file's header it was read from."""
    dropped: tuple[str, ...] = field(default=())
    """Headers of personal columns, dropped unread."""
    ignored: tuple[str, ...] = field(default=())
    """Headers of other columns not read."""


def normalize_header(header: str) -> str:
    """``" Appointment-ID "`` -> ``appointment_id``: case-folded, every run of characters
    other than letters and digits as one ``_``."""
    return re.sub(r"[^0-9a-z]+", "_", header.strip().casefold()).strip("_")


def is_personal_header(header: str) -> bool:
    """Whether a column of this header holds a person's name, contact or birth date."""
    name = normalize_header(header)
    return bool(set(name.split("_")) & PERSONAL_WORDS) or name.replace("_", "") in PERSONAL_WORDS


def _decode(data: bytes) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise CsvFileError("the file says UTF-16 but is not") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        raise CsvFileError("the file is neither UTF-8 nor Windows-1252 text") from None


def _delimiter(text: str) -> str:
    """The candidate that splits the header line into the most fields (comma on a tie)."""
    first = next(iter(io.StringIO(text, newline="")), "")
    best, most = ",", 1
    for candidate in _DELIMITERS:
        try:
            fields = next(csv.reader([first], delimiter=candidate), [])
        except csv.Error:
            continue
        if len(fields) > most:
            best, most = candidate, len(fields)
    return best


@dataclass(frozen=True)
class _Layout:
    index: dict[str, int]
    columns: dict[str, str]
    dropped: tuple[str, ...]
    ignored: tuple[str, ...]
    width: int

    def shown(self, name: str | None) -> str | None:
        """Our field ``name`` as the file's header(s) it was read from, so that a refusal
        names the column the front desk sees ("date/time", not our "start")."""
        if name is None:
            return None
        if name in self.columns:
            return self.columns[name]
        if name == "start" and {"date", "time"} <= self.columns.keys():
            return f"{self.columns['date']}/{self.columns['time']}"
        return name


def _layout(headers: list[str]) -> _Layout:
    seen: dict[str, int] = {}
    index: dict[str, int] = {}
    columns: dict[str, str] = {}
    dropped: list[str] = []
    ignored: list[str] = []
    for position, header in enumerate(headers, start=1):
        name = normalize_header(header)
        if not name:
            ignored.append(header)
            continue
        if name in seen:
            raise CsvFileError(
                f"columns {seen[name]} and {position} have the same header ({name}); keep one",
                line=1,
            )
        seen[name] = position
        wanted = _FIELD_OF.get(name)
        if wanted is not None:
            if wanted in index:
                raise CsvFileError(
                    f"columns {index[wanted] + 1} ({columns[wanted]}) and {position} ({name}) "
                    f"are both read as {wanted}; keep one",
                    line=1,
                )
            index[wanted] = position - 1
            columns[wanted] = name
        elif is_personal_header(name):
            dropped.append(name)
        else:
            ignored.append(name)
    missing = [f for f in _REQUIRED if f not in index]
    if "start" not in index and not {"date", "time"} <= index.keys():
        missing.append("start (or date and time)")
    if "start" in index and ({"date", "time"} & index.keys()):
        raise CsvFileError("has both a start column and date/time columns; keep one form", 1)
    if missing:
        raise CsvFileError(
            "no column for " + ", ".join(missing) + " (docs/intake-csv.md lists the headers)", 1
        )
    return _Layout(index, columns, tuple(dropped), tuple(ignored), len(headers))


def _records(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(the line a record starts on, its fields), blank lines skipped."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    line = 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise CsvFileError(f"not a CSV record ({exc})", line=line) from None
        if any(cell.strip() for cell in record):
            yield line, record
        line = reader.line_num + 1


def read_csv(data: bytes, *, source: str, rules: IntakeRules, keyer: PatientKeyer) -> CsvImport:
    """Read an export of the schedule ``source``; :class:`CsvFileError` if it is no table."""
    if len(data) > MAX_FILE_BYTES:
        raise CsvFileError(f"the file is over {MAX_FILE_BYTES // (1024 * 1024)} MiB")
    text = _decode(data)
    records = _records(text, _delimiter(text))
    first = next(records, None)
    if first is None:
        raise CsvFileError("the file is empty")
    layout = _layout(first[1])
    built: list[IntakeRow] = []
    errors: list[RowError] = []
    for count, (line, record) in enumerate(records, start=1):
        if count > MAX_ROWS:
            raise CsvFileError(f"more than {MAX_ROWS} rows; split the file", line=line)
        if len(record) > layout.width and any(c.strip() for c in record[layout.width :]):
            errors.append(
                RowError(
                    RowErrorCode.BAD_RECORD,
                    None,
                    RowReason.TOO_MANY_FIELDS,
                    RowValues(count=len(record), limit=layout.width),
                    line,
                )
            )
            continue
        result = build_row(_raw(record, layout, source), rules, keyer, line=line)
        if isinstance(result, IntakeRow):
            built.append(result)
        else:
            errors.append(replace(result, field=layout.shown(result.field)))
    rows, duplicates = _without_duplicates(built)
    errors.extend(replace(e, field=layout.shown(e.field)) for e in duplicates)
    errors.sort(key=lambda e: e.line or 0)
    return CsvImport(
        rows=tuple(rows),
        errors=tuple(errors),
        columns=dict(layout.columns),
        dropped=layout.dropped,
        ignored=layout.ignored,
    )


def patient_references(data: bytes, *, source: str, keyer: PatientKeyer) -> dict[str, str]:
    """The file's patient references by their keys, read again from the clinic's own file:
    what lets the invite links an import makes go back to the clinic by the clinic's own
    reference (the command line's output file, the document sent back in the same chat).
    Held in memory only, never stored or logged. Rows without a readable reference are left
    out; CsvFileError as :func:`read_csv`."""
    text = _decode(data)
    records = _records(text, _delimiter(text))
    first = next(records, None)
    if first is None:
        return {}
    layout = _layout(first[1])
    at = layout.index["patient"]
    found: dict[str, str] = {}
    for _, record in records:
        reference = record[at].strip() if at < len(record) else ""
        try:
            found.setdefault(keyer.key(source, reference), reference)
        except ValueError:
            continue
    return found


def _raw(record: list[str], layout: _Layout, source: str) -> RawRow:
    """The row's read cells by field (HEADER_ALIASES's fields are RawRow's); a row shorter
    than the header has its missing cells empty."""
    cells = {
        name: record[at]
        if (at := layout.index.get(name)) is not None and at < len(record)
        else None
        for name in HEADER_ALIASES
    }
    return RawRow(source=source, **cells)


def _without_duplicates(rows: list[IntakeRow]) -> tuple[list[IntakeRow], list[RowError]]:
    """An appointment id twice in one file: which row is right is unknown, so neither is read."""
    counts = Counter(row.external_id for row in rows)
    kept = [row for row in rows if counts[row.external_id] == 1]
    lines: dict[str, list[int]] = {}
    for row in rows:
        if counts[row.external_id] > 1:
            lines.setdefault(row.external_id, []).append(row.line or 0)
    errors = [
        RowError(
            RowErrorCode.DUPLICATE,
            "external_id",
            RowReason.DUPLICATE,
            RowValues(named=", ".join(map(str, found))),
            line,
        )
        for found in lines.values()
        for line in found
    ]
    return kept, errors
