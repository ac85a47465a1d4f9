"""Which visit an alert to the team is about, and how the alert names it.

Staff know a visit by the label they gave it when they invited the patient (``J.D. #4411``)
and by its time, not by a patient's Telegram name. Every alert about a patient carries the id
of one visit in its context (``appointment_id``): the visit a reschedule request or a
check-in answer is about, the visit whose reminder failed, or for a crisis the visit the
patient is in or about to have (:func:`visit_for_alert`). When the alert is sent, the
outbox's claim (bot/db/outbox.py `SqlOutboxStore`) reads those visits as they are then,
and :func:`visit_variables` gives every alert template the same two variables: ``visit_label``
(the label, or "" for a visit the patient booked themselves or when no visit is known) and
``visit_time`` (its start in the clinic's zone, or "").
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.db.alert_visits import AlertVisitRepository, VisitRow
from foundation.timemath import to_local

__all__ = ["UNDER_WAY", "VisitRow", "visit_for_alert", "visit_variables"]

UNDER_WAY = timedelta(hours=6)
"""A visit that began less than this long ago is still the one a patient is at (or just
left): a crisis then is about it rather than about the next one."""


async def visit_for_alert(
    visits: AlertVisitRepository, patient_id: int | None, now: datetime
) -> int | None:
    """The visit an alert about this patient, raised `now`, is about: the one under way, else
    the next one; None when there is neither (or the patient has not registered)."""
    if patient_id is None:
        return None
    return await visits.first_scheduled_since(patient_id, now - UNDER_WAY)


def visit_variables(
    visit: VisitRow | None, zone: ZoneInfo, write: Callable[[datetime], str]
) -> dict[str, str]:
    """``visit_label`` and ``visit_time`` of an alert template; `write` writes a clinic-local
    time in the alert's language."""
    if visit is None:
        return {"visit_label": "", "visit_time": ""}
    return {
        "visit_label": visit.label or "",
        "visit_time": write(to_local(visit.starts_at, zone)),
    }
