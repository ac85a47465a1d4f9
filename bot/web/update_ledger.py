"""Which webhook deliveries were handled already, shared by every replica.

Telegram sends an update again when it got no 200 in time: a replica died before answering,
or answered too late. Keyed by `update_id`, a delivery is claimed before it is handled
(:meth:`claim`), marked done once it was (:meth:`done`), released when handling failed
(:meth:`release`, so Telegram's next try handles it). A delivery of an update already done is
acknowledged without being handled again; one being handled right now (by any replica) is
answered "try again later". A claim is a short lease (:data:`LEASE`), renewed every
:data:`RENEW_EVERY` seconds while the update is handled (:meth:`extend`): the claimer dying
mid-update lets the next delivery take it over within seconds.

In Redis (REDIS_URL): ``<REDIS_PREFIX>:webhook:<bot id>:<update id>``, ``handling`` with the
lease as its expiry, then ``done`` for a day. Without Redis: the database table
`webhook_updates` (bot/db/webhook_updates.py), pruned of rows older than a day. When the
ledger cannot be reached the update is handled anyway (the idempotent taps and bookings make
a repeat harmless), with one warning.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.webhook_updates import Claim, WebhookUpdateRepository
from foundation.clock import Clock

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = [
    "KEEP",
    "LEASE",
    "RENEW_EVERY",
    "Claim",
    "RedisUpdateLedger",
    "SqlUpdateLedger",
    "UpdateLedger",
]

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=10)
"""How long a claim lasts unless renewed: a replica that dies mid-update holds its updates
back from the others for at most this long (Telegram's next try after that is handled)."""

RENEW_EVERY = 3.0
"""Seconds between renewals of the claim while its update is being handled (most take well
under a second and are never renewed)."""

KEEP = timedelta(days=1)
"""How long a handled update is remembered: Telegram keeps an update for 24 hours."""

_PRUNE_EVERY = timedelta(hours=1)


class UpdateLedger(Protocol):
    async def claim(self, update_id: int) -> Claim: ...

    async def extend(self, update_id: int) -> None: ...

    async def done(self, update_id: int) -> None: ...

    async def release(self, update_id: int) -> None: ...


class SqlUpdateLedger:
    """The ledger in the application's database (no Redis); each call its own short
    transaction, by the application's clock."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self.sessions = sessions
        self.clock = clock
        self._pruned: datetime | None = None

    async def claim(self, update_id: int) -> Claim:
        now = self.clock.now()
        for attempt in range(2):
            try:
                async with self.sessions() as session, session.begin():
                    repo = WebhookUpdateRepository(session)
                    claim = await repo.claim(update_id, now, now + LEASE)
                    if self._pruned is None or now - self._pruned >= _PRUNE_EVERY:
                        await repo.prune(now - KEEP)
                        self._pruned = now
                return claim
            except IntegrityError:
                if attempt:  # pragma: no cover - a second insert of one id cannot meet it
                    raise
                # Another replica inserted it first: ask again, it is theirs now.
        raise AssertionError("unreachable")  # pragma: no cover

    async def extend(self, update_id: int) -> None:
        now = self.clock.now()
        async with self.sessions() as session, session.begin():
            await WebhookUpdateRepository(session).extend(update_id, now + LEASE)

    async def done(self, update_id: int) -> None:
        async with self.sessions() as session, session.begin():
            await WebhookUpdateRepository(session).finish(update_id, self.clock.now())

    async def release(self, update_id: int) -> None:
        async with self.sessions() as session, session.begin():
            await WebhookUpdateRepository(session).release(update_id)


_HANDLING, _DONE = b"handling", b"done"


class RedisUpdateLedger:
    """The ledger in Redis, by Redis's own expiries."""

    def __init__(self, redis: Redis, prefix: str, bot_id: int) -> None:
        self.redis = redis
        self.prefix = f"{prefix}:webhook:{bot_id}"

    def _key(self, update_id: int) -> str:
        return f"{self.prefix}:{update_id}"

    async def claim(self, update_id: int) -> Claim:
        key = self._key(update_id)
        lease = int(LEASE.total_seconds())
        for _ in range(2):
            if await self.redis.set(key, _HANDLING, nx=True, ex=lease):
                return Claim.HANDLE
            value = await self.redis.get(key)
            if value == _DONE:
                return Claim.DONE
            if value is not None:
                return Claim.BUSY
            # Expired between the two calls: try to claim it again.
        return Claim.BUSY

    async def extend(self, update_id: int) -> None:
        # XX: only while the claim exists (its update is still being handled here).
        await self.redis.set(
            self._key(update_id), _HANDLING, xx=True, ex=int(LEASE.total_seconds())
        )

    async def done(self, update_id: int) -> None:
        await self.redis.set(self._key(update_id), _DONE, ex=int(KEEP.total_seconds()))

    async def release(self, update_id: int) -> None:
        await self.redis.delete(self._key(update_id))
