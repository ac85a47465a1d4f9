"""The HTTP API's bearer tokens: made, listed and revoked by admins (Telegram, `/apitokens`)
or by the operator (the command line, `infusion-companion api-token`), and checked on every
call.

A token is shown once, when it is made, and stored as its SHA-256 only: a lost token is
revoked and a new one made. Each is scoped to one source (the clinic's scheduling system
whose visits it may write). Making and revoking are written to the audit log, and so is every
call of the API (method, route, status: never a body, a patient reference or a path's values).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from bot.db.api_tokens import ApiTokenRepository, StoredResponse, TokenRow
from bot.domain.audit import Action, Actor, Surface, iso_utc, target
from bot.domain.refusals import ApiTokenProblem
from bot.domain.staff import Permission
from bot.services.audit import AuditTrail
from bot.services.errors import ApiTokenRefused
from bot.services.staff import StaffService
from foundation.clock import Clock

__all__ = [
    "NAME_PATTERN",
    "TOKEN_PREFIX",
    "ApiTokenService",
    "MadeToken",
    "StoredResponse",
    "TokenRow",
    "token_hash",
]

TOKEN_PREFIX = "icp_"
"""What every token starts with, so a leaked one is recognisable (secret scanners)."""

NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
"""A token's name, and a source's: lower-case letters, digits, ``_ . -``, up to 64."""

_MAX_TOKEN = 200

TOUCH_EVERY = timedelta(minutes=1)
"""How precisely a token's last use is kept (one write a minute, not one a call)."""


def token_hash(token: str) -> str:
    """The SHA-256 (hex) a token is stored and looked up by."""
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


@dataclass(frozen=True, slots=True)
class MadeToken:
    """A new token: `token` is shown to its maker once and kept nowhere."""

    token: str
    row: TokenRow


Maker = Actor | Surface
"""An admin on Telegram, or ``Surface.CLI`` (the operator at the machine)."""


class ApiTokenService:
    def __init__(
        self, repo: ApiTokenRepository, staff: StaffService, audit: AuditTrail, clock: Clock
    ) -> None:
        self.repo = repo
        self.staff = staff
        self.audit = audit
        self.clock = clock

    async def _require(self, maker: Maker, action: Action, what: str) -> None:
        if isinstance(maker, Actor):
            await self.staff.require(maker, Permission.INTEGRATIONS, action=action, target=what)

    async def create(self, maker: Maker, name: str, source: str) -> MadeToken:
        """A new token named `name` for `source`. Refused: a name or source that is not one
        (:data:`NAME_PATTERN`), a name in use (revoked ones too: the audit log names them)."""
        name, source = name.strip().lower(), source.strip()
        what = target("api_token", name if NAME_PATTERN.fullmatch(name) else "new")
        await self._require(maker, Action.API_TOKEN_CREATE, what)
        if NAME_PATTERN.fullmatch(name) is None:
            raise ApiTokenRefused(ApiTokenProblem.BAD_NAME)
        if NAME_PATTERN.fullmatch(source) is None:
            raise ApiTokenRefused(ApiTokenProblem.BAD_SOURCE)
        if await self.repo.by_name(name) is not None:
            raise ApiTokenRefused(ApiTokenProblem.NAME_TAKEN)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = self.clock.now()
        row = await self.repo.add(
            name=name,
            source=source,
            token_hash=token_hash(token),
            created_by=maker.telegram_id if isinstance(maker, Actor) else None,
            now=now,
        )
        await self.audit.done(
            maker, Action.API_TOKEN_CREATE, what, after={"source": source, "at": iso_utc(now)}
        )
        return MadeToken(token, row)

    async def tokens(self, maker: Maker) -> Sequence[TokenRow]:
        """Every token, active first (never a token itself: only its name and source)."""
        await self._require(maker, Action.API_TOKEN_LIST, "api_token:all")
        return await self.repo.all()

    async def revoke(self, maker: Maker, name: str) -> TokenRow:
        """Revoke the token named `name`: every call with it is refused from now on."""
        name = name.strip().lower()
        what = target("api_token", name if NAME_PATTERN.fullmatch(name) else "unknown")
        await self._require(maker, Action.API_TOKEN_REVOKE, what)
        row = await self.repo.by_name(name) if NAME_PATTERN.fullmatch(name) else None
        if row is None:
            raise ApiTokenRefused(ApiTokenProblem.NO_SUCH_TOKEN)
        if not await self.repo.revoke(row.id, self.clock.now()):
            raise ApiTokenRefused(ApiTokenProblem.REVOKED)
        await self.audit.done(maker, Action.API_TOKEN_REVOKE, what, after={"source": row.source})
        return row

    async def authenticate(self, token: str) -> TokenRow | None:
        """The active token a caller sent, or None. Looked up by its SHA-256: what is compared
        in the database is a hash the caller cannot choose byte by byte, so the time a
        comparison takes tells nothing about a stored token."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > _MAX_TOKEN:
            return None
        return await self.repo.active_by_hash(token_hash(token))

    async def record_call(
        self, token: TokenRow | None, *, status: int, detail: Mapping[str, object]
    ) -> None:
        """One line of the audit log for one call of the API (`detail`: method, route name,
        status and the like, never a body or a path's values), and the token's last use."""
        what = target("api_token", token.id if token is not None else "none")
        values = {**detail, "status": status}
        if token is not None:
            values["source"] = token.source
            now = self.clock.now()
            last = token.last_used_at
            if last is None or now - last >= TOUCH_EVERY:  # to the minute: one write a minute
                await self.repo.touch(token.id, now)
        if status < 400:
            await self.audit.done(Surface.API, Action.API_CALL, what, after=values)
        else:
            await self.audit.refused(
                Surface.API, Action.API_CALL, what, reason=str(status), detail=values
            )

    # --- Idempotency-Key ---------------------------------------------------------------------
    async def stored_response(self, token: TokenRow, key: str) -> StoredResponse | None:
        """What this token's request with this key got, within the last day."""
        return await self.repo.stored_response(token.id, key)

    async def store_response(
        self, token: TokenRow, key: str, *, request_hash: str, status: int, body: bytes
    ) -> None:
        """Keep a response for its key, in the transaction of the work it answers."""
        await self.repo.store_response(
            token_id=token.id,
            key=key,
            request_hash=request_hash,
            status_code=status,
            response=body.decode("utf-8"),
            now=self.clock.now(),
        )
