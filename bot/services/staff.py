"""The clinic team: who is staff, with which role, and the one permission check.

The Telegram ids of ``STAFF_IDS`` (settings) are the clinic's admins: always admin, whatever the
database says, and never removable through the bot. Everyone else is staff while their
`staff_members` row is active. Every change, and every refused attempt, is written to the
audit log in the caller's transaction.

Plain async code: Telegram handlers, a web panel or an HTTP API call it the same way.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.db.audit import AuditRecord
from bot.db.staff import StaffRepository
from bot.domain.audit import Action, Actor, target
from bot.domain.invite_codes import code_hash, deep_link, hashes_match, is_code_shaped, new_code
from bot.domain.staff import Permission, Role, allows
from bot.services.audit import AuditTrail
from bot.services.errors import NoSuchMember, NotAllowed
from bot.services.redemptions import LinkKind, Observe, RedemptionGuard, TooManyTries
from foundation.clock import Clock

__all__ = [
    "TEAM_LINK_PREFIX",
    "AlreadyOnTeam",
    "JoinResult",
    "Joined",
    "NotAllowed",
    "StaffMemberView",
    "StaffService",
    "TeamInvite",
    "TooManyTries",
    "UnusableTeamLink",
]

TEAM_LINK_PREFIX = "team-"
"""What sets a team member's link apart from a patient's: ``/start team-<code>``."""


@dataclass(frozen=True, slots=True)
class TeamInvite:
    """A link made for a new team member: give it to them only (it is shown once)."""

    link: str
    role: Role
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Joined:
    role: Role


@dataclass(frozen=True, slots=True)
class AlreadyOnTeam:
    role: Role


@dataclass(frozen=True, slots=True)
class UnusableTeamLink:
    """Unknown, used or expired: the person is told only that it cannot be used."""


JoinResult = Joined | AlreadyOnTeam | UnusableTeamLink | TooManyTries


@dataclass(frozen=True, slots=True)
class StaffMemberView:
    telegram_id: int
    role: Role
    from_settings: bool
    """An admin of STAFF_IDS (no database row)."""


class StaffService:
    def __init__(
        self,
        repo: StaffRepository,
        audit: AuditTrail,
        clock: Clock,
        *,
        env_admins: Collection[int],
        invite_ttl: timedelta = timedelta(days=7),
        observe_redemptions: Observe | None = None,
    ) -> None:
        self.repo = repo
        self.audit = audit
        self.clock = clock
        self.env_admins = frozenset(env_admins)
        self.invite_ttl = invite_ttl
        # Team links here, patients' invites in InviteService: one count of failures.
        self.redemptions = RedemptionGuard(audit, clock, observe=observe_redemptions)

    async def role_of(self, telegram_id: int) -> Role | None:
        """Admin for STAFF_IDS; else the role of an active member; None for everyone else."""
        if telegram_id in self.env_admins:
            return Role.ADMIN
        return self.role_from(telegram_id, await self.repo.active_role(telegram_id))

    def role_from(self, telegram_id: int, stored: str | None) -> Role | None:
        """:meth:`role_of` given the member's stored role already read (the update pipeline
        reads it with the patient, in the same round trip)."""
        if telegram_id in self.env_admins:
            return Role.ADMIN
        return Role(stored) if stored is not None else None

    async def require(
        self, actor: Actor, permission: Permission, *, action: Action, target: str
    ) -> Role:
        """The actor's role if it grants `permission`; otherwise the refusal is written to the
        audit log (as `action` on `target`) and NotAllowed raised."""
        role = await self.role_of(actor.telegram_id)
        if not allows(role, permission):
            reason = "not_staff" if role is None else "role"
            await self.audit.refused(actor, action, target, reason=reason)
            raise NotAllowed(reason)
        assert role is not None
        return role

    async def team_ids(self) -> frozenset[int]:
        """The Telegram ids of everyone on the team (STAFF_IDS and active members), for the
        bot's own housekeeping; no permission asked."""
        return self.env_admins | {m.telegram_id for m in await self.repo.active()}

    async def members(self, actor: Actor) -> list[StaffMemberView]:
        """The team: the admins of STAFF_IDS, then active members in the order added."""
        await self.require(actor, Permission.ROSTER, action=Action.STAFF_LIST, target="staff")
        team = [StaffMemberView(i, Role.ADMIN, True) for i in sorted(self.env_admins)]
        rows = await self.repo.active()
        team += [
            StaffMemberView(m.telegram_id, Role(m.role), False)
            for m in rows
            if m.telegram_id not in self.env_admins
        ]
        return team

    async def add(self, actor: Actor, telegram_id: int, role: Role = Role.STAFF) -> bool:
        """Add a member (or bring a removed one back, or change a member's role). Admins only;
        an admin of STAFF_IDS and the actor themselves cannot be changed. False when the
        person already had exactly that role (nothing written)."""
        where = target("staff", telegram_id)
        await self._check_change(actor, Action.STAFF_ADD, telegram_id, where)
        previous = await self.repo.active_role(telegram_id)
        if previous == role:
            return False
        await self.repo.put(telegram_id, role, actor.telegram_id, self.clock.now())
        await self.audit.done(
            actor,
            Action.STAFF_ADD,
            where,
            before={"role": previous} if previous is not None else None,
            after={"role": role},
        )
        return True

    async def remove(self, actor: Actor, telegram_id: int) -> None:
        """Remove an active member (the row stays, with `removed_at`). Admins only; an admin
        of STAFF_IDS and the actor themselves cannot be removed; NoSuchMember for non-members."""
        where = target("staff", telegram_id)
        await self._check_change(actor, Action.STAFF_REMOVE, telegram_id, where)
        member = await self.repo.member(telegram_id)
        if member is None or not member.active:
            raise NoSuchMember()
        await self.repo.mark_removed(member, self.clock.now())
        await self.audit.done(
            actor, Action.STAFF_REMOVE, where, before={"role": member.role}, after=None
        )

    async def invite(self, actor: Actor, role: Role, *, bot_username: str) -> TeamInvite:
        """A one-time link that makes whoever opens it a member with `role` (admins only). Only
        the code's hash is stored; the link is shown to the admin once."""
        await self.require(
            actor, Permission.STAFF, action=Action.STAFF_INVITE, target=target("staff", "new")
        )
        now = self.clock.now()
        code = new_code()
        link = deep_link(bot_username, TEAM_LINK_PREFIX + code)
        invite = await self.repo.invites.add(
            code_hash(code), role, actor.telegram_id, now, now + self.invite_ttl
        )
        await self.audit.done(
            actor,
            Action.STAFF_INVITE,
            target("staff_invite", invite.id),
            after={"role": role, "expires_at": invite.expires_at.isoformat()},
        )
        return TeamInvite(link, role, invite.expires_at)

    async def join(self, payload: str, telegram_id: int) -> JoinResult:
        """Whoever opened a team link (``team-<code>``) joins with its role, once. Links that
        cannot be used are audited and counted; after a few in an hour, TooManyTries
        (bot/services/redemptions.py)."""
        code = payload.removeprefix(TEAM_LINK_PREFIX)
        current = await self.role_of(telegram_id)
        actor, team = Actor(telegram_id), LinkKind.TEAM
        if current is None and not await self.redemptions.allowed(actor, team):
            return TooManyTries()
        if not payload.startswith(TEAM_LINK_PREFIX) or not is_code_shaped(code):
            await self._unusable(actor, "unknown")
            return UnusableTeamLink()
        digest = code_hash(code)
        invite = await self.repo.invites.by_hash(digest)
        if invite is None or not hashes_match(invite.code_hash, digest):
            await self._unusable(actor, "unknown")
            return UnusableTeamLink()
        if current is not None:
            self.redemptions.succeeded(team, "member")
            return AlreadyOnTeam(current)
        now = self.clock.now()
        if not await self.repo.invites.claim(invite.id, telegram_id, now):
            # Used, expired, or taken by a tap racing this one.
            await self._unusable(actor, "used_or_expired", invite.id)
            return UnusableTeamLink()
        self.redemptions.succeeded(team, "joined")
        role = Role(invite.role)
        await self.repo.put(telegram_id, role, invite.created_by, now)
        await self.audit.done(
            Actor(telegram_id),
            Action.STAFF_JOIN,
            target("staff", telegram_id),
            after={"role": role, "invite": invite.id},
        )
        return Joined(role)

    # --- names --------------------------------------------------------------------------------
    async def remember_name(self, telegram_id: int, name: str, role: Role | None) -> None:
        """Keep a team member's Telegram name (`role` is theirs, as the caller read it) for
        the team's screens; nothing for anyone else."""
        cleaned = " ".join(name.split())[:128]
        if cleaned and role is not None:
            await self.repo.set_name(telegram_id, cleaned, self.clock.now())

    async def names(self, telegram_ids: Collection[int]) -> dict[int, str]:
        """What to call these people on the team's screens: their stored name, else their
        Telegram number."""
        stored = await self.repo.names(telegram_ids)
        return {t: stored.get(t) or str(t) for t in telegram_ids}
    async def _unusable(self, actor: Actor, reason: str, invite_id: int | None = None) -> None:
        if await self.role_of(actor.telegram_id) is None:  # members are not guessing
            await self.redemptions.failed(actor, LinkKind.TEAM, reason, invite_id)

    async def audit_log(
        self, actor: Actor, *, limit: int = 50, before_id: int | None = None
    ) -> Sequence[AuditRecord]:
        """Recent audit lines, newest first (admins only); page on with the last id seen."""
        await self.require(actor, Permission.AUDIT, action=Action.AUDIT_READ, target="audit")
        return await self.audit.recent(limit=limit, before_id=before_id)

    async def _check_change(self, actor: Actor, action: Action, subject: int, where: str) -> None:
        await self.require(actor, Permission.STAFF, action=action, target=where)
        reason = None
        if subject in self.env_admins:
            reason = "env_admin"
        elif subject == actor.telegram_id:
            reason = "self"
        if reason is not None:
            await self.audit.refused(actor, action, where, reason=reason)
            raise NotAllowed(reason)
