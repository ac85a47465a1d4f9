"""Writing the audit log from services: one line per staff action, done or refused, in the
transaction of the change it records (the caller commits; a refusal is a `NotAllowed` the
caller answers and then commits, as it does every `Refusal`)."""

from __future__ import annotations

from bot.db.audit import AuditLine, AuditRecord, AuditRepository, Values
from bot.domain.audit import Action, Actor, Outcome, Surface
from foundation.clock import Clock

__all__ = ["AuditTrail"]


class AuditTrail:
    def __init__(self, repo: AuditRepository, clock: Clock) -> None:
        self.repo = repo
        self.clock = clock

    async def done(
        self,
        actor: Actor | Surface,
        action: Action,
        target: str,
        *,
        before: Values | None = None,
        after: Values | None = None,
    ) -> int:
        """A change was made. `actor` a bare Surface: a patient acting for themselves there (their
        Telegram id is not kept; `after` names their patient id)."""
        return await self.repo.add(self._line(actor, action, target, Outcome.DONE, before, after))

    async def refused(
        self,
        actor: Actor | Surface,
        action: Action,
        target: str,
        *,
        reason: str,
        detail: Values | None = None,
    ) -> int:
        """A refused attempt; `detail` (plain values) is kept beside the reason."""
        after = {**(detail or {}), "reason": reason}
        return await self.repo.add(self._line(actor, action, target, Outcome.REFUSED, None, after))

    def done_later(
        self,
        actor: Actor | Surface,
        action: Action,
        target: str,
        *,
        after: Values | None = None,
    ) -> None:
        """:meth:`done`, written with the transaction's next flush (at the latest its commit)
        in one INSERT with the other lines waiting, instead of a statement of its own now."""
        self.repo.add_later(self._line(actor, action, target, Outcome.DONE, None, after))

    def refused_later(
        self,
        actor: Actor | Surface,
        action: Action,
        target: str,
        *,
        reason: str,
        detail: Values | None = None,
    ) -> None:
        """:meth:`refused`, written as :meth:`done_later` is."""
        after = {**(detail or {}), "reason": reason}
        self.repo.add_later(self._line(actor, action, target, Outcome.REFUSED, None, after))

    def _line(
        self,
        actor: Actor | Surface,
        action: Action,
        target: str,
        outcome: Outcome,
        before: Values | None,
        after: Values | None,
    ) -> AuditLine:
        """The line, now. `actor` a bare Surface: a patient acting for themselves there."""
        if isinstance(actor, Surface):
            actor_id, surface = None, actor
        else:
            actor_id, surface = actor.telegram_id, actor.surface
        now = self.clock.now()
        return AuditLine(now, actor_id, surface, action, target, before, after, outcome)

    async def recent(
        self, *, limit: int = 50, before_id: int | None = None, target: str | None = None
    ) -> list[AuditRecord]:
        return await self.repo.recent(limit=limit, before_id=before_id, target=target)
