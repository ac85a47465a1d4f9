"""Delivery of the outbox (alerts to the team, notices to patients), and the start-up check
of STAFF_IDS.

A notice to a patient (bot/services/patient_notices.py) is rendered in the patient's language
and zone as they are when it is sent; the patient's name is never looked up for it. A patient
who blocked the bot is not retried: the row fails and the patient is marked unreachable, as
the reminder engine does. Everything else below holds for both.

The outbox is a leased queue (`scheduler/queue.py`, as the reminder engine's store is), and
one pass of :class:`AlertDelivery` (the loop of bot/delivery/leased.py, which the events to
the clinic's systems run too) works it as the engine does:

1. due rows are claimed under a lease in one short transaction (committed before anything is
   sent: no session or connection is held while Telegram is called), and the lease is renewed
   while they are sent;
2. the patient's name is fetched from Telegram (`getChat`) for the text, which is rendered from
   the latest template and sent through the one :class:`~bot.delivery.sender.Sender`;
3. outcomes are written in another short transaction, fenced by the lease owner.

Sent rows become `sent`. A staff member who has not pressed Start yet, has blocked the bot, or
a Telegram outage (403, 400 "chat not found", 5xx, network) is retried with exponential
backoff; after `max_attempts` the row becomes `failed`, with one ERROR line naming the kind,
the staff id and the error code. Any other 400 (our request was wrong) fails at once. Logs
name staff ids, never a patient's id, name or words.

A patient's reminders wait while a notice to them is still to be sent (bot/db/reminders.py): the
notice of a visit moved close comes before the reminder the move made due. Once a notice is
sent or given up, `notices_out` wakes the reminder engine for what it held.

A crash between 1 and 3 leaves rows leased; once the lease ran out any replica claims them
again, so an alert is never lost, and at most the rows in flight at a crash are sent twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection
from datetime import datetime
from typing import Unpack
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.exceptions import (
    AiogramError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.content.catalogue import (
    CheckinStaffAlert,
    CrisisStaffAlert,
    Message,
    RescheduleStaffAlert,
    TemplateFailureStaffAlert,
    VisitAddedNotice,
    VisitCancelledNotice,
    VisitMovedNotice,
)
from bot.content.store import Content
from bot.db.outbox import (
    ClaimedAlert,
    NoticeRecipient,
    OutboxClaim,
    SqlOutboxStore,
    UnreachableEvents,
)
from bot.delivery.leased import Attempt, LeasedDelivery, Pacing
from bot.delivery.sender import Sender
from bot.services.alert_visits import VisitRow, visit_variables
from bot.services.patient_notices import (
    PATIENT_NOTICES,
    VISIT_ADDED,
    VISIT_CANCELLED,
    VISIT_MOVED,
)
from bot.services.staff_alerts import CHECKIN_CALL, CRISIS, RESCHEDULE, TEMPLATE_FAILURE
from foundation.clock import Clock
from foundation.timemath import load_zone, to_local
from scheduler.queue import AttemptResult, Outcome, Reason
from scheduler.records import SendOutcome

__all__ = ["AlertDelivery", "check_staff_ids"]

log = logging.getLogger(__name__)

GET_CHAT_TIMEOUT = 10
"""Seconds to wait for the patient's name before sending the alert without it."""


class AlertDelivery(LeasedDelivery[OutboxClaim, ClaimedAlert]):
    log = log
    what = "staff alert"
    task_name = "staff-alert-delivery"
    owner_prefix = "alerts"

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        sender: Sender,
        bot: Bot,
        content: Content,
        clinic_zone: ZoneInfo,
        clock: Clock,
        *,
        owner: str | None = None,
        unreachable: UnreachableEvents | None = None,
        notices_out: Callable[[], None] | None = None,
        **pacing: Unpack[Pacing],
    ) -> None:
        # `unreachable`: told of patients a notice found blocked (bot/db/outbox.py);
        # `notices_out`: called once a notice to a patient is sent or given up (its outcome
        # committed), to wake the reminder engine for the reminders it held.
        store = SqlOutboxStore(session_factory, PATIENT_NOTICES, unreachable=unreachable)
        super().__init__(store, clock, owner=owner, **pacing)
        self.sender = sender
        self.bot = bot
        self.content = content
        self.clinic_zone = clinic_zone
        self.notices_out = notices_out

    # --- one pass (the loop: bot/delivery/leased.py) -------------------------------------
    def _rows(self, claim: OutboxClaim) -> tuple[ClaimedAlert, ...]:
        return claim.alerts

    async def _send(self, claim: OutboxClaim) -> list[Attempt]:
        names = await self._names(claim.alerts)
        return await asyncio.gather(*(self._attempt(a, names, claim) for a in claim.alerts))

    def _ended(self, row: ClaimedAlert, result: AttemptResult) -> None:
        """A notice out of the outbox (sent, or given up) lets the patient's reminders go."""
        if (
            self.notices_out is not None
            and row.kind in PATIENT_NOTICES
            and result.outcome is not Outcome.RETRY
        ):
            self.notices_out()

    def _name(self, alert: ClaimedAlert) -> str:
        """The kind, and who a row goes to: a staff id, never a patient's."""
        recipient = "a patient" if alert.kind in PATIENT_NOTICES else f"staff {alert.staff_chat_id}"
        return f"{alert.kind} to {recipient}"

    async def _names(self, claimed: Collection[ClaimedAlert]) -> dict[int, str]:
        """The name of each patient the claimed rows are about, once per patient per pass."""
        subjects = sorted({a.subject_telegram_id for a in claimed if a.subject_telegram_id})
        return {subject: await self._display_name(subject) for subject in subjects}

    async def _display_name(self, telegram_id: int) -> str:
        try:
            chat = await self.bot.get_chat(telegram_id, request_timeout=GET_CHAT_TIMEOUT)
        except Exception as exc:  # the alert goes out without the name rather than not at all
            log.info("staff alert: the patient's name is not available (%s)", type(exc).__name__)
            return ""
        name = " ".join(part for part in (chat.first_name, chat.last_name) if part)
        if not name and chat.username:
            name = f"@{chat.username}"
        return name

    async def _attempt(
        self, alert: ClaimedAlert, names: dict[int, str], claim: OutboxClaim
    ) -> Attempt:
        """How sending one row went, and how long Telegram asked to wait before a retry."""
        ids = (alert.id,)
        notice = alert.kind in PATIENT_NOTICES
        try:
            if notice:
                recipient = claim.recipients.get(alert.patient_id or 0)
                if recipient is None:
                    return AttemptResult(ids, Outcome.FAILED, Reason.PATIENT_GONE), None
                text = self._render_notice(alert, recipient)
            else:
                name = names.get(alert.subject_telegram_id or 0, "")
                visit = claim.visits.get(alert.context.get("appointment_id") or 0)
                text = self._render(alert, name, visit)
        except Exception as exc:  # a template mid-edit on disk may be fixed by the next try
            return AttemptResult(ids, Outcome.RETRY, Reason.RENDER, type(exc).__name__), None
        try:
            result = await self.sender.send(alert.staff_chat_id, text)
        except Exception as exc:  # the sender classifies Telegram's answers; anything else
            return AttemptResult(ids, Outcome.RETRY, Reason.ERROR, type(exc).__name__), None
        if result.outcome is SendOutcome.SENT:
            return AttemptResult(ids, Outcome.SENT, message_id=result.message_id), None
        error = result.error or ""
        if result.outcome is SendOutcome.BAD_REQUEST:
            return AttemptResult(ids, Outcome.FAILED, Reason.BAD_REQUEST, error), None
        if result.outcome is SendOutcome.BLOCKED:
            if notice:
                # The patient blocked the bot: as for a reminder, no retries, and they are
                # marked unreachable (their reminders stop until they write again).
                failed = AttemptResult(
                    ids, Outcome.FAILED, Reason.BLOCKED, error, unreachable_patient=alert.patient_id
                )
                return failed, None
            # 403, 400 "chat not found": a staff member may not have pressed Start yet, or may
            # unblock the bot.
            return AttemptResult(ids, Outcome.RETRY, Reason.BLOCKED, error), result.retry_in
        return AttemptResult(ids, Outcome.RETRY, Reason.RETRY, error), result.retry_in

    def _render(self, alert: ClaimedAlert, display_name: str, visit: VisitRow | None) -> str:
        return self.content.render_message(
            self._message(alert, display_name, visit), self.content.default_language
        )

    def _message(self, alert: ClaimedAlert, display_name: str, visit: VisitRow | None) -> Message:
        context = alert.context
        patient_ref = f"#{alert.patient_id}" if alert.patient_id is not None else ""
        named = visit_variables(visit, self.clinic_zone, self._write_time)
        if alert.kind == CRISIS:
            return CrisisStaffAlert(
                patient_ref=patient_ref,
                display_name=display_name,
                telegram_id=alert.subject_telegram_id,
                at_local=self._clinic_time(alert.created_at),
                occurrences=alert.occurrences,
                **named,
            )
        if alert.kind == RESCHEDULE:
            asked = self._clinic_time(datetime.fromisoformat(context["starts_at"]))
            return RescheduleStaffAlert(
                patient_ref=patient_ref,
                display_name=display_name,
                telegram_id=alert.subject_telegram_id,
                when_local=asked,
                visit_label=named["visit_label"],
                # The time the patient was asked about, even if staff moved it since.
                visit_time=asked,
            )
        if alert.kind == CHECKIN_CALL:
            return CheckinStaffAlert(
                patient_ref=patient_ref,
                display_name=display_name,
                telegram_id=alert.subject_telegram_id,
                visit_label=named["visit_label"],
                # The visit the check-in was about, as it was then.
                visit_time=self._clinic_time(datetime.fromisoformat(context["starts_at"])),
            )
        if alert.kind == TEMPLATE_FAILURE:
            return TemplateFailureStaffAlert(
                steps=", ".join(context.get("steps", [])),
                error=context.get("error", ""),
                occurrences=alert.occurrences,
                fell_back=bool(context.get("fell_back")),
                **named,
            )
        raise ValueError(f"unknown staff alert kind {alert.kind!r}")

    def _render_notice(self, alert: ClaimedAlert, recipient: NoticeRecipient) -> str:
        """A notice to a patient, in their language, its times in their zone."""
        context = alert.context
        zone = load_zone(recipient.timezone)

        def local(key: str) -> datetime:
            return to_local(datetime.fromisoformat(context[key]), zone)

        message: Message
        if alert.kind == VISIT_MOVED:
            message = VisitMovedNotice(before=local("before"), after=local("after"))
        elif alert.kind == VISIT_CANCELLED:
            message = VisitCancelledNotice(when=local("starts_at"))
        elif alert.kind == VISIT_ADDED:
            message = VisitAddedNotice(when=local("starts_at"))
        else:
            raise ValueError(f"unknown patient notice kind {alert.kind!r}")
        return self.content.render_message(message, recipient.language)

    def _clinic_time(self, instant: datetime) -> str:
        return self._write_time(to_local(instant, self.clinic_zone))

    def _write_time(self, local: datetime) -> str:
        return self.content.format_datetime(local, self.content.default_language)


async def check_staff_ids(bot: Bot, staff_ids: Collection[int]) -> list[int]:
    """Look up every STAFF_IDS entry; one WARNING per entry the bot cannot reach.

    Returns the bad ids. A network problem (or any other Telegram error that says nothing
    about one entry) is logged once and ends the check: it is not fatal, and alerts to a bad
    entry are retried anyway. An answer about one entry that the bot cannot read (a Bot API
    server of another version, a proxy's page) names the entry as unverified and the check
    goes on."""
    if not staff_ids:
        log.warning("STAFF_IDS is empty: crisis and reschedule alerts will reach nobody")
        return []
    bad: list[int] = []
    for staff_id in sorted(set(staff_ids)):
        try:
            await bot.get_chat(staff_id, request_timeout=GET_CHAT_TIMEOUT)
        except (TelegramBadRequest, TelegramForbiddenError) as exc:
            reason = exc.message.split(": ", 1)[-1] if exc.message else type(exc).__name__
            log.warning(
                "STAFF_IDS entry %s cannot be reached: %s; that person must open the bot and "
                "press Start",
                staff_id,
                reason,
            )
            bad.append(staff_id)
        except (TelegramNetworkError, TelegramAPIError, TimeoutError) as exc:
            log.warning("could not check STAFF_IDS now: %s", type(exc).__name__)
            break
        except (AiogramError, ValueError) as exc:
            # An answer about this entry the bot could not read (a Bot API server of another
            # version, a proxy's page) or another error: this entry is unverified, not bad.
            log.warning(
                "STAFF_IDS entry %s could not be verified (%s); going on",
                staff_id,
                type(exc).__name__,
            )
    return bad
