"""The HTTP API's tokens (`api_tokens`, model `ApiToken`) and the responses kept for an
`Idempotency-Key` (`api_idempotency`, model `ApiIdempotency`).

A token is stored as its SHA-256 only (hex); a request's token is looked up by that hash, so
no stored secret is ever compared byte by byte with what a caller sent. A revoked token keeps
its row (the audit log names it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import Select, and_, bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import ApiIdempotency, ApiToken
from bot.db.statements import flushed, rows_matched

__all__ = ["ApiTokenRepository", "StoredResponse", "TokenRow"]


@dataclass(frozen=True, slots=True)
class TokenRow:
    """A token as plain values (never the token itself)."""

    id: int
    name: str
    source: str
    created_by: int | None
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """What an `Idempotency-Key` got the first time."""

    request_hash: str
    status_code: int
    response: str


def _row(token: ApiToken) -> TokenRow:
    return TokenRow(
        id=token.id,
        name=token.name,
        source=token.source,
        created_by=token.created_by,
        created_at=token.created_at,
        revoked_at=token.revoked_at,
        last_used_at=token.last_used_at,
    )


# Built once (building a statement costs about what a lookup by key does); the values are
# bound parameters.
@cache
def _active_query() -> Select[ApiToken]:
    return select(ApiToken).where(
        ApiToken.token_hash == bindparam("hash"), ApiToken.revoked_at.is_(None)
    )


@cache
def _active_with_response_query() -> Select[ApiToken, str, int, str]:
    return (
        select(
            ApiToken,
            ApiIdempotency.request_hash,
            ApiIdempotency.status_code,
            ApiIdempotency.response,
        )
        .outerjoin(
            ApiIdempotency,
            and_(ApiIdempotency.token_id == ApiToken.id, ApiIdempotency.key == bindparam("key")),
        )
        .where(ApiToken.token_hash == bindparam("hash"), ApiToken.revoked_at.is_(None))
    )


class ApiTokenRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self, *, name: str, source: str, token_hash: str, created_by: int | None, now: datetime
    ) -> TokenRow:
        """A new token. A name in use (even revoked) meets the unique key: check
        :meth:`by_name` first; two admins making the same name at once, one fails."""
        token = ApiToken(
            name=name,
            source=source,
            token_hash=token_hash,
            created_by=created_by,
            created_at=now,
        )
        return _row(await flushed(self.session, token))

    async def by_name(self, name: str) -> TokenRow | None:
        result = await self.session.execute(select(ApiToken).where(ApiToken.name == name))
        token = result.scalar_one_or_none()
        return _row(token) if token is not None else None

    async def active_by_hash(self, token_hash: str) -> TokenRow | None:
        """The token whose SHA-256 this is, unless revoked."""
        result = await self.session.execute(_active_query(), {"hash": token_hash})
        token = result.scalar_one_or_none()
        return _row(token) if token is not None else None

    async def active_with_response(
        self, token_hash: str, key: str
    ) -> tuple[TokenRow | None, StoredResponse | None]:
        """:meth:`active_by_hash` and the token's :meth:`stored_response` for `key`, in one
        statement (a call with an Idempotency-Key)."""
        result = await self.session.execute(
            _active_with_response_query(), {"hash": token_hash, "key": key}
        )
        row = result.one_or_none()
        if row is None:
            return None, None
        token, request_hash, status_code, response = row
        stored = (
            StoredResponse(request_hash, status_code, response)
            if request_hash is not None
            else None
        )
        return _row(token), stored

    async def all(self) -> Sequence[TokenRow]:
        """Every token, active first, then by name."""
        result = await self.session.execute(
            select(ApiToken).order_by(ApiToken.revoked_at.is_not(None), ApiToken.name)
        )
        return [_row(t) for t in result.scalars()]

    async def revoke(self, token_id: int, now: datetime) -> bool:
        """Revoke it; False when it was revoked already (by someone else meanwhile)."""
        matched = await rows_matched(
            self.session,
            update(ApiToken)
            .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=now)
            .execution_options(synchronize_session=False),
        )
        return matched > 0

    async def touch(self, token_id: int, now: datetime) -> None:
        """Note that the token was used (for `list`: a token nobody uses can go)."""
        await self.session.execute(
            update(ApiToken)
            .where(ApiToken.id == token_id)
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )

    # --- Idempotency-Key ---------------------------------------------------------------------
    async def stored_response(self, token_id: int, key: str) -> StoredResponse | None:
        result = await self.session.execute(
            select(
                ApiIdempotency.request_hash, ApiIdempotency.status_code, ApiIdempotency.response
            ).where(ApiIdempotency.token_id == token_id, ApiIdempotency.key == key)
        )
        row = result.one_or_none()
        return StoredResponse(row[0], row[1], row[2]) if row is not None else None

    def store_response(
        self,
        *,
        token_id: int,
        key: str,
        request_hash: str,
        status_code: int,
        response: str,
        now: datetime,
    ) -> None:
        """Keep the response of a key, in the transaction of the work it answers: a second
        request with the same key racing this one meets the unique key when it commits, and
        its work is rolled back with it (the caller then replays this one). Written at the
        transaction's next flush (its commit at the latest), with the call's other rows."""
        self.session.add(
            ApiIdempotency(
                token_id=token_id,
                key=key,
                request_hash=request_hash,
                status_code=status_code,
                response=response,
                created_at=now,
            )
        )

    async def drop_responses_before(self, cutoff: datetime) -> int:
        return await rows_matched(
            self.session,
            delete(ApiIdempotency)
            .where(ApiIdempotency.created_at < cutoff)
            .execution_options(synchronize_session=False),
        )
