"""Queries of the clinic team added through the bot (`staff_members`, model `StaffMember`).

The admins of ``STAFF_IDS`` have no row here: they are admins by configuration
(`bot.services.staff.StaffService`). A removed member keeps the row, with `removed_at` set.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.invites import StaffInviteRepository
from bot.db.models import StaffMember, StaffName

__all__ = ["StaffRepository"]


class StaffRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.invites = StaffInviteRepository(session)
        """Team links (`/staff_invite`)."""

    async def member(self, telegram_id: int) -> StaffMember | None:
        """The row of this person, active or removed."""
        result = await self.session.execute(
            select(StaffMember).where(StaffMember.telegram_id == telegram_id)
        )
        return result.scalar_one_or_none()

    async def active_role(self, telegram_id: int) -> str | None:
        result = await self.session.execute(
            select(StaffMember.role).where(
                StaffMember.telegram_id == telegram_id, StaffMember.removed_at.is_(None)
            )
        )
        return result.scalar_one_or_none()

    async def active(self) -> Sequence[StaffMember]:
        result = await self.session.execute(
            select(StaffMember)
            .where(StaffMember.removed_at.is_(None))
            .order_by(StaffMember.added_at, StaffMember.id)
        )
        return result.scalars().all()

    async def put(self, telegram_id: int, role: str, added_by: int, now: datetime) -> StaffMember:
        """Add this person with `role`, or bring a removed row back (or change the role of an
        active one). Two admins adding the same person at once meet the unique key; the unit
        of work runs the second one again."""
        member = await self.member(telegram_id)
        if member is None:
            member = StaffMember(telegram_id=telegram_id)
            self.session.add(member)
        if member.removed_at is not None or member.id is None:
            member.added_by = added_by
            member.added_at = now
            member.removed_at = None
        member.role = role
        await self.session.flush()
        return member

    async def mark_removed(self, member: StaffMember, now: datetime) -> None:
        member.removed_at = now
        await self.session.flush()

    # --- names ------------------------------------------------------------------------------
    async def names(self, telegram_ids: Collection[int]) -> dict[int, str]:
        """The stored names of these people (those never seen are absent)."""
        if not telegram_ids:
            return {}
        result = await self.session.execute(
            select(StaffName.telegram_id, StaffName.name).where(
                StaffName.telegram_id.in_(sorted(set(telegram_ids)))
            )
        )
        return {tid: name for tid, name in result.all()}

    async def set_name(self, telegram_id: int, name: str, now: datetime) -> bool:
        """Store this person's name if it is new or changed; whether anything was written.
        Two updates racing to add the row meet the primary key (the unit of work runs again)."""
        row = await self.session.get(StaffName, telegram_id)
        if row is not None and row.name == name:
            return False
        if row is None:
            self.session.add(StaffName(telegram_id=telegram_id, name=name, updated_at=now))
        else:
            row.name, row.updated_at = name, now
        await self.session.flush()
        return True
