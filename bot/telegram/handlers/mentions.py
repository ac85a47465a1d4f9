"""A visit the patient speaks of in passing, outside the booking steps (bot/domain/
visit_mentions.py reads how; `AppointmentService.mentioned` and `moved_without_time` what).

A visit with its time ("my first infusion is next tuesday at 9:30") is offered to be added,
read back as the booking steps read a typed time back, with their Confirm and Change buttons.
One the patient says was moved, with its new time ("they moved my appt to friday at 11"), is
offered as a move of their visit: both times read back in the patient's zone, *Move it* (the
change path of /appointment, bot/telegram/handlers/appointments.py `move_mentioned`), *Add
as another visit*, *Change*; with several visits, which one. Said moved without the new time
("they moved it", "me cambiaron la cita"), the bot asks which visit (several) and its new
date and time, and reads the answer back in that same offer (appointments.py `read_time`,
the conversation marked ``moved``); with no visit saved, it says so and offers to add one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from typing import Any

from aiogram.fsm.context import FSMContext

from bot.content.catalogue import (
    AppointmentAmbiguous,
    AppointmentConfirm,
    AppointmentMovedAsk,
    AppointmentMovedNone,
    AppointmentMovedWhich,
    AppointmentMoveMentioned,
    AppointmentMoveWhich,
)
from bot.db.models import Appointment, Patient
from bot.domain.when_parser import WhenReading
from bot.services.appointments import Ambiguity, HalfAnswer, Mention, VisitTime
from bot.services.container import ServiceScope
from bot.services.offers import Offer, OfferKind
from bot.telegram.reply import Reply
from bot.telegram.states import Booking

__all__ = [
    "ask_moved_time",
    "ask_moved_visit",
    "half_from_state",
    "half_to_state",
    "moved_visits",
    "offer_mentioned_visit",
    "offer_move",
]


def half_to_state(half: WhenReading) -> dict[str, Any]:
    """Half of a date and time ("tomorrow", "2:30") as the conversation keeps it, for the
    next answer to complete."""
    return {
        "half_day": half.day.isoformat() if half.day else None,
        "half_clock": half.clock.isoformat("minutes") if half.clock else None,
        "half_part": half.part,
        "half_swapped": half.swapped,
        "half_other_day": half.other_day.isoformat() if half.other_day else None,
        "half_next_year": half.next_year,
    }


def half_from_state(data: dict[str, Any]) -> WhenReading | None:
    """The half answer kept from the patient's previous message ("tomorrow", then "2:30")."""
    day, clock, part = data.get("half_day"), data.get("half_clock"), data.get("half_part")
    other = data.get("half_other_day")
    try:
        reading = WhenReading(
            date.fromisoformat(day) if isinstance(day, str) else None,
            time.fromisoformat(clock) if isinstance(clock, str) else None,
            part if part in ("morning", "afternoon", "evening", "night") else None,
            bool(data.get("half_swapped")),
            date.fromisoformat(other) if isinstance(other, str) and day else None,
            next_year=bool(data.get("half_next_year")) and day is not None,
        )
    except ValueError:
        return None
    return reading if reading.day is not None or reading.clock is not None else None


async def offer_mentioned_visit(
    text: str, state: FSMContext, reply: Reply, patient: Patient, svc: ServiceScope
) -> bool:
    """A visit the patient spoke of in passing with its time, offered to be added, or, when
    they said their visit was moved, to move it (see the module's docstring); False when the
    text mentions none, or the patient has not agreed to storage."""
    if not patient.has_consented:
        return False
    mention = await svc.appointments.mentioned(patient, text, patient.language)
    if mention is None:
        return False
    await offer_move(state, reply, patient, mention)
    return True


async def offer_move(state: FSMContext, reply: Reply, patient: Patient, mention: Mention) -> None:
    """Offer `mention`'s time: as a new visit (no visit said moved; "next tuesday" that may
    be either week: the two to pick from), or as the new time of the one visit said moved
    (*Move it*, *Add as another visit*, *Change*), or of one of several (which one)."""
    found = mention.time
    # One visit said moved is held as the change of /appointment holds it (Change types the
    # new time of this visit); otherwise the time is offered as a new visit.
    moving = mention.moved[0] if len(mention.moved) == 1 else None
    if moving is None:
        offer = Offer.of_reading(OfferKind.BOOKING, found)
        replacing: dict[str, int | None] = {"replace_id": None, "replace_version": None}
    else:
        offer = Offer.of_reading(OfferKind.BOOKING, found, visit=moving.id, version=moving.version)
        replacing = {"replace_id": moving.id, "replace_version": moving.version}
    await state.set_data({**replacing, **offer.to_state()})
    await state.set_state(Booking.confirming)
    if isinstance(found, Ambiguity):  # never said moved (AppointmentService.mentioned)
        earlier, later = found.earlier.local, found.later.local
        reply.send(
            AppointmentAmbiguous(
                earlier=earlier,
                later=later,
                ambiguity=found.reason,
                tomorrow=found.tomorrow,
                mentioned=True,
            ),
            reply.kb.draft_ambiguous(earlier, later, offer.token),
        )
        return
    if not mention.moved:
        reply.send(
            AppointmentConfirm(
                when=found.local,
                changing=False,
                day_first=found.day_first,
                mentioned=True,
                next_year=found.next_year,
            ),
            reply.kb.draft_confirm(offer.token),
        )
        return
    # Shown in the patient's zone, whatever zone each visit was booked in.
    shown = [(visit, _local(visit, patient)) for visit in mention.moved]
    if moving is not None:
        reply.send(
            AppointmentMoveMentioned(old=shown[0][1], when=found.local, day_first=found.day_first),
            reply.kb.move_mentioned(moving, offer.token),
        )
        return
    reply.send(
        AppointmentMoveWhich(
            when=found.local, items=[old for _, old in shown], day_first=found.day_first
        ),
        reply.kb.move_which(shown, offer.token),
    )


async def ask_moved_visit(
    text: str, state: FSMContext, reply: Reply, patient: Patient, svc: ServiceScope
) -> bool:
    """The patient says their visit was moved without its new time: ask its new date and
    time (several visits: which one first; none saved: say so and offer to add one). False
    when the text says no such thing, or the patient has not agreed to storage."""
    if not patient.has_consented:
        return False
    moved = await svc.appointments.moved_without_time(patient, text, patient.language)
    if moved is None:
        return False
    if not moved.visits:
        await state.clear()
        reply.send(AppointmentMovedNone(), reply.kb.add_visit())
        return True
    if len(moved.visits) == 1:
        await ask_moved_time(state, reply, patient, svc, moved.visits[0], moved.half)
        return True
    # Which one? A tap asks that visit's new time; a time typed instead is read back with the
    # visits to pick from (AppointmentMoveWhich), as when it was said at once.
    await state.set_state(Booking.waiting_for_time)
    await state.set_data(_moved_state(None, moved.half))
    shown = [(visit, _local(visit, patient)) for visit in moved.visits]
    reply.send(AppointmentMovedWhich(items=[old for _, old in shown]), reply.kb.moved_which(shown))
    return True


async def ask_moved_time(
    state: FSMContext,
    reply: Reply,
    patient: Patient,
    svc: ServiceScope,
    visit: Appointment,
    half: HalfAnswer | None,
) -> None:
    """Ask the new date and time of `visit`, said moved (the rest of it, when `half` holds
    half); the answer is read back as a move of it (appointments.py `read_time`)."""
    await state.set_state(Booking.waiting_for_time)
    await state.set_data(_moved_state(visit, half))
    reading = half.reading if half is not None else None
    reply.send(
        AppointmentMovedAsk(
            old=_local(visit, patient),
            day=datetime.combine(reading.day, time(12)) if reading and reading.day else None,
            clock=(
                datetime.combine(date(2000, 1, 1), reading.clock)
                if reading and reading.clock
                else None
            ),
            place=svc.patients.describe_zone(patient.timezone, reply.lang),
            example=svc.appointments.example(patient.timezone),
        ),
        reply.kb.home(),
    )


def _moved_state(visit: Appointment | None, half: HalfAnswer | None) -> dict[str, Any]:
    return {
        "replace_id": visit.id if visit is not None else None,
        "replace_version": visit.version if visit is not None else None,
        "moved": True,
        **(half_to_state(half.reading) if half is not None else {}),
    }


def _local(visit: Appointment, patient: Patient) -> datetime:
    return VisitTime(visit.starts_at, patient.timezone).local


def moved_visits(visits: Sequence[Appointment], replace_id: int | None) -> tuple[Appointment, ...]:
    """The visits a time typed after "they moved it" may be the new time of: the one asked
    about, or (when the patient was asked which) all their upcoming ones."""
    if replace_id is None:
        return tuple(visits)
    return tuple(v for v in visits if v.id == replace_id)
