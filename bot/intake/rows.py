"""The one intake command every source is read into: create, move or cancel a visit.

A visit is named by the clinic's own appointment id: ``source`` (which schedule: one clinic
system, one CSV export) and ``external_id`` (its id there), unique together. Every source
(CSV, HTTP API, FHIR) fills a :class:`RawRow` of texts and calls :func:`build_row`, which
gives an :class:`IntakeRow` or a :class:`RowError` for that row; nothing is guessed:

* an unknown visit type, status, language or zone is an error for the row, never a default;
* the patient's reference in the clinic's system is kept only as a keyed hash
  (:mod:`bot.intake.patient_ref`), never in clear;
* a :class:`RowError` never repeats what the row held (a misplaced column may put a name or
  a phone number anywhere): it names the field and says what was expected.

Start times (:func:`resolve_start`):

* an instant with an offset (``2027-03-14T09:30:00-04:00``, ``...Z``) is taken as it is, in UTC;
* a local time with an IANA zone is read in that zone. A local time the clocks skip (a
  spring-forward gap) is refused; one that happens twice (clocks going back) is the
  **earliest** of the two (``fold=0``) unless the row says ``fold=1`` (later), and the row
  is flagged ``ambiguous`` so the choice is shown back;
* a local time without a zone is read in the clinic's zone, flagged ``zone_assumed`` so the
  staff who sent it see which zone was used;
* an offset and a zone together must agree (the offset the zone has at that instant).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.domain.refusals import RowReason
from bot.intake.patient_ref import PatientKeyer
from foundation.timemath import (
    AmbiguousLocalTime,
    NonexistentLocalTime,
    UnknownZone,
    load_zone,
    resolve_local,
)

__all__ = [
    "API_WORDS",
    "IntakeRow",
    "IntakeRules",
    "IntakeStatus",
    "RawRow",
    "ResolvedStart",
    "RowError",
    "RowErrorCode",
    "RowProblem",
    "RowReason",
    "RowValues",
    "build_row",
    "fold_word",
    "map_status",
    "resolve_start",
]

MAX_EXTERNAL_ID = 128
MAX_PATIENT_REF = 128
MAX_LABEL = 80
SOURCE_PATTERN = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
"""A source's name: lower-case letters, digits, ``_ . -``; it appears in the API's paths."""

START_FORMATS = (
    "2027-03-14T09:30:00-04:00 (an instant), 2027-03-14 09:30 (a local time), "
    "or date 2027-03-14 and time 09:30 / 9:30 AM"
)

API_WORDS: Mapping[RowReason, str] = {
    RowReason.EMPTY: "is empty",
    RowReason.TOO_LONG: "must be at most {limit} characters, without control characters",
    RowReason.UNKNOWN_STATUS: "not a status mapped for source {source} (known: {named})",
    RowReason.UNKNOWN_VISIT_TYPE: "not a known visit type (known: {named})",
    RowReason.UNKNOWN_LANGUAGE: "not a language the bot speaks ({named})",
    RowReason.UNREADABLE_START: f"not a date and time we read ({START_FORMATS})",
    RowReason.NOT_A_REAL_DATE: "is not a real date and time",
    RowReason.UNREADABLE_TIME: "not a time we read (09:30, 9:30 PM)",
    RowReason.BAD_12_HOUR: "a 12-hour time runs 1 to 12",
    RowReason.BAD_FOLD: "must be 0 or earlier, 1 or later",
    RowReason.UNKNOWN_ZONE: "not an IANA time zone name (America/New_York)",
    RowReason.OFFSET_ZONE_MISMATCH: "its offset is not the one {zone} has at that time",
    RowReason.NONEXISTENT_TIME: (
        "that local time does not exist in {zone} "
        "(the clocks skip it when daylight-saving time starts)"
    ),
    RowReason.DATE_TIME_TOGETHER: "is empty (date and time go together)",
    RowReason.END_BEFORE_START: "must come after the start",
    RowReason.VISIT_TOO_LONG: "a visit lasts at most a day",
    RowReason.BAD_SOURCE: "must be 1 to 64 lower-case letters, digits, '_', '.' or '-'",
    RowReason.TOO_MANY_FIELDS: (
        "has {count} fields, the header {limit} (a quote or a delimiter out of place?)"
    ),
    RowReason.DUPLICATE: "the same appointment id is on lines {named}",
    RowReason.OTHER_PATIENT: (
        "this appointment id was imported for another patient; cancel it and give the visit "
        "a new id"
    ),
    RowReason.FHIR_INSTANT: "not a FHIR instant (2027-03-14T09:30:00-04:00)",
    RowReason.FHIR_ID_LENGTH: "its value must be 1 to {limit} characters",
    RowReason.FHIR_NO_SOURCE: (
        "no identifier has a system mapped to a source (docs/fhir-mapping.md)"
    ),
    RowReason.FHIR_STATUS: "not an R4 AppointmentStatus code",
    RowReason.FHIR_NOT_BOOKED: "{named}: not a booked visit yet; send it again once it is booked",
    RowReason.FHIR_TYPE_NO_PLAN: "its coding is mapped to a visit type that has no plan",
    RowReason.FHIR_NO_TYPE: "no coding is mapped to a visit type (docs/fhir-mapping.md)",
    RowReason.FHIR_PATIENT: (
        "needs exactly one participant whose actor is a Patient/<id> reference"
    ),
    RowReason.FHIR_NOT_APPOINTMENT: "not a FHIR R4 Appointment ({named})",
    RowReason.START_END_TOGETHER: "start and end go together (FHIR invariant app-2)",
    RowReason.START_NEEDED: "a booked visit needs a start",
}
"""How the HTTP API words each reason (its problems' ``detail``: English, for the clinic's
integrators). Staff read theirs from messages/<lang>/intake_row_refused.html.j2."""


class IntakeStatus(StrEnum):
    """What the clinic's schedule says of a visit, in our words (each source maps its own)."""

    BOOKED = "booked"
    CANCELLED = "cancelled"
    NOSHOW = "noshow"
    FULFILLED = "fulfilled"


class RowErrorCode(StrEnum):
    MISSING = "missing"  # a required field is empty
    BAD_SOURCE = "bad_source"
    UNKNOWN_SOURCE = "unknown_source"  # FHIR: an identifier system no source is mapped to
    BAD_ID = "bad_id"
    BAD_PATIENT = "bad_patient"
    BAD_START = "bad_start"  # not a date and time we read
    BAD_END = "bad_end"
    END_BEFORE_START = "end_before_start"
    UNKNOWN_ZONE = "unknown_zone"
    OFFSET_ZONE_MISMATCH = "offset_zone_mismatch"
    NONEXISTENT_TIME = "nonexistent_time"  # the clocks skip it (daylight-saving time starts)
    BAD_FOLD = "bad_fold"
    UNKNOWN_STATUS = "unknown_status"
    UNKNOWN_VISIT_TYPE = "unknown_visit_type"
    UNKNOWN_LANGUAGE = "unknown_language"
    BAD_LABEL = "bad_label"
    DUPLICATE = "duplicate"  # the same appointment id twice in one file
    BAD_RECORD = "bad_record"  # CSV: more fields than the header has
    NOT_AN_APPOINTMENT = "not_an_appointment"  # FHIR: the JSON is not an R4 Appointment


@dataclass(frozen=True, slots=True)
class RowValues:
    """What the explanation of a refused row names: never the row's own values, only the
    settings' words, limits, a zone, line numbers."""

    limit: int = 0
    count: int = 0
    source: str = ""
    zone: str = ""
    named: str = ""
    """Words or numbers joined with ", " (the statuses known, the lines of a duplicate)."""


@dataclass(frozen=True, slots=True)
class RowError:
    """Why one row was refused. ``line`` is the file's line (CSV) or None; ``reason`` and
    ``values`` say why for staff, in their language (messages/<lang>/intake_row_refused);
    :attr:`message` says it in the API's English, naming the field and what was expected,
    never the row's values."""

    code: RowErrorCode
    field: str | None
    reason: RowReason
    values: RowValues = RowValues()
    line: int | None = None

    @property
    def message(self) -> str:
        return API_WORDS[self.reason].format(**asdict(self.values))

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        field = f"{self.field}: " if self.field else ""
        return f"{where}{field}{self.message}"


class RowProblem(ValueError):
    """Raised inside the readers; :func:`build_row` and the sources turn it into a RowError."""

    def __init__(
        self,
        code: RowErrorCode,
        field: str | None,
        reason: RowReason,
        values: RowValues = RowValues(),
    ) -> None:
        super().__init__(reason.value)
        self.code = code
        self.field = field
        self.reason = reason
        self.values = values

    @property
    def message(self) -> str:
        return self.error().message

    def error(self, line: int | None = None) -> RowError:
        return RowError(self.code, self.field, self.reason, self.values, line)


@dataclass(frozen=True, slots=True)
class ResolvedStart:
    """A visit's start as read: ``at`` in UTC, and how it was read (to show it back)."""

    at: datetime
    zone: str | None
    """The zone the local time was read in (or the one given with an instant); None for a
    bare instant."""
    zone_assumed: bool = False
    """The row gave a local time and no zone: the clinic's zone was used."""
    ambiguous: bool = False
    """The local time happens twice in ``zone``; ``fold`` says which was taken."""
    fold: int = 0


@dataclass(frozen=True, slots=True)
class IntakeRow:
    """One visit as the clinic's schedule has it. ``patient_key`` is the keyed hash of the
    patient's reference (:class:`~bot.intake.patient_ref.PatientKeyer`), never the reference."""

    source: str
    external_id: str
    patient_key: str
    start: ResolvedStart | None
    """None only for a cancellation that gave no start (the visit is cancelled by its id)."""
    visit_type: str
    status: IntakeStatus
    label: str | None = None
    language: str | None = None
    end: datetime | None = None
    line: int | None = None


@dataclass(frozen=True)
class IntakeRules:
    """What the settings say about intake (the wiring builds it from them).

    ``statuses``: per source, the clinic's word for a status (case and spaces ignored) to
    ours; our own four words are read for every source. ``visit_types``: the known types
    (one preparation plan each); ``visit_type_aliases``: per source, the clinic's word for a
    type to ours. ``languages``: the languages the bot speaks.
    """

    clinic_zone: ZoneInfo
    visit_types: Mapping[str, str]
    """The folded name (:func:`fold_word`) of each known type -> its name."""
    languages: frozenset[str]
    statuses: Mapping[str, Mapping[str, IntakeStatus]]
    visit_type_aliases: Mapping[str, Mapping[str, str]]

    @classmethod
    def build(
        cls,
        *,
        clinic_zone: str,
        visit_types: frozenset[str] | set[str],
        languages: frozenset[str] | set[str],
        statuses: Mapping[str, Mapping[str, str]] | None = None,
        visit_type_aliases: Mapping[str, Mapping[str, str]] | None = None,
    ) -> IntakeRules:
        """From plain settings values; ValueError naming the entry that is wrong."""
        types = {fold_word(t): t for t in visit_types}
        status_map: dict[str, dict[str, IntakeStatus]] = {}
        for source, words in (statuses or {}).items():
            try:
                status_map[source] = {fold_word(w): IntakeStatus(s) for w, s in words.items()}
            except ValueError as exc:
                raise ValueError(f"intake statuses of {source!r}: {exc}") from exc
        alias_map: dict[str, dict[str, str]] = {}
        for source, words in (visit_type_aliases or {}).items():
            unknown = sorted(t for t in words.values() if fold_word(t) not in types)
            if unknown:
                raise ValueError(f"visit type aliases of {source!r} name unknown types {unknown}")
            alias_map[source] = {fold_word(w): types[fold_word(t)] for w, t in words.items()}
        return cls(
            clinic_zone=load_zone(clinic_zone),
            visit_types=types,
            languages=frozenset(_language_tag(lang) for lang in languages),
            statuses=status_map,
            visit_type_aliases=alias_map,
        )


@dataclass(frozen=True, slots=True)
class RawRow:
    """A row as a source found it: texts, not yet checked. ``patient`` is the clear reference,
    which :func:`build_row` hashes and drops. ``date`` and ``time`` are the two-column form
    of a start."""

    source: str
    external_id: str | None
    patient: str | None
    visit_type: str | None
    status: str | None
    start: str | None = None
    date: str | None = None
    time: str | None = None
    zone: str | None = None
    fold: str | None = None
    end: str | None = None
    label: str | None = None
    language: str | None = None

    def __repr__(self) -> str:
        # The clear patient reference never shows in a log line or a traceback.
        return f"RawRow(source={self.source!r}, external_id={self.external_id!r}, ...)"


_SEPARATORS = re.compile(r"[\s_.-]+")


def fold_word(text: str) -> str:
    """A word as matched: NFKC, case-folded, without spaces, underscores, hyphens or dots
    (so ``"No Show"``, ``"no-show"``, ``"NO_SHOW"`` and ``"noshow"`` are the same word)."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", text).casefold())


def _has_control(text: str) -> bool:
    """Control, format, private-use or unassigned characters (Unicode's C categories)."""
    if text.isprintable():  # the common case, in C: none of C, nor separators but " "
        return False
    return any(unicodedata.category(c).startswith("C") for c in text)


def _text(value: str | None, field: str, *, limit: int, required: bool) -> str | None:
    text = (value or "").strip()
    if not text:
        if required:
            raise RowProblem(RowErrorCode.MISSING, field, RowReason.EMPTY)
        return None
    if len(text) > limit or _has_control(text):
        code = {
            "external_id": RowErrorCode.BAD_ID,
            "patient": RowErrorCode.BAD_PATIENT,
        }.get(field, RowErrorCode.BAD_LABEL)
        raise RowProblem(code, field, RowReason.TOO_LONG, RowValues(limit=limit))
    return unicodedata.normalize("NFC", text)


def map_status(value: str | None, source: str, rules: IntakeRules) -> IntakeStatus:
    """The clinic's word for a status as ours: the source's own mapping, or one of ours."""
    word = fold_word(value or "")
    if not word:
        raise RowProblem(RowErrorCode.MISSING, "status", RowReason.EMPTY)
    mapped = rules.statuses.get(source, {}).get(word)
    if mapped is not None:
        return mapped
    try:
        return IntakeStatus(word)
    except ValueError:
        known = sorted({*rules.statuses.get(source, {}), *IntakeStatus})
        raise RowProblem(
            RowErrorCode.UNKNOWN_STATUS,
            "status",
            RowReason.UNKNOWN_STATUS,
            RowValues(source=source, named=", ".join(known)),
        ) from None


def map_visit_type(value: str | None, source: str, rules: IntakeRules) -> str:
    word = fold_word(value or "")
    if not word:
        raise RowProblem(RowErrorCode.MISSING, "visit_type", RowReason.EMPTY)
    alias = rules.visit_type_aliases.get(source, {}).get(word)
    if alias is not None:
        return alias
    known = rules.visit_types.get(word)
    if known is None:
        raise RowProblem(
            RowErrorCode.UNKNOWN_VISIT_TYPE,
            "visit_type",
            RowReason.UNKNOWN_VISIT_TYPE,
            RowValues(named=", ".join(sorted(rules.visit_types.values()))),
        )
    return known


def map_language(value: str | None, rules: IntakeRules) -> str | None:
    """A language tag as one the bot speaks (``es-MX`` reads as ``es``); empty: None."""
    word = _language_tag(value or "")
    if not word:
        return None
    for candidate in (word, word.split("-", 1)[0]):
        if candidate in rules.languages:
            return candidate
    raise RowProblem(
        RowErrorCode.UNKNOWN_LANGUAGE,
        "language",
        RowReason.UNKNOWN_LANGUAGE,
        RowValues(named=", ".join(sorted(rules.languages))),
    )


def _language_tag(text: str) -> str:
    return text.strip().casefold().replace("_", "-")


_DATE = r"(?P<date>\d{4}-\d{2}-\d{2})"
_CLOCK = r"(?P<clock>\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)"
_OFFSET = r"(?P<offset>Z|z|[+-]\d{2}:?\d{2})"
_INSTANT = re.compile(rf"{_DATE}[Tt ]{_CLOCK}\s*{_OFFSET}?")
_TIME = re.compile(r"(?P<clock>\d{1,2}:\d{2}(?::\d{2})?)\s*(?P<half>[ap]\.?\s?m\.?)?", re.I)


def _read_datetime(text: str, field: str) -> datetime:
    """An ISO 8601 date and time (RFC 3339's forms, a space allowed for the T), aware if it
    carries an offset. Dates only in year-month-day order: 03/04/2027 is refused, since it
    is the 3rd of April in one country and the 4th of March in another."""
    match = _INSTANT.fullmatch(text.strip())
    code = RowErrorCode.BAD_START if field == "start" else RowErrorCode.BAD_END
    if match is None:
        raise RowProblem(code, field, RowReason.UNREADABLE_START)
    clock = match["clock"]
    if clock[1] == ":":  # 9:30 -> 09:30 (ISO 8601 wants two digits for the hour)
        clock = "0" + clock
    normalized = f"{match['date']}T{clock}"
    if match["offset"]:
        normalized += "+00:00" if match["offset"] in "Zz" else match["offset"]
    try:
        return datetime.fromisoformat(normalized)
    except ValueError:
        raise RowProblem(code, field, RowReason.NOT_A_REAL_DATE) from None


def _join_date_time(date: str, time: str) -> str:
    match = _TIME.fullmatch(time.strip())
    if match is None:
        raise RowProblem(RowErrorCode.BAD_START, "time", RowReason.UNREADABLE_TIME)
    clock = match["clock"]
    if match["half"]:
        hour, rest = clock.split(":", 1)
        h = int(hour)
        if not 1 <= h <= 12:
            raise RowProblem(RowErrorCode.BAD_START, "time", RowReason.BAD_12_HOUR)
        pm = match["half"].lower().startswith("p")
        clock = f"{(h % 12) + (12 if pm else 0):02d}:{rest}"
    return f"{date.strip()} {clock}"


def _read_fold(value: str | None) -> int | None:
    word = fold_word(value or "")
    if not word:
        return None
    if word in {"0", "earlier", "first", "earliest"}:
        return 0
    if word in {"1", "later", "second", "latest"}:
        return 1
    raise RowProblem(RowErrorCode.BAD_FOLD, "fold", RowReason.BAD_FOLD)


def _zone(name: str | None) -> ZoneInfo | None:
    if not (name or "").strip():
        return None
    try:
        return load_zone(name or "")
    except UnknownZone:
        raise RowProblem(RowErrorCode.UNKNOWN_ZONE, "zone", RowReason.UNKNOWN_ZONE) from None


def resolve_start(
    value: str | datetime,
    zone: str | None,
    *,
    clinic_zone: ZoneInfo,
    fold: int | None = None,
) -> ResolvedStart:
    """A start as the module's doc says; :class:`RowProblem` when it cannot be one instant."""
    when = value if isinstance(value, datetime) else _read_datetime(value, "start")
    tz = _zone(zone)
    if when.tzinfo is not None and when.utcoffset() is not None:
        at = when.astimezone(UTC)
        if tz is not None and at.astimezone(tz).utcoffset() != when.utcoffset():
            raise RowProblem(
                RowErrorCode.OFFSET_ZONE_MISMATCH,
                "start",
                RowReason.OFFSET_ZONE_MISMATCH,
                RowValues(zone=tz.key),
            )
        return ResolvedStart(at=at, zone=tz.key if tz else None)
    wall = when.replace(tzinfo=None)
    read_in = tz or clinic_zone
    try:
        at = resolve_local(wall, read_in, fold=fold)
    except NonexistentLocalTime:
        raise RowProblem(
            RowErrorCode.NONEXISTENT_TIME,
            "start",
            RowReason.NONEXISTENT_TIME,
            RowValues(zone=read_in.key),
        ) from None
    except AmbiguousLocalTime as exc:  # only without a fold: the earliest, flagged below
        at = exc.earlier
    ambiguous = _happens_twice(wall, read_in)
    return ResolvedStart(
        at=at,
        zone=read_in.key,
        zone_assumed=tz is None,
        ambiguous=ambiguous,
        fold=(fold or 0) if ambiguous else 0,
    )


def _happens_twice(wall: datetime, zone: ZoneInfo) -> bool:
    one, other = (wall.replace(tzinfo=zone, fold=f).astimezone(UTC) for f in (0, 1))
    return one != other and all(
        t.astimezone(zone).replace(tzinfo=None) == wall for t in (one, other)
    )


def _read_start(raw: RawRow, rules: IntakeRules, *, optional: bool) -> ResolvedStart | None:
    fold = _read_fold(raw.fold)
    start = (raw.start or "").strip()
    date, time = (raw.date or "").strip(), (raw.time or "").strip()
    if not start and (date or time):
        if not (date and time):
            missing = "time" if date else "date"
            raise RowProblem(RowErrorCode.MISSING, missing, RowReason.DATE_TIME_TOGETHER)
        start = _join_date_time(date, time)
    if not start:
        if optional:
            return None
        raise RowProblem(RowErrorCode.MISSING, "start", RowReason.EMPTY)
    return resolve_start(start, raw.zone, clinic_zone=rules.clinic_zone, fold=fold)


def read_end(value: str | datetime | None, start: ResolvedStart) -> datetime | None:
    """An end, read in the start's zone when it has no offset; it must come after the start."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    when = value if isinstance(value, datetime) else _read_datetime(value, "end")
    if when.tzinfo is None or when.utcoffset() is None:
        zone = ZoneInfo(start.zone) if start.zone else UTC
        when = when.replace(tzinfo=zone, fold=start.fold)
    end = when.astimezone(UTC)
    if end <= start.at:
        raise RowProblem(RowErrorCode.END_BEFORE_START, "end", RowReason.END_BEFORE_START)
    if end - start.at > timedelta(days=1):
        raise RowProblem(RowErrorCode.BAD_END, "end", RowReason.VISIT_TOO_LONG)
    return end


def check_source(source: str) -> str:
    if SOURCE_PATTERN.fullmatch(source) is None:
        raise RowProblem(RowErrorCode.BAD_SOURCE, "source", RowReason.BAD_SOURCE)
    return source


def build_row(
    raw: RawRow, rules: IntakeRules, keyer: PatientKeyer, *, line: int | None = None
) -> IntakeRow | RowError:
    """The row as an :class:`IntakeRow`, or the first thing wrong with it (in the order: id,
    patient, status, start, type, label, language, end). A cancellation may leave out its
    start; every other status needs one."""
    try:
        source = check_source(raw.source)
        external_id = _text(raw.external_id, "external_id", limit=MAX_EXTERNAL_ID, required=True)
        patient = _text(raw.patient, "patient", limit=MAX_PATIENT_REF, required=True)
        assert external_id is not None and patient is not None  # required above
        status = map_status(raw.status, source, rules)
        start = _read_start(raw, rules, optional=status is IntakeStatus.CANCELLED)
        visit_type = map_visit_type(raw.visit_type, source, rules)
        label = _text(raw.label, "label", limit=MAX_LABEL, required=False)
        language = map_language(raw.language, rules)
        end = read_end(raw.end, start) if start is not None else None
    except RowProblem as problem:
        return problem.error(line)
    return IntakeRow(
        source=source,
        external_id=external_id,
        patient_key=keyer.key(source, patient),
        start=start,
        visit_type=visit_type,
        status=status,
        label=label,
        language=language,
        end=end,
        line=line,
    )
