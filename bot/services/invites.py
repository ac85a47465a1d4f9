"""Invite links: staff create a visit and a one-time link; the patient who opens it is linked.

`create` stores the visit's time, a staff-only label and the SHA-256 of a fresh code, and
returns the code and its deep link (``https://t.me/<bot>?start=<code>``; the bot's username is
given by the caller, this module knows nothing of Telegram's library). `redeem` checks the
code, claims the invite with a conditional UPDATE (of two taps racing, exactly one wins) and
books the visit through `AppointmentService.confirm`, so reminders are planned exactly as for
a visit the patient booked, all in the caller's transaction, with an audit line. A forged,
used or expired code is an ordinary outcome (`Unknown`, `AlreadyUsed`, `Expired`), not an
exception.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.db.invites import InviteRepository
from bot.db.models import Appointment, Invite, Patient
from bot.domain.audit import Action, Actor, Surface, iso_utc, target
from bot.domain.invite_codes import (
    InvalidLabel,
    clean_label,
    code_hash,
    deep_link,
    hashes_match,
    is_code_shaped,
    new_code,
)
from bot.domain.refusals import InviteProblem
from bot.domain.staff import Permission
from bot.domain.visits import BookingProblem, VisitType
from bot.domain.which_week import WeekWords
from bot.services.appointments import Ambiguity, AppointmentService, VisitTime
from bot.services.errors import BookingRefused, InviteRefused
from bot.services.intake import IntakeLinker
from bot.services.redemptions import LinkKind, TooManyTries
from bot.services.staff import StaffService
from foundation.clock import Clock
from foundation.timemath import UnknownZone, load_zone, to_local

__all__ = [
    "AlreadyUsed",
    "CreatedInvite",
    "Declined",
    "Expired",
    "InviteService",
    "Linked",
    "RedeemResult",
    "TooManyTries",
    "Unknown",
]


@dataclass(frozen=True, slots=True)
class CreatedInvite:
    """What staff hand the patient: the link (or its QR code, `bot.services.qr`). The code is
    not stored anywhere: lost, it cannot be shown again; a new invite is made instead."""

    invite_id: int
    code: str
    link: str
    starts_at: datetime
    zone: str
    expires_at: datetime
    visit_type: VisitType = VisitType.INFUSION


@dataclass(frozen=True, slots=True)
class Linked:
    """The patient now has the visit (newly booked, or the one they had already booked)."""

    invite_id: int
    appointment_id: int
    starts_at: datetime
    zone: str
    visit_type: str = VisitType.INFUSION

    @property
    def local(self) -> datetime:
        """The start as wall time in the visit's zone."""
        return to_local(self.starts_at, load_zone(self.zone))


@dataclass(frozen=True, slots=True)
class Expired:
    """The invite ran out (its time to live, or its visit has begun)."""


@dataclass(frozen=True, slots=True)
class AlreadyUsed:
    by_this_patient: bool
    """The same patient opened the link again (they are linked already)."""


@dataclass(frozen=True, slots=True)
class Unknown:
    """No such code: mistyped, forged, or not a code at all."""


@dataclass(frozen=True, slots=True)
class Declined:
    """The booking rules refused the visit (`code`, e.g. ``too_many`` upcoming visits); the
    invite stays unused."""

    code: str


PATIENT = LinkKind.PATIENT


class _NothingToLink(Exception):
    """An invite of the schedule whose visits are all past or cancelled (rolls back the
    claim's savepoint)."""


RedeemResult = Linked | Expired | AlreadyUsed | Unknown | Declined | TooManyTries


class InviteService:
    def __init__(
        self,
        repo: InviteRepository,
        staff: StaffService,
        appointments: AppointmentService,
        clock: Clock,
        *,
        ttl: timedelta,
        default_zone: str,
        schedule: IntakeLinker | None = None,
    ) -> None:
        self.repo = repo
        # Links the patient of an invite made by an import of the clinic's schedule.
        self.schedule = schedule
        self.staff = staff
        self.appointments = appointments
        self.clock = clock
        self.ttl = ttl
        self.default_zone = default_zone

    async def create(
        self,
        actor: Actor,
        when: str | datetime,
        label: str,
        *,
        bot_username: str,
        zone: str | None = None,
        request_key: str | None = None,
        visit_type: VisitType | None = None,
    ) -> CreatedInvite:
        """An invite to a visit of `visit_type` (default: the clinic's default type) at `when`:
        typed text or a naive wall time (both in `zone`, default the clinic's), or an aware
        instant. Staff only. The patient who opens it gets a visit of that type. Raises
        InviteRefused saying why not (for ``ambiguous`` with both instants: pass the chosen
        one back). `request_key` names
        the confirmed offer: the same actor cannot make two invites from one (a unique key)."""
        await self.require(actor)
        clean = self.check_label(label)
        proposal = self._proposal(when, zone or self.default_zone)
        kind = VisitType(visit_type or self.appointments.default_type)
        now = self.clock.now()
        code = new_code()
        link = deep_link(bot_username, code)
        invite = await self.repo.add(
            request_key=request_key,
            code_hash=code_hash(code),
            label=clean,
            starts_at=proposal.starts_at,
            timezone=proposal.zone,
            created_by=actor.telegram_id,
            now=now,
            # Never usable once the visit has begun.
            expires_at=min(now + self.ttl, proposal.starts_at),
            visit_type=kind,
        )
        await self.staff.audit.done(
            actor,
            Action.INVITE_CREATE,
            target("invite", invite.id),
            after={
                "starts_at": iso_utc(invite.starts_at),
                "zone": invite.timezone,
                "expires_at": iso_utc(invite.expires_at),
                "visit_type": kind.value,
            },
        )
        return CreatedInvite(
            invite.id, code, link, invite.starts_at, invite.timezone, invite.expires_at, kind
        )

    @staticmethod
    def looks_like_code(text: str) -> bool:
        """Whether `text` could be an invite code at all (worth keeping until consent)."""
        return is_code_shaped(text)

    async def require(self, actor: Actor) -> None:
        """The actor may make invites (staff); NotAllowed, with an audit line, otherwise."""
        await self.staff.require(
            actor, Permission.INVITES, action=Action.INVITE_CREATE, target="invite:new"
        )

    async def read_time(
        self, actor: Actor, when: str | datetime, *, zone: str | None = None, lang: str = "en"
    ) -> VisitTime | Ambiguity:
        """The first step of an invite made in a conversation: the visit's time read (typed in
        the member's language, `lang`) and checked as :meth:`create` will (staff only),
        nothing stored. A time that happens twice comes back as an Ambiguity, for staff to
        pick one; InviteRefused says why not."""
        await self.require(actor)
        return self._reading(when, zone or self.default_zone, lang)

    async def week_typed(
        self,
        actor: Actor,
        text: str,
        earlier: VisitTime,
        later: VisitTime,
        words: WeekWords,
        lang: str = "en",
    ) -> VisitTime | Ambiguity | None:
        """Typed while an invite's two weeks are offered (`earlier`: this week's day, `later`:
        next week's), read as a patient's and a visit move's are
        (AppointmentService.week_typed), staff only on every path (the member may have left
        the team since the choice was shown): the day it picks, checked again as a tap on it
        is (:meth:`read_time`), or the two again (the member is not sure, or asks about
        them); None when it is no such answer (a new time: :meth:`read_time`)."""
        await self.require(actor)
        typed = self.appointments.week_typed(text, earlier, later, words, lang)
        if typed is None or isinstance(typed, Ambiguity):
            return typed
        return self._reading(typed.starts_at, typed.zone)

    def example(self) -> datetime:
        """A time to show staff as an example, in the clinic's zone: a few days ahead
        (AppointmentService.example), so typing it back is never refused as past."""
        return self.appointments.example(self.default_zone)

    def check_label(self, label: str) -> str:
        """The label as :meth:`create` will store it, or InviteRefused saying why not."""
        try:
            return clean_label(label)
        except InvalidLabel as exc:
            raise InviteRefused(exc.code) from exc

    def _reading(self, when: str | datetime, zone: str, lang: str = "en") -> VisitTime | Ambiguity:
        try:
            if isinstance(when, str):
                return self.appointments.read(when, zone, lang)
            if when.tzinfo is None:
                return self.appointments.at_wall_time(when, zone)
            return self.appointments.check(VisitTime(when.astimezone(UTC), load_zone(zone).key))
        except UnknownZone as exc:
            raise InviteRefused(InviteProblem.UNKNOWN_ZONE) from exc
        except BookingRefused as exc:
            raise InviteRefused(exc.code) from exc

    def _proposal(self, when: str | datetime, zone: str) -> VisitTime:
        reading = self._reading(when, zone)
        if isinstance(reading, Ambiguity):
            raise InviteRefused(
                InviteProblem.AMBIGUOUS,
                earlier=reading.earlier.starts_at,
                later=reading.later.starts_at,
                reason=reading.reason,
            )
        return reading

    async def redeem(
        self, code: str, patient: Patient, *, surface: Surface = Surface.TELEGRAM
    ) -> RedeemResult:
        """Link the patient to the invite's visit, in the caller's transaction. A code that
        cannot be used is audited and counted; after a few in an hour, TooManyTries without a
        look at the code (bot/services/redemptions.py)."""
        guard, actor, kind = self.staff.redemptions, Actor(patient.telegram_id, surface), PATIENT
        if not await guard.allowed(actor, kind):
            return TooManyTries()
        if not is_code_shaped(code):
            await guard.failed(actor, kind, "unknown")
            return Unknown()
        digest = code_hash(code)
        invite = await self.repo.by_hash(digest)
        if invite is None or not hashes_match(invite.code_hash, digest):
            await guard.failed(actor, kind, "unknown")
            return Unknown()
        if invite.used_at is not None:
            mine = invite.used_by_patient_id == patient.id
            if mine:
                guard.succeeded(kind, "own")
            else:
                await guard.failed(actor, kind, "used", invite.id)
            return AlreadyUsed(by_this_patient=mine)
        now = self.clock.now()
        if invite.expires_at <= now:
            await guard.failed(actor, kind, "expired", invite.id)
            return Expired()
        try:
            # A refusal of the booking rules undoes the claim with the savepoint.
            async with self.repo.session.begin_nested():
                if not await self.repo.claim(invite.id, patient.id, now):
                    await guard.failed(actor, kind, "used", invite.id)
                    return AlreadyUsed(by_this_patient=False)
                if invite.patient_key is not None:
                    linked = await self._link_schedule(patient, invite)
                    if linked is None:  # nothing of theirs ahead any more: the claim is undone
                        raise _NothingToLink()
                    appointment = linked
                else:
                    appointment = await self._book(patient, invite)
                await self.repo.link(invite.id, appointment.id)
        except _NothingToLink:
            await guard.failed(actor, kind, "expired", invite.id)
            return Expired()
        except BookingRefused as exc:
            guard.succeeded(kind, "declined")
            return Declined(str(exc.code))
        guard.succeeded(kind, "linked")
        await self.staff.audit.done(
            surface,
            Action.INVITE_REDEEM,
            target("invite", invite.id),
            after={"patient_id": patient.id, "appointment_id": appointment.id},
        )
        return Linked(
            invite.id,
            appointment.id,
            appointment.starts_at,
            appointment.timezone,
            appointment.visit_type,
        )

    async def _link_schedule(self, patient: Patient, invite: Invite) -> Appointment | None:
        """An invite of the clinic's schedule links the patient once: every upcoming visit of
        theirs attaches (bot/services/intake.py); the earliest, or None when none is left."""
        if self.schedule is None:
            return None
        return await self.schedule.redeem(patient, invite)

    async def _book(self, patient: Patient, invite: Invite) -> Appointment:
        """The booking path every visit takes (reminders planned alike), as a visit of the
        invite's type. A patient who had booked that very time already is linked to that
        visit, which takes the invite's type (the clinic knows what the visit is), its
        reminders following that type's plan (nothing already sent is sent again)."""
        proposal = VisitTime(invite.starts_at, invite.timezone)
        kind = VisitType(invite.visit_type)
        try:
            return await self.appointments.confirm(patient, proposal, visit_type=kind)
        except BookingRefused as exc:
            if exc.code != BookingProblem.DUPLICATE:
                raise
            existing = await self.appointments.repo.appointment_at(patient.id, invite.starts_at)
            if existing is None:
                raise
            if existing.visit_type != kind:
                existing.visit_type = kind
                existing.updated_at = self.clock.now()
                await self.appointments.planner.plan_for(existing, keep_sent=True)
            return existing
