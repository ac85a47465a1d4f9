"""A patient and a staff member changing the same visit at once each hear one true outcome.

The races are forced, not hoped for: one side's update is held right after it read the visit
(before it writes anything), the other side's update runs to its commit, then the first goes
on. Whoever comes second is told what the visit is now, and nothing of theirs is made: the
visit carries a version, and every change is a conditional UPDATE on the version its author
saw. The same holds when the other side's change came before the button was pressed (an old
screen). On SQLite and PostgreSQL (through the real dispatcher and the fake Bot API)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.db.models import Appointment, StaffAlert
from bot.db.patients import Repository
from bot.db.visit_changes import VisitChangeRepository
from bot.domain.visits import AppointmentStatus
from bot.services.patient_notices import VISIT_CANCELLED, VISIT_MOVED
from tests.conftest import DEFAULT_NOW
from tests.fake_telegram import updates
from tests.fake_telegram.server import FakeTelegramServer, RecordedRequest
from tests.integration import dbcheck
from tests.integration.harness import Harness, last_button, start_harness
from tests.integration.pg import DATABASE_KINDS, fresh_postgres_database
from tests.integration.test_staff_telegram import NURSE, PAT, audit_lines
from tests.integration.test_visit_changes import NEW, OLD, linked_patient, open_move

PATIENT_TIME = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)  # Fri 10:00 AM PST, 1:00 PM EST


@pytest.fixture(params=DATABASE_KINDS)
async def h(
    request: pytest.FixtureRequest, telegram: FakeTelegramServer, tmp_path: Path
) -> AsyncIterator[Harness]:
    async with AsyncExitStack() as stack:
        if request.param == "postgres":
            url = await stack.enter_async_context(fresh_postgres_database("races", migrated=True))
        else:
            url = f"sqlite+aiosqlite:///{tmp_path / 'races.db'}"
        yield await stack.enter_async_context(
            start_harness(telegram, tmp_path, now=DEFAULT_NOW, database_url=url)
        )


def hold_first_read(monkeypatch: pytest.MonkeyPatch, cls: type, name: str) -> asyncio.Event:
    """Hold the first update that reads the visit through ``cls.name`` right after the read,
    until the event returned is set; ``entered`` (an attribute of it) says it got there."""
    release = asyncio.Event()
    entered = asyncio.Event()
    original = getattr(cls, name)

    async def read_then_wait(self: Any, *args: Any, **kwargs: Any) -> Any:
        found = await original(self, *args, **kwargs)
        if not entered.is_set():
            entered.set()
            await release.wait()
        return found

    monkeypatch.setattr(cls, name, read_then_wait)
    release.entered = entered  # type: ignore[attr-defined]
    return release


async def race(
    h: Harness, held: dict[str, Any], release: asyncio.Event, other: dict[str, Any]
) -> tuple[list[RecordedRequest], list[RecordedRequest]]:
    """`held` goes first and is held after reading the visit; `other` runs to its end
    meanwhile; then `held` goes on. What each sent (by update, in the order they ended)."""
    before = len(h.server.requests)
    h.push_many([held])
    await asyncio.wait_for(release.entered.wait(), 10)  # type: ignore[attr-defined]
    done = h.app.inflight.completed
    h.push_many([other])
    deadline = asyncio.get_running_loop().time() + 10
    while h.app.inflight.completed < done + 1:  # `other` is handled while `held` waits
        assert asyncio.get_running_loop().time() < deadline, "the other side never finished"
        await asyncio.sleep(0.005)
    assert h.app.inflight.in_flight == 1
    middle = len(h.server.requests)
    release.set()
    await h.settle()
    return h.server.requests[middle:], h.server.requests[before:middle]


NOTICE = "<b>Your visit"
"""How the clinic's notices to the patient begin: they come from the outbox whenever its
loop runs, so they are told apart from the answers to a tap."""


def texts(sent: list[RecordedRequest], chat_id: int) -> list[str]:
    """The answers `chat_id` got (notices from the outbox left out)."""
    return [
        r.params.get("text", "")
        for r in sent
        if r.method.lower() == "sendmessage"
        and r.params.get("chat_id") == chat_id
        and not r.params.get("text", "").startswith(NOTICE)
    ]


async def press(h: Harness, user: int, data: str) -> list[str]:
    return texts(await h.feed(updates.callback_update(user, data)), user)


async def notices(h: Harness) -> list[str]:
    async with h.app.context.session_factory() as session:
        rows = await session.execute(
            select(StaffAlert.kind).where(StaffAlert.kind.in_((VISIT_MOVED, VISIT_CANCELLED)))
        )
        return sorted(rows.scalars())


async def the_visit(h: Harness) -> Appointment:
    [visit] = await dbcheck.appointments(h, PAT)
    return visit


async def patient_change_offer(h: Harness) -> str:
    """PAT opens their visit, presses Change and types Friday 10am (their zone, Los Angeles);
    the Confirm button's data."""
    await h.command(PAT, "appointment")
    await h.tap(PAT, "Nov 24")
    await h.tap(PAT, "Change time")
    [offer] = await h.send(PAT, "11/27 10am")
    assert "November 27" in offer
    return last_button(h.server, PAT, "Confirm")


async def patient_cancel_question(h: Harness) -> str:
    await h.command(PAT, "appointment")
    await h.tap(PAT, "Nov 24")
    [question] = await h.tap(PAT, "Cancel visit")
    assert "Cancel your appointment" in question
    return last_button(h.server, PAT, "Yes, cancel it")


async def staff_cancel_question(h: Harness) -> str:
    await h.command(NURSE, "tomorrow")
    await h.tap(NURSE, "Cancel 10:00 AM J.D.")
    return last_button(h.server, NURSE, "Yes, cancel")


async def test_a_patients_change_racing_a_staff_cancel(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's case: the visit ended cancelled at the patient's new time, and the patient
    heard both "Done" and "cancelled"."""
    await linked_patient(h)
    confirm = await patient_change_offer(h)
    yes = await staff_cancel_question(h)
    release = hold_first_read(monkeypatch, Repository, "appointment_for_patient")
    patient_sent, staff_sent = await race(
        h, updates.callback_update(PAT, confirm), release, updates.callback_update(NURSE, yes)
    )
    [cancelled] = texts(staff_sent, NURSE)
    assert "Cancelled" in cancelled
    [told] = texts(patient_sent, PAT)
    assert "just cancelled" in told and "nothing else was changed" in told
    visit = await the_visit(h)
    assert (visit.status, visit.starts_at) == (AppointmentStatus.CANCELLED, OLD)
    assert await notices(h) == [VISIT_CANCELLED]
    # The patient's offer is over; their conversation is not left half way.
    [stale] = await press(h, PAT, confirm)
    assert "expired" in stale or "can't find" in stale


async def test_a_patients_cancel_racing_a_staff_move(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's case on PostgreSQL: the patient cancelled, and then heard "your visit has
    moved" about the visit they had cancelled."""
    await linked_patient(h)
    yes = await patient_cancel_question(h)
    move = await open_move(h)
    release = hold_first_read(monkeypatch, Repository, "appointment_for_patient")
    patient_sent, staff_sent = await race(
        h, updates.callback_update(PAT, yes), release, updates.callback_update(NURSE, move)
    )
    [moved] = texts(staff_sent, NURSE)
    assert "Moved" in moved
    [told] = texts(patient_sent, PAT)
    assert "just changed this visit" in told
    assert "Thursday, November 26, 2026 at 3:00 PM EST" in told  # where it is now
    visit = await the_visit(h)
    assert (visit.status, visit.starts_at) == (AppointmentStatus.SCHEDULED, NEW)
    assert await notices(h) == [VISIT_MOVED]


async def test_a_staff_move_racing_the_patients_change(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await linked_patient(h)
    confirm = await patient_change_offer(h)
    move = await open_move(h)
    release = hold_first_read(monkeypatch, VisitChangeRepository, "visit")
    staff_sent, patient_sent = await race(
        h, updates.callback_update(NURSE, move), release, updates.callback_update(PAT, confirm)
    )
    [saved] = texts(patient_sent, PAT)
    assert "moved to" in saved and "November 27" in saved
    [told] = texts(staff_sent, NURSE)
    assert "while you were deciding" in told
    assert "Friday, November 27, 2026 at 1:00 PM EST" in told
    assert "Moved" not in told
    visit = await the_visit(h)
    assert (visit.status, visit.starts_at) == (AppointmentStatus.SCHEDULED, PATIENT_TIME)
    assert await notices(h) == []  # nothing moved by the clinic, nothing to tell
    assert not [a for a in await audit_lines(h) if a.action == "visit.move"]


async def test_a_staff_cancel_racing_the_patients_change(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await linked_patient(h)
    confirm = await patient_change_offer(h)
    yes = await staff_cancel_question(h)
    release = hold_first_read(monkeypatch, VisitChangeRepository, "visit")
    staff_sent, patient_sent = await race(
        h, updates.callback_update(NURSE, yes), release, updates.callback_update(PAT, confirm)
    )
    [saved] = texts(patient_sent, PAT)
    assert "November 27" in saved
    [told] = texts(staff_sent, NURSE)
    assert "while you were deciding" in told and "Cancelled" not in told
    visit = await the_visit(h)
    assert (visit.status, visit.starts_at) == (AppointmentStatus.SCHEDULED, PATIENT_TIME)
    assert await notices(h) == []


async def test_a_change_confirmed_on_an_old_screen_is_not_made(h: Harness) -> None:
    """No race at all, only a screen shown before the other side's change: the patient's
    offer and the member's confirmation are both bound to the visit as they showed it."""
    await linked_patient(h)
    confirm = await patient_change_offer(h)  # the patient decides on Tuesday's visit...
    move = await open_move(h)
    [moved] = await press(h, NURSE, move)  # ...which the clinic moves meanwhile
    assert "Moved" in moved
    [told] = await press(h, PAT, confirm)
    assert "just changed this visit" in told and "November 26" in told
    assert (await the_visit(h)).starts_at == NEW
    # The other way: the member's "Yes, cancel" shown before the patient's change.
    await h.command(NURSE, "roster", "2026-11-26")
    await h.tap(NURSE, "Cancel 3:00 PM J.D.")
    yes = last_button(h.server, NURSE, "Yes, cancel")
    await h.command(PAT, "appointment")
    await h.tap(PAT, "Nov 26")
    await h.tap(PAT, "Change time")
    await h.send(PAT, "11/27 10am")
    [saved] = await press(h, PAT, last_button(h.server, PAT, "Confirm"))
    assert "November 27" in saved
    [told] = await press(h, NURSE, yes)
    assert "while you were deciding" in told and "November 27" in told
    visit = await the_visit(h)
    assert (visit.status, visit.starts_at) == (AppointmentStatus.SCHEDULED, PATIENT_TIME)
    assert await notices(h) == [VISIT_MOVED]  # the one real move


async def test_a_cancel_or_a_move_confirmed_on_an_old_screen_is_not_made(h: Harness) -> None:
    await linked_patient(h)
    yes = await patient_cancel_question(h)  # "Cancel Tuesday's visit?"...
    move = await open_move(h)
    await press(h, NURSE, move)  # ...moved to Thursday before the patient answers
    [told] = await press(h, PAT, yes)
    assert "just changed this visit" in told and "November 26" in told
    assert (await the_visit(h)).status == AppointmentStatus.SCHEDULED
    # A member's move offered before the patient's change.
    await h.command(NURSE, "roster", "2026-11-26")
    await h.tap(NURSE, "Move 3:00 PM J.D.")
    await h.send(NURSE, "11/30 3pm")
    move = last_button(h.server, NURSE, "Move it")
    await h.command(PAT, "appointment")
    await h.tap(PAT, "Nov 26")
    await h.tap(PAT, "Change time")
    await h.send(PAT, "11/27 10am")
    await h.tap(PAT, "Confirm")
    [told] = await press(h, NURSE, move)
    assert "while you were deciding" in told and "November 27" in told
    visit = await the_visit(h)
    assert (visit.status, visit.starts_at) == (AppointmentStatus.SCHEDULED, PATIENT_TIME)
    assert await notices(h) == [VISIT_MOVED]
