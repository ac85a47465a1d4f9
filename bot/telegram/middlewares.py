"""Outer middlewares: one database transaction per update, and a count of updates in flight."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject, Update, User

from bot.db.repository import Repository
from bot.services.appointments import AppointmentService
from bot.services.patients import PatientService
from bot.services.reminders import PreparationService, ReminderPlanner
from bot.telegram.context import AppContext
from bot.telegram.fsm_storage import current_repository
from bot.telegram.keyboards import Keyboards
from bot.telegram.replies import respond

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class InflightTracker(BaseMiddleware):
    """Lets shutdown wait for handlers that are still running (SIGTERM must not cut a reply)."""

    def __init__(self) -> None:
        self._count = 0
        self.completed = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        self._count += 1
        self._idle.clear()
        try:
            return await handler(event, data)
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


def _chat_type(event: Update) -> str | None:
    inner = event.event
    if isinstance(inner, Message):
        return inner.chat.type
    if isinstance(inner, CallbackQuery) and inner.message is not None:
        return inner.message.chat.type
    chat = getattr(inner, "chat", None)
    return getattr(chat, "type", None)


class UnitOfWork(BaseMiddleware):
    """Opens one session per update, loads the patient and builds the services.

    The transaction commits only when the handler finished; an exception rolls everything
    back (the error handler rolls back too, before it answers), so nothing is half-written.
    """

    def __init__(self, app: AppContext) -> None:
        self.app = app

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        if _chat_type(event) not in (None, "private"):
            return None  # health conversations belong in private chats only
        app = self.app
        user: User | None = data.get("event_from_user")
        after_commit: list[Callable[[], None]] = []

        def wake(when: datetime) -> None:
            # The engine must not look before the rows it is woken for are committed.
            after_commit.append(lambda: app.wake(when))

        async with app.session_factory() as session:
            repo = Repository(session)
            plan = app.content.plan
            patient = await repo.patient_by_telegram_id(user.id) if user else None
            lang = (
                patient.language
                if patient is not None
                else app.content.language_for(user.language_code if user else None)
            )
            data.update(
                app=app,
                content=app.content,
                clock=app.clock,
                staff_alerts=app.staff_alerts,
                repo=repo,
                patient=patient,
                lang=lang,
                kb=Keyboards(app.content, lang),
                patients=PatientService(
                    repo, app.clock, default_timezone=app.settings.clinic_timezone
                ),
                appointments=AppointmentService(
                    repo, app.clock, ReminderPlanner(repo, plan, app.clock, wake)
                ),
                preparation=PreparationService(repo, plan, app.clock, wake),
            )
            token = current_repository.set(repo)
            try:
                result = await handler(event, data)
                await session.commit()
            finally:
                current_repository.reset(token)
        for hook in after_commit:
            hook()
        return result


class RequireConsent(BaseMiddleware):
    """Inner middleware for features that store data: without consent, explain and offer /start."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        patient = data.get("patient")
        if patient is not None and patient.has_consented:
            return await handler(event, data)
        content = data["content"]
        text = content.render("need_consent", data["lang"])
        if isinstance(event, Message | CallbackQuery):
            await respond(event, text, data["kb"].start_over())
        return None
