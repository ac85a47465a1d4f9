"""An "Add to calendar" file (.ics, RFC 5545) for one visit, built with icalendar.

A calendar shows an event's title, and often its place and alarm text, on a locked phone,
so the file keeps the lock-screen rule of the reminders: the title and description are the
clinic's neutral texts ("Appointment at the clinic", rendered by the caller from
messages/<lang>/), the place is the clinic's street address, and none of them, nor the
alarm, may show a word of :data:`PRIVATE_WORDS` or the clinic's own private words (matched
as a reader would see them: :func:`bot.content.lock_screen.fold`). A text that does raises
:class:`LockScreenViolation` rather than leave it out quietly.

The event's UID is derived from the visit's source and appointment id (a UUID 5, not the id
itself), so a calendar app that imported the file once replaces the event when the visit
is moved (``sequence`` grows) or cancelled, instead of adding a second one. Times are UTC
(``DTSTART:20270314T133000Z``): no time-zone block to get wrong; the phone shows local time.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from icalendar import Alarm, Calendar, Event

from bot.content.lock_screen import fold, readings, visible_text
from foundation.timemath import as_utc

__all__ = [
    "PRIVATE_WORDS",
    "LockScreenViolation",
    "VisitEvent",
    "visit_calendar",
    "visit_uid",
]

PRIVATE_WORDS = (
    "ketamine", "esketamine", "ketamina", "infusion", "infusión", "infusiones", "depression",
    "depresión", "ptsd", "suicid", "anxiety", "ansiedad", "psychiatr", "psiquiatr",
    "therapy", "terapia", "treatment", "tratamiento",
)  # fmt: skip
"""Never on a lock screen, whatever the clinic's own list says (it adds its own)."""

_NAMESPACE = uuid.UUID("6f1c1f0e-7d0a-5b7e-9a51-2b0c4f3e8d21")
PRODID = "-//companion//visit//EN"  # the project's name has the treatment in it
DEFAULT_LENGTH = timedelta(hours=2)


class LockScreenViolation(ValueError):
    """A text of the event would show a private word on a locked phone."""

    def __init__(self, field: str, words: list[str]) -> None:
        super().__init__(f"the calendar {field} would show {', '.join(words)} on a lock screen")
        self.field = field
        self.words = words


@dataclass(frozen=True)
class VisitEvent:
    """What the file says. ``title`` and ``description`` are the caller's rendered neutral
    texts; ``location`` the clinic's street address (empty: none)."""

    source: str
    external_id: str
    start: datetime
    title: str
    description: str = ""
    location: str = ""
    end: datetime | None = None
    sequence: int = 0
    cancelled: bool = False
    alarm_before: timedelta | None = None
    """An alarm that long before the start (None: the calendar's own default)."""


def visit_uid(source: str, external_id: str, domain: str) -> str:
    """The event's UID: the same for every file of one visit, and not its appointment id."""
    name = source + "\x00" + external_id
    return f"{uuid.uuid5(_NAMESPACE, name)}@{domain}"


def _shown(text: str, words: tuple[str, ...]) -> list[str]:
    """The words a reader finds in ``text``, read as it is and with any tags removed."""
    shown = (*readings(text), *readings(visible_text(text)))
    return [w for w in words if (f := fold(w)) and any(f in r for r in shown)]


def visit_calendar(
    event: VisitEvent,
    *,
    now: datetime,
    domain: str,
    private_words: Iterable[str] = (),
) -> bytes:
    """The .ics file of ``event`` (``now`` stamps it: DTSTAMP comes from the caller's clock)."""
    words = tuple(dict.fromkeys((*PRIVATE_WORDS, *private_words)))
    texts = {
        "title": event.title,
        "description": event.description,
        "location": event.location,
    }
    for field, text in texts.items():
        found = _shown(text, words)
        if found:
            raise LockScreenViolation(field, found)
    if not event.title.strip():
        raise ValueError("a calendar event needs a title")
    start = as_utc(event.start, "start")
    end = as_utc(event.end, "end") if event.end is not None else start + DEFAULT_LENGTH
    if end <= start:
        raise ValueError("the event must end after it starts")

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    vevent = Event()
    vevent.add("uid", visit_uid(event.source, event.external_id, domain))
    vevent.add("dtstamp", as_utc(now, "now").replace(microsecond=0))
    vevent.add("dtstart", start.replace(microsecond=0))
    vevent.add("dtend", end.replace(microsecond=0))
    vevent.add("sequence", event.sequence)
    vevent.add("summary", event.title.strip())
    if event.description.strip():
        vevent.add("description", event.description.strip())
    if event.location.strip():
        vevent.add("location", event.location.strip())
    vevent.add("class", "PRIVATE")
    vevent.add("transp", "OPAQUE")
    vevent.add("status", "CANCELLED" if event.cancelled else "CONFIRMED")
    if event.alarm_before is not None and not event.cancelled:
        if event.alarm_before <= timedelta(0):
            raise ValueError("the alarm goes off before the visit")
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", event.title.strip())  # the title: already checked
        alarm.add("trigger", -event.alarm_before)
        vevent.add_component(alarm)
    calendar.add_component(vevent)
    return bytes(calendar.to_ical())
