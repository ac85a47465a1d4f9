"""The audit log (`audit_log`, model `AuditEntry`): written in the transaction of the change it
records, read newest first in pages.

`before` and `after` are JSON objects of plain values: ids, ISO UTC times, statuses, roles and
staff-authored content. Never a patient's words or anyone's name.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from sqlalchemy import event, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from bot.db.models import AuditEntry
from bot.db.statements import flushed, rows_matched

__all__ = ["AuditLine", "AuditRecord", "AuditRepository"]

Values = Mapping[str, Any]

FORGOTTEN = "forgotten"
"""What a line's target names once the patient it was about used /forget."""

_CHUNK = 500


@dataclass(frozen=True, slots=True)
class AuditLine:
    """One line of the log as plain values: who (a Telegram id; None for a patient acting for
    themselves), where, what, about what, how it ended, and its detail."""

    at: datetime
    actor_telegram_id: int | None
    surface: str
    action: str
    target: str
    before: Values | None = field(hash=False)
    after: Values | None = field(hash=False)
    outcome: str

    def values(self) -> dict[str, Any]:
        """The line as the table stores it (the target cut to its column, detail as JSON)."""
        stored = {column.name: getattr(self, column.name) for column in fields(AuditLine)}
        stored.update(target=self.target[:160], before=_dump(self.before), after=_dump(self.after))
        return stored


@dataclass(frozen=True, slots=True)
class AuditRecord(AuditLine):
    """A line as it was written, with its id."""

    id: int


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


_WAITING = "audit_lines_waiting"
"""The session's lines of :meth:`AuditRepository.add_later` not written yet (`Session.info`)."""


@event.listens_for(Session, "before_commit")
def _write_waiting(session: Session) -> None:
    """The lines waiting, in one executemany INSERT just before the commit (no RETURNING: no
    id is wanted, so SQLite and PostgreSQL write them in one statement; the ORM would insert
    them one by one on SQLite to learn their ids). Gone with the session on a rollback."""
    waiting = session.info.pop(_WAITING, None)
    if waiting:
        session.execute(insert(AuditEntry), waiting)


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, line: AuditLine) -> int:
        """Write one line in the caller's transaction; its id."""
        entry = await flushed(self.session, AuditEntry(**line.values()))
        return entry.id

    def add_later(self, line: AuditLine) -> None:
        """One line in the caller's transaction, written at its next flush (its commit at the
        latest), in one batched INSERT with the other lines waiting: for a caller that needs
        no id (an API call writes two lines: its work's and its own)."""
        self.session.info.setdefault(_WAITING, []).append(line.values())

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
