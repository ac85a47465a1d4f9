"""Alerts to the clinic team. They name the patient but never quote what the patient wrote."""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime
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

    async def crisis(
        self, *, patient_id: int | None, telegram_id: int, display_name: str, at: datetime
    ) -> int:
        """Tell every staff member; returns how many were reached."""
        if not self.staff_ids:
            log.warning("crisis alert not sent: STAFF_IDS is empty")
            return 0
        lang = self.content.default_language
        text = self.content.render(
            "crisis_staff_alert",
            lang,
            patient_ref=f"#{patient_id}" if patient_id is not None else "",
            display_name=display_name,
            telegram_id=telegram_id,
            at_local=self.content.format_datetime(to_local(at, self.clinic_zone), lang),
        )
        delivered = 0
        for staff_id in self.staff_ids:
            if await self.notifier.send(staff_id, text):
                delivered += 1
        log.info("crisis alert delivered to %d of %d staff", delivered, len(self.staff_ids))
        return delivered
