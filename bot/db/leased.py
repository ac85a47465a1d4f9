"""The queries of an outbox table worked as a leased queue (`scheduler/queue.py`): the staff
outbox (`staff_alerts`, bot/db/outbox.py) and the events to the clinic's systems
(`intake_events`, bot/db/intake_events.py) claim, renew, close, count and purge their rows
the same way, so they do it here once.

A claim keeps the row `pending` but leases it (owner, lease_until) and moves
`next_attempt_at` to the end of the lease: a row whose sender died is due again once the
lease ran out, with no second condition on `lease_until`, and a partial index on pending rows
keeps holding while it is sent. On PostgreSQL the candidates are selected ``FOR UPDATE SKIP
LOCKED``, so replicas claiming at once take disjoint rows; SQLite (one writer at a time) has
no such clause. On both, the UPDATE re-checks status and due time, so when two senders race
for a row only one of them gets it back from RETURNING. Closing a row is fenced by the lease
owner. Each query is portable SQL and uses the table's (status, next_attempt_at) index.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, ClassVar, Protocol

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped

from bot.db.statements import rows_matched
from scheduler.queue import AttemptResult, QueueStatus

__all__ = ["LeasedModel", "LeasedRepository", "LeasedStore"]

PENDING = QueueStatus.PENDING
SENT = QueueStatus.SENT
FAILED = QueueStatus.FAILED

CLAIM_TRIES = 3
"""Rows lost to another sender are looked for again this often, so an empty claim means
nothing is due rather than a lost race."""


class LeasedModel(Protocol):
    """The columns of a leased outbox table (models `StaffAlert`, `IntakeEvent`), as the
    queries read them: on the class."""

    id: ClassVar[Mapped[int]]
    status: ClassVar[Mapped[str]]
    attempts: ClassVar[Mapped[int]]
    next_attempt_at: ClassVar[Mapped[datetime]]
    lease_owner: ClassVar[Mapped[str | None]]
    lease_until: ClassVar[Mapped[datetime | None]]
    created_at: ClassVar[Mapped[datetime]]
    sent_at: ClassVar[Mapped[datetime | None]]
    last_error: ClassVar[Mapped[str | None]]


class LeasedRepository:
    """The leased-queue queries of one table (`model`), in the caller's session and
    transaction. A subclass names its model, may narrow which pending rows are claimable
    (:meth:`_claimable`: the head of each source, for the events), and turns the rows
    :meth:`claim_rows` returns into values of its own."""

    model: ClassVar[type[LeasedModel]]

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _claimable(self) -> ColumnElement[bool] | None:
        """A condition a pending row must meet besides being due (None: every due row)."""
        return None

    def _pending(self) -> list[ColumnElement[bool]]:
        conditions = [self.model.status == PENDING]
        claimable = self._claimable()
        if claimable is not None:
            conditions.append(claimable)
        return conditions

    async def claim_rows(
        self, now: datetime, owner: str, lease_until: datetime, limit: int, *columns: Any
    ) -> list[tuple[Any, ...]]:
        """Take up to `limit` due rows under a lease, oldest due first, one attempt more;
        their `columns` (in no particular order: the caller sorts)."""
        for _ in range(CLAIM_TRIES):
            rows = await self._claim_once(now, owner, lease_until, limit, columns)
            if rows is None or rows:
                return rows or []
        return []

    async def _claim_once(
        self,
        now: datetime,
        owner: str,
        lease_until: datetime,
        limit: int,
        columns: tuple[Any, ...],
    ) -> list[tuple[Any, ...]] | None:
        """The claimed rows; None when nothing was due (an empty list: all were taken)."""
        model = self.model
        due = await self.session.execute(
            select(model.id)
            .where(*self._pending(), model.next_attempt_at <= now)
            .order_by(model.next_attempt_at, model.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        ids = list(due.scalars())
        if not ids:
            return None
        claimed = await self.session.execute(
            update(model)
            .where(model.id.in_(ids), model.status == PENDING, model.next_attempt_at <= now)
            .values(
                lease_owner=owner,
                lease_until=lease_until,
                next_attempt_at=lease_until,
                attempts=model.attempts + 1,
            )
            .returning(*columns)
            .execution_options(synchronize_session=False)
        )
        return [tuple(row) for row in claimed]

    async def finish(self, owner: str, now: datetime, result: AttemptResult) -> frozenset[int]:
        """Close claimed rows as `result` says: `sent`, `failed`, or `pending` again at its
        `retry_at`; the ids written.

        Fenced by the lease owner: a row claimed by someone else meanwhile (or deleted, with
        its patient) is left alone."""
        model = self.model
        status = result.status
        values: dict[str, Any] = {"status": status, "lease_owner": None, "lease_until": None}
        if status == SENT:
            values["sent_at"] = now
            values["last_error"] = None
        else:
            values["last_error"] = result.stored_reason
        if result.retry_at is not None:
            values["next_attempt_at"] = result.retry_at
        written = await self.session.execute(
            update(model)
            .where(model.id.in_(result.ids), model.status == PENDING, model.lease_owner == owner)
            .values(values)
            .returning(model.id)
            .execution_options(synchronize_session=False)
        )
        return frozenset(written.scalars())

    async def extend_lease(self, owner: str, lease_until: datetime) -> int:
        """Every row `owner` holds is its own until `lease_until` (and not due before); how
        many. A row claimed by another meanwhile has another owner: not touched."""
        model = self.model
        return await rows_matched(
            self.session,
            update(model)
            .where(model.status == PENDING, model.lease_owner == owner)
            .values(lease_until=lease_until, next_attempt_at=lease_until)
            .execution_options(synchronize_session=False),
        )

    async def next_due(self) -> datetime | None:
        """The earliest moment a claimable row may need sending (a retry, a lease running
        out, a new row)."""
        result = await self.session.execute(
            select(func.min(self.model.next_attempt_at)).where(*self._pending())
        )
        return result.scalar_one_or_none()

    async def pending_count(self) -> int:
        result = await self.session.execute(
            select(func.count()).select_from(self.model).where(self.model.status == PENDING)
        )
        return int(result.scalar_one())

    async def purge_finished(self, before: datetime) -> int:
        """Forget sent and failed rows created before `before` (an outbox is not an archive)."""
        model = self.model
        return await rows_matched(
            self.session,
            delete(model)
            .where(model.status.in_((SENT, FAILED)), model.created_at < before)
            .execution_options(synchronize_session=False),
        )


class LeasedStore:
    """A leased table as the queue a sender works (`scheduler.queue.LeasedQueue`): each method
    one short transaction, committed before it returns. A subclass names its `repository`
    and claims (what a claim reads along with its rows is its own)."""

    repository: ClassVar[type[LeasedRepository]]

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self.session_factory = session_factory

    async def next_due(self) -> datetime | None:
        async with self.session_factory() as session:
            return await self.repository(session).next_due()

    async def extend(self, owner: str, now: datetime, lease_until: datetime) -> int:
        async with self.session_factory() as session, session.begin():
            return await self.repository(session).extend_lease(owner, lease_until)

    async def record(self, owner: str, now: datetime, results: Sequence[AttemptResult]) -> int:
        return len(await self.record_each(owner, now, results))

    async def record_each(
        self, owner: str, now: datetime, results: Sequence[AttemptResult]
    ) -> frozenset[int]:
        """:meth:`record`, answering which rows were written (the others were fenced off)."""
        written: set[int] = set()
        async with self.session_factory() as session, session.begin():
            rows = self.repository(session)
            for result in results:
                written |= await rows.finish(owner, now, result)
            committed = await self._with_outcomes(session, results, frozenset(written))
        if committed is not None:
            committed()
        return frozenset(written)

    async def _with_outcomes(
        self, session: AsyncSession, results: Sequence[AttemptResult], written: frozenset[int]
    ) -> Callable[[], None] | None:
        """What is written with the outcomes, in their transaction; what to call once it
        committed (None: nothing)."""
        return None

    async def pending_count(self) -> int:
        async with self.session_factory() as session:
            return await self.repository(session).pending_count()

    async def purge_finished(self, before: datetime) -> int:
        async with self.session_factory() as session, session.begin():
            return await self.repository(session).purge_finished(before)
