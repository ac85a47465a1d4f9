"""Events to the clinic's systems when a patient answers ("answers go back", issue 21).

When a patient links, confirms, asks for a new time, moves or cancels the visit in the bot,
answers the day-after check-in or blocks the bot, and the visit is one of a clinic schedule's
(it has an `intake_visits` row) whose source has a webhook (INTAKE_WEBHOOKS), one event is
written to the `intake_events` outbox in the caller's transaction: it commits or rolls back
with the answer that raised it, and the sender (bot/delivery/intake_events.py) is kicked
once it committed. The body is made here, once (bot/intake/events.py): the visit's source
and external id, the event's type, its time and codes (and a moved visit's new start and
zone); never a name, a reference or anything the patient wrote.

Each of these answers is also a change of the visit: it counts one more on the visit's
`intake_visits.revision` in the same transaction, and the event carries that revision
(bot/intake/events.py says why and how a receiver uses it). It does so for every schedule's
visit, with or without a webhook, so the API's visit shows the same revision either way.

Without any webhook and without a clinic's schedule (INTAKE_PATIENT_KEY unset: no
`intake_visits` can exist), every method returns at once, without a query.

The intake service (linking a patient's visits) calls :meth:`IntakeEvents.visit_linked`;
the appointment service (bot/services/appointments.py) :meth:`IntakeEvents.visit_moved` and
:meth:`IntakeEvents.visit_cancelled`, once a patient's own change is made, and the staff's
visit changes (bot/services/visit_changes.py, the roster's Move and Cancel) through the
appointment service's instance, once a team member's is; the preparation
service (bot/services/reminders.py) the answers to reminders.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.intake_events import IntakeEventRepository, LinkedVisit
from bot.db.patients import Repository
from bot.domain.visits import Checkin
from bot.intake.events import EventType, event_body, new_event_id, utc_instant
from foundation.clock import Clock

__all__ = ["UNREACHABLE_LOOKBACK", "IntakeEvents"]

log = logging.getLogger(__name__)

UNREACHABLE_LOOKBACK = timedelta(days=2)
"""`patient.unreachable` names the patient's visits that start after this long ago: the
upcoming ones, and one just past whose day-after check-in may still be waiting."""


class IntakeEvents:
    """Long-lived (one per application): the sources with a webhook, the clock, and the
    sender's kick."""

    def __init__(
        self,
        sources: Collection[str],
        clock: Clock,
        kick: Callable[[], None] = lambda: None,
        *,
        schedule: bool = False,
    ) -> None:
        """`sources`: those with a webhook; `schedule`: visits of a clinic's schedule may
        exist (INTAKE_PATIENT_KEY is set), so the patient's answers count on their revisions
        even where no webhook hears of them."""
        self.sources = frozenset(sources)
        self.clock = clock
        self._kick = kick
        self.schedule = schedule

    @property
    def enabled(self) -> bool:
        return bool(self.sources)

    @property
    def active(self) -> bool:
        """Answers are counted on visits' revisions (and told where a webhook listens)."""
        return self.schedule or bool(self.sources)

    # --- the events -----------------------------------------------------------------------
    async def visit_linked(
        self,
        repo: Repository,
        appointment_id: int,
        *,
        source: str | None = None,
        external_id: str | None = None,
    ) -> bool:
        """The patient's appointment `appointment_id` is now linked to its visit of a clinic's
        schedule (the intake service calls this once it has set `intake_visits.appointment_id`,
        in the same transaction; with the visit's `source` and `external_id`, that visit alone
        is revised). True when an event was written."""
        if source is None or external_id is None:
            return await self._for_appointment(repo, appointment_id, EventType.VISIT_LINKED)
        if not self.active:
            return False
        events = IntakeEventRepository(repo.session)
        visit = await events.revise_visit(source, external_id)
        if visit is None or source not in self.sources:
            return False
        await self._write(events, visit, EventType.VISIT_LINKED, None)
        self._after_commit(repo)
        return True

    async def visit_confirmed(self, repo: Repository, appointment_id: int) -> bool:
        """The patient said they will come ("I'll be there", "I can come after all")."""
        return await self._for_appointment(repo, appointment_id, EventType.VISIT_CONFIRMED)

    async def reschedule_requested(self, repo: Repository, appointment_id: int) -> bool:
        """The patient asked for a new time for this visit."""
        return await self._for_appointment(
            repo, appointment_id, EventType.VISIT_RESCHEDULE_REQUESTED
        )

    async def visit_moved(
        self, repo: Repository, appointment_id: int, starts_at: datetime, zone: str
    ) -> bool:
        """The patient (or a team member, from the roster) moved this visit, to `starts_at`
        (aware) chosen in `zone` (``data``: ``start``, the UTC instant as ``occurred_at`` is
        written, and ``zone``).
        The caller records it once the move is made, and only when the start changed."""
        return await self._for_appointment(
            repo,
            appointment_id,
            EventType.VISIT_MOVED,
            {"start": utc_instant(starts_at), "zone": zone},
        )

    async def visit_cancelled(self, repo: Repository, appointment_id: int) -> bool:
        """The patient (or a team member) cancelled this visit (the caller records it once the
        cancellation is made, never for one already cancelled)."""
        return await self._for_appointment(repo, appointment_id, EventType.VISIT_CANCELLED)

    async def checkin(self, repo: Repository, appointment_id: int, answer: Checkin) -> bool:
        """The patient answered the day-after check-in (the answer's code only: for a typed
        reply, ``typed``, never the text)."""
        return await self._for_appointment(
            repo, appointment_id, EventType.VISIT_CHECKIN, {"answer": Checkin(answer).value}
        )

    async def unreachable(self, repo: Repository, patient_ids: Sequence[int]) -> int:
        """These patients have just blocked the bot (see :meth:`record`)."""
        written = await self.record(repo.session, patient_ids)
        if written:
            self._after_commit(repo)
        return written

    # --- bot.db.outbox.UnreachableEvents (the reminder and outbox stores) -------------------
    async def record(self, session: AsyncSession, patient_ids: Sequence[int]) -> int:
        """`patient.unreachable` for each visit of these patients (from the last
        UNREACHABLE_LOOKBACK on) of a source with a webhook, in `session`'s transaction (each
        such visit of any schedule is revised); how many were written. The caller kicks the
        sender once it committed."""
        if not self.active or not patient_ids:
            return 0
        now = self.clock.now()
        events = IntakeEventRepository(session)
        visits = await events.revise_visits_of_patients(
            patient_ids, now - UNREACHABLE_LOOKBACK, None
        )
        told = [visit for visit in visits if visit.source in self.sources]
        for visit in told:
            await self._write(events, visit, EventType.PATIENT_UNREACHABLE, {"reason": "blocked"})
        return len(told)

    def kick(self) -> None:
        """Ask the sender to look now (its transaction has committed)."""
        self._kick()

    # --- inside -----------------------------------------------------------------------------
    async def _for_appointment(
        self,
        repo: Repository,
        appointment_id: int,
        event_type: EventType,
        data: Mapping[str, str] | None = None,
    ) -> bool:
        if not self.active:
            return False
        events = IntakeEventRepository(repo.session)
        revised = await events.revise_appointment(appointment_id)
        # One event per answer: of the visits this appointment is, the oldest with a webhook.
        visit = next((v for v in revised if v.source in self.sources), None)
        if visit is None:
            return False
        await self._write(events, visit, event_type, data)
        self._after_commit(repo)
        return True

    async def _write(
        self,
        events: IntakeEventRepository,
        visit: LinkedVisit,
        event_type: EventType,
        data: Mapping[str, str] | None,
    ) -> None:
        now = self.clock.now()
        body = event_body(
            event_id=new_event_id(),
            event_type=event_type,
            occurred_at=now,
            source=visit.source,
            external_id=visit.external_id,
            revision=visit.revision,
            data=data,
        )
        await events.add(source=visit.source, event_type=event_type, body=body, now=now)
        log.info("%s event queued for source %s", event_type.value, visit.source)

    def _after_commit(self, repo: Repository) -> None:
        if self._kick not in repo.after_commit:
            repo.after_commit.append(self._kick)
