"""The statuses of a reminder row (``reminders.status``), owned by the reminder engine.

pending -> sending (claimed under a lease) -> sent, or skipped / expired / failed. StrEnum
members are the strings stored in the database, so they compare and bind as those strings.
"""

from __future__ import annotations

from enum import StrEnum


class ReminderStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    SKIPPED = "skipped"
    EXPIRED = "expired"
    FAILED = "failed"
