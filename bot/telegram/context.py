"""What every handler may ask for by name (aiogram injects these from middleware data)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.content.store import Content
from bot.delivery.sender import Sender
from bot.metrics import Metrics
from bot.services.patient_notices import PatientNotices
from bot.services.staff_alerts import StaffAlerts
from foundation.clock import Clock


@dataclass(frozen=True)
class AppContext:
    """Long-lived application objects, built once in the factory."""

    settings: Settings
    content: Content
    clock: Clock
    session_factory: async_sessionmaker[AsyncSession]
    staff_alerts: StaffAlerts
    # Notices to patients about visits the clinic changed (the same outbox as staff alerts).
    patient_notices: PatientNotices
    # The one way to Telegram: replies (after commit), reminders and alerts.
    sender: Sender
    # Asks the reminder engine to look no later than the given instant (no-op when not running).
    wake: Callable[[datetime], None]
    # The application's metrics (what services count goes through here); None in a test rig.
    metrics: Metrics | None = None
