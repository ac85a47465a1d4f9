"""The events that go back to a clinic's system when a patient answers (issue 21, "Answers go
back"): their types, and the exact body that is stored, signed and POSTed.

A body is compact JSON (:class:`bot.intake.api_models.AnswerEvent`, the schema the OpenAPI
document publishes under ``webhooks``)::

    {"id":"0f8c...","type":"visit.checkin","occurred_at":"2027-03-15T14:00:00Z",
     "source":"acme","external_id":"A-1001","revision":7,"data":{"answer":"ok"}}

``id`` is made once, when the event is recorded, and repeated on every retry: a receiver
deduplicates on it. ``data`` holds codes only (an answer's code, never what a patient
typed); no event carries a name, a reference or a Telegram id. The body is built here, once,
and the stored bytes are the ones signed and sent, so a retry is byte for byte the first
attempt.

Order: ``revision``. Events are written in the transaction of the change and POSTed after
it commits, one source's at a time in the order of their ids, each retried (with backoff,
for hours) until it is sent or given up; so a receiver may still get them out of order: an
event written on PostgreSQL just before another may commit after it, a receiver that answers
a 500 then gets the next ones once this one is sent or given up, and a receiver that queues
what it gets may process them in any order. Every event therefore carries the **visit's
revision**: `intake_visits.revision`, an integer that counts every change of the visit, the
clinic's (a CSV import, the API's PUT and DELETE: once per row that changed something) and
the patient's (each answer that is an event here), written in the transaction of the change as
``revision + 1`` in SQL. That UPDATE holds the visit's row until the commit, so a second
change of the same visit, by either side, waits for the first and counts on from it: one
visit's revisions are strictly increasing in the order its changes committed, on SQLite and
PostgreSQL alike. A change that changes nothing (a row equal to the stored visit, a second tap
of an answer already given) writes no revision and no event. The API's visit
(``VisitState.revision``: the answer to PUT, DELETE and GET) carries the same number, so
a receiver keeps, per (``source``, ``external_id``), the highest revision it has applied and
ignores an event or answer whose revision is not higher. The clinic's own changes have no
event (their revision is in the API's answer to them), so a receiver that keeps those too
sees every revision of a visit once; a gap (9 after 5) means it missed one (an event given
up, a change by another integration of the source) and a GET of the visit reconciles.

Why per visit and not (also) a sequence per source, as FHIR's ``eventNumber``: what a receiver
must decide is whether *this visit* is newer than what it holds, which a per-visit revision
answers directly, like FHIR's ``meta.versionId``; a per-source counter would make every
answer of every patient of a clinic wait for one row until its transaction commits, its
order would still say nothing about a visit the clinic changed through the API (no event),
and its gaps (an event given up) could only be repaired by an events feed this API does not
have. Stripe orders nothing and asks receivers to fetch the object; the revision lets a
receiver skip that fetch when there is no gap.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum

__all__ = ["EventType", "event_body", "new_event_id", "utc_instant"]


class EventType(StrEnum):
    """What happened. The patient ... (each one change of the visit: the body's ``revision``
    is one more than the visit's before it)

    - ``visit.linked``: opened the bot for this visit (their visits are linked to them);
    - ``visit.confirmed``: said they will come ("I'll be there", "I can come after all");
    - ``visit.reschedule_requested``: asked for a new time;
    - ``visit.moved``: moved the visit to another time themselves, in the bot (``data.start``:
      the new start, a UTC instant as ``occurred_at`` is written; ``data.zone``: the IANA zone
      it was chosen in);
    - ``visit.cancelled``: cancelled the visit themselves, in the bot;
    - ``visit.checkin``: answered the day-after check-in (``data.answer``: ``ok``, ``off``,
      ``call``, or ``typed``: they wrote instead of tapping; what they wrote is not sent);
    - ``patient.unreachable``: blocked the bot: no reminder reaches them (one event per
      upcoming visit of theirs, ``data.reason`` ``blocked``).
    """

    VISIT_LINKED = "visit.linked"
    VISIT_CONFIRMED = "visit.confirmed"
    VISIT_RESCHEDULE_REQUESTED = "visit.reschedule_requested"
    VISIT_MOVED = "visit.moved"
    VISIT_CANCELLED = "visit.cancelled"
    VISIT_CHECKIN = "visit.checkin"
    PATIENT_UNREACHABLE = "patient.unreachable"


def new_event_id() -> str:
    """A random id (UUID 4 as hex): says nothing about the patient or the visit."""
    return uuid.uuid4().hex


def utc_instant(instant: datetime) -> str:
    """An aware instant as an event writes it, ``occurred_at`` and ``data.start`` alike: UTC,
    whole seconds, ``Z`` (``2027-03-15T14:00:00Z``)."""
    if instant.tzinfo is None:
        raise ValueError("instant must be an aware datetime")
    return instant.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def event_body(
    *,
    event_id: str,
    event_type: EventType,
    occurred_at: datetime,
    source: str,
    external_id: str,
    revision: int,
    data: Mapping[str, str] | None = None,
) -> str:
    """The JSON body of one event (UTC, whole seconds), as stored and as sent; `revision`:
    the visit's, as this event's transaction made it."""
    # Imported here: api_models imports this module for EventType.
    from bot.intake.api_models import AnswerEvent

    if occurred_at.tzinfo is None:
        raise ValueError("occurred_at must be an aware datetime")
    event = AnswerEvent(
        id=event_id,
        type=event_type,
        occurred_at=occurred_at.astimezone(UTC).replace(microsecond=0),
        source=source,
        external_id=external_id,
        revision=revision,
        data=dict(data or {}),
    )
    return event.body().decode("utf-8")
