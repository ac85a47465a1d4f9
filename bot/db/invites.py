"""Queries of invite links (`invites`, model `Invite`).

A row holds the SHA-256 of its code, never the code. Redeeming is a conditional UPDATE
(`claim`): of two taps racing for one code, exactly one changes the row.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ScalarSelect, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Appointment, Invite
from bot.db.statements import rows_matched

__all__ = ["InviteRepository", "visit_label"]


def visit_label() -> ScalarSelect[str | None]:
    """The label of the invite a visit came through, correlated to `Appointment` (NULL for a
    visit the patient booked themselves): a column of a query over appointments."""
    return (
        select(Invite.label)
        .where(Invite.appointment_id == Appointment.id)
        .order_by(Invite.id)
        .limit(1)
        .correlate(Appointment)
        .scalar_subquery()
    )


class InviteRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        *,
        code_hash: str,
        label: str,
        starts_at: datetime,
        timezone: str,
        created_by: int,
        now: datetime,
        expires_at: datetime,
        request_key: str | None = None,
    ) -> Invite:
        invite = Invite(
            request_key=request_key,
            code_hash=code_hash,
            label=label,
            starts_at=starts_at,
            timezone=timezone,
            created_by=created_by,
            created_at=now,
            expires_at=expires_at,
        )
        self.session.add(invite)
        await self.session.flush()
        return invite

    async def by_hash(self, code_hash: str) -> Invite | None:
        result = await self.session.execute(select(Invite).where(Invite.code_hash == code_hash))
        return result.scalar_one_or_none()

    async def claim(self, invite_id: int, patient_id: int, now: datetime) -> bool:
        """Mark the invite used by this patient if it still is unused and unexpired. False when
        another redeem got there first (PostgreSQL re-checks the condition once the other
        transaction committed; SQLite lets one writer in at a time)."""
        matched = await rows_matched(
            self.session,
            update(Invite)
            .where(Invite.id == invite_id, Invite.used_at.is_(None), Invite.expires_at > now)
            .values(used_at=now, used_by_patient_id=patient_id)
            .execution_options(synchronize_session=False),
        )
        return matched == 1

    async def link(self, invite_id: int, appointment_id: int) -> None:
        await self.session.execute(
            update(Invite)
            .where(Invite.id == invite_id)
            .values(appointment_id=appointment_id)
            .execution_options(synchronize_session=False)
        )
