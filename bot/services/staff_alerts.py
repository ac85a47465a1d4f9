"""Alerts to the clinic team. They name the patient but never quote what the patient wrote."""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.content.store import Content
from bot.delivery.notifier import Notifier
from scheduler.timemath import to_local

log = logging.getLogger(__name__)


class StaffAlerts:
    def __init__(
        self,
        content: Content,
        notifier: Notifier,
        staff_ids: Collection[int],
        clinic_zone: ZoneInfo,
    ) -> None:
        self.content = content
        self.notifier = notifier
        self.staff_ids = tuple(sorted(staff_ids))
        self.clinic_zone = clinic_zone

    def _clinic_time(self, instant: datetime) -> str:
        lang = self.content.default_language
        return self.content.format_datetime(to_local(instant, self.clinic_zone), lang)

    async def _broadcast(self, kind: str, template: str, **context: Any) -> int:
        """Send one alert to every staff member; returns how many were reached."""
        if not self.staff_ids:
            log.warning("%s alert not sent: STAFF_IDS is empty", kind)
            return 0
        text = self.content.render(template, self.content.default_language, **context)
        delivered = 0
        for staff_id in self.staff_ids:
            if await self.notifier.notify(staff_id, text):
                delivered += 1
        log.info("%s alert delivered to %d of %d staff", kind, delivered, len(self.staff_ids))
        return delivered

    async def crisis(
        self, *, patient_id: int | None, telegram_id: int, display_name: str, at: datetime
    ) -> int:
        return await self._broadcast(
            "crisis",
            "crisis_staff_alert",
            patient_ref=f"#{patient_id}" if patient_id is not None else "",
            display_name=display_name,
            telegram_id=telegram_id,
            at_local=self._clinic_time(at),
        )

    async def reschedule_request(
        self, *, patient_id: int, telegram_id: int, display_name: str, starts_at: datetime
    ) -> int:
        return await self._broadcast(
            "reschedule",
            "reschedule_staff_alert",
            patient_ref=f"#{patient_id}",
            display_name=display_name,
            telegram_id=telegram_id,
            when_local=self._clinic_time(starts_at),
        )

    async def template_failure(self, steps: Collection[str], error: str) -> int:
        return await self._broadcast(
            "template failure",
            "template_failure_staff_alert",
            steps=", ".join(sorted(steps)),
            error=error,
        )
