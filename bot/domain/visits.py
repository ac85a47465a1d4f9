"""The states of an appointment (``appointments.status``, ``appointments.attendance``).

StrEnum members are the strings stored in the database, so they compare and bind as those
strings.
"""

from __future__ import annotations

from enum import StrEnum


class AppointmentStatus(StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class Attendance(StrEnum):
    """The patient's answer to the attendance buttons; NULL until they answer."""

    CONFIRMED = "confirmed"
    RESCHEDULE = "reschedule"
