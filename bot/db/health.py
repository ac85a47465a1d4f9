"""The cheap reads behind /healthz and the database gauges of /metrics (bot/web/ops.py).

Each is one small query: a `SELECT 1`, and three counts over indexed or small tables. The ops
server bounds them in time, so a locked or unreachable database makes a check fail instead of
a scrape hang.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.db.intake_events import IntakeEventRepository
from bot.db.models import Patient
from bot.db.outbox import AlertOutboxRepository


@dataclass(frozen=True, slots=True)
class OpsCounts:
    staff_alert_backlog: int
    unreachable_patients: int
    intake_events_pending: int = 0


async def ping(engine: AsyncEngine) -> None:
    """Raises unless the database answers a `SELECT 1`."""
    async with engine.connect() as connection:
        await connection.exec_driver_sql("SELECT 1")


async def ops_counts(session: AsyncSession) -> OpsCounts:
    """Outbox rows not sent yet (the (status, next_attempt_at) index), patients marked
    unreachable, and events to the clinic's systems not sent yet (the same index)."""
    backlog = await AlertOutboxRepository(session).pending_count()
    unreachable = await session.execute(
        select(func.count()).select_from(Patient).where(Patient.reachable.is_(False))
    )
    events = await IntakeEventRepository(session).pending_count()
    return OpsCounts(backlog, int(unreachable.scalar_one()), events)
