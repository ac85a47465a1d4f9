"""Updates Telegram delivered to the webhook (`webhook_updates`, model `WebhookUpdate`), for a
bot without Redis: a delivery repeated by Telegram is recognised by its `update_id` by every
replica (bot/web/update_ledger.py).

A row is claimed while its update is handled (`lease_until`), marked done once it was, and
deleted when handling failed (Telegram sends it again and it is handled then). A lease that
ran out belonged to a replica that died mid-update: the next delivery takes it over.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import WebhookUpdate
from bot.db.statements import rows_matched

__all__ = ["Claim", "WebhookUpdateRepository"]


class Claim(enum.StrEnum):
    """What to do with a delivery."""

    HANDLE = "handle"
    """First seen (or its handler died): handle it."""
    DONE = "done"
    """Handled already: acknowledge, do not handle again."""
    BUSY = "busy"
    """Being handled right now (by this or another replica): answer "try again later"."""


class WebhookUpdateRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(self, update_id: int, now: datetime, lease_until: datetime) -> Claim:
        """Claim the update for handling, in the caller's transaction. Two replicas inserting
        the same id at once: one meets the primary key (IntegrityError) and asks again."""
        row = (
            await self.session.execute(
                select(WebhookUpdate).where(WebhookUpdate.update_id == update_id)
            )
        ).scalar_one_or_none()
        if row is None:
            self.session.add(
                WebhookUpdate(update_id=update_id, claimed_at=now, lease_until=lease_until)
            )
            await self.session.flush()
            return Claim.HANDLE
        if row.done_at is not None:
            return Claim.DONE
        if row.lease_until > now:
            return Claim.BUSY
        taken = await rows_matched(
            self.session,
            update(WebhookUpdate)
            .where(
                WebhookUpdate.update_id == update_id,
                WebhookUpdate.done_at.is_(None),
                WebhookUpdate.lease_until <= now,
            )
            .values(claimed_at=now, lease_until=lease_until)
            .execution_options(synchronize_session=False),
        )
        return Claim.HANDLE if taken == 1 else Claim.BUSY

    async def extend(self, update_id: int, lease_until: datetime) -> None:
        """The update is still being handled: its claim lasts until `lease_until`."""
        await self.session.execute(
            update(WebhookUpdate)
            .where(WebhookUpdate.update_id == update_id, WebhookUpdate.done_at.is_(None))
            .values(lease_until=lease_until)
            .execution_options(synchronize_session=False)
        )

    async def finish(self, update_id: int, now: datetime) -> None:
        await self.session.execute(
            update(WebhookUpdate)
            .where(WebhookUpdate.update_id == update_id)
            .values(done_at=now)
            .execution_options(synchronize_session=False)
        )

    async def release(self, update_id: int) -> None:
        """Handling failed: the next delivery handles it."""
        await self.session.execute(
            delete(WebhookUpdate)
            .where(WebhookUpdate.update_id == update_id, WebhookUpdate.done_at.is_(None))
            .execution_options(synchronize_session=False)
        )

    async def prune(self, before: datetime) -> int:
        """Forget updates claimed before `before` (Telegram gives up on an update after a
        day); how many."""
        return await rows_matched(
            self.session,
            delete(WebhookUpdate)
            .where(WebhookUpdate.claimed_at < before)
            .execution_options(synchronize_session=False),
        )
