"""A FHIR R4 ``Appointment`` -> an intake row (docs/fhir-mapping.md is the table).

Only the elements the bot uses are read, through pydantic models of that subset; everything
else in the resource (``description``, ``comment``, a participant's ``display``, contained
resources) is not kept: a name there is dropped on arrival. The checks a FHIR parser leaves
to the application are made here: the status is one of R4's codes and one the bot acts on,
``start`` and ``end`` are instants with an offset, both or neither (invariant app-2), and the
start comes before the end; exactly one participant is a ``Patient``.

=====================  =================================================================
FHIR                   intake
=====================  =================================================================
identifier             the first whose ``system`` is in ``FhirRules.sources`` -> ``source``
                       (the rules' name for that system), its ``value`` -> ``external_id``
status                 :data:`FHIR_STATUS` (proposed, pending and waitlist are refused:
                       not booked yet)
start, end             instants with an offset -> UTC; end after start
appointmentType        the first ``coding`` in ``FhirRules.visit_types`` ("system|code",
                       or "code" for any system) -> ``visit_type``
participant.actor      the one ``Patient/<id>`` reference -> the patient's keyed hash
=====================  =================================================================
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from bot.intake.patient_ref import PatientKeyer
from bot.intake.rows import (
    MAX_EXTERNAL_ID,
    IntakeRow,
    IntakeRules,
    IntakeStatus,
    ResolvedStart,
    RowError,
    RowErrorCode,
    RowProblem,
    RowReason,
    RowValues,
    check_source,
    fold_word,
)

__all__ = ["FHIR_STATUS", "FhirRules", "read_appointment"]

FHIR_STATUS: Mapping[str, IntakeStatus | None] = {
    "booked": IntakeStatus.BOOKED,
    "arrived": IntakeStatus.BOOKED,  # at the clinic: the visit goes on
    "checked-in": IntakeStatus.BOOKED,
    "fulfilled": IntakeStatus.FULFILLED,
    "cancelled": IntakeStatus.CANCELLED,
    "entered-in-error": IntakeStatus.CANCELLED,  # never was: withdrawn like a cancellation
    "noshow": IntakeStatus.NOSHOW,
    "proposed": None,  # not booked yet: no preparation for it
    "pending": None,
    "waitlist": None,
}
"""R4's AppointmentStatus codes (all ten) -> ours; None: refused, not a booked visit."""

# FHIR's `instant`: seconds required, an offset or Z required.
_INSTANT = re.compile(
    r"(?P<base>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?P<fraction>\.\d{1,9})?"
    r"(?P<offset>Z|[+-]\d{2}:\d{2})"
)
_PATIENT = re.compile(r"(?:.*/)?Patient/(?P<id>[A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?")


class _Model(BaseModel):
    # Unread elements are not kept: a name in them goes no further than the parser.
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Coding(_Model):
    system: str | None = None
    code: str | None = None


class _CodeableConcept(_Model):
    coding: list[_Coding] = []


class _Identifier(_Model):
    system: str | None = None
    value: str | None = None


class _Reference(_Model):
    reference: str | None = None


class _Participant(_Model):
    actor: _Reference | None = None


class _Appointment(_Model):
    resourceType: Literal["Appointment"]  # FHIR's name
    identifier: list[_Identifier] = []
    status: str
    appointmentType: _CodeableConcept | None = None
    start: str | None = None
    end: str | None = None
    participant: list[_Participant] = []


@dataclass(frozen=True)
class FhirRules:
    """``sources``: identifier system URI -> our source name. ``visit_types``:
    ``"system|code"`` or ``"code"`` of an appointmentType coding -> a known visit type."""

    sources: Mapping[str, str]
    visit_types: Mapping[str, str]


def _instant(value: str, field: str) -> datetime:
    match = _INSTANT.fullmatch(value.strip())
    code = RowErrorCode.BAD_START if field == "start" else RowErrorCode.BAD_END
    if match is None:
        raise RowProblem(code, field, RowReason.FHIR_INSTANT)
    fraction = (match["fraction"] or "")[:7]  # Python reads at most microseconds
    offset = "+00:00" if match["offset"] == "Z" else match["offset"]
    try:
        return datetime.fromisoformat(f"{match['base']}{fraction}{offset}").astimezone(UTC)
    except ValueError:
        raise RowProblem(code, field, RowReason.NOT_A_REAL_DATE) from None


def _identifier(resource: _Appointment, rules: FhirRules) -> tuple[str, str]:
    for identifier in resource.identifier:
        source = rules.sources.get(identifier.system or "")
        if source is None:
            continue
        value = (identifier.value or "").strip()
        if not value or len(value) > MAX_EXTERNAL_ID:
            raise RowProblem(
                RowErrorCode.BAD_ID,
                "identifier",
                RowReason.FHIR_ID_LENGTH,
                RowValues(limit=MAX_EXTERNAL_ID),
            )
        return check_source(source), value
    raise RowProblem(
        RowErrorCode.UNKNOWN_SOURCE,
        "identifier",
        RowReason.FHIR_NO_SOURCE,
    )


def _status(code: str) -> IntakeStatus:
    if code not in FHIR_STATUS:
        raise RowProblem(RowErrorCode.UNKNOWN_STATUS, "status", RowReason.FHIR_STATUS)
    ours = FHIR_STATUS[code]
    if ours is None:
        raise RowProblem(
            RowErrorCode.UNKNOWN_STATUS,
            "status",
            RowReason.FHIR_NOT_BOOKED,
            RowValues(named=code),
        )
    return ours


def _visit_type(resource: _Appointment, rules: FhirRules, intake: IntakeRules) -> str:
    codings = resource.appointmentType.coding if resource.appointmentType else []
    for coding in codings:
        code = (coding.code or "").strip()
        for key in (f"{coding.system or ''}|{code}", code):
            mapped = rules.visit_types.get(key)
            if mapped is not None and code:
                known = intake.visit_types.get(fold_word(mapped))
                if known is None:  # the settings map a code to a type with no plan
                    raise RowProblem(
                        RowErrorCode.UNKNOWN_VISIT_TYPE,
                        "appointmentType",
                        RowReason.FHIR_TYPE_NO_PLAN,
                    )
                return known
    raise RowProblem(
        RowErrorCode.UNKNOWN_VISIT_TYPE,
        "appointmentType",
        RowReason.FHIR_NO_TYPE,
    )


def _patient(resource: _Appointment) -> str:
    found = [
        match["id"]
        for p in resource.participant
        if p.actor is not None
        and (match := _PATIENT.fullmatch((p.actor.reference or "").strip())) is not None
    ]
    if len(found) != 1:
        raise RowProblem(
            RowErrorCode.BAD_PATIENT,
            "participant",
            RowReason.FHIR_PATIENT,
        )
    return found[0]


def read_appointment(
    resource: Mapping[str, Any],
    *,
    rules: FhirRules,
    intake: IntakeRules,
    keyer: PatientKeyer,
) -> IntakeRow | RowError:
    """The Appointment as an intake row, or the first thing wrong with it."""
    try:
        appointment = _Appointment.model_validate(resource)
    except ValidationError as exc:
        # pydantic's errors carry the input values: only the locations are kept.
        places = sorted({".".join(map(str, e["loc"])) for e in exc.errors()})
        return RowError(
            RowErrorCode.NOT_AN_APPOINTMENT,
            None,
            RowReason.FHIR_NOT_APPOINTMENT,
            RowValues(named=", ".join(places[:5])),
        )
    try:
        source, external_id = _identifier(appointment, rules)
        status = _status(appointment.status)
        if (appointment.start is None) != (appointment.end is None):
            raise RowProblem(
                RowErrorCode.MISSING,
                "start" if appointment.start is None else "end",
                RowReason.START_END_TOGETHER,
            )
        start = end = None
        if appointment.start is not None and appointment.end is not None:
            start, end = _instant(appointment.start, "start"), _instant(appointment.end, "end")
            if end <= start:
                raise RowProblem(RowErrorCode.END_BEFORE_START, "end", RowReason.END_BEFORE_START)
        elif status is not IntakeStatus.CANCELLED:
            raise RowProblem(RowErrorCode.MISSING, "start", RowReason.START_NEEDED)
        visit_type = _visit_type(appointment, rules, intake)
        patient = _patient(appointment)
    except RowProblem as problem:
        return problem.error()
    return IntakeRow(
        source=source,
        external_id=external_id,
        patient_key=keyer.key(source, patient),
        start=ResolvedStart(at=start, zone=None) if start is not None else None,
        visit_type=visit_type,
        status=status,
        end=end,
    )
