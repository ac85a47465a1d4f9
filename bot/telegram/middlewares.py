"""Outer middlewares of the update pipeline, in the order they run:

``InflightTracker`` (shutdown waits for it) -> aiogram's errors and user context ->
``UpdateGate`` (bot/telegram/gate.py: unknown update types, the crisis screen, groups and
channels; before any database access) -> ``UnitOfWork`` (one transaction per update, retried
on a write conflict; the reply is sent after the commit) -> aiogram's FSM context, which
therefore reads the conversation state inside that transaction.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from contextlib import nullcontext
from datetime import datetime, timedelta
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.dispatcher.flags import get_flag
from aiogram.fsm.middleware import FSMContextMiddleware
from aiogram.types import (
    CallbackQuery,
    Chat,
    TelegramObject,
    Update,
    User,
)
from aiogram.types.update import UpdateTypeLookupError
from aiogram.utils.callback_answer import CallbackAnswerMiddleware
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.content.catalogue import NeedConsent
from bot.db.content_versions import ContentVersionRepository
from bot.db.invites import InviteRepository
from bot.db.patients import AfterCommit, Repository
from bot.db.roster import RosterRepository
from bot.db.staff import StaffRepository
from bot.db.visit_changes import VisitChangeRepository
from bot.domain.audit import Actor
from bot.logs import trace_update
from bot.metrics import Metrics, mark_update
from bot.services.appointments import AppointmentService
from bot.services.audit import AuditTrail
from bot.services.content_editing import ContentEditing
from bot.services.faq_editing import FaqEditing
from bot.services.invites import InviteService
from bot.services.patients import PatientService
from bot.services.plan_editing import PlanEditing
from bot.services.reminders import PreparationService, ReminderPlanner
from bot.services.roster import RosterService
from bot.services.staff import StaffService
from bot.services.visit_changes import VisitChangeService
from bot.telegram.context import AppContext
from bot.telegram.fsm_storage import AfterCommitStorage, SqlStorage, current_repository
from bot.telegram.reply import Reply

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 4
"""Tries of one update that met a write conflict (two taps racing for the same row)."""

# SQLSTATEs of PostgreSQL's "try again" errors: serialization failure, deadlock.
_RETRY_SQLSTATES = frozenset({"40001", "40P01"})


def _update_type(event: Update) -> str:
    try:
        return event.event_type
    except UpdateTypeLookupError:
        return "unknown"


class InflightTracker(BaseMiddleware):
    """Lets shutdown wait for handlers that are still running (SIGTERM must not cut a reply).

    The outermost middleware, so also where an update is traced and measured: its id tags
    every log line written while it is handled (bot/logs.py), and the metrics count it by
    type and outcome and time the answer (bot/metrics.py)."""

    def __init__(self, metrics: Metrics | None = None) -> None:
        self.metrics = metrics or Metrics()
        self._count = 0
        self.completed = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        self._count += 1
        self._idle.clear()
        try:
            assert isinstance(event, Update)
            with (
                trace_update(event.update_id),
                self.metrics.update(event.update_id, _update_type(event)),
            ):
                result = await handler(event, data)
                if result is UNHANDLED:
                    mark_update("unhandled")
                return result
        finally:
            self._count -= 1
            self.completed += 1
            if self._count == 0:
                self._idle.set()

    @property
    def in_flight(self) -> int:
        return self._count

    async def wait_idle(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True


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


def _is_conflict(exc: DBAPIError) -> bool:
    """A write that lost a race and will succeed when the update runs again."""
    if isinstance(exc, IntegrityError):
        return True  # a unique key another update inserted first: the retry sees its row
    if isinstance(exc, OperationalError) and "locked" in str(exc.orig).lower():
        return True  # SQLite stayed busy past busy_timeout
    sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return sqlstate in _RETRY_SQLSTATES


def _wrote(session: AsyncSession) -> bool:
    """Whether the update changed anything: a read-only update (a question, a menu) skips
    the commit. Asked of SQLite directly; other databases are always committed. Read from the
    synchronous session: its connection is already checked out, so nothing here does I/O."""
    sync = session.sync_session
    if sync.new or sync.dirty or sync.deleted:
        return True
    if not sync.in_transaction():
        return False
    driver = sync.connection().connection.driver_connection
    in_transaction = getattr(driver, "in_transaction", None)  # sqlite3's flag
    return True if not isinstance(in_transaction, bool) else in_transaction


class UnitOfWork(BaseMiddleware):
    """One transaction per update, and the answer only after it committed.

    The session loads the patient and builds the services; the handler writes into the
    session and into the update's :class:`Reply`. Then: commit, run the after-commit hooks
    (wake-ups), and only then send the reply. No database lock or pooled connection is held
    while Telegram answers. A write conflict (a double tap racing for the same row) rolls
    back and runs the update again, so the second tap sees the first one's result and is
    answered as already done. Any other exception rolls back and reaches the error handler,
    which sends the kind error and nothing else.

    Conversation state in the database (``SqlStorage``) is read with the patient and written
    in the transaction; in Redis (``AfterCommitStorage``) it is written right after the
    commit, once the session is closed, and before the reply."""

    def __init__(
        self,
        app: AppContext,
        fsm: FSMContextMiddleware,
        storage: SqlStorage | AfterCommitStorage,
    ) -> None:
        self.app = app
        self.fsm = fsm
        self.storage = storage

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        conversation = self.fsm.resolve_event_context(data["bot"], data)
        storage = self.storage
        state_key = (
            storage.key_for(conversation.key)
            if conversation and isinstance(storage, SqlStorage)
            else None
        )
        # In Redis, one update of a conversation at a time (across replicas), from reading
        # its state to writing it; not while the reply is sent.
        turn = (
            storage.turn(conversation.key)
            if conversation and isinstance(storage, AfterCommitStorage)
            else nullcontext()
        )
        async with turn:
            result, repo, reply = await self._attempts(handler, event, data, state_key)
        await run_after_commit(repo.after_commit)
        await reply.flush(self.app.sender)
        return result

    async def _attempts(
        self, handler: Handler, event: Update, data: dict[str, Any], state_key: str | None
    ) -> tuple[Any, Repository, Reply]:
        """Run the update until it commits (a write conflict runs it again); its state in
        Redis written after the commit. The result, the repository and the reply to send."""
        app = self.app
        storage = self.storage
        user: User | None = data.get("event_from_user")
        chat: Chat | None = data.get("event_chat")
        query: CallbackQuery | None = event.callback_query
        for attempt in range(1, MAX_ATTEMPTS + 1):
            # Closed explicitly, not with `async with`: AsyncSession's exit runs close() in a
            # task of its own (a loop iteration and a task per update, for nothing here).
            session = app.session_factory()
            try:
                repo = Repository(session)
                # The texts staff edited: asked at most once a second, loaded when changed.
                await app.content.refresh(ContentVersionRepository(session))
                # The patient and the conversation state in one round trip; the FSM context
                # (next in the chain) then reads the state from the repository.
                patient, stored_role = (
                    await repo.patient_and_state(user.id, state_key) if user else (None, None)
                )
                lang = (
                    patient.language
                    if patient is not None
                    else app.content.language_for(user.language_code if user else None)
                )
                reply = Reply(
                    app.content,
                    lang,
                    chat_id=chat.id if chat is not None else (user.id if user else None),
                    callback_id=query.id if query is not None else None,
                )
                step_data = {**data, **self._services(repo, patient, reply)}
                staff: StaffService = step_data["staff"]
                step_data["actor"] = Actor(user.id) if user else None
                step_data["staff_role"] = staff.role_from(user.id, stored_role) if user else None
                token = current_repository.set(repo)
                state_writes = (
                    storage.update() if isinstance(storage, AfterCommitStorage) else nullcontext()
                )
                try:
                    with state_writes as writes:
                        result = await handler(event, step_data)
                    if _wrote(session):
                        await session.commit()
                except DBAPIError as exc:
                    if not _is_conflict(exc) or attempt == MAX_ATTEMPTS:
                        raise
                    await session.rollback()
                    log.info(
                        "update %s: write conflict (%s), attempt %d",
                        event.update_id,
                        type(exc).__name__,
                        attempt,
                    )
                    await asyncio.sleep(0.01 * attempt)
                    continue
                finally:
                    current_repository.reset(token)
            finally:
                await session.close()
            if writes is not None:
                assert isinstance(storage, AfterCommitStorage)
                await storage.flush(writes)
            return result, repo, reply
        raise AssertionError("unreachable")  # pragma: no cover

    def _services(self, repo: Repository, patient: Any, reply: Reply) -> dict[str, Any]:
        """What handlers may ask for by name, besides aiogram's own (the reply carries the
        content, the language and the keyboards), and besides ``actor`` (the sender as an audit
        Actor) and ``staff_role`` (their Role, None for patients), set by the caller. Services
        are cheap objects over the update's session: building them runs no query."""
        app = self.app
        plan = app.content.plan

        def wake(when: datetime) -> None:
            # The engine must not look before the rows it is woken for are committed.
            repo.after_commit.append(lambda: app.wake(when))

        settings = app.settings
        invite_ttl = timedelta(days=settings.invite_ttl_days)
        versions = ContentVersionRepository(repo.session)

        def content_saved() -> None:
            repo.after_commit.append(app.content.mark_stale)

        appointments = AppointmentService(
            repo, app.clock, ReminderPlanner(repo, plan, app.clock, wake)
        )
        audit = AuditTrail(repo.audit, app.clock)
        staff = StaffService(
            StaffRepository(repo.session),
            audit,
            app.clock,
            env_admins=settings.staff_ids,
            invite_ttl=invite_ttl,
            observe_redemptions=app.metrics.invite_redemption if app.metrics else None,
        )
        content_editing = ContentEditing(
            versions,
            staff,
            audit,
            app.content,
            app.clock,
            on_saved=content_saved,
            zone=settings.clinic_zone,
        )
        return {
            "clock": app.clock,
            "content_editing": content_editing,
            "faq_editing": FaqEditing(content_editing),
            "plan_editing": PlanEditing(
                versions,
                staff,
                audit,
                app.content,
                app.clock,
                zone=settings.clinic_zone,
                planner=lambda new_plan: ReminderPlanner(repo, new_plan, app.clock, wake),
                on_saved=content_saved,
            ),
            "staff_alerts": app.staff_alerts,
            "patient": patient,
            "reply": reply,
            "patients": PatientService(repo, app.clock, default_timezone=settings.clinic_timezone),
            "appointments": appointments,
            "preparation": PreparationService(repo, plan, app.clock, wake),
            "staff": staff,
            "invites": InviteService(
                InviteRepository(repo.session),
                staff,
                appointments,
                app.clock,
                ttl=invite_ttl,
                default_zone=settings.clinic_timezone,
            ),
            "visit_changes": VisitChangeService(
                VisitChangeRepository(repo.session),
                staff,
                appointments,
                app.patient_notices,
                app.clock,
                zone=settings.clinic_timezone,
            ),
            "roster": RosterService(
                RosterRepository(repo.session),
                staff,
                app.clock,
                checklist=plan.checklist,
                zone=settings.clinic_timezone,
            ),
        }


class RequireConsent(BaseMiddleware):
    """Inner middleware for features that store data: without consent, explain and offer /start."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        patient = data.get("patient")
        if patient is not None and patient.has_consented:
            return await handler(event, data)
        reply: Reply = data["reply"]
        reply.send(NeedConsent(), reply.kb.start_over())
        return None


class AnswerCallbackAfterCommit(CallbackAnswerMiddleware):
    """aiogram's acknowledgement of button presses, sent after the commit.

    The stock middleware answers the press (a network call) inside the handler chain, that is
    before the unit of work commits. This one gives the handler the update's
    ``Reply.callback_answer`` as ``callback_answer`` (built from the middleware's defaults and
    the handler's ``callback_answer`` flag, as aiogram does): the Reply acknowledges the press
    with it, first, once the transaction has committed; the error handler acknowledges a
    failed one."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if not isinstance(event, CallbackQuery):
            return await handler(event, data)
        reply: Reply = data["reply"]
        answer = self.construct_callback_answer(properties=get_flag(data, "callback_answer"))
        reply.callback_answer = data["callback_answer"] = answer
        return await handler(event, data)
