"""The reminder engine's store (`scheduler.ports.ReminderStore`, a leased queue of
`scheduler/queue.py`) over the database.

Each method is its own short transaction through :class:`ReminderRepository`, committed before
it returns, so the engine never holds a session, a connection or a lock while it renders or
while Telegram answers.

``after_claim`` runs in the claim's transaction once rows were claimed: the factory has it
refresh the content's live versions (bot/content/store.py Content.refresh), so reminders
render the newest words at send time, edited in this process or another.

``notices``: the outbox kinds of notices to a patient; a patient's reminders wait while one
to them is still to be sent (bot/db/reminders.py ReminderRepository).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.content_versions import ContentVersionRepository
from bot.db.outbox import UnreachableEvents
from bot.db.reminders import ReminderRepository
from scheduler.queue import AttemptResult
from scheduler.records import Claim

AfterClaim = Callable[[ContentVersionRepository], Awaitable[object]]


class SqlReminderStore:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        after_claim: AfterClaim | None = None,
        unreachable: UnreachableEvents | None = None,
        notices: Collection[str] = (),
    ) -> None:
        self.session_factory = session_factory
        self.after_claim = after_claim
        self.unreachable = unreachable
        self.notices = frozenset(notices)

    def _repo(self, session: AsyncSession) -> ReminderRepository:
        return ReminderRepository(session, notices=self.notices)

    async def next_due(self) -> datetime | None:
        async with self.session_factory() as session:
            return await self._repo(session).next_due()

    async def expire_overdue(self, now: datetime) -> dict[str, int]:
        async with self.session_factory() as session, session.begin():
            return await self._repo(session).expire_overdue(now)

    async def claim(self, now: datetime, owner: str, lease_until: datetime, limit: int) -> Claim:
        async with self.session_factory() as session, session.begin():
            repo = self._repo(session)
            ids = await repo.claim(now, owner, lease_until, limit)
            if not ids:
                return Claim()
            reminders = await repo.load_claimed(ids)
            ticks = await repo.ticks_for(sorted({c.visit.id for c in reminders}))
            if self.after_claim is not None:
                await self.after_claim(ContentVersionRepository(session))
        return Claim(
            tuple(reminders), {appointment: frozenset(t) for appointment, t in ticks.items()}
        )

    async def extend(self, owner: str, now: datetime, lease_until: datetime) -> int:
        async with self.session_factory() as session, session.begin():
            return await self._repo(session).extend_lease(owner, now, lease_until)

    async def record(self, owner: str, now: datetime, results: Sequence[AttemptResult]) -> int:
        async with self.session_factory() as session, session.begin():
            repo = self._repo(session)
            # One executemany per kind of change, not one UPDATE per message.
            written = await repo.finish_many(owner, now, results)
            newly = await repo.mark_unreachable(
                r.unreachable_patient for r in results if r.unreachable_patient is not None
            )
            recorded = 0
            if newly and self.unreachable is not None:
                # The clinic's systems are told in the same transaction (patient.unreachable).
                recorded = await self.unreachable.record(session, newly)
        if recorded and self.unreachable is not None:
            self.unreachable.kick()
        return written
