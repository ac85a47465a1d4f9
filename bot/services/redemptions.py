"""Guessing invite codes: failed redemptions are written to the audit log, counted, and after
a few in an hour the person's next tries are refused without a look at the code.

Both kinds of link go through here: a patient's invite (``/start <code>``, redeemed once they
agreed) and a team link (``/start team-<code>``). A failure is an audit line `refused` with
the person's Telegram id as actor and the reason (``unknown``, ``used``, ``expired``); the
count is read back from those lines (the `ix_audit_log_actor` index), so every replica sees
the same count and nothing lives only in memory. With :data:`LIMIT` failures in the last
:data:`WINDOW`, a try is refused as ``throttled`` without the code being looked at; the first
such refusal of a window is written too (one line, not one per try). The audit lines lose the
person's id when they use /forget, like every line they are the actor of. Linking to one's own
visit again, or a link the booking rules refuse, is no guess and is not counted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from bot.domain.audit import Action, Actor, target
from bot.services.audit import AuditTrail
from foundation.clock import Clock

__all__ = ["LIMIT", "WINDOW", "LinkKind", "RedemptionGuard", "TooManyTries"]

log = logging.getLogger(__name__)

LIMIT = 5
"""Failed redemptions per person within :data:`WINDOW` before the next ones are refused."""

WINDOW = timedelta(hours=1)

THROTTLED = "throttled"


class LinkKind(StrEnum):
    """Which link, for the audit action and the metrics' label."""

    PATIENT = "patient"
    TEAM = "team"

    @property
    def action(self) -> Action:
        return Action.INVITE_REDEEM if self is LinkKind.PATIENT else Action.STAFF_JOIN

    def target(self, invite_id: int | None = None) -> str:
        """The audit target: the invite when the code named one, ``invite:?`` otherwise."""
        return target("invite" if self is LinkKind.PATIENT else "staff_invite", invite_id or "?")


@dataclass(frozen=True, slots=True)
class TooManyTries:
    """Too many links that could not be used, lately: this one was not even looked at."""


Observe = Callable[[str, str], None]
"""Told (kind, outcome) of every redemption: the metrics."""


class RedemptionGuard:
    def __init__(
        self,
        audit: AuditTrail,
        clock: Clock,
        *,
        observe: Observe | None = None,
        limit: int = LIMIT,
        window: timedelta = WINDOW,
    ) -> None:
        self.audit = audit
        self.clock = clock
        self.observe = observe
        self.limit = limit
        self.window = window

    async def allowed(self, actor: Actor, kind: LinkKind) -> bool:
        """Whether the actor may try a code now; a refusal is written (once per window)."""
        since = self.clock.now() - self.window
        reasons = await self.audit.repo.refusals_since(
            actor.telegram_id, [k.action for k in LinkKind], since, self.limit
        )
        if len(reasons) < self.limit:
            return True
        if THROTTLED not in reasons:
            await self.audit.refused(actor, kind.action, kind.target(), reason=THROTTLED)
            log.warning(
                "invite links: someone was refused after %d links that could not be used "
                "within %d minutes (audit log: %s, refused, %s)",
                self.limit,
                self.window.total_seconds() // 60,
                kind.action,
                THROTTLED,
            )
        self._tell(kind, THROTTLED)
        return False

    async def failed(
        self, actor: Actor, kind: LinkKind, reason: str, invite_id: int | None = None
    ) -> None:
        """A code that could not be used: `reason` ``unknown``, ``used`` or ``expired``."""
        await self.audit.refused(actor, kind.action, kind.target(invite_id), reason=reason)
        self._tell(kind, reason)

    def succeeded(self, kind: LinkKind, outcome: str) -> None:
        """Linked, or joined (or not a guess: ``own``, ``declined``, ``member``)."""
        self._tell(kind, outcome)

    def _tell(self, kind: LinkKind, outcome: str) -> None:
        if self.observe is not None:
            self.observe(kind.value, outcome)
