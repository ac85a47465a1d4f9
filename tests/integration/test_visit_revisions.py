"""The visit's revision (bot/intake/events.py, "Order"), on SQLite and PostgreSQL: every
change of a visit of the clinic's schedule, the clinic's (the API's PUT and DELETE) and the
patient's (answers in the bot), counts one more, in the transaction of the change; its event
carries it and the API's visit shows it; a change that changes nothing counts nothing and
tells nothing; the two sides interleaved keep one order, also when they race (PostgreSQL: the
second waits for the first's row), so a receiver that keeps the highest revision ends where
the bot is, in whatever order events and answers reach it."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.db.models import Appointment, IntakeEvent, IntakeVisit
from bot.domain.audit import Action, Actor, Surface
from bot.intake.api_models import VisitState
from bot.intake.rows import IntakeRow
from bot.services.appointments import VisitTime
from bot.services.intake import RowResult
from bot.services.intake_events import IntakeEvents
from bot.services.invites import Linked
from foundation.clock import FrozenClock
from tests.integration.pg import DATABASE_KINDS
from tests.integration.staff_rig import ENV_ADMIN, Clinic, clinic_on, patient_of
from tests.integration.test_intake_service import SETTINGS, link, raw, rows

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
API = Actor(0, Surface.API)
PAT = 7001


@pytest.fixture(params=DATABASE_KINDS)
async def clinic(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Clinic]:
    async with clinic_on(request.param, tmp_path, FrozenClock(NOW), **SETTINGS) as c:
        # The source "acme" has a webhook: its visits' answers are recorded as events.
        c.services = replace(
            c.services, intake_events=IntakeEvents({"acme"}, c.clock, schedule=True)
        )
        yield c


async def put(clinic: Clinic, start: str = "2026-11-25 09:30") -> tuple[RowResult, VisitState]:
    """The clinic's PUT of visit R-1 (patient MRN-1) at `start`: its result and the state."""
    [row] = await rows(clinic, raw("R-1", "MRN-1", start))
    assert isinstance(row, IntakeRow)
    async with clinic.unit() as u:
        outcome = await u.intake.put(row, API)
    assert outcome.state is not None
    if outcome.invite is not None:
        assert isinstance(await link(clinic, outcome.invite.code), Linked)
    return outcome.result, outcome.state


async def state(clinic: Clinic) -> VisitState:
    async with clinic.unit() as u:
        found = await u.intake.state("acme", "R-1")
    assert found is not None
    return found


async def events(clinic: Clinic) -> list[tuple[str, int]]:
    """The recorded events (type, revision), in the order they were written."""
    async with clinic.sessions() as session:
        found = await session.execute(select(IntakeEvent.body).order_by(IntakeEvent.id))
        bodies = [json.loads(body) for body in found.scalars()]
    return [(b["type"], b["revision"]) for b in bodies]


async def appointment_id(clinic: Clinic) -> int:
    async with clinic.sessions() as session:
        visit = (await session.execute(select(IntakeVisit))).scalar_one()
    assert visit.appointment_id is not None
    return visit.appointment_id


async def confirm(clinic: Clinic) -> None:
    """The patient: "I can come after all"."""
    visit = await appointment_id(clinic)
    async with clinic.unit() as u:
        await u.preparation.come_after_all(await patient_of(u, PAT), visit)


async def patient_moves(clinic: Clinic, to: datetime) -> None:
    visit = await appointment_id(clinic)
    async with clinic.unit() as u:
        await u.appointments.confirm(
            await patient_of(u, PAT), VisitTime(to, "America/New_York"), visit
        )


async def test_two_changes_in_a_row_count_up_and_a_change_of_nothing_counts_nothing(
    clinic: Clinic,
) -> None:
    result, created = await put(clinic)
    assert (result, created.revision) == (RowResult.CREATED, 1)
    # Opening the link attached the visit: the patient's first change (visit.linked).
    assert (await state(clinic)).revision == 2
    result, moved = await put(clinic, "2026-11-25 11:00")
    assert (result, moved.revision) == (RowResult.MOVED, 3)
    result, again = await put(clinic, "2026-11-25 11:00")
    assert (result, again.revision) == (RowResult.UNCHANGED, 3)  # the same row: nothing
    await confirm(clinic)
    await confirm(clinic)  # a second tap: the answer is given already
    assert (await state(clinic)).revision == 4
    visit = await appointment_id(clinic)
    for _ in range(2):  # "Yes, cancel it" twice
        async with clinic.unit() as u:
            await u.appointments.cancel(await patient_of(u, PAT), visit)
    assert (await state(clinic)).revision == 5
    # The clinic's own changes have no event; each of the patient's has one, and no no-op.
    assert await events(clinic) == [
        ("visit.linked", 2),
        ("visit.confirmed", 4),
        ("visit.cancelled", 5),
    ]


async def test_the_patients_and_the_clinics_changes_interleaved_keep_one_order(
    clinic: Clinic,
) -> None:
    _, first = await put(clinic)
    answers = [first]
    await patient_moves(clinic, datetime(2026, 11, 26, 15, 0, tzinfo=UTC))  # 3: visit.moved
    answers.append((await put(clinic, "2026-11-25 13:00"))[1])  # 4: the clinic moves it back
    await confirm(clinic)  # 5: visit.confirmed
    async with clinic.unit() as u:  # 6: the clinic's DELETE
        cancelled = await u.intake.cancel("acme", "R-1", API)
    assert cancelled.state is not None
    answers.append(cancelled.state)
    assert await events(clinic) == [
        ("visit.linked", 2),
        ("visit.moved", 3),
        ("visit.confirmed", 5),
    ]
    assert [a.revision for a in answers] == [1, 4, 6]
    final = await state(clinic)
    assert (final.revision, final.status) == (6, "cancelled")
    # A receiver that keeps the highest revision ends at the bot's, whatever the order it
    # hears things in (events retried late, answers to its own calls).
    heard = [(r, f"event {t}") for t, r in await events(clinic)]
    heard += [(a.revision, f"answer {a.status}") for a in answers]
    for seed in range(20):
        random.Random(seed).shuffle(heard)
        kept = 0, ""
        for revision, what in heard:
            if revision > kept[0]:
                kept = revision, what
        assert kept == (6, "answer cancelled")


async def test_racing_changes_of_one_visit_wait_for_each_other_and_count_on(
    clinic: Clinic, request: pytest.FixtureRequest
) -> None:
    if "sqlite" in request.node.callspec.id:
        pytest.skip("SQLite lets one writer in at a time: no two transactions race")
    await put(clinic)
    visit = await appointment_id(clinic)
    # The patient's answer is written and not committed yet; the clinic's PUT meanwhile.
    async with clinic.unit() as u:
        await u.preparation.come_after_all(await patient_of(u, PAT), visit)
        clinic_put = asyncio.create_task(put(clinic, "2026-11-25 12:00"))
        await asyncio.sleep(0.3)
        assert not clinic_put.done()  # waiting for the visit's row
    result, after = await clinic_put
    assert (result, after.revision) == (RowResult.MOVED, 4)
    assert await events(clinic) == [("visit.linked", 2), ("visit.confirmed", 3)]
    async with clinic.sessions() as session:
        moved = await session.get(Appointment, visit)
    assert moved is not None and moved.attendance is None  # the later move cleared it


STAFF = Actor(ENV_ADMIN, Surface.TELEGRAM)


async def staff_moves(clinic: Clinic, to: datetime) -> bool:
    """A team member moves the visit from the roster (bot/services/visit_changes.py) and
    confirms the time they read: whether it changed anything."""
    visit = await appointment_id(clinic)
    async with clinic.unit() as u:
        shown = await u.visit_changes.visit(STAFF, visit, Action.VISIT_MOVE)
        change = await u.visit_changes.move(STAFF, visit, to, shown.version)
    return change.changed


async def test_a_team_members_move_counts_once_and_tells_the_clinic(clinic: Clinic) -> None:
    """The roster's Move is a change of the visit as the patient's and the API's are: one
    more revision in its transaction and one ``visit.moved``; a move to the time the visit
    has (or a second tap) counts nothing and tells nothing. A team member's cancel likewise."""
    await put(clinic)
    assert (await state(clinic)).revision == 2  # created, then linked
    to = datetime(2026, 11, 26, 16, 0, tzinfo=UTC)
    assert await staff_moves(clinic, to)
    assert (await state(clinic)).revision == 3
    assert not await staff_moves(clinic, to)  # already there: nothing
    assert (await state(clinic)).revision == 3
    async with clinic.sessions() as session:
        [moved] = [
            json.loads(body)
            for body in (await session.execute(select(IntakeEvent.body))).scalars()
            if json.loads(body)["type"] == "visit.moved"
        ]
    assert moved["data"] == {"start": "2026-11-26T16:00:00Z", "zone": "America/New_York"}
    assert moved["external_id"] == "R-1"
    visit = await appointment_id(clinic)
    for _ in range(2):  # "Yes, cancel it" twice
        async with clinic.unit() as u:
            await u.visit_changes.cancel(STAFF, visit)
    final = await state(clinic)
    assert final.revision == 4
    assert await events(clinic) == [
        ("visit.linked", 2),
        ("visit.moved", 3),
        ("visit.cancelled", 4),
    ]
