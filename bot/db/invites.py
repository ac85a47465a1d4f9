"""Queries of one-use links: patients' invites (`invites`, model `Invite`) and team links
(`staff_invites`, model `StaffInvite`).

A row holds the SHA-256 of its code, never the code. Redeeming is a conditional UPDATE
(`claim`): of two taps racing for one code, exactly one changes the row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Generic, TypeVar

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Appointment, IntakeVisit, Invite, StaffInvite
from bot.db.statements import flushed, rows_matched
from bot.domain.visits import DEFAULT_VISIT_TYPE

__all__ = ["InviteRepository", "OneUseCodes", "StaffInviteRepository", "visit_label"]


def visit_label() -> ColumnElement[str | None]:
    """What staff call a visit the clinic made, correlated to `Appointment`: the label of the
    clinic's schedule (an imported visit: its label, else the clinic's appointment id), or
    of the invite it came through; NULL for a visit the patient booked themselves. A column
    of a query over appointments."""
    schedule = (
        select(func.coalesce(IntakeVisit.label, IntakeVisit.external_id))
        .where(IntakeVisit.appointment_id == Appointment.id)
        .order_by(IntakeVisit.id)
        .limit(1)
        .correlate(Appointment)
        .scalar_subquery()
    )
    invite = (
        select(Invite.label)
        .where(Invite.appointment_id == Appointment.id)
        .order_by(Invite.id)
        .limit(1)
        .correlate(Appointment)
        .scalar_subquery()
    )
    return func.coalesce(schedule, invite)


CodeRow = TypeVar("CodeRow", Invite, StaffInvite)


class OneUseCodes(Generic[CodeRow]):
    """Rows of one-use links (a patient's invite, a team link): a row holds the SHA-256 of its
    code, and is used by one conditional UPDATE, so of two taps racing for one code exactly
    one changes the row (PostgreSQL re-checks the condition once the other transaction
    committed; SQLite lets one writer in at a time)."""

    model: type[CodeRow]

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _added(
        self, code_hash: str, created_by: int, now: datetime, expires_at: datetime, **row: object
    ) -> CodeRow:
        """A new row (`row`: the columns of its kind), written now."""
        added = self.model(
            code_hash=code_hash, created_by=created_by, created_at=now, expires_at=expires_at, **row
        )
        return await flushed(self.session, added)

    async def by_hash(self, code_hash: str) -> CodeRow | None:
        result = await self.session.execute(
            select(self.model).where(self.model.code_hash == code_hash)
        )
        return result.scalar_one_or_none()

    async def _use(self, row_id: int, now: datetime, **used_by: object) -> bool:
        """Mark the row used (`used_by` names by whom) if it still is unused and unexpired;
        False when another tap got there first."""
        matched = await rows_matched(
            self.session,
            update(self.model)
            .where(
                self.model.id == row_id,
                self.model.used_at.is_(None),
                self.model.expires_at > now,
            )
            .values(used_at=now, **used_by)
            .execution_options(synchronize_session=False),
        )
        return matched == 1


class InviteRepository(OneUseCodes[Invite]):
    """A patient's invite to a visit (`invites`)."""

    model = Invite

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
        visit_type: str = DEFAULT_VISIT_TYPE,
    ) -> Invite:
        return await self._added(
            code_hash,
            created_by,
            now,
            expires_at,
            request_key=request_key,
            label=label,
            starts_at=starts_at,
            timezone=timezone,
            visit_type=visit_type,
        )

    async def claim(self, invite_id: int, patient_id: int, now: datetime) -> bool:
        """Mark the invite used by this patient (see :meth:`OneUseCodes._use`)."""
        return await self._use(invite_id, now, used_by_patient_id=patient_id)

    async def link(self, invite_id: int, appointment_id: int) -> None:
        await self.session.execute(
            update(Invite)
            .where(Invite.id == invite_id)
            .values(appointment_id=appointment_id)
            .execution_options(synchronize_session=False)
        )


class StaffInviteRepository(OneUseCodes[StaffInvite]):
    """A link that makes whoever opens it first a team member (`staff_invites`)."""

    model = StaffInvite

    async def add(
        self, code_hash: str, role: str, created_by: int, now: datetime, expires_at: datetime
    ) -> StaffInvite:
        return await self._added(code_hash, created_by, now, expires_at, role=role)

    async def claim(self, invite_id: int, telegram_id: int, now: datetime) -> bool:
        """Mark the link used by this person (see :meth:`OneUseCodes._use`)."""
        return await self._use(invite_id, now, used_by=telegram_id)
