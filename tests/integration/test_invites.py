"""Invite links end to end on a migrated database (SQLite and PostgreSQL): staff create one,
a patient redeems it once, and the visit is booked with its reminders planned."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.db.invites import InviteRepository
from bot.db.models import Appointment, Invite, Reminder
from bot.domain.audit import Actor
from bot.domain.invite_codes import code_hash, new_code
from bot.domain.staff import Role
from bot.services.appointments import VisitTime
from bot.services.errors import InviteRefused, NotAllowed
from bot.services.invites import (
    AlreadyUsed,
    CreatedInvite,
    Declined,
    Expired,
    Linked,
    TooManyTries,
    Unknown,
)
from bot.services.redemptions import LIMIT, WINDOW
from bot.services.staff import UnusableTeamLink
from foundation.clock import FrozenClock
from tests.conftest import DEFAULT_NOW
from tests.integration.pg import DATABASE_KINDS
from tests.integration.staff_rig import BOT, ENV_ADMIN, ZONE, Clinic, clinic_on, patient_of

ADMIN = Actor(ENV_ADMIN)
NURSE = Actor(501)
PAT, PAT2 = 1001, 1002
# Thursday 3 December 2026, 2:30 PM in New York.
START = datetime(2026, 12, 3, 19, 30, tzinfo=UTC)


@pytest.fixture(params=DATABASE_KINDS)
async def clinic(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Clinic]:
    async with clinic_on(request.param, tmp_path, FrozenClock(DEFAULT_NOW)) as c:
        async with c.unit() as u:
            await u.staff.add(ADMIN, NURSE.telegram_id)
        await c.add_patient(PAT)
        await c.add_patient(PAT2)
        yield c


async def create(
    clinic: Clinic, when: str | datetime = START, label: str = "J.D."
) -> CreatedInvite:
    async with clinic.unit() as u:
        return await u.invites.create(NURSE, when, label, bot_username=BOT)


async def redeem(clinic: Clinic, code: str, telegram_id: int = PAT) -> object:
    async with clinic.unit() as u:
        return await u.invites.redeem(code, await patient_of(u, telegram_id))


async def invites(clinic: Clinic) -> list[Invite]:
    async with clinic.sessions() as session:
        return list((await session.execute(select(Invite).order_by(Invite.id))).scalars())


async def test_staff_create_a_link_and_only_the_hash_is_stored(clinic: Clinic) -> None:
    made = await create(clinic, label="  #4471 ")
    assert made.link == f"https://t.me/{BOT}?start={made.code}"
    assert (made.starts_at, made.zone) == (START, ZONE)
    assert made.expires_at == DEFAULT_NOW + timedelta(days=7)
    [row] = await invites(clinic)
    assert row.code_hash == code_hash(made.code)
    assert row.label == "#4471"
    assert (row.starts_at, row.timezone, row.created_by) == (START, ZONE, NURSE.telegram_id)
    assert (row.used_at, row.used_by_patient_id, row.appointment_id) == (None, None, None)
    line = (await clinic.audit())[-1]
    assert (line.actor_telegram_id, line.action, line.target) == (
        501,
        "invite.create",
        f"invite:{row.id}",
    )
    assert line.after == {
        "starts_at": "2026-12-03T19:30:00+00:00",
        "zone": ZONE,
        "expires_at": "2026-11-30T15:00:00+00:00",
        "visit_type": "infusion",
    }
    # Neither the code nor the label reach the log.
    assert made.code not in repr(line)
    assert "4471" not in repr(line)


async def test_a_time_is_typed_text_a_wall_time_or_an_instant(clinic: Clinic) -> None:
    typed = await create(clinic, "12/3 2:30pm")
    wall = await create(clinic, datetime(2026, 12, 3, 14, 30))
    assert typed.starts_at == wall.starts_at == START
    with pytest.raises(InviteRefused) as caught:
        await create(clinic, datetime(2027, 11, 7, 1, 30))  # happens twice in New York
    assert caught.value.code == "ambiguous"
    earlier, later = caught.value.earlier, caught.value.later
    assert earlier is not None and later is not None and earlier < later
    chosen = await create(clinic, later)
    assert chosen.starts_at == datetime(2027, 11, 7, 6, 30, tzinfo=UTC)
    with pytest.raises(InviteRefused) as caught:  # on a Monday: this week's or next week's?
        await create(clinic, "next tuesday 10am")
    assert caught.value.code == "ambiguous" and caught.value.reason == "two_weeks"
    assert caught.value.later == datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
    refused: list[tuple[str | datetime, str]] = [
        ("soonish", "unreadable"),
        (DEFAULT_NOW - timedelta(hours=1), "past"),
    ]
    for when, code in refused:
        with pytest.raises(InviteRefused) as caught:
            await create(clinic, when)
        assert caught.value.code == code
    for label, code in [
        ("", "label_empty"),
        ("a\nb", "label_control"),
        ("x" * 33, "label_too_long"),
        ("what's a label?", "label_question"),
        ("¿qué pongo aquí", "label_question"),
        ("what do I put here, the chart number or the initials?", "label_question"),
    ]:
        with pytest.raises(InviteRefused) as caught:
            await create(clinic, START, label)
        assert caught.value.code == code
    async with clinic.unit() as u:
        with pytest.raises(InviteRefused) as caught:
            await u.invites.create(NURSE, START, "J.D.", bot_username=BOT, zone="Mars/Base")
    assert caught.value.code == "unknown_zone"


async def test_a_stranger_cannot_create_invites_and_is_audited(clinic: Clinic) -> None:
    async with clinic.unit() as u:
        with pytest.raises(NotAllowed):
            await u.invites.create(Actor(PAT), START, "J.D.", bot_username=BOT)
    assert await invites(clinic) == []
    line = (await clinic.audit())[-1]
    assert (line.actor_telegram_id, line.action, line.outcome) == (PAT, "invite.create", "refused")


async def test_an_invite_never_outlives_its_visit(clinic: Clinic) -> None:
    made = await create(clinic, DEFAULT_NOW + timedelta(days=2))
    assert made.expires_at == DEFAULT_NOW + timedelta(days=2)


async def test_redeeming_books_the_visit_with_its_reminders_and_links_the_invite(
    clinic: Clinic,
) -> None:
    made = await create(clinic)
    result = await redeem(clinic, made.code)
    assert isinstance(result, Linked)
    assert (result.invite_id, result.starts_at, result.zone) == (made.invite_id, START, ZONE)
    async with clinic.unit() as u:
        patient = await patient_of(u, PAT)
        [visit] = await u.repo.upcoming_appointments(patient.id, DEFAULT_NOW)
        planned = await u.repo.reminders.for_appointment(visit.id)
    assert visit.id == result.appointment_id
    assert (visit.starts_at, visit.timezone) == (START, ZONE)
    assert set(planned) == {step.key for step in clinic.plan.steps}
    [row] = await invites(clinic)
    assert (row.used_at, row.used_by_patient_id, row.appointment_id) == (
        DEFAULT_NOW,
        patient.id,
        visit.id,
    )
    line = (await clinic.audit())[-1]
    assert (line.actor_telegram_id, line.surface, line.action, line.outcome) == (
        None,
        "telegram",
        "invite.redeem",
        "done",
    )
    assert line.after == {"patient_id": patient.id, "appointment_id": visit.id}


async def test_a_used_code_is_already_used_for_everyone(clinic: Clinic) -> None:
    made = await create(clinic)
    assert isinstance(await redeem(clinic, made.code), Linked)
    assert await redeem(clinic, made.code) == AlreadyUsed(by_this_patient=True)
    assert await redeem(clinic, made.code, PAT2) == AlreadyUsed(by_this_patient=False)
    assert await clinic.count(Appointment) == 1


@pytest.mark.parametrize("code", ["", "no such code", "../../etc", "x" * 65, "\u202e"])
async def test_forged_codes_are_unknown(clinic: Clinic, code: str) -> None:
    await create(clinic)
    assert await redeem(clinic, code) == Unknown()
    assert await redeem(clinic, new_code()) == Unknown()
    [row] = await invites(clinic)
    assert row.used_at is None


async def test_an_expired_invite_is_expired_and_stays_unused(clinic: Clinic) -> None:
    made = await create(clinic)
    clinic.clock.advance(timedelta(days=7))
    assert await redeem(clinic, made.code) == Expired()
    [row] = await invites(clinic)
    assert row.used_at is None
    assert await clinic.count(Appointment) == 0


async def test_a_patient_who_booked_that_time_already_is_linked_to_that_visit(
    clinic: Clinic,
) -> None:
    async with clinic.unit() as u:
        own = await u.invites.appointments.confirm(await patient_of(u, PAT), VisitTime(START, ZONE))
        own_id = own.id
    result = await redeem(clinic, (await create(clinic)).code)
    assert isinstance(result, Linked)
    assert result.appointment_id == own_id
    assert await clinic.count(Appointment) == 1


async def test_a_refusal_of_the_booking_rules_leaves_the_invite_unused(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = await create(clinic)
    monkeypatch.setattr("bot.services.appointments.MAX_UPCOMING", 0)
    assert await redeem(clinic, made.code) == Declined("too_many")
    [row] = await invites(clinic)
    assert row.used_at is None
    monkeypatch.undo()
    assert isinstance(await redeem(clinic, made.code), Linked)


async def test_two_taps_racing_for_one_code_link_exactly_once(clinic: Clinic) -> None:
    """Both redeems read the unused invite before either claims it; the conditional UPDATE
    lets one through. SQLite lets one writer in at a time (the other may meet a lock, as a
    unit of work would, and runs again); PostgreSQL re-checks the condition after the
    winner committed."""
    made = await create(clinic)
    both_read = asyncio.Barrier(2)
    by_hash = InviteRepository.by_hash

    async def read_then_wait(self: InviteRepository, digest: str) -> Invite | None:
        found = await by_hash(self, digest)
        await asyncio.wait_for(both_read.wait(), 5)
        return found

    async def tap(telegram_id: int) -> object:
        return await redeem(clinic, made.code, telegram_id)

    InviteRepository.by_hash = read_then_wait  # type: ignore[method-assign,assignment]
    try:
        results = await asyncio.gather(tap(PAT), tap(PAT2))
    finally:
        InviteRepository.by_hash = by_hash  # type: ignore[method-assign]
    assert sorted(type(r).__name__ for r in results) == ["AlreadyUsed", "Linked"]
    assert await clinic.count(Appointment) == 1
    assert await clinic.count(Reminder) == len(clinic.plan.steps)
    [row] = await invites(clinic)
    assert row.appointment_id is not None


async def test_a_patient_who_forgets_everything_leaves_no_trace_in_invites_or_audit(
    clinic: Clinic,
) -> None:
    made = await create(clinic)
    other = await create(clinic, label="K.L.")  # another patient's, untouched
    assert isinstance(await redeem(clinic, made.code), Linked)
    async with clinic.unit() as u:  # the patient tried a staff action: audited, with their id
        with pytest.raises(NotAllowed):
            await u.invites.create(Actor(PAT), START, "J.D.", bot_username=BOT)
    assert PAT in {line.actor_telegram_id for line in await clinic.audit()}
    async with clinic.unit() as u:
        assert await u.repo.delete_patient_everything(PAT)
    lines = await clinic.audit()
    assert PAT not in {line.actor_telegram_id for line in lines}
    # The invite they opened is gone (its label and times named them); its code now finds
    # nothing, so the link still cannot be used.
    [row] = await invites(clinic)
    assert row.id == other.invite_id
    assert isinstance(await redeem(clinic, made.code, PAT2), Unknown)
    assert await clinic.count(Appointment) == 0
    # The lines stay (staff made an invite, someone opened it) without naming which, or when.
    done = [a for a in lines if a.outcome == "done" and a.action.startswith("invite.")]
    assert [(a.action, a.target, a.before) for a in done] == [
        ("invite.create", "invite:forgotten", None),
        ("invite.create", f"invite:{other.invite_id}", None),
        ("invite.redeem", "invite:forgotten", None),
    ]
    assert done[0].after is None and done[2].after is None
    assert done[1].after is not None and "starts_at" in done[1].after


async def test_guessing_codes_is_audited_counted_and_throttled(clinic: Clinic) -> None:
    """Five links that cannot be used in an hour, then the next tries are refused without a
    look at the code, even a good one; the failures and the first refusal are in the audit
    log with the guesser as actor; the count is per person and runs out after the hour."""
    made = await create(clinic)
    seen: list[tuple[str, str]] = []

    async def attempt(code: str, telegram_id: int = PAT) -> object:
        async with clinic.unit() as u:
            u.staff.redemptions.observe = lambda kind, outcome: seen.append((kind, outcome))
            return await u.invites.redeem(code, await patient_of(u, telegram_id))

    for _ in range(LIMIT):
        assert await attempt(new_code()) == Unknown()
    assert await attempt(made.code) == TooManyTries()  # good, but not looked at
    assert await attempt(new_code()) == TooManyTries()
    [row] = await invites(clinic)
    assert row.used_at is None
    lines = [a for a in await clinic.audit() if a.action == "invite.redeem"]
    assert [(a.actor_telegram_id, a.outcome, a.target, a.after) for a in lines] == [
        *[(PAT, "refused", "invite:?", {"reason": "unknown"})] * LIMIT,
        (PAT, "refused", "invite:?", {"reason": "throttled"}),  # once, not per try
    ]
    assert seen == [("patient", "unknown")] * LIMIT + [("patient", "throttled")] * 2
    # Another person is not held back; the guesser is, until an hour after their failures.
    assert isinstance(await attempt(made.code, PAT2), Linked)
    clinic.clock.advance(WINDOW + timedelta(seconds=1))
    assert await attempt(new_code()) == Unknown()
    assert seen[-2:] == [("patient", "linked"), ("patient", "unknown")]


async def test_a_team_link_guess_counts_with_the_patient_ones(clinic: Clinic) -> None:
    async with clinic.unit() as u:
        link = await u.staff.invite(ADMIN, Role.STAFF, bot_username=BOT)
    payload = link.link.rsplit("start=", 1)[1]
    for _ in range(LIMIT - 1):
        assert await redeem(clinic, new_code()) == Unknown()
    async with clinic.unit() as u:
        assert isinstance(await u.staff.join(f"team-{new_code()}", PAT), UnusableTeamLink)
    async with clinic.unit() as u:
        assert await u.staff.join(payload, PAT) == TooManyTries()
    lines = [a for a in await clinic.audit() if a.outcome == "refused"]
    assert [(a.action, a.target) for a in lines][-2:] == [
        ("staff.join", "staff_invite:?"),
        ("staff.join", "staff_invite:?"),
    ]
    assert lines[-1].after == {"reason": "throttled"}
    async with clinic.unit() as u:
        assert await u.staff.role_of(PAT) is None
