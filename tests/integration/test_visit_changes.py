"""Staff move or cancel a visit the clinic made, from the roster, through the real dispatcher
and the fake Bot API; the patient is told by a notice from the outbox (in their language and
zone, rendered when sent), reminders are planned again, the audit log has the line. Double
taps make one change and one notice; patients forging the buttons are refused with an audit
line; a notice queued just before a crash is delivered once after the restart."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from bot.db.models import Appointment, IntakeVisit, Patient, Reminder, StaffAlert
from bot.delivery.outbox import AlertDelivery
from bot.domain.visits import AppointmentStatus
from bot.services.patient_notices import VISIT_CANCELLED, VISIT_MOVED
from bot.telegram.callbacks import VisitAction, VisitCb
from foundation.timemath import load_zone
from scheduler.due import compute_due
from scheduler.queue import QueueStatus
from tests.fake_telegram import updates
from tests.fake_telegram.server import FakeTelegramServer
from tests.integration import dbcheck
from tests.integration.harness import Harness, texts_to
from tests.integration.test_intake_events import bot_and_receiver
from tests.integration.test_staff_telegram import (
    NURSE,
    PAT,
    PAT2,
    STALE,
    add_nurse,
    audit_lines,
    invite,
)

OLD = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # Tuesday 10:00 AM EST
NEW = datetime(2026, 11, 26, 20, 0, tzinfo=UTC)  # Thursday 3:00 PM EST
MOVED_TO_LA = "Thursday, November 26, 2026 at 12:00 PM PST"  # the patient's zone


async def linked_patient(harness: Harness, zone: str = "America/Los_Angeles") -> Appointment:
    """The nurse invites PAT to tomorrow 10am; PAT opens the link and agrees. PAT lives in
    another zone than the clinic, so the notice shows which zone it was rendered in."""
    await add_nurse(harness)
    code = await invite(harness)
    await harness.command(PAT, "start", code)
    await harness.tap(PAT, "agree")
    async with harness.app.context.session_factory() as session:
        await session.execute(
            update(Patient).where(Patient.telegram_id == PAT).values(timezone=zone)
        )
        await session.commit()
    [appointment] = await dbcheck.appointments(harness, PAT)
    assert appointment.starts_at == OLD
    return appointment


async def outbox(harness: Harness, kind: str) -> list[StaffAlert]:
    async with harness.app.context.session_factory() as session:
        rows = await session.execute(select(StaffAlert).where(StaffAlert.kind == kind))
        return list(rows.scalars())


async def delivered(harness: Harness) -> list[str]:
    """What PAT received, once every notice due has been through the outbox (a pass of the
    running loop, or this one)."""
    await harness.app.alerts.deliver_due()
    return harness.server.sent_texts(PAT)


async def open_move(harness: Harness, when: str = "11/26 3pm") -> str:
    """The nurse opens tomorrow's roster, presses Move and types the new time; the confirm
    button's data."""
    [roster] = await harness.command(NURSE, "tomorrow")
    assert "J.D." in roster
    [ask] = await harness.tap(NURSE, "Move 10:00 AM J.D.")
    assert "Tuesday, November 24, 2026 at 10:00 AM EST" in ask
    [confirm] = await harness.send(NURSE, when)
    assert "From: Tuesday, November 24, 2026 at 10:00 AM EST" in confirm
    assert "To: <b>Thursday, November 26, 2026 at 3:00 PM EST</b>" in confirm
    return harness.button(NURSE, "Move it")


async def test_staff_move_a_visit_and_the_patient_is_told(harness: Harness) -> None:
    appointment = await linked_patient(harness)
    before = await dbcheck.reminders(harness, appointment.id)
    first = min(before.values(), key=lambda r: r.due_at)
    async with harness.app.context.session_factory() as session:  # one went out already
        await session.execute(
            update(Reminder)
            .where(Reminder.id == first.id)
            .values(status=QueueStatus.SENT, sent_at=harness.clock.now())
        )
        await session.commit()
    # Reminders are paused: a notice is not a reminder, it goes out all the same.
    await harness.command(PAT, "pause")
    confirm = await open_move(harness)
    [moved] = await harness.press(NURSE, confirm)
    assert "Moved" in moved
    assert "The patient is being told" in moved

    texts = await delivered(harness)
    [notice] = [t for t in texts if "Your visit has moved" in t]
    assert MOVED_TO_LA in notice
    assert "Tuesday, November 24, 2026 at 7:00 AM PST" in notice
    [notice_row] = await outbox(harness, VISIT_MOVED)
    assert notice_row.status == QueueStatus.SENT
    assert "Your visit" not in notice_row.context  # instants and ids only

    [visit] = await dbcheck.appointments(harness, PAT)
    assert visit.starts_at == NEW
    after = await dbcheck.reminders(harness, appointment.id)
    assert set(after) == set(before)
    assert after[first.step_key].status == QueueStatus.SENT  # never sent again
    assert after[first.step_key].due_at == first.due_at
    plan = harness.app.context.content.plan
    zone = load_zone("America/New_York")
    now = harness.clock.now()
    for step in plan.steps:
        row = after[step.key]
        if step.key == first.step_key or row.status != QueueStatus.PENDING:
            continue
        due = compute_due(step, NEW, zone, plan.quiet_hours)
        assert due is not None
        assert row.due_at == max(due.due, now), step.key
    assert any(r.status == QueueStatus.PENDING for r in after.values())

    [line] = [a for a in await audit_lines(harness) if a.action == "visit.move"]
    assert line.outcome == "done"
    assert line.actor_telegram_id == NURSE
    assert line.target == f"appointment:{appointment.id}"
    assert line.before == {"starts_at": OLD.isoformat(), "status": "scheduled"}
    assert line.after == {
        "starts_at": NEW.isoformat(),
        "status": "scheduled",
        "patient_id": visit.patient_id,
    }


async def test_the_notice_of_a_move_comes_before_the_reminders_it_makes_due(
    harness: Harness,
) -> None:
    """A visit moved close (Thursday next week to Wednesday this week): its 3-days-before
    reminder is due at once, and the patient gets the notice first, whichever of the reminder
    engine and the outbox looks first (the reminder waits while a notice to the patient is
    still to be sent, and the engine is woken once it is out). Before, the reminder engine
    sent the newly due reminder at once, and the notice came after it."""
    await add_nurse(harness)
    code = await invite(harness, "dec 3 10am")
    await harness.command(PAT, "start", code)
    await harness.tap(PAT, "agree")
    wakeup = harness.app.wakeup
    await harness.app.alerts.stop()  # the outbox looks last: the engine is the faster
    await harness.command(NURSE, "roster", "2026-12-03")
    await harness.tap(NURSE, "Move 10:00 AM J.D.")
    [confirm] = await harness.send(NURSE, "wed 3pm")
    assert "To: <b>Wednesday, November 25, 2026 at 3:00 PM EST</b>" in confirm
    before = len(harness.server.sent_texts(PAT))
    await harness.tap(NURSE, "Move it")
    await harness.app.reminders.run_due()
    assert harness.server.sent_texts(PAT)[before:] == []  # the reminder waits for the notice
    engine = harness.app.reminders
    engine.last_pass_at = None
    wakeup.start()
    try:
        # The engine's first pass finds nothing it may send, and nothing to wake up for...
        for _ in range(500):
            if engine.last_pass_at is not None and wakeup.running:
                break
            await asyncio.sleep(0.01)
        assert engine.last_pass_at is not None
        assert harness.server.sent_texts(PAT)[before:] == []
        assert wakeup.next_wake() is None
        # ... until the notice is out, which wakes it for the reminders it held.
        assert await harness.app.alerts.deliver_due() == 1
        for _ in range(500):
            if len(harness.server.sent_texts(PAT)) > before + 1:
                break
            await asyncio.sleep(0.01)
    finally:
        await wakeup.shutdown(grace=1)
    notice, reminder = harness.server.sent_texts(PAT)[before:]
    assert "Your visit has moved" in notice
    assert "playlist" in reminder.lower(), reminder


async def test_staff_cancel_a_visit_and_the_patient_is_told(harness: Harness) -> None:
    appointment = await linked_patient(harness)
    await harness.command(NURSE, "tomorrow")
    [confirm] = await harness.tap(NURSE, "Cancel 10:00 AM J.D.")
    assert "Cancel this visit?" in confirm
    [kept] = await harness.tap(NURSE, "No, keep it")
    assert "stays as it is" in kept
    await harness.command(NURSE, "tomorrow")
    await harness.tap(NURSE, "Cancel 10:00 AM J.D.")
    [done] = await harness.tap(NURSE, "Yes, cancel the visit")
    assert "Cancelled" in done

    [notice] = [t for t in await delivered(harness) if "was cancelled" in t]
    assert "Tuesday, November 24, 2026 at 7:00 AM PST" in notice
    assert "contact them" in notice
    [visit] = await dbcheck.appointments(harness, PAT)
    assert visit.status == AppointmentStatus.CANCELLED
    rows = await dbcheck.reminders(harness, appointment.id)
    assert not [r for r in rows.values() if r.status == QueueStatus.PENDING]
    [line] = [a for a in await audit_lines(harness) if a.action == "visit.cancel"]
    assert line.before == {"starts_at": OLD.isoformat(), "status": "scheduled"}
    assert line.after == {
        "starts_at": OLD.isoformat(),
        "status": "cancelled",
        "patient_id": visit.patient_id,
    }
    # The roster no longer lists it, and an old Move button says it can't be changed.
    [roster] = await harness.command(NURSE, "tomorrow")
    assert "J.D." not in roster
    [gone] = await harness.press(NURSE, VisitCb(action=VisitAction.MOVE, id=appointment.id).pack())
    assert "can't be changed any more" in gone


async def test_a_double_tap_makes_one_change_and_one_notice(harness: Harness) -> None:
    appointment = await linked_patient(harness)
    confirm = await open_move(harness)
    sent = await harness.feed_many(
        [updates.callback_update(NURSE, confirm), updates.callback_update(NURSE, confirm)]
    )
    texts = [r.params["text"] for r in sent if r.method.lower() == "sendmessage"]
    assert sum("Moved:" in t for t in texts) == 1
    assert sum("already at" in t for t in texts) == 1
    [later] = await harness.press(NURSE, confirm)
    assert "already at" in later
    assert len(await outbox(harness, VISIT_MOVED)) == 1
    assert len([a for a in await audit_lines(harness) if a.action == "visit.move"]) == 1
    assert sum("Your visit has moved" in t for t in await delivered(harness)) == 1

    # Cancelling twice at once: one cancel, one notice.
    await harness.command(NURSE, "roster", "2026-11-26")
    await harness.tap(NURSE, "Cancel 3:00 PM J.D.")
    yes = harness.button(NURSE, "Yes, cancel")
    sent = await harness.feed_many(
        [updates.callback_update(NURSE, yes), updates.callback_update(NURSE, yes)]
    )
    texts = [r.params["text"] for r in sent if r.method.lower() == "sendmessage"]
    assert sum("Cancelled:" in t for t in texts) == 1
    assert sum("already cancelled" in t for t in texts) == 1
    assert len(await outbox(harness, VISIT_CANCELLED)) == 1
    assert sum("was cancelled" in t for t in await delivered(harness)) == 1
    assert await dbcheck.count(harness, Appointment, id=appointment.id) == 1


async def test_an_ambiguous_new_time_offers_both_readings(harness: Harness) -> None:
    await linked_patient(harness)
    await harness.command(NURSE, "tomorrow")
    await harness.tap(NURSE, "Move 10:00 AM J.D.")
    [question] = await harness.send(NURSE, "2027-11-07 1:30am")
    assert "happens twice" in question
    buttons = harness.buttons(NURSE)
    assert len(buttons) == 3
    [confirm] = await harness.press(NURSE, buttons[1][1])  # the later one
    assert "1:30 AM EST" in confirm
    [moved] = await harness.tap(NURSE, "Move it")
    assert "Moved" in moved
    [visit] = await dbcheck.appointments(harness, PAT)
    assert visit.starts_at == datetime(2027, 11, 7, 6, 30, tzinfo=UTC)
    [stale] = await harness.press(NURSE, buttons[0][1])  # the offer is over
    assert "expired" in stale


async def test_next_weekday_new_time_offers_both_weeks(harness: Harness) -> None:
    await linked_patient(harness)
    await harness.command(NURSE, "tomorrow")
    await harness.tap(NURSE, "Move 10:00 AM J.D.")
    [question] = await harness.send(NURSE, "next friday 11am")
    assert "do you mean this week's or next week's?" in question
    [confirm] = await harness.tap(NURSE, "Dec 4")
    assert "December 4, 2026 at 11:00 AM EST" in confirm
    [moved] = await harness.tap(NURSE, "Move it")
    assert "Moved" in moved
    [visit] = await dbcheck.appointments(harness, PAT)
    assert visit.starts_at == datetime(2026, 12, 4, 16, 0, tzinfo=UTC)


async def test_the_week_typed_instead_of_tapped_is_read_as_for_an_invite(
    harness: Harness,
) -> None:
    """Typed while the two weeks of a move are buttons, read as /invite's: a question about
    them shows the choice again (the same buttons, still working), "next week" or a date picks
    as a tap would, another time is read as one. Before, each was read as a new time ("next
    week" and "is it next week?" refused as unreadable, "the 27th" asked for a time)."""
    await linked_patient(harness)
    await harness.command(NURSE, "tomorrow")
    await harness.tap(NURSE, "Move 10:00 AM J.D.")
    [question] = await harness.send(NURSE, "next tuesday 2pm")
    assert "<b>Tuesday, November 24, 2026 at 2:00 PM EST</b> (tomorrow)" in question
    offered = harness.buttons(NURSE)
    for asked in ("wait is it tomorrow??", "is it next week?"):
        [again] = await harness.send(NURSE, asked)
        assert "do you mean this week's or next week's?" in again, asked
        assert "<b>Tuesday, November 24, 2026 at 2:00 PM EST</b> (tomorrow)" in again
        assert harness.buttons(NURSE) == offered  # the same offer, its buttons still work
    [confirm] = await harness.send(NURSE, "next week")
    assert "From: Tuesday, November 24, 2026 at 10:00 AM EST" in confirm
    assert "To: <b>Tuesday, December 1, 2026 at 2:00 PM EST</b>" in confirm
    [moved] = await harness.tap(NURSE, "Move it")
    assert "Moved" in moved
    [visit] = await dbcheck.appointments(harness, PAT)
    assert visit.starts_at == datetime(2026, 12, 1, 19, 0, tzinfo=UTC)

    await harness.command(NURSE, "roster", "2026-12-01")
    await harness.tap(NURSE, "Move 2:00 PM J.D.")
    await harness.send(NURSE, "next friday 11am")
    [confirm] = await harness.send(NURSE, "the 27th")  # this week's, by its date
    assert "To: <b>Friday, November 27, 2026 at 11:00 AM EST</b>" in confirm
    await harness.tap(NURSE, "Another time")
    await harness.send(NURSE, "next friday 11am")
    [confirm] = await harness.send(NURSE, "thu 930")  # another time altogether
    assert "To: <b>Thursday, November 26, 2026 at 9:30 AM EST</b>" in confirm
    [still] = await dbcheck.appointments(harness, PAT)
    assert still.starts_at == visit.starts_at  # nothing moved until Move it


def _spanish(update: dict[str, Any]) -> dict[str, Any]:
    """The update as sent by a member whose Telegram speaks Spanish (staff are answered in
    the language of each update)."""
    body = update.get("message") or update["callback_query"]
    body["from"]["language_code"] = "es"
    return update


async def test_a_spanish_speaking_member_types_the_week_of_a_move(harness: Harness) -> None:
    """The same in Spanish: "¿es la semana que viene?" or "no sé" shows the choice again,
    "la semana que viene" and "el 27" pick (before: refused, or asked for a time)."""
    await linked_patient(harness)

    async def say(text: str) -> list[str]:
        return texts_to(await harness.feed(_spanish(updates.message_update(NURSE, text))), NURSE)

    async def tap(label: str) -> list[str]:
        data = harness.button(NURSE, label)
        return texts_to(await harness.feed(_spanish(updates.callback_update(NURSE, data))), NURSE)

    await harness.feed(_spanish(updates.command_update(NURSE, "tomorrow")))
    await tap("Mover")
    [question] = await say("next friday 11am")
    assert "¿Se refiere al viernes de esta semana o al de la semana que viene?" in question
    offered = harness.buttons(NURSE)
    for asked in ("¿es la semana que viene?", "no sé"):
        [again] = await say(asked)
        assert "¿Se refiere al viernes de esta semana o al de la semana que viene?" in again
        assert "(esta semana)" in again and "(la semana que viene)" in again
        assert harness.buttons(NURSE) == offered
    [confirm] = await say("la semana que viene")
    assert "A: <b>viernes 4 de diciembre de 2026, a las 11:00 a. m. EST</b>" in confirm
    await tap("Otra hora")
    await say("next friday 11am")
    [confirm] = await say("el 27")
    assert "A: <b>viernes 27 de noviembre de 2026, a las 11:00 a. m. EST</b>" in confirm
    [moved] = await tap("Moverla")
    assert "Movida" in moved
    [visit] = await dbcheck.appointments(harness, PAT)
    assert visit.starts_at == datetime(2026, 11, 27, 16, 0, tzinfo=UTC)


async def test_booking_rules_hold_for_a_move(harness: Harness) -> None:
    appointment = await linked_patient(harness)
    # The patient has booked another visit themselves, on Thursday at 3pm clinic time.
    await harness.command(PAT, "appointment")
    await harness.tap(PAT, "Add an appointment")
    await harness.send(PAT, "11/26 12pm")  # their zone: Los Angeles
    await harness.tap(PAT, "Confirm")
    await harness.command(NURSE, "tomorrow")
    await harness.tap(NURSE, "Move 10:00 AM J.D.")
    [past] = await harness.send(NURSE, "2026-11-20 10:00")
    assert "already passed" in past
    [far] = await harness.send(NURSE, "2028-01-05 10:00")
    assert "more than a year" in far
    [clash] = await harness.send(NURSE, "11/26 3pm")
    assert "already has a visit at that time" in clash
    [visit, _own] = await dbcheck.appointments(harness, PAT)
    assert visit.id == appointment.id and visit.starts_at == OLD
    assert await outbox(harness, VISIT_MOVED) == []


async def test_self_booked_visits_are_the_patients_to_change(harness: Harness) -> None:
    await add_nurse(harness)
    await harness.consent(PAT2)
    await harness.command(PAT2, "appointment")
    await harness.send(PAT2, "tomorrow 10am")
    await harness.tap(PAT2, "Confirm")
    [own] = await dbcheck.appointments(harness, PAT2)
    [roster] = await harness.command(NURSE, "tomorrow")
    assert f"patient #{own.patient_id}" in roster
    assert not [t for t, _ in harness.buttons(NURSE) if "Move" in t or "Cancel" in t]
    for action in (VisitAction.MOVE, VisitAction.CANCEL):
        [refused] = await harness.press(NURSE, VisitCb(action=action, id=own.id).pack())
        assert "booked this visit themselves" in refused
    lines = [a for a in await audit_lines(harness) if a.target == f"appointment:{own.id}"]
    assert [(a.action, a.outcome, a.after) for a in lines] == [
        ("visit.move", "refused", {"reason": "self_booked"}),
        ("visit.cancel", "refused", {"reason": "self_booked"}),
    ]
    [still] = await dbcheck.appointments(harness, PAT2)
    assert still.status == AppointmentStatus.SCHEDULED


async def test_patients_forging_the_buttons_are_refused(harness: Harness) -> None:
    appointment = await linked_patient(harness)
    for action in VisitAction:
        data = VisitCb(action=action, id=appointment.id, t="forged").pack()
        [reply] = await harness.press(PAT, data)
        assert STALE in reply, action
    refused = [a for a in await audit_lines(harness) if a.actor_telegram_id == PAT]
    assert len(refused) == len(VisitAction)
    assert {(a.outcome, a.target) for a in refused} == {
        ("refused", f"appointment:{appointment.id}")
    }
    assert all(a.after == {"reason": "not_staff"} for a in refused)
    [visit] = await dbcheck.appointments(harness, PAT)
    assert visit.starts_at == OLD and visit.status == AppointmentStatus.SCHEDULED
    assert await outbox(harness, VISIT_MOVED) == [] == await outbox(harness, VISIT_CANCELLED)


def restarted(harness: Harness, **options: Any) -> AlertDelivery:
    """The outbox's delivery as a new process would build it."""
    app = harness.app
    return AlertDelivery(
        app.context.session_factory,
        app.sender,
        app.bot,
        app.context.content,
        harness.settings.clinic_zone,
        harness.clock,
        **options,
    )


async def test_a_notice_queued_before_a_crash_is_delivered_once_after_the_restart(
    harness: Harness,
) -> None:
    await linked_patient(harness)
    confirm = await open_move(harness)
    await harness.app.alerts.stop()  # the process dies right after the commit
    await harness.press(NURSE, confirm)
    assert not [t for t in harness.server.sent_texts(PAT) if "has moved" in t]
    [row] = await outbox(harness, VISIT_MOVED)
    assert row.status == QueueStatus.PENDING

    # The next process claims it and dies before sending: its lease runs out.
    dying = restarted(harness)
    now = harness.clock.now()
    claim = await dying.store.claim(now, dying.owner, now + dying.lease, dying.batch)
    assert [a.kind for a in claim.alerts] == [VISIT_MOVED]
    assert await restarted(harness).deliver_due() == 0  # leased
    harness.clock.advance(timedelta(seconds=61))
    after_restart = restarted(harness)
    assert await after_restart.deliver_due() == 1
    assert await after_restart.deliver_due() == 0
    assert sum("has moved" in t for t in harness.server.sent_texts(PAT)) == 1
    [row] = await outbox(harness, VISIT_MOVED)
    assert row.status == QueueStatus.SENT


async def test_a_patient_who_blocked_the_bot_is_marked_unreachable_not_retried(
    harness: Harness,
) -> None:
    await linked_patient(harness)
    confirm = await open_move(harness)
    await harness.app.alerts.stop()
    harness.server.block_chat(PAT)
    await harness.press(NURSE, confirm)
    delivery = restarted(harness)
    assert await delivery.deliver_due() == 0
    [row] = await outbox(harness, VISIT_MOVED)
    assert row.status == QueueStatus.FAILED
    assert row.attempts == 1
    patient = await dbcheck.patient(harness, PAT)
    assert patient is not None and not patient.reachable
    harness.clock.advance(timedelta(hours=1))
    assert await delivery.deliver_due() == 0
    tried = [
        r
        for r in harness.server.calls("sendMessage")
        if r.params.get("chat_id") == PAT and "has moved" in r.params.get("text", "")
    ]
    assert len(tried) == 1  # one attempt, no retries


async def schedule_visit(harness: Harness, appointment: Appointment, external_id: str) -> None:
    """The invited visit is also one of the clinic's schedule (source ``acme``, which has a
    webhook), as the intake links it, under the same label."""
    now = harness.clock.now()
    async with harness.app.context.session_factory() as session, session.begin():
        session.add(
            IntakeVisit(
                source="acme",
                external_id=external_id,
                patient_key="k" * 64,
                starts_at=appointment.starts_at,
                timezone="America/New_York",
                visit_type="infusion",
                status="booked",
                label="J.D.",
                appointment_id=appointment.id,
                created_at=now,
                updated_at=now,
            )
        )


async def revision(harness: Harness) -> int:
    async with harness.app.context.session_factory() as session:
        return (await session.execute(select(IntakeVisit.revision))).scalar_one()


async def test_staff_moving_a_visit_of_the_clinics_schedule_counts_it_and_tells_the_clinic(
    telegram: FakeTelegramServer, tmp_path: Path
) -> None:
    """The roster's Move is a change of the visit as the patient's own is: one more revision,
    in the move's transaction, and one signed ``visit.moved`` to the clinic's webhook; the
    second tap of the same Confirm counts and tells nothing more."""
    async with bot_and_receiver(telegram, tmp_path) as (h, receiver):
        appointment = await linked_patient(h)
        await schedule_visit(h, appointment, "EHR-9")
        assert await revision(h) == 1
        confirm = await open_move(h)
        [moved] = await h.press(NURSE, confirm)
        assert "Moved" in moved
        assert await revision(h) == 2
        await receiver.wait_for(1)
        [again] = await h.press(NURSE, confirm)
        assert "already at" in again and "nothing changed" in again
        assert await revision(h) == 2
        await asyncio.sleep(0.05)  # a second event would have been posted by now
    [event] = receiver.events("acme")
    assert (event["type"], event["external_id"], event["revision"]) == ("visit.moved", "EHR-9", 2)
    assert event["data"] == {"start": "2026-11-26T20:00:00Z", "zone": "America/New_York"}
