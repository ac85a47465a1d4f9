"""The one place services are made.

``Services`` is built once per application (bot/factory.py) from the settings, the content,
the clock, the session factory and the outbox ports. Every surface gets its services from it
the same way, bound to one unit of work: the Telegram middleware (bot/telegram/middlewares.py
opens a :class:`ServiceScope` over the update's session and hands it to handlers as ``svc``),
the command line, the tests' rigs, and any web or API handler::

    async with services.transaction() as svc:
        await svc.invites.create(actor, proposal, label=label, bot_username=name)

A scope builds a service the first time it is asked for (and keeps it), so an update that
answers a question builds none. Nothing here imports aiogram.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any, Generic, TypeVar, overload

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.content.store import Content
from bot.db.api_tokens import ApiTokenRepository
from bot.db.content_versions import ContentVersionRepository
from bot.db.intake import IntakeRepository
from bot.db.invites import InviteRepository
from bot.db.patients import AfterCommit, Repository
from bot.db.roster import RosterRepository
from bot.db.staff import StaffRepository
from bot.db.visit_changes import VisitChangeRepository
from bot.domain.staff import Role
from bot.intake.patient_ref import PatientKeyer
from bot.intake.rows import IntakeRules
from bot.metrics import Metrics
from bot.services.api_tokens import ApiTokenService
from bot.services.appointments import AppointmentService
from bot.services.audit import AuditTrail
from bot.services.calendar import CalendarService
from bot.services.content_editing import ContentEditing, EditingTools
from bot.services.errors import Refusal
from bot.services.faq_editing import FaqEditing
from bot.services.intake import (
    IntakeLinker,
    IntakeService,
    LinkedRecorder,
    VisitLinked,
    intake_settings,
)
from bot.services.intake_events import IntakeEvents
from bot.services.invites import InviteService
from bot.services.patient_notices import PatientNotices
from bot.services.patients import PatientService
from bot.services.plan_editing import PlanEditing
from bot.services.reminders import PreparationService, ReminderPlanner
from bot.services.roster import RosterService
from bot.services.staff import StaffService, role_from
from bot.services.staff_alerts import StaffAlerts
from bot.services.visit_changes import VisitChangeService
from foundation.clock import Clock
from scheduler.plan import Plan

__all__ = ["ServiceScope", "Services", "run_after_commit"]

log = logging.getLogger(__name__)


_T = TypeVar("_T")


class _built(Generic[_T]):
    """``functools.cached_property`` without its lock (Python 3.11 takes an RLock on every
    first access, the better part of building a service): a scope belongs to one task."""

    def __init__(self, make: Callable[[Any], _T]) -> None:
        self.make = make
        self.name = make.__name__
        self.__doc__ = make.__doc__

    @overload
    def __get__(self, scope: None, owner: type | None = None) -> _built[_T]: ...
    @overload
    def __get__(self, scope: object, owner: type | None = None) -> _T: ...
    def __get__(self, scope: object | None, owner: type | None = None) -> _T | _built[_T]:
        if scope is None:
            return self
        value = self.make(scope)
        scope.__dict__[self.name] = value  # found before this descriptor from now on
        return value


def _no_wake(when: datetime) -> None:
    """No reminder engine to wake (a command-line tool, a test rig)."""


async def run_after_commit(hooks: list[AfterCommit]) -> None:
    """Run what waited for the commit. One failing hook does not stop the others."""
    for hook in hooks:
        try:
            result = hook()
            if inspect.isawaitable(result):
                await result
        except Exception as exc:  # a wake-up or a checkpoint; the data is already safe
            log.warning("after-commit step failed: %s", type(exc).__name__)
    hooks.clear()


@dataclass(frozen=True)
class Services:
    """What services are made of, long-lived, built once per application."""

    settings: Settings
    content: Content
    clock: Clock
    session_factory: async_sessionmaker[AsyncSession]
    staff_alerts: StaffAlerts
    # Notices to patients about visits the clinic changed (the same outbox as staff alerts).
    patient_notices: PatientNotices
    # Asks the reminder engine to look no later than the given instant.
    wake: Callable[[datetime], None] = _no_wake
    # The application's metrics (what services count goes through here); None in a test rig.
    metrics: Metrics | None = None
    # Signed events to the clinic's systems (INTAKE_WEBHOOKS); None: none are recorded.
    intake_events: IntakeEvents | None = None

    @cached_property
    def intake_setup(self) -> tuple[IntakeRules | None, PatientKeyer | None, str | None]:
        """The intake rules and patient keyer of the settings, or why there are none
        (:func:`~bot.services.intake.intake_settings`): read once, handed to every unit of
        work's :class:`IntakeService`."""
        return intake_settings(self.settings, self.content.languages)

    def scope(self, session: AsyncSession) -> ServiceScope:
        """The services of one unit of work over `session` (the caller commits it)."""
        return ServiceScope(self, Repository(session))

    async def open(self, session: AsyncSession) -> ServiceScope:
        """:meth:`scope`, with the texts staff edited brought up to date first (asked at most
        once a second, loaded when changed): what every unit of work starts with."""
        await self.content.refresh(ContentVersionRepository(session))
        return self.scope(session)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[ServiceScope]:
        """One unit of work outside Telegram, as the Telegram one: committed when the block
        ends, and when it ends in a :class:`Refusal` too (what was written before it, the
        refused attempt's audit line, stays; the refusal goes on to the caller, who tells the
        person); any other exception rolls it back. Then the after-commit hooks run."""
        session = self.session_factory()
        refusal: Refusal | None = None
        try:
            scope = await self.open(session)
            try:
                yield scope
            except Refusal as exc:
                refusal = exc
            await session.commit()
        finally:
            await session.close()
        await run_after_commit(scope.after_commit)
        if refusal is not None:
            raise refusal

    def role_from(self, telegram_id: int, stored: str | None) -> Role | None:
        """A sender's role, given their stored role (read with the patient): no query."""
        return role_from(telegram_id, stored, self.settings.staff_ids)


def _after_commit(repo: Repository, step: AfterCommit) -> Callable[[], None]:
    """`step`, run once the transaction committed (a closure over the repository, not the
    scope: the services that keep it make no reference cycle with the scope, so an update's
    objects are freed when it ends, not by the cyclic garbage collector)."""
    return lambda: repo.after_commit.append(step)


def _waker(repo: Repository, wake: Callable[[datetime], None]) -> Callable[[datetime], None]:
    """Wakes the engine at an instant once the rows it is woken for are committed."""
    return lambda when: repo.after_commit.append(lambda: wake(when))


def _linked_recorder(repo: Repository, events: IntakeEvents) -> LinkedRecorder:
    """Records ``visit.linked`` (a closure over the repository, not the scope: see above)."""

    async def record(linked: VisitLinked) -> None:
        await events.visit_linked(
            repo, linked.appointment_id, source=linked.source, external_id=linked.external_id
        )

    return record


def _planner(
    repo: Repository, plans: Callable[[str], Plan], clock: Clock, wake: Callable[[datetime], None]
) -> Callable[[], ReminderPlanner]:
    """Makes planners for the plan editor (a closure over the repository, not the scope)."""
    return lambda: ReminderPlanner(repo, plans, clock, wake)


class ServiceScope:
    """The services of one unit of work: one session, built when first asked for."""

    def __init__(self, services: Services, repo: Repository) -> None:
        self.services = services
        self.repo = repo
        self.wake = _waker(repo, services.wake)
        """Wake the engine at an instant, once the rows it is woken for are committed."""

    # --- what every service shares ---------------------------------------------------------
    @property
    def session(self) -> AsyncSession:
        return self.repo.session

    @property
    def after_commit(self) -> list[AfterCommit]:
        """Steps run once the transaction committed (wake-ups, the outbox's kick)."""
        return self.repo.after_commit

    @property
    def clock(self) -> Clock:
        return self.services.clock

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def content(self) -> Content:
        return self.services.content

    @property
    def staff_alerts(self) -> StaffAlerts:
        return self.services.staff_alerts

    @_built
    def intake_events(self) -> IntakeEvents:
        """Events to the clinic's systems, written in this transaction; e.g. once a patient's
        visits are linked: ``await svc.intake_events.visit_linked(svc.repo, appointment_id)``
        (a rig without any records none; it still counts the answers on the revisions of the
        schedule's visits when intake is set up)."""
        return self.services.intake_events or IntakeEvents(
            (), self.clock, schedule=self.services.intake_setup[1] is not None
        )

    def planner(self) -> ReminderPlanner:
        """Plans each appointment's reminders by its own type's live plan, inside this
        transaction (``replan_type`` re-plans one type's visits after its plan changed)."""
        return ReminderPlanner(self.repo, self.content.plan_for, self.clock, self.wake)

    def plan_of(self, visit_type: str) -> Plan:
        """The live reminder plan of a visit type (its steps, checklist and the clinic's
        values in ``preparation``)."""
        return self.content.plan_for(visit_type)

    @property
    def _invite_ttl(self) -> timedelta:
        return timedelta(days=self.settings.invite_ttl_days)

    # --- the services ------------------------------------------------------------------------
    @_built
    def audit(self) -> AuditTrail:
        return AuditTrail(self.repo.audit, self.clock)

    @_built
    def staff(self) -> StaffService:
        metrics = self.services.metrics
        return StaffService(
            StaffRepository(self.session),
            self.audit,
            self.clock,
            env_admins=self.settings.staff_ids,
            invite_ttl=self._invite_ttl,
            observe_redemptions=metrics.invite_redemption if metrics else None,
        )

    @_built
    def api_tokens(self) -> ApiTokenService:
        """The HTTP API's tokens: made, listed, revoked, checked; every call audited."""
        return ApiTokenService(ApiTokenRepository(self.session), self.staff, self.audit, self.clock)

    @_built
    def patients(self) -> PatientService:
        return PatientService(
            self.repo,
            self.clock,
            default_timezone=self.settings.clinic_timezone,
            events=self.intake_events,
        )

    @_built
    def appointments(self) -> AppointmentService:
        return AppointmentService(
            self.repo,
            self.clock,
            self.planner(),
            default_type=self.content.default_visit_type,
            # "visit.moved", "visit.cancelled" for the clinic's webhook, in this transaction.
            events=self.intake_events,
        )

    @_built
    def calendar(self) -> CalendarService:
        return CalendarService(
            self.content,
            self.clock,
            IntakeRepository(self.session),
            domain=self.settings.calendar_uid_domain,
        )

    @_built
    def preparation(self) -> PreparationService:
        return PreparationService(
            self.repo,
            self.content.plan_for,
            self.clock,
            self.wake,
            visit_types=self.content.visit_types,
            events=self.intake_events,
        )

    @_built
    def invites(self) -> InviteService:
        return InviteService(
            InviteRepository(self.session),
            self.staff,
            self.appointments,
            self.clock,
            ttl=self._invite_ttl,
            default_zone=self.settings.clinic_timezone,
            schedule=self.intake_linker,
        )

    @_built
    def intake_linker(self) -> IntakeLinker:
        """Attaches visits of the clinic's schedule to a patient (on redeeming, on import)."""
        return IntakeLinker(
            IntakeRepository(self.session),
            self.repo,
            self.planner(),
            self.services.patient_notices,
            self.clock,
            # "visit.linked" for the clinic's webhook, in this transaction.
            on_linked=_linked_recorder(self.repo, self.intake_events),
        )

    @_built
    def intake(self) -> IntakeService:
        """The one intake command (CSV, command line, a file sent to the bot, the API)."""
        rules, keyer, unavailable = self.services.intake_setup
        return IntakeService(
            IntakeRepository(self.session),
            self.repo,
            self.intake_linker,
            self.staff,
            self.clock,
            rules=rules,
            keyer=keyer,
            unavailable=unavailable,
            invite_ttl=self._invite_ttl,
            checklist_size=len(self.content.plan.checklist),
        )

    @_built
    def visit_changes(self) -> VisitChangeService:
        return VisitChangeService(
            VisitChangeRepository(self.session),
            self.staff,
            self.appointments,
            self.services.patient_notices,
            self.clock,
            zone=self.settings.clinic_timezone,
        )

    @_built
    def roster(self) -> RosterService:
        return RosterService(
            RosterRepository(self.session),
            self.staff,
            self.clock,
            checklists={kind: plan.checklist for kind, plan in self.content.plans.items()},
            zone=self.settings.clinic_timezone,
        )

    @_built
    def editing_tools(self) -> EditingTools:
        """What the editing services share: the stored versions, permissions, the audit."""
        return EditingTools(
            ContentVersionRepository(self.session),
            self.staff,
            self.audit,
            self.content,
            self.clock,
            zone=self.settings.clinic_zone,
            # A text was saved: the content is refreshed after the commit.
            on_saved=_after_commit(self.repo, self.content.mark_stale),
        )

    @_built
    def content_editing(self) -> ContentEditing:
        return ContentEditing(self.editing_tools)

    @_built
    def faq_editing(self) -> FaqEditing:
        return FaqEditing(self.content_editing)

    @_built
    def plan_editing(self) -> PlanEditing:
        return PlanEditing(
            self.editing_tools,
            planner=_planner(self.repo, self.content.plan_for, self.clock, self.wake),
        )
