"""Versions of the texts staff edit live (`content_versions`, model `ContentVersion`).

A key names one text: ``en/welcome`` (a template), ``en/buttons:menu_faq`` (a button label),
``en/faq`` (a language's FAQ file), ``plan``. The shipped file is version 0 and has no row;
the newest row of a key is the live text. The content revision (the newest id of the table)
tells every process, cheaply, whether anything changed since it last looked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import ContentVersion
from bot.db.statements import flushed
from bot.domain.content_kinds import ContentKind, Overlay

__all__ = ["ContentVersionRepository", "VersionRecord"]


@dataclass(frozen=True, slots=True)
class VersionRecord:
    """One stored version as plain values (`number` counts the key's versions from 1)."""

    id: int
    kind: str
    key: str
    number: int
    body: str
    author_telegram_id: int
    created_at: datetime
    base_version_id: int | None
    note: str | None


def _record(row: ContentVersion) -> VersionRecord:
    return VersionRecord(
        id=row.id,
        kind=row.kind,
        key=row.key,
        number=row.number,
        body=row.body,
        author_telegram_id=row.author_telegram_id,
        created_at=row.created_at,
        base_version_id=row.base_version_id,
        note=row.note,
    )


class ContentVersionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def revision(self) -> int:
        """The newest id of the table (0: nothing stored); changes with every saved version."""
        result = await self.session.execute(select(func.max(ContentVersion.id)))
        return int(result.scalar_one() or 0)

    async def live(self) -> Overlay:
        """The body of the newest version of every stored (kind, key)."""
        newest = (
            select(func.max(ContentVersion.id))
            .group_by(ContentVersion.kind, ContentVersion.key)
            .scalar_subquery()
        )
        result = await self.session.execute(
            select(ContentVersion.kind, ContentVersion.key, ContentVersion.body).where(
                ContentVersion.id.in_(newest)
            )
        )
        return {(kind, key): body for kind, key, body in result.all()}

    async def current(self, kind: ContentKind, key: str) -> VersionRecord | None:
        """The live version of `key` (None: the shipped file)."""
        result = await self.session.execute(
            select(ContentVersion)
            .where(ContentVersion.kind == kind, ContentVersion.key == key)
            .order_by(ContentVersion.id.desc())
            .limit(1)
        )
        row = result.scalar_one_or_none()
        return _record(row) if row is not None else None

    async def get(self, kind: ContentKind, key: str, version_id: int) -> VersionRecord | None:
        result = await self.session.execute(
            select(ContentVersion).where(
                ContentVersion.kind == kind,
                ContentVersion.key == key,
                ContentVersion.id == version_id,
            )
        )
        row = result.scalar_one_or_none()
        return _record(row) if row is not None else None

    async def history(
        self, kind: ContentKind, key: str, *, limit: int = 20
    ) -> Sequence[VersionRecord]:
        """The key's versions, newest first."""
        result = await self.session.execute(
            select(ContentVersion)
            .where(ContentVersion.kind == kind, ContentVersion.key == key)
            .order_by(ContentVersion.id.desc())
            .limit(max(1, min(limit, 200)))
        )
        return [_record(row) for row in result.scalars()]

    async def add(
        self,
        *,
        kind: ContentKind,
        key: str,
        number: int,
        body: str,
        author_telegram_id: int,
        created_at: datetime,
        base_version_id: int | None,
        note: str | None = None,
    ) -> VersionRecord:
        """Save a version in the caller's transaction. Another version with the same number
        saved meanwhile meets the unique key (IntegrityError: the unit of work runs again)."""
        row = ContentVersion(
            kind=kind,
            key=key,
            number=number,
            body=body,
            author_telegram_id=author_telegram_id,
            created_at=created_at,
            base_version_id=base_version_id,
            note=note[:200] if note else None,
        )
        return _record(await flushed(self.session, row))
