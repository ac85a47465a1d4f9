"""Retention: what is older than ``RETENTION_DAYS`` goes, every night.

Deleted: appointments whose visit (as it is now, after any move) started more than
``RETENTION_DAYS`` ago, with their reminders, checklist ticks and the invite link they came
through; invite links no visit holds made for a time that long ago, team invite links
expired that long ago, and outbox rows (staff alerts, notices to patients) sent or failed
that long ago. The audit log keeps its lines (who did what, when, to which id, with what
outcome: the clinic's record of its team's actions) but their ``before`` / ``after`` detail
(times of visits, texts, plans) is blanked. Patients' own rows (a Telegram id, a language, a
zone, consent) stay until they use ``/forget``, which is immediate.

Runs in bounded batches, each its own short transaction, so it never holds a lock long;
several replicas running it at once is harmless (a row is deleted once, the others find it
gone). On SQLite it ends with a WAL checkpoint, so the deleted rows leave no readable copy in
the ``-wal`` file (``secure_delete`` zeroes their pages in the database file). Logs counts
only.

The HTTP API's ``Idempotency-Key`` responses go after a day (:data:`IDEMPOTENCY_KEEP`), not
after ``RETENTION_DAYS``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.retention import RetentionRepository, Sweep
from foundation.clock import Clock

__all__ = ["BATCH", "IDEMPOTENCY_KEEP", "RetentionService", "Sweep"]

log = logging.getLogger(__name__)

BATCH = 500
"""Rows per transaction."""

IDEMPOTENCY_KEEP = timedelta(days=1)
"""How long the HTTP API answers a repeated ``Idempotency-Key`` from what it stored."""


class RetentionService:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        clock: Clock,
        *,
        days: int,
        batch: int = BATCH,
        checkpoint: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        if days < 1 or batch < 1:
            raise ValueError("days and batch must be >= 1")
        self.session_factory = session_factory
        self.clock = clock
        self.retention = timedelta(days=days)
        self.batch = batch
        self.checkpoint = checkpoint

    async def run(self) -> dict[Sweep, int]:
        """One sweep of everything older than the retention; how many rows each part took."""
        now = self.clock.now()
        done = dict.fromkeys(Sweep, 0)
        for sweep in Sweep:
            keep = IDEMPOTENCY_KEEP if sweep is Sweep.IDEMPOTENCY_KEYS else self.retention
            cutoff = now - keep
            while True:
                async with self.session_factory() as session, session.begin():
                    picked = await RetentionRepository(session).sweep(sweep, cutoff, self.batch)
                done[sweep] += picked
                if picked < self.batch:
                    break
        if any(done.values()) and self.checkpoint is not None:
            await self.checkpoint()
        log.info(
            "retention (%d days): %s",
            self.retention.days,
            ", ".join(f"{sweep.value} {count}" for sweep, count in done.items()),
        )
        return done
