"""Staff, audit and invite services over a real database migrated to head, one session per
unit of work, obtained as every surface obtains them (bot/services/container.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import BUNDLED_MESSAGES_DIR, Settings
from bot.content.store import Content
from bot.db.audit import AuditRecord, AuditRepository
from bot.db.connection import create_engine, create_session_factory
from bot.db.migrate import upgrade
from bot.db.models import Patient
from bot.services.container import Services, ServiceScope
from bot.services.patient_notices import PatientNotices
from bot.services.staff_alerts import StaffAlerts
from foundation.clock import FrozenClock
from scheduler.plan import Plan
from tests.integration.pg import fresh_postgres_database

ENV_ADMIN = 9001
ZONE = "America/New_York"
BOT = "ClinicCompanionBot"


async def patient_of(u: ServiceScope, telegram_id: int) -> Patient:
    patient = await u.patients.get(telegram_id)
    assert patient is not None
    return patient


def clinic_services(
    url: str,
    clock: FrozenClock,
    content: Content,
    sessions: async_sessionmaker[AsyncSession],
    **more: Any,
) -> Services:
    """The application's services as bot/factory.py builds them, with no engine to wake and
    no outbox to kick; `more`: other settings."""
    settings = Settings(
        _env_file=None,
        database_url=url,
        staff_ids=frozenset({ENV_ADMIN}),
        clinic_timezone=ZONE,
        **more,
    )
    return Services(
        settings=settings,
        content=content,
        clock=clock,
        session_factory=sessions,
        staff_alerts=StaffAlerts(settings.staff_ids, clock),
        patient_notices=PatientNotices(clock),
    )


@dataclass
class Clinic:
    engine: AsyncEngine
    services: Services

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return self.services.session_factory

    @property
    def clock(self) -> FrozenClock:
        clock = self.services.clock
        assert isinstance(clock, FrozenClock)
        return clock

    @property
    def plan(self) -> Plan:
        return self.services.content.plan

    def unit(self) -> AbstractAsyncContextManager[ServiceScope]:
        """One unit of work: committed at the end, rolled back if the block raises."""
        return self.services.transaction()

    async def add_patient(self, telegram_id: int) -> None:
        async with self.unit() as u:
            patient = await u.repo.add_patient(
                telegram_id=telegram_id,
                chat_id=telegram_id,
                language="en",
                timezone=ZONE,
                now=self.clock.now(),
            )
            patient.consented_at = self.clock.now()

    async def audit(self) -> list[AuditRecord]:
        """Every audit line, oldest first."""
        async with self.sessions() as session:
            return list(reversed(await AuditRepository(session).recent(limit=500)))

    async def count(self, model: type) -> int:
        async with self.sessions() as session:
            result = await session.execute(select(func.count()).select_from(model))
            return int(result.scalar_one())


@asynccontextmanager
async def open_clinic(
    url: str, clock: FrozenClock, content: Content | None = None, **settings: Any
) -> AsyncIterator[Clinic]:
    engine = create_engine(url)
    await upgrade(engine)
    content = content or Content(BUNDLED_MESSAGES_DIR, "en")
    try:
        yield Clinic(
            engine,
            clinic_services(url, clock, content, create_session_factory(engine), **settings),
        )
    finally:
        await engine.dispose()


@asynccontextmanager
async def clinic_on(
    kind: str, tmp_path: Path, clock: FrozenClock, **settings: Any
) -> AsyncIterator[Clinic]:
    """A clinic on SQLite (a file, as in production) or on a fresh PostgreSQL database;
    `settings`: settings besides the rig's."""
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'clinic.db'}"
        async with open_clinic(url, clock, **settings) as c:
            yield c
        return
    async with (
        fresh_postgres_database("companion_staff", migrated=True) as url,
        open_clinic(url, clock, **settings) as c,
    ):
        yield c
