"""The audit log (`audit_log`, model `AuditEntry`): written in the transaction of the change it
records, read newest first in pages.

`before` and `after` are JSON objects of plain values: ids, ISO UTC times, statuses, roles and
staff-authored content. Never a patient's words or anyone's name.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import AuditEntry
from bot.db.statements import rows_matched

__all__ = ["AuditRecord", "AuditRepository"]

Values = Mapping[str, Any]

FORGOTTEN = "forgotten"
"""What a line's target names once the patient it was about used /forget."""

_CHUNK = 500


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One line of the log as plain values."""

    id: int
    at: datetime
    actor_telegram_id: int | None
    surface: str
    action: str
    target: str
    before: Values | None = field(hash=False)
    after: Values | None = field(hash=False)
    outcome: str


def _dump(values: Values | None) -> str | None:
    if values is None:
        return None
    return json.dumps(dict(values), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _load(raw: str | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        *,
        at: datetime,
        actor_telegram_id: int | None,
        surface: str,
        action: str,
        target: str,
        outcome: str,
        before: Values | None = None,
        after: Values | None = None,
    ) -> int:
        """Write one line in the caller's transaction; its id."""
        entry = AuditEntry(
            at=at,
            actor_telegram_id=actor_telegram_id,
            surface=surface,
            action=action,
            target=target[:160],
            before=_dump(before),
            after=_dump(after),
            outcome=outcome,
        )
        self.session.add(entry)
        await self.session.flush()
        return entry.id

    async def recent(
        self, *, limit: int = 50, before_id: int | None = None, target: str | None = None
    ) -> list[AuditRecord]:
        """Newest first, at most `limit` lines. The next page: ``before_id`` = the last id of
        this one (keyset paging: a page does not shift while new lines are written)."""
        query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(max(1, min(limit, 500)))
        if before_id is not None:
            query = query.where(AuditEntry.id < before_id)
        if target is not None:
            query = query.where(AuditEntry.target == target)
        result = await self.session.execute(query)
        return [
            AuditRecord(
                id=e.id,
                at=e.at,
                actor_telegram_id=e.actor_telegram_id,
                surface=e.surface,
                action=e.action,
                target=e.target,
                before=_load(e.before),
                after=_load(e.after),
                outcome=e.outcome,
            )
            for e in result.scalars()
        ]

    async def refusals_since(
        self, telegram_id: int, actions: Sequence[str], since: datetime, limit: int
    ) -> list[str]:
        """The reasons of this person's refused lines of `actions` written after `since`,
        newest first, at most `limit` (the `ix_audit_log_actor` index)."""
        result = await self.session.execute(
            select(AuditEntry.after)
            .where(
                AuditEntry.actor_telegram_id == telegram_id,
                AuditEntry.action.in_(list(actions)),
                AuditEntry.outcome == "refused",
                AuditEntry.at > since,
            )
            .order_by(AuditEntry.id.desc())
            .limit(limit)
        )
        return [str((_load(after) or {}).get("reason", "")) for after in result.scalars()]

    async def forget_actor(self, telegram_id: int) -> int:
        """Blank the actor of every line by this person (a patient's /forget: refused attempts
        by non-staff carry their Telegram id). The lines themselves stay."""
        matched = await rows_matched(
            self.session,
            update(AuditEntry)
            .where(AuditEntry.actor_telegram_id == telegram_id)
            .values(actor_telegram_id=None)
            .execution_options(synchronize_session=False),
        )
        return matched

    async def forget_targets(self, targets: Sequence[str]) -> int:
        """A patient's /forget: the lines about their visits, invites or themselves keep who
        acted, when, which action and its outcome, but not which one (``appointment:12``
        becomes ``appointment:forgotten``) nor their detail (times, ids). How many lines."""
        changed = 0
        for start in range(0, len(targets), _CHUNK):
            chunk = list(targets[start : start + _CHUNK])
            for kind in sorted({t.split(":", 1)[0] for t in chunk}):
                changed += await rows_matched(
                    self.session,
                    update(AuditEntry)
                    .where(AuditEntry.target.in_([t for t in chunk if t.startswith(kind + ":")]))
                    .values(target=f"{kind}:{FORGOTTEN}", before=None, after=None)
                    .execution_options(synchronize_session=False),
                )
        return changed
