"""Staff, audit and invite services over a real database migrated to head, one session per
unit of work, wired as a handler (Telegram, web or API) would wire them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import BUNDLED_MESSAGES_DIR, Settings
from bot.content.store import Content
from bot.db.audit import AuditRecord, AuditRepository
from bot.db.connection import create_engine, create_session_factory
from bot.db.invites import InviteRepository
from bot.db.migrate import upgrade
from bot.db.models import Patient
from bot.db.patients import Repository
from bot.db.staff import StaffRepository
from bot.services.appointments import AppointmentService
from bot.services.audit import AuditTrail
from bot.services.invites import InviteService
from bot.services.reminders import ReminderPlanner
from bot.services.staff import StaffService
from foundation.clock import FrozenClock
from scheduler.plan import Plan
from tests.integration.pg import fresh_postgres_database

ENV_ADMIN = 9001
ZONE = "America/New_York"
BOT = "ClinicCompanionBot"


@dataclass
class Unit:
    """The services of one transaction."""

    session: AsyncSession
    repo: Repository
    staff: StaffService
    invites: InviteService

    async def patient(self, telegram_id: int) -> Patient:
        patient = await self.repo.patient_by_telegram_id(telegram_id)
        assert patient is not None
        return patient


@dataclass
class Clinic:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    clock: FrozenClock
    plan: Plan

    def services(self, session: AsyncSession) -> Unit:
        repo = Repository(session)
        staff = StaffService(
            StaffRepository(session),
            AuditTrail(AuditRepository(session), self.clock),
            self.clock,
            env_admins={ENV_ADMIN},
        )
        appointments = AppointmentService(
            repo, self.clock, ReminderPlanner(repo, self.plan, self.clock)
        )
        invites = InviteService(
            InviteRepository(session),
            staff,
            appointments,
            self.clock,
            ttl=timedelta(days=Settings(_env_file=None).invite_ttl_days),
            default_zone=ZONE,
        )
        return Unit(session, repo, staff, invites)

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[Unit]:
        """One unit of work: committed at the end, rolled back if the block raises."""
        async with self.sessions() as session:
            yield self.services(session)
            await session.commit()

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
async def open_clinic(url: str, clock: FrozenClock) -> AsyncIterator[Clinic]:
    engine = create_engine(url)
    await upgrade(engine)
    plan = Content(BUNDLED_MESSAGES_DIR, "en").plan
    try:
        yield Clinic(engine, create_session_factory(engine), clock, plan)
    finally:
        await engine.dispose()


@asynccontextmanager
async def clinic_on(kind: str, tmp_path: Path, clock: FrozenClock) -> AsyncIterator[Clinic]:
    """A clinic on SQLite (a file, as in production) or on a fresh PostgreSQL database."""
    if kind == "sqlite":
        async with open_clinic(f"sqlite+aiosqlite:///{tmp_path / 'clinic.db'}", clock) as c:
            yield c
        return
    async with (
        fresh_postgres_database("companion_staff", migrated=True) as url,
        open_clinic(url, clock) as c,
    ):
        yield c
