"""Confirmations: what a person was offered, kept in the conversation until they answer.

Every confirmation of the bot (a patient's new visit or new time, the team's invite, move and
cancel) is one :class:`Offer`: its kind, a fresh token its buttons carry, and what it offers
(a time, or the two readings of a time that happens twice; the visit it is about and that
visit's version as shown). It is kept in the conversation state under one key
(:meth:`Offer.to_state`) and read back, checked, by :meth:`Offer.answered`: a button of an
older offer (another token), an offer of another kind, one answered already or one whose
state is lost or unreadable is :class:`~bot.services.errors.OfferExpired`, the one "expired"
refusal, whatever the offer was. Nothing here knows where the state is kept (aiogram's FSM
for Telegram; a web page's session would do as well).
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Self

from bot.domain.refusals import OfferKind
from bot.services.appointments import Ambiguity, VisitTime
from bot.services.errors import OfferExpired

__all__ = ["Offer", "OfferExpired", "OfferKind", "TimeChoice", "new_token"]

TimeChoice = Literal["starts_at", "earlier", "later"]
"""The time an answer takes: the one offered, or one of the two readings of an ambiguity."""

STATE_KEY = "offer"
"""Where the offer is kept in the conversation state."""


def new_token() -> str:
    """A short random token that binds a confirmation button to the offer that showed it: a
    button from an older offer carries another token and answers "expired"."""
    return secrets.token_urlsafe(6)


@dataclass(frozen=True)
class Offer:
    kind: OfferKind
    token: str = field(default_factory=new_token)
    zone: str | None = None
    """The zone the times are read and shown in."""
    starts_at: datetime | None = None
    earlier: datetime | None = None
    later: datetime | None = None
    visit: int | None = None
    """The visit the offer moves or cancels (/forget finds the team's offers by it)."""
    version: int | None = None
    """The visit's version as the offer showed it (changed since: not changed)."""
    member: int | None = None
    """The team member the offer is about (removing them)."""

    @classmethod
    def of_reading(cls, kind: OfferKind, reading: VisitTime | Ambiguity, **about: Any) -> Self:
        """The offer of a time as read: one to confirm, or two to pick from."""
        if isinstance(reading, Ambiguity):
            return cls(
                kind,
                zone=reading.earlier.zone,
                earlier=reading.earlier.starts_at,
                later=reading.later.starts_at,
                **about,
            )
        return cls(kind, zone=reading.zone, starts_at=reading.starts_at, **about)

    @property
    def ambiguous(self) -> bool:
        return self.earlier is not None and self.later is not None

    def instant(self, choice: TimeChoice = "starts_at") -> datetime:
        """The time the answer takes (aware UTC); OfferExpired if this offer has none."""
        instant: datetime | None = getattr(self, choice)
        if instant is None:
            raise OfferExpired(self.kind)
        return instant

    def visit_time(self, choice: TimeChoice = "starts_at") -> VisitTime:
        """The time the answer takes with the offer's zone, to be checked again (time has
        passed since it was offered)."""
        if self.zone is None:
            raise OfferExpired(self.kind)
        return VisitTime(self.instant(choice), self.zone)

    # --- kept in the conversation state ---------------------------------------------------
    def to_state(self) -> dict[str, object]:
        """The offer as JSON values, under its key of the conversation state."""
        values: dict[str, object] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            values[f.name] = value.isoformat() if isinstance(value, datetime) else value
        return {STATE_KEY: values}

    @classmethod
    def held(cls, data: Mapping[str, Any], kind: OfferKind) -> Self:
        """The offer of this kind kept in the conversation state; OfferExpired when there is
        none, it is of another kind, or cannot be read."""
        stored = data.get(STATE_KEY)
        if not isinstance(stored, Mapping) or stored.get("kind") != kind:
            raise OfferExpired(kind)
        try:
            return cls(
                kind,
                token=_text(stored, "token") or "",
                zone=_text(stored, "zone"),
                starts_at=_instant(stored, "starts_at"),
                earlier=_instant(stored, "earlier"),
                later=_instant(stored, "later"),
                visit=_number(stored, "visit"),
                version=_number(stored, "version"),
                member=_number(stored, "member"),
            )
        except (TypeError, ValueError) as exc:
            raise OfferExpired(kind) from exc

    @classmethod
    def answered(cls, data: Mapping[str, Any], kind: OfferKind, token: str | None) -> Self:
        """The offer a button with `token` answers: the one kept, if the token is its own."""
        offer = cls.held(data, kind)
        if not token or token != offer.token:
            raise OfferExpired(kind)
        return offer

    @classmethod
    def answers(cls, data: Mapping[str, Any], kind: OfferKind, token: str | None) -> bool:
        """Whether a button with `token` answers the offer of this kind kept in `data` (for
        an answer that has more to say than "expired": "already saved", say)."""
        try:
            cls.answered(data, kind, token)
        except OfferExpired:
            return False
        return True

    def about(self, *, visit: int | None = None, member: int | None = None) -> Self:
        """This offer, if it is about this visit or member (a button names it too)."""
        if (visit is not None and self.visit != visit) or (
            member is not None and self.member != member
        ):
            raise OfferExpired(self.kind)
        return self


def _text(stored: Mapping[str, Any], name: str) -> str | None:
    value = stored.get(name)
    if value is not None and not isinstance(value, str):
        raise TypeError(name)
    return value


def _number(stored: Mapping[str, Any], name: str) -> int | None:
    value = stored.get(name)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise TypeError(name)
    return value


def _instant(stored: Mapping[str, Any], name: str) -> datetime | None:
    text = _text(stored, name)
    if text is None:
        return None
    instant = datetime.fromisoformat(text)
    if instant.tzinfo is None:
        raise ValueError(name)
    return instant.astimezone(UTC)
