"""The roster: one local day of the clinic, as staff see it.

Each visit of the day (in the clinic's zone) with the label of the invite it came through (or
the patient's number), its local time, checklist progress, the attendance answer and what
became of its reminders; then the invites of that day nobody has opened yet. Staff only (the
permission check writes a refused attempt to the audit log). Plain async code: a web panel
would call it the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal

from bot.db.roster import RosterRepository
from bot.domain.audit import Action, Actor, target
from bot.domain.refusals import RosterProblem
from bot.domain.staff import Permission
from bot.domain.when_parser import WhenParseError, read_when
from bot.services.errors import RosterRefused
from bot.services.staff import StaffService
from foundation.clock import Clock
from foundation.timemath import load_zone, to_local

__all__ = ["PAGE_SIZE", "RosterDay", "RosterEntry", "RosterService"]

PAGE_SIZE = 10
MAX_DAYS_AWAY = 366
EXAMPLE_DAYS_AHEAD = 3


@dataclass(frozen=True, slots=True)
class RosterEntry:
    """One line of the roster: a visit, or an invite not opened yet (`kind` ``invite``)."""

    kind: Literal["visit", "invite"]
    local: datetime
    label: str | None
    patient_id: int | None
    checklist_done: int = 0
    checklist_total: int = 0
    attendance: str | None = None
    reminders_sent: int = 0
    reminders_failed: int = 0
    checkin: str | None = None
    """The answer to the day-after check-in (a Checkin), None while unanswered."""
    unreachable: bool = False
    expired: bool = False
    """An invite whose link can no longer be used."""
    appointment_id: int | None = None
    changeable: bool = False
    """A visit the clinic made (through an invite) that has not begun: staff may move or
    cancel it (bot/services/visit_changes.py)."""
    visit_type: str = "infusion"
    """The visit's type (bot/domain/visits.py VisitType): which plan it follows."""

    def as_line(self) -> dict[str, object]:
        """The values a template reads."""
        return {
            "kind": self.kind,
            "when": self.local,
            "label": self.label,
            "patient_id": self.patient_id,
            "done": self.checklist_done,
            "total": self.checklist_total,
            "attendance": self.attendance,
            "sent": self.reminders_sent,
            "failed": self.reminders_failed,
            "checkin": self.checkin,
            "unreachable": self.unreachable,
            "expired": self.expired,
            "visit_type": self.visit_type,
        }


@dataclass(frozen=True, slots=True)
class RosterDay:
    day: date
    zone: str
    entries: Sequence[RosterEntry]

    @property
    def pages(self) -> int:
        return max(1, -(-len(self.entries) // PAGE_SIZE))

    def page(self, number: int) -> tuple[int, Sequence[RosterEntry]]:
        """The page (from 0, clamped to those there are) and its entries."""
        number = min(max(number, 0), self.pages - 1)
        return number, self.entries[number * PAGE_SIZE : (number + 1) * PAGE_SIZE]

    @property
    def local_midnight(self) -> datetime:
        return datetime.combine(self.day, time(0), tzinfo=load_zone(self.zone))


class RosterService:
    def __init__(
        self,
        repo: RosterRepository,
        staff: StaffService,
        clock: Clock,
        *,
        checklists: Mapping[str, Sequence[str]],
        zone: str,
    ) -> None:
        """`checklists`: each visit type's checklist (its plan's items)."""
        self.repo = repo
        self.staff = staff
        self.clock = clock
        self.checklists = {kind: tuple(items) for kind, items in checklists.items()}
        self.checklist = tuple(dict.fromkeys(i for items in checklists.values() for i in items))
        self.zone = load_zone(zone)

    def today(self, days_ahead: int = 0) -> date:
        """The clinic's local date, `days_ahead` days on."""
        return to_local(self.clock.now(), self.zone).date() + timedelta(days=days_ahead)

    def example(self) -> datetime:
        """A day to show staff as an example (noon, in the clinic's zone), a few days ahead as
        the other staff examples are (AppointmentService.example): never a day gone by."""
        return datetime.combine(self.today(EXAMPLE_DAYS_AHEAD), time(12), tzinfo=self.zone)

    def read_day(self, text: str, lang: str = "en") -> date:
        """A day as staff type it, in the member's language (`lang`; the Spanish reader takes
        English words too): ``2026-12-03``, or whatever the patients' reader takes as a day
        (``12/3``, ``Dec 3``, ``tomorrow``, ``thursday``, ``el jueves``, ``mañana``).
        RosterRefused otherwise (``missing`` for no text)."""
        text = text.strip()
        if not text:
            raise RosterRefused(RosterProblem.MISSING)
        day = self._typed_day(text, lang)
        if day is None:  # unreadable, or a time alone ("3pm")
            raise RosterRefused(RosterProblem.UNREADABLE)
        if abs((day - self.today()).days) > MAX_DAYS_AWAY:
            raise RosterRefused(RosterProblem.TOO_FAR)
        return day

    def _typed_day(self, text: str, lang: str) -> date | None:
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
        now_local = to_local(self.clock.now(), self.zone).replace(tzinfo=None)
        try:
            return read_when(text, now_local=now_local, lang=lang).day
        except WhenParseError:
            return None

    async def day(self, actor: Actor, day: date | str, lang: str = "en") -> RosterDay:
        """The roster of `day`, a date or typed text in the member's language (read by
        :meth:`read_day` only once the actor is known to be staff: nobody else learns what
        the reader makes of it)."""
        where = target("roster", day) if isinstance(day, date) else "roster"
        await self.staff.require(actor, Permission.ROSTER, action=Action.ROSTER_READ, target=where)
        if isinstance(day, str):
            day = self.read_day(day, lang)
        start = datetime.combine(day, time(0), tzinfo=self.zone)
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.zone)
        now = self.clock.now()
        visits = await self.repo.visits(start, end, self.checklist)
        invites = await self.repo.open_invites(start, end)
        entries = [
            RosterEntry(
                kind="visit",
                local=to_local(v.starts_at, self.zone),
                label=v.label,
                patient_id=v.patient_id,
                checklist_done=v.ticked,
                checklist_total=len(self.checklists.get(v.visit_type, ())),
                attendance=v.attendance,
                reminders_sent=v.reminders_sent,
                reminders_failed=v.reminders_failed,
                checkin=v.checkin,
                unreachable=not v.reachable,
                appointment_id=v.appointment_id,
                changeable=v.label is not None and v.starts_at > now,
                visit_type=v.visit_type,
            )
            for v in visits
        ]
        entries += [
            RosterEntry(
                kind="invite",
                local=to_local(i.starts_at, self.zone),
                label=i.label,
                patient_id=None,
                expired=i.expires_at <= now,
                visit_type=i.visit_type,
            )
            for i in invites
        ]
        entries.sort(key=lambda e: (e.local, e.kind == "invite"))
        return RosterDay(day, self.zone.key, entries)
