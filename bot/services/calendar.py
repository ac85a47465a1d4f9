"""The "Add to calendar" file of a patient's visit: an .ics (bot/intake/calendar.py) in the
patient's language, its title and notes the clinic's neutral texts (messages/<lang>/
appointment_calendar_title and _description, held to the lock-screen rule: a calendar shows
them on a locked phone), its place the clinic's street address (messages/clinic.toml
``address``; the town when none is set).

The event's UID comes from the appointment's id (a UUID 5 of it, at CALENDAR_DOMAIN), and its
SEQUENCE from the appointment's version: a file sent again after the visit moved replaces the
event in the calendar app instead of adding a second one. Times are UTC in the file; the
phone shows them in its own zone. The event lasts as long as the clinic's schedule says the
visit does (its end less its start, kept when the patient moves the visit); a visit without
an end from the schedule (one the patient booked) lasts bot.intake.calendar.DEFAULT_LENGTH.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.content.catalogue import AppointmentCalendarDescription, AppointmentCalendarTitle
from bot.content.lock_screen import visible_text
from bot.content.store import Content
from bot.db.intake import IntakeRepository
from bot.db.models import Appointment
from bot.intake.calendar import VisitEvent, visit_calendar
from foundation.clock import Clock

__all__ = ["CALENDAR_SOURCE", "CalendarFile", "CalendarService"]

CALENDAR_SOURCE = "appointment"
"""The UID's namespace for the bot's own appointment ids."""
FILENAME = "visit.ics"
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class CalendarFile:
    data: bytes
    filename: str


def _plain(html: str) -> str:
    """A rendered text as a calendar shows it: no tags, entities decoded, one line."""
    return _SPACES.sub(" ", visible_text(html)).strip()


class CalendarService:
    def __init__(
        self, content: Content, clock: Clock, intake: IntakeRepository, *, domain: str
    ) -> None:
        self.content = content
        self.clock = clock
        self.intake = intake
        self.domain = domain

    async def visit_file(self, appointment: Appointment, lang: str) -> CalendarFile:
        """The .ics of this visit, its texts in `lang`. Raises LockScreenViolation if a text
        would show a private word (the content validator refuses such a text first)."""
        clinic = self.content.clinic
        private = list(clinic.private_words)
        if clinic.name != clinic.discreet_name:
            private.append(clinic.name)
        length = await self.intake.length_of(appointment.id)
        event = VisitEvent(
            source=CALENDAR_SOURCE,
            external_id=str(appointment.id),
            start=appointment.starts_at,
            title=_plain(self.content.render_message(AppointmentCalendarTitle(), lang)),
            description=_plain(self.content.render_message(AppointmentCalendarDescription(), lang)),
            location=(clinic.address or clinic.city).strip(),
            sequence=max(appointment.version - 1, 0),
            end=appointment.starts_at + length if length is not None else None,
        )
        data = visit_calendar(
            event, now=self.clock.now(), domain=self.domain, private_words=private
        )
        return CalendarFile(data, FILENAME)
