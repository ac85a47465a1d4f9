"""Alerts to the clinic team, queued durably in the `staff_alerts` outbox.

Each call writes one outbox row per staff member in the caller's transaction (the caller
commits) and asks for delivery once that transaction committed (`repo.after_commit`). Delivery,
with retries, lives in `bot.delivery.outbox`. Rows store the minimum: the patient's
Telegram id and non-personal values (an instant, step keys, an error code); the patient's name
is fetched from Telegram when the alert is sent, and nothing the patient wrote is ever stored
or quoted.

Equivalent alerts are coalesced into one row per staff member whose `occurrences` counts them:
a crisis of one person within 10 minutes, a reschedule request of one appointment still
waiting to be sent, a template failure of the same steps and error within an hour.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Collection, Mapping
from datetime import datetime, timedelta
from typing import Any

from bot.db.patients import Repository
from foundation.clock import Clock

__all__ = [
    "CHECKIN_CALL",
    "CRISIS",
    "CRISIS_WINDOW",
    "RESCHEDULE",
    "TEMPLATE_FAILURE",
    "TEMPLATE_FAILURE_WINDOW",
    "StaffAlerts",
]

log = logging.getLogger(__name__)

CRISIS = "crisis"
RESCHEDULE = "reschedule"
TEMPLATE_FAILURE = "template_failure"
CHECKIN_CALL = "checkin_call"

CRISIS_WINDOW = timedelta(minutes=10)
"""Crisis matches of one person within this long of the first alert become that alert."""
TEMPLATE_FAILURE_WINDOW = timedelta(hours=1)
"""Failures of the same steps with the same error within this long become one alert."""

_DIGITS = re.compile(r"\d+")


class StaffAlerts:
    def __init__(
        self,
        staff_ids: Collection[int],
        clock: Clock,
        kick: Callable[[], None] = lambda: None,
    ) -> None:
        self.staff_ids: tuple[int, ...] = tuple(sorted(set(staff_ids)))
        self.clock = clock
        self.kick = kick
        self._warned: set[str] = set()

    async def crisis(
        self,
        repo: Repository,
        *,
        telegram_id: int,
        patient_id: int | None,
        appointment_id: int | None = None,
    ) -> bool:
        """A message of this person matched the crisis screen (about the visit
        `appointment_id`, see bot/services/alert_visits.py). The message is not stored."""
        return await self._queue(
            repo,
            CRISIS,
            context={"appointment_id": appointment_id} if appointment_id else {},
            patient_id=patient_id,
            subject_telegram_id=telegram_id,
            dedupe_key=f"{CRISIS}:{telegram_id}",
            window=CRISIS_WINDOW,
        )

    async def reschedule_request(
        self,
        repo: Repository,
        *,
        patient_id: int,
        telegram_id: int,
        appointment_id: int,
        starts_at: datetime,
    ) -> bool:
        """The patient asked to move this visit (the one the alert names, as of now)."""
        return await self._queue(
            repo,
            RESCHEDULE,
            context={"appointment_id": appointment_id, "starts_at": starts_at.isoformat()},
            patient_id=patient_id,
            subject_telegram_id=telegram_id,
            dedupe_key=f"{RESCHEDULE}:{appointment_id}",
            window=None,  # only a request still waiting to be sent is counted into
        )

    async def checkin_call(
        self,
        repo: Repository,
        *,
        patient_id: int,
        telegram_id: int,
        appointment_id: int,
        starts_at: datetime,
    ) -> bool:
        """The patient answered the day-after check-in of this visit "Not great, please call
        me"; a second tap while the first alert waits is counted into it."""
        return await self._queue(
            repo,
            CHECKIN_CALL,
            context={"appointment_id": appointment_id, "starts_at": starts_at.isoformat()},
            patient_id=patient_id,
            subject_telegram_id=telegram_id,
            dedupe_key=f"{CHECKIN_CALL}:{appointment_id}",
            window=None,
        )

    async def template_failure(
        self,
        repo: Repository,
        steps: Collection[str],
        error: str,
        *,
        appointment_id: int | None = None,
        fell_back: bool = False,
    ) -> bool:
        """Reminder text of these steps could not be rendered or was refused by Telegram, first
        for the visit `appointment_id`; `fell_back`: that patient got the shipped text instead.

        `error` is a code (an exception class, Telegram's description), never message text."""
        keys = sorted(set(steps))
        # Numbers (byte offsets, ids) differ from one patient's text to the next; without them
        # one broken template is one alert, not one per reminder.
        signature = "\x1f".join([*keys, "", _DIGITS.sub("#", error)])
        digest = hashlib.sha256(signature.encode()).hexdigest()[:32]
        return await self._queue(
            repo,
            TEMPLATE_FAILURE,
            context={
                "steps": keys,
                "error": error[:200],
                "appointment_id": appointment_id,
                "fell_back": fell_back,
            },
            patient_id=None,
            subject_telegram_id=None,
            dedupe_key=f"{TEMPLATE_FAILURE}:{digest}",
            window=TEMPLATE_FAILURE_WINDOW,
        )

    async def _queue(
        self,
        repo: Repository,
        kind: str,
        *,
        context: Mapping[str, Any],
        patient_id: int | None,
        subject_telegram_id: int | None,
        dedupe_key: str,
        window: timedelta | None,
    ) -> bool:
        if not self.staff_ids:
            if kind not in self._warned:
                self._warned.add(kind)
                log.warning("%s alert not queued: STAFF_IDS is empty", kind)
            return False
        now = self.clock.now()
        queued = await repo.alerts.add(
            kind=kind,
            staff_chat_ids=self.staff_ids,
            now=now,
            context=context,
            patient_id=patient_id,
            subject_telegram_id=subject_telegram_id,
            dedupe_key=dedupe_key,
            sent_since=now - window if window is not None else None,
        )
        log.info(
            "%s alert queued for %d staff (%d counted into an earlier alert)",
            kind,
            queued.inserted + queued.coalesced,
            queued.coalesced,
        )
        if self.kick not in repo.after_commit:
            repo.after_commit.append(self.kick)
        return True
