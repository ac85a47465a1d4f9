"""The reminder engine end to end: plan rows, send on time through the fake Bot API, exactly
once, with the patient's controls. Time is a FrozenClock moved by hand; nothing sleeps."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.db.models import Reminder
from bot.db.reminders import ReminderRepository
from bot.telegram.callbacks import ReminderCb
from tests.fake_telegram import updates
from tests.integration import dbcheck
from tests.integration.harness import STAFF_ID, Harness

PAT = 1001
OTHER = 2002
START = datetime(2026, 12, 3, 19, 30, tzinfo=UTC)  # Thursday 2:30 PM EST
FORBIDDEN_ON_LOCK_SCREEN = ("ketamine", "depression", "ptsd", "infusion", "anxiety")


async def book(harness: Harness, user: int = PAT, text: str = "12/3 2:30pm") -> None:
    await harness.consent(user)
    await harness.command(user, "appointment")
    await harness.send(user, text)
    await harness.tap(user, "Confirm")


async def rows(harness: Harness) -> dict[str, Reminder]:
    async with harness.app.context.session_factory() as session:
        result = await session.execute(select(Reminder).order_by(Reminder.due_at))
        return {r.step_key: r for r in result.scalars()}


async def run_at(harness: Harness, when: datetime) -> list[str]:
    """Move the clock and run one engine pass; return what was sent to the patient."""
    return await harness.reminders_at(when, PAT)


async def test_booking_plans_one_row_per_step_in_utc(harness: Harness) -> None:
    await book(harness)
    planned = await rows(harness)
    assert {k: (r.due_at, r.status) for k, r in planned.items()} == {
        "playlist": (START - timedelta(days=3), "pending"),
        "ride": (START - timedelta(days=2), "pending"),
        "evening_before": (datetime(2026, 12, 3, 0, 0, tzinfo=UTC), "pending"),  # 19:00 EST
        "arrival": (START - timedelta(hours=2), "pending"),
        "follow_up": (START + timedelta(days=1), "pending"),
    }
    assert planned["arrival"].expires_at == START


async def test_steps_arrive_in_order_each_once(harness: Harness) -> None:
    await book(harness)
    planned = await rows(harness)
    assert await run_at(harness, START - timedelta(days=4)) == []
    seen = []
    for key in ("playlist", "ride", "evening_before", "arrival", "follow_up"):
        due = planned[key].due_at
        assert await run_at(harness, due - timedelta(seconds=1)) == []
        sent = await run_at(harness, due)
        assert len(sent) == 1, key
        seen.append(sent[0])
        assert await run_at(harness, due + timedelta(seconds=30)) == []  # never twice
    assert "playlist" in seen[0] and "headphones" in seen[0]
    assert "ride home" in seen[1]
    assert "Eye mask" in seen[2] or "eye mask" in seen[2]
    assert "breathe" in seen[3]
    assert "How are you feeling" in seen[4] and "therapy" in seen[4]
    for text in seen:
        first_line = text.splitlines()[0].lower()
        assert not any(word in first_line for word in FORBIDDEN_ON_LOCK_SCREEN), text
        assert not any(word in text.lower() for word in FORBIDDEN_ON_LOCK_SCREEN), text
    final = await rows(harness)
    assert {r.status for r in final.values()} == {"sent"}


async def test_reminder_buttons_follow_the_plan(harness: Harness) -> None:
    await book(harness)
    await run_at(harness, START - timedelta(days=3))
    labels = [t for t, _ in harness.buttons(PAT)]
    assert labels == ["Done ✅", "Remind me later"]
    await run_at(harness, START - timedelta(days=2))
    labels = [t for t, _ in harness.buttons(PAT)]
    assert labels == ["Done ✅", "Remind me later", "I'll be there", "I need to reschedule"]
    await run_at(harness, START + timedelta(days=1))
    labels = [t for t, _ in harness.buttons(PAT)]
    assert labels == ["🙂 I'm OK", "😐 A bit off", "😟 Not great, please call me"]


async def test_done_ticks_items_and_skips_later_reminders_about_them(harness: Harness) -> None:
    await book(harness)
    await run_at(harness, START - timedelta(days=3))
    [checklist] = await harness.tap(PAT, "Done")
    assert "✅ Calm playlist" in checklist and "✅ Headphones" in checklist
    # tick the ride from the prepare menu before its reminder is due
    await harness.command(PAT, "prepare")
    [edited] = [
        r
        for r in await harness.feed(updates.callback_update(PAT, harness.button(PAT, "Ride")))
        if r.method.lower() == "editmessagetext"
    ]
    assert "✅ Ride home arranged" in edited.params["text"]
    assert await run_at(harness, START - timedelta(days=2)) == []
    planned = await rows(harness)
    assert (planned["ride"].status, planned["ride"].reason) == ("skipped", "done")
    # untick is possible too, and the item's reminder is then still sent when due
    await harness.command(PAT, "prepare")
    await harness.tap(PAT, "Eye mask")
    await harness.command(PAT, "prepare")
    await harness.tap(PAT, "Eye mask")
    assert len(await run_at(harness, datetime(2026, 12, 3, 0, 0, tzinfo=UTC))) == 1


async def test_snooze_sends_again_later_but_never_past_expiry(harness: Harness) -> None:
    await book(harness)
    first = START - timedelta(days=3)
    await run_at(harness, first)
    [reply] = await harness.tap(PAT, "Remind me later")
    assert "remind you again on Monday, November 30, 2026 at 5:30 PM EST" in reply
    assert await run_at(harness, first + timedelta(hours=2, minutes=59)) == []
    again = await run_at(harness, first + timedelta(hours=3))
    assert len(again) == 1 and "playlist" in again[0]
    # the arrival step expires at the appointment: snoozing 3 h past it is refused
    await run_at(harness, START - timedelta(hours=2))
    await harness.tap(PAT, "Done")
    arrival = (await rows(harness))["arrival"]
    [refused] = await harness.press(PAT, ReminderCb(action="snooze", id=arrival.id).pack())
    assert "can't push this reminder any later" in refused


async def test_snooze_out_of_quiet_hours(harness: Harness) -> None:
    await book(harness)
    await run_at(harness, START - timedelta(days=3))
    await run_at(harness, START - timedelta(days=2))
    # evening-before reminder at 19:00: +3 h is 22:00, inside quiet hours (21:00-08:00)
    [evening] = await run_at(harness, datetime(2026, 12, 3, 0, 0, tzinfo=UTC))
    assert "tomorrow" in evening
    [reply] = await harness.tap(PAT, "Remind me later")
    assert "8:59 PM EST" in reply


async def test_late_booking_sends_one_catch_up_not_a_burst(harness: Harness) -> None:
    harness.clock.set(datetime(2026, 12, 3, 1, 0, tzinfo=UTC))  # Wed Dec 2, 8 PM EST
    await book(harness)
    planned = await rows(harness)
    assert planned["playlist"].status == "expired"  # its window closed a day before the visit
    assert planned["ride"].due_at == harness.clock.now()
    assert planned["evening_before"].due_at == harness.clock.now()
    sent = await run_at(harness, harness.clock.now())
    assert len(sent) == 1
    assert "ride home" in sent[0] and "Eye mask" in sent[0]
    labels = [t for t, _ in harness.buttons(PAT)]
    assert "Open my checklist" in labels and "I'll be there" in labels
    statuses = {k: r.status for k, r in (await rows(harness)).items()}
    assert statuses == {
        "playlist": "expired",
        "ride": "sent",
        "evening_before": "sent",
        "arrival": "pending",
        "follow_up": "pending",
    }


async def test_downtime_sends_what_is_still_useful_and_expires_the_rest(harness: Harness) -> None:
    await book(harness)
    # the bot was down from before the playlist step until the evening before the visit
    sent = await run_at(harness, datetime(2026, 12, 3, 0, 30, tzinfo=UTC))
    assert len(sent) == 1  # ride + evening_before together; playlist expired
    statuses = {k: r.status for k, r in (await rows(harness)).items()}
    assert statuses["playlist"] == "expired"
    assert statuses["ride"] == statuses["evening_before"] == "sent"


async def test_reschedule_replans_and_cancel_stops(harness: Harness) -> None:
    await book(harness)
    await run_at(harness, START - timedelta(days=3))
    await harness.command(PAT, "appointment")
    await harness.tap(PAT, "Dec 3")
    await harness.tap(PAT, "Change time")
    await harness.send(PAT, "12/10 2:30pm")
    await harness.tap(PAT, "Confirm")
    planned = await rows(harness)
    assert planned["playlist"].status == "pending"  # a new date gets the plan again
    assert planned["playlist"].due_at == START + timedelta(days=7) - timedelta(days=3)
    assert await run_at(harness, START - timedelta(days=2)) == []  # old times are gone
    await harness.command(PAT, "appointment")
    await harness.tap(PAT, "Dec 10")
    await harness.tap(PAT, "Cancel visit")
    await harness.tap(PAT, "Yes, cancel")
    assert {r.status for r in (await rows(harness)).values()} == {"skipped"}
    assert await run_at(harness, START + timedelta(days=7) - timedelta(hours=2)) == []


async def test_quiet_hours_move_an_early_visit_reminder_to_the_evening_before(
    harness: Harness,
) -> None:
    await book(harness, text="12/3 7:30am")
    arrival = (await rows(harness))["arrival"]
    # 5:30 AM is inside quiet hours: the last allowed minute is 8:59 PM the evening before
    assert arrival.due_at == datetime(2026, 12, 3, 1, 59, tzinfo=UTC)


async def test_dst_week_keeps_local_wall_times(harness: Harness) -> None:
    await book(harness, text="2027-03-15 10:00")  # Monday after clocks go forward
    planned = await rows(harness)
    assert planned["evening_before"].due_at == datetime(2027, 3, 14, 23, 0, tzinfo=UTC)  # 7 PM EDT
    assert planned["arrival"].due_at == datetime(2027, 3, 15, 12, 0, tzinfo=UTC)  # 8 AM EDT
    sent = await run_at(harness, planned["evening_before"].due_at)
    assert "Monday, March 15, 2027 at 10:00 AM EDT" in sent[0]


async def test_pause_and_resume(harness: Harness) -> None:
    await book(harness)
    [paused] = await harness.command(PAT, "pause")
    assert "paused" in paused
    assert await run_at(harness, START - timedelta(days=3)) == []
    await harness.command(PAT, "resume")
    sent = await run_at(harness, START - timedelta(days=3) + timedelta(hours=1))
    assert len(sent) == 1 and "playlist" in sent[0]


async def test_blocked_patient_stops_and_unblocking_resumes(harness: Harness) -> None:
    await book(harness)
    harness.server.block_chat(PAT)
    booked = len(harness.server.sent_messages(PAT))
    assert await run_at(harness, START - timedelta(days=3)) == []
    patient = await dbcheck.patient(harness, PAT)
    assert patient is not None and patient.reachable is False
    refused = harness.server.sent_messages(PAT)[booked:]
    assert [r.response_status for r in refused] == [403]  # one refused attempt, no storm
    attempts = len(harness.server.sent_messages(PAT))
    assert await run_at(harness, START - timedelta(days=2)) == []
    assert len(harness.server.sent_messages(PAT)) == attempts  # nothing tried while blocked
    harness.server.unblock_chat(PAT)
    await harness.feed(updates.my_chat_member_update(PAT, new_status="member", old_status="kicked"))
    sent = await run_at(harness, START - timedelta(days=2) + timedelta(minutes=1))
    assert len(sent) == 1  # playlist (still useful) and ride together
    assert "playlist" in sent[0] and "ride home" in sent[0]


async def test_forget_removes_reminders_too(harness: Harness) -> None:
    await book(harness)
    await harness.command(PAT, "forget")
    await harness.tap(PAT, "Yes, delete")
    assert await dbcheck.count(harness, Reminder) == 0
    assert await run_at(harness, START - timedelta(days=3)) == []


async def test_rate_limit_answer_pauses_then_delivers_once(harness: Harness) -> None:
    await book(harness)
    booked = len(harness.server.sent_messages(PAT))
    harness.server.fail_next("sendMessage", "retry_after", retry_after=1)
    sent = await run_at(harness, START - timedelta(days=3))
    assert len(sent) == 1
    # One refused attempt, then the retry once Telegram's retry_after (1 s) has passed.
    refused, delivered = harness.server.sent_messages(PAT)[booked:]
    assert (refused.response_status, delivered.response_status) == (429, 200)
    assert delivered.at - refused.at >= 1.0
    assert sum("playlist" in t for t in harness.server.sent_texts(PAT)) == 1
    assert (await rows(harness))["playlist"].status == "sent"


async def test_server_errors_reschedule_with_backoff(harness: Harness) -> None:
    await book(harness)
    harness.server.fail_next("sendMessage", "server_error", times=3)
    due = START - timedelta(days=3)
    await run_at(harness, due)
    row = (await rows(harness))["playlist"]
    assert row.status == "pending" and row.reason == "retry"
    assert row.due_at > due and row.attempts == 1
    assert await run_at(harness, due + timedelta(seconds=1)) == []  # no storm
    await run_at(harness, row.due_at)
    assert (await rows(harness))["playlist"].status == "sent"
    assert sum("playlist" in t for t in harness.server.sent_texts(PAT)) == 1


async def test_template_refused_by_telegram_fails_the_row_and_alerts_staff(
    harness: Harness,
) -> None:
    await book(harness)
    harness.server.fail_next(
        "sendMessage", "bad_request", description="Bad Request: can't parse entities"
    )
    await run_at(harness, START - timedelta(days=3))
    await asyncio.sleep(0)  # the staff alert is sent in the background
    await harness.server.wait_for("sendMessage", lambda r: r.params.get("chat_id") == STAFF_ID)
    row = (await rows(harness))["playlist"]
    assert row.status == "failed"
    alert = harness.server.sent_texts(STAFF_ID)[-1]
    assert "playlist" in alert and "/texts" in alert  # where to fix it
    assert await run_at(harness, START - timedelta(days=2)) != []  # other steps go on


async def test_a_crash_mid_send_is_recovered_after_the_lease(harness: Harness) -> None:
    await book(harness)
    due = START - timedelta(days=3)
    harness.clock.set(due)
    async with harness.app.context.session_factory() as session, session.begin():
        claimed = await ReminderRepository(session).claim(
            due, "crashed-engine", due + timedelta(seconds=60), 10
        )
    assert len(claimed) == 1  # claimed, then the process "died"
    assert await run_at(harness, due + timedelta(seconds=30)) == []  # lease still held
    sent = await run_at(harness, due + timedelta(seconds=61))
    assert len(sent) == 1
    assert (await rows(harness))["playlist"].status == "sent"


async def test_two_engines_never_send_the_same_row(harness: Harness) -> None:
    from scheduler.engine import ReminderEngine

    for user in range(3001, 3011):
        await book(harness, user=user)
    first = harness.app.reminders
    second = ReminderEngine(
        store=first.store,
        plan=first.plan,
        render=first.render,
        sender=first.sender,
        clock=first.clock,
        batch_size=3,
    )
    first.batch_size = 3
    harness.clock.set(START - timedelta(days=3))
    await asyncio.gather(first.run_due(), second.run_due())
    for user in range(3001, 3011):
        assert sum("playlist" in t for t in harness.server.sent_texts(user)) == 1


async def test_outcomes_are_written_during_a_pass_not_only_at_its_end(harness: Harness) -> None:
    """So a crash mid-pass repeats only what was sent since the last write."""
    from scheduler.engine import ReminderEngine

    users = range(3101, 3107)
    for user in users:
        await book(harness, user=user)
    first = harness.app.reminders
    written_before_fifth: list[int] = []

    async def sent_rows() -> int:
        async with harness.app.context.session_factory() as session:
            result = await session.execute(
                select(func.count()).select_from(Reminder).where(Reminder.status == "sent")
            )
            return int(result.scalar_one())

    class Watching:
        calls = 0

        async def send(self, chat_id: int, text: str, **options: Any) -> Any:
            self.calls += 1
            if self.calls == 5:
                for _ in range(100):  # up to 2 s for the background write
                    if await sent_rows() >= 2:
                        break
                    await asyncio.sleep(0.02)
                written_before_fifth.append(await sent_rows())
            return await first.sender.send(chat_id, text, **options)

    engine = ReminderEngine(
        store=first.store,
        plan=first.plan,
        render=first.render,
        sender=Watching(),
        clock=first.clock,
        concurrency=1,
        record_every=2,
        record_interval=3600,
    )
    harness.clock.set(START - timedelta(days=3))
    assert await engine.run_due() == 6
    assert written_before_fifth and written_before_fifth[0] >= 2
    assert await sent_rows() == 6
    for user in users:
        assert sum("playlist" in t for t in harness.server.sent_texts(user)) == 1


async def test_reminder_buttons_of_another_patient_are_refused(harness: Harness) -> None:
    await book(harness, user=OTHER)
    theirs = (await rows(harness))["playlist"]
    await harness.consent(PAT)
    for action in ("done", "snooze", "coming", "reschedule", "checklist"):
        [reply] = await harness.press(PAT, ReminderCb(action=action, id=theirs.id).pack())
        assert "can't find" in reply
    assert (await rows(harness))["playlist"].status == "pending"
    assert harness.server.sent_messages(STAFF_ID) == []


async def test_attendance_answers(harness: Harness) -> None:
    await book(harness)
    await run_at(harness, START - timedelta(days=3))
    await run_at(harness, START - timedelta(days=2))
    ride = (await rows(harness))["ride"]
    [thanks] = await harness.tap(PAT, "I'll be there")
    assert "see you" in thanks.lower()
    [appointment] = await dbcheck.appointments(harness, PAT)
    assert appointment.attendance == "confirmed"
    [reply] = await harness.press(PAT, ReminderCb(action="reschedule", id=ride.id).pack())
    assert "203-914-1900" in reply
    # Queued with the answer's transaction, sent from the outbox once it committed.
    sent = await harness.server.wait_for(
        "sendMessage", lambda r: r.params.get("chat_id") == STAFF_ID
    )
    alert = sent[-1].params["text"]
    assert "reschedule" in alert and str(PAT) in alert
    [appointment] = await dbcheck.appointments(harness, PAT)
    assert appointment.attendance == "reschedule"


@pytest.mark.parametrize("zone", ["America/Los_Angeles", "Europe/Madrid"])
async def test_reminders_render_in_the_appointments_zone(harness: Harness, zone: str) -> None:
    await harness.consent(PAT)
    await harness.command(PAT, "settings")
    await harness.tap(PAT, "Another zone")
    await harness.send(PAT, zone)
    await harness.command(PAT, "appointment")
    await harness.send(PAT, "12/3 2:30pm")
    await harness.tap(PAT, "Confirm")
    playlist = (await rows(harness))["playlist"]
    [sent] = await run_at(harness, playlist.due_at)
    assert "December 3, 2026 at 2:30 PM" in sent


async def test_dropped_connection_is_retried_and_delivered_once(harness: Harness) -> None:
    await book(harness)
    harness.server.fail_next("sendMessage", "drop")
    sent = await run_at(harness, START - timedelta(days=3))
    assert len(sent) == 1
    assert (await rows(harness))["playlist"].status == "sent"
    assert sum("playlist" in t for t in harness.server.sent_texts(PAT)) == 1


async def _texts_since(harness: Harness, before: int) -> list[str]:
    return [r.params["text"] for r in harness.server.sent_messages(PAT)[before:]]


@pytest.mark.parametrize("how", ["tapped", "typed"])
async def test_a_reschedule_request_holds_the_visits_reminders(harness: Harness, how: str) -> None:
    """Tapped under a reminder or typed, a request for a new time holds the reminders that
    presume attendance and the check-in: no "see you soon", no "your visit is tomorrow"; the
    team hears of it once; "I can come after all" lets the ones still useful go on."""
    await book(harness)
    await run_at(harness, START - timedelta(days=2))  # the ride reminder, with its buttons
    if how == "tapped":
        [reply] = await harness.tap(PAT, "I need to reschedule")
    else:
        [reply] = await harness.send(PAT, "I can't make it on thursday, can I move my appointment?")
    assert "paused the reminders" in reply and "203-914-1900" in reply
    assert "see you" not in reply.lower()
    sent = await harness.server.wait_for(
        "sendMessage", lambda r: r.params.get("chat_id") == STAFF_ID
    )
    assert "reschedule" in sent[-1].params["text"].lower()
    [again] = await harness.send(PAT, "i need to reschedule")
    assert "already asked" in again
    assert len([r for r in harness.server.sent_messages(STAFF_ID)]) == 1
    before = len(harness.server.sent_messages(PAT))
    for when in (
        START - timedelta(days=1) + timedelta(hours=5),  # the evening before
        START - timedelta(hours=2),  # arrival: "See you soon"
    ):
        assert await run_at(harness, when) == []
    assert await _texts_since(harness, before) == []
    [back] = await harness.tap(PAT, "I can come after all")
    assert "see you" in back.lower()
    harness.clock.set(START - timedelta(hours=1))
    sent_now = await run_at(harness, START - timedelta(hours=1))
    assert len(sent_now) == 1 and "breathe" in sent_now[0]  # arrival, still useful


async def test_a_held_visit_goes_on_when_staff_move_it(harness: Harness) -> None:
    """The hold is the attendance answer: moving the visit clears it (and re-plans)."""
    await book(harness)
    await run_at(harness, START - timedelta(days=2))
    await harness.tap(PAT, "I need to reschedule")
    assert await run_at(harness, START - timedelta(hours=2)) == []
    [appointment] = await dbcheck.appointments(harness, PAT)
    async with harness.app.context.session_factory() as session, session.begin():
        from bot.db.visit_changes import VisitChangeRepository

        found = await VisitChangeRepository(session).visit(appointment.id)
        assert found is not None
        await VisitChangeRepository(session).move(
            found.appointment, START + timedelta(days=7), "America/New_York", harness.clock.now()
        )
    [appointment] = await dbcheck.appointments(harness, PAT)
    assert appointment.attendance is None


async def test_the_check_in_can_be_answered(harness: Harness) -> None:
    await book(harness)
    await run_at(harness, START + timedelta(days=1))
    call, ok = harness.button(PAT, "Not great"), harness.button(PAT, "I'm OK")
    [reply] = await harness.press(PAT, call)
    assert "asked the clinic team to call you" in reply
    assert "<b>911</b>" in reply and "<b>988</b>" in reply and "203-914-1900" in reply
    sent = await harness.server.wait_for(
        "sendMessage", lambda r: r.params.get("chat_id") == STAFF_ID
    )
    alert = sent[-1].params["text"]
    assert "check-in" in alert.lower() and "Thursday, December 3, 2026 at 2:30 PM" in alert
    assert str(PAT) in alert
    [appointment] = await dbcheck.appointments(harness, PAT)
    assert appointment.checkin == "call"
    await harness.press(PAT, call)  # a second tap: no second alert
    await harness.press(PAT, ok)
    [appointment] = await dbcheck.appointments(harness, PAT)
    assert appointment.checkin == "ok"
    assert len(harness.server.sent_messages(STAFF_ID)) == 1


async def test_a_typed_reply_to_the_check_in_is_acknowledged_with_the_buttons(
    harness: Harness,
) -> None:
    await book(harness)
    await run_at(harness, START + timedelta(days=1))
    [reply] = await harness.send(PAT, "not great, dizzy and sad")
    assert "Thank you for writing back" in reply
    labels = [t for t, _ in harness.buttons(PAT)]
    assert labels == ["🙂 I'm OK", "😐 A bit off", "😟 Not great, please call me"]
    [appointment] = await dbcheck.appointments(harness, PAT)
    assert appointment.checkin == "typed"
    call = harness.button(PAT, "Not great")
    [answer] = await harness.send(PAT, "how long is the recovery?")  # answered as usual now
    assert "After the infusion" in answer
    [called] = await harness.press(PAT, call)
    assert "asked the clinic team to call you" in called
    [appointment] = await dbcheck.appointments(harness, PAT)
    assert appointment.checkin == "call"
