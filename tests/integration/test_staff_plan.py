"""Staff edit the reminder plan live (/plan): through the real dispatcher and the fake Bot API;
the reminders of booked visits follow the new plan at once, nothing is sent twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from bot.content.store import Content
from bot.db.content_versions import ContentVersionRepository
from bot.db.models import AuditEntry, ContentVersion, Patient, Reminder
from bot.telegram.callbacks import PlanAction, PlanCb
from tests.fake_telegram import updates
from tests.integration.harness import STAFF_ID, Harness
from tests.integration.test_reminders import PAT, START, book, rows, run_at
from tests.integration.test_staff_content import count

EVENING = datetime(2026, 12, 3, 0, 0, tzinfo=UTC)  # 19:00 EST the evening before
EARLIER = datetime(2026, 12, 2, 23, 0, tzinfo=UTC)  # 18:00 EST


def _cb(action: PlanAction, key: str = "", op: str = "") -> str:
    return PlanCb(a=action, k=key, o=op).pack()


async def change(harness: Harness, key: str, op: str, value: str) -> list[str]:
    """Open /plan, the step, its change button, and send `value`: the bot's answer."""
    await harness.command(STAFF_ID, "plan")
    await harness.press(STAFF_ID, _cb(PlanAction.STEP, key))
    await harness.press(STAFF_ID, _cb(PlanAction.EDIT, key, op))
    return await harness.send(STAFF_ID, value)


async def test_admin_moves_the_eye_mask_step_and_the_booked_reminder_moves_once(
    harness: Harness,
) -> None:
    await book(harness)
    await run_at(harness, START - timedelta(days=3))  # the playlist reminder is sent
    before = await rows(harness)
    assert before["evening_before"].due_at == EVENING
    [timeline] = await harness.command(STAFF_ID, "plan")
    # Steps by their plain titles, never their keys (the timeline and its buttons).
    assert "Reminder plan: Infusion" in timeline and "evening_before" not in timeline
    assert "<b>Reminder: the evening before (eye mask)</b>" in timeline
    labels = [text for text, _ in harness.buttons(STAFF_ID)]
    assert "Reminder: 2 days before (ride home)" in labels
    assert not any("_" in text for text in labels), labels
    [step] = await harness.tap(STAFF_ID, "the evening before")
    assert step.startswith("<b>Reminder: the evening before (eye mask)</b> (Infusion)")
    # Times in words, one line each.
    assert "\nSent: the day before at 7:00 PM (for the sample visit: " in step
    assert "\nStill worth sending until: 2 hours before\n" in step
    [ask] = await harness.tap(STAFF_ID, "Time")
    assert "Now: the day before at 7:00 PM." in ask
    [candidate] = await harness.send(STAFF_ID, "the day before at 6pm")
    assert "after your change" in candidate and "Save it?" in candidate
    save = harness.button(STAFF_ID, "Save")
    [saved] = await harness.press(STAFF_ID, save)
    assert "version 1 of the plan “Infusion” is live" in saved and "1 moved" in saved
    [again] = await harness.press(STAFF_ID, save)  # a double tap: one version, one re-plan
    assert "already live" in again
    assert await count(harness, ContentVersion) == 1
    after = await rows(harness)
    assert len(after) == len(before) == 5
    assert after["evening_before"].due_at == EARLIER
    assert after["playlist"].status == "sent"  # sent rows are never touched
    [ride] = await run_at(harness, START - timedelta(days=2))
    assert "ride" in ride
    assert await run_at(harness, EARLIER - timedelta(seconds=1)) == []
    [sent] = await run_at(harness, EARLIER)
    assert "eye mask" in sent.lower()
    assert await run_at(harness, EVENING) == []  # not again at the old time
    async with harness.app.context.session_factory() as session:
        lines = (
            await session.execute(
                select(AuditEntry.action, AuditEntry.outcome).where(
                    AuditEntry.action == "plan.edit"
                )
            )
        ).all()
    assert [tuple(line) for line in lines] == [("plan.edit", "done")]


async def test_a_step_switched_off_stops_at_once(harness: Harness) -> None:
    await book(harness)
    await harness.command(STAFF_ID, "plan")
    await harness.press(STAFF_ID, _cb(PlanAction.STEP, "ride"))
    [candidate] = await harness.tap(STAFF_ID, "On / Off")
    assert "switched off" in candidate
    [saved] = await harness.tap(STAFF_ID, "Save")
    assert "1 stopped" in saved
    planned = await rows(harness)
    assert (planned["ride"].status, planned["ride"].reason) == ("skipped", "step_removed")
    [playlist] = await run_at(harness, START - timedelta(days=3))
    assert "playlist" in playlist
    assert await run_at(harness, START - timedelta(days=2)) == []
    # Switched on again while still useful: planned again (due at once, as a catch-up).
    await harness.command(STAFF_ID, "plan")
    await harness.press(STAFF_ID, _cb(PlanAction.STEP, "ride"))
    await harness.tap(STAFF_ID, "On / Off")
    await harness.tap(STAFF_ID, "Save")
    assert (await rows(harness))["ride"].status == "pending"


async def test_broken_edits_are_refused_with_the_reason(harness: Harness) -> None:
    await book(harness)
    [far] = await change(harness, "evening_before", "at", "-31d")
    assert "more than 30 days" in far and "Nothing was changed" in far
    [after] = await harness.send(STAFF_ID, "+1d")  # the same question, asked again
    assert "after the visit" in after
    [item] = await change(harness, "evening_before", "items", "eye_mask, blanket")
    assert "blanket&#39; is not in checklist" in item
    [expiry] = await change(harness, "evening_before", "expires", "+1d")
    assert "after the appointment start" in expiry
    assert await count(harness, ContentVersion) == 0
    assert (await rows(harness))["evening_before"].due_at == EVENING


async def test_add_a_step_with_its_text(harness: Harness) -> None:
    await book(harness)
    await harness.command(STAFF_ID, "plan")
    [ask] = await harness.tap(STAFF_ID, "Add a step")
    assert "a short name and when to send it" in ask
    [duplicate] = await harness.send(STAFF_ID, "ride -1d@12:00\nDrink water.")
    assert "already the key" in duplicate
    [bad] = await harness.send(STAFF_ID, "water -1d@12:00\nHello {{ nme }}")
    assert "unknown variable nme" in bad
    [candidate] = await harness.send(
        STAFF_ID, "water the day before at noon\nDrink plenty of water today."
    )
    assert "water" in candidate
    [saved] = await harness.tap(STAFF_ID, "Save")
    assert "1 added" in saved
    assert await count(harness, ContentVersion) == 2  # the plan and the step's text
    water = (await rows(harness))["water"]
    [sent] = await run_at(harness, water.due_at)
    assert "Drink plenty of water today." in sent


async def test_an_added_step_reaches_a_spanish_patient_and_staff_hear_its_spanish_is_missing(
    harness: Harness,
) -> None:
    await book(harness)
    async with harness.app.context.session_factory() as session:
        await session.execute(
            update(Patient).where(Patient.telegram_id == PAT).values(language="es")
        )
        await session.commit()
    await harness.command(STAFF_ID, "plan")
    await harness.tap(STAFF_ID, "Add a step")
    await harness.send(STAFF_ID, "water the day before at noon\nDrink plenty of water today.")
    [saved] = await harness.tap(STAFF_ID, "Save")
    assert "1 added" in saved
    assert "no text in 🇪🇸 Español yet" in saved and "get it in 🇺🇸 English" in saved
    # Until a Spanish text is written, the Spanish patient gets the English one (not nothing).
    water = (await rows(harness))["water"]
    [sent] = await run_at(harness, water.due_at)
    assert "Drink plenty of water today." in sent


async def test_a_changed_step_says_nothing_of_languages(harness: Harness) -> None:
    await book(harness)
    await change(harness, "evening_before", "at", "-1d@18:00")
    [saved] = await harness.tap(STAFF_ID, "Save")
    assert "version 1 of the plan “Infusion” is live" in saved and "Español" not in saved


async def test_double_tap_on_confirm_saves_once(harness: Harness) -> None:
    await book(harness)
    await change(harness, "evening_before", "at", "-1d@18:00")
    save = harness.button(STAFF_ID, "Save")
    await harness.feed_many([updates.callback_update(STAFF_ID, save) for _ in range(2)])
    assert await count(harness, ContentVersion) == 1
    assert (await rows(harness))["evening_before"].due_at == EARLIER
    async with harness.app.context.session_factory() as session:
        edits = (
            await session.execute(select(AuditEntry.id).where(AuditEntry.action == "plan.edit"))
        ).all()
    assert len(edits) == 1


async def test_non_staff_plan_is_an_unknown_command(harness: Harness) -> None:
    await harness.consent(PAT)
    [answer] = await harness.command(PAT, "plan")
    assert "I don't know that command" in answer
    [stale] = await harness.press(PAT, _cb(PlanAction.EDIT, "ride", "switch"))
    assert "no longer active" in stale
    async with harness.app.context.session_factory() as session:
        refused = (
            await session.execute(
                select(AuditEntry.action, AuditEntry.outcome).where(
                    AuditEntry.actor_telegram_id == PAT
                )
            )
        ).all()
    assert [tuple(r) for r in refused] == [("plan.read", "refused"), ("plan.read", "refused")]
    assert await count(harness, ContentVersion) == 0


async def test_a_second_process_sees_the_plan_after_refresh(harness: Harness) -> None:
    settings = harness.settings
    second = Content(settings.messages_dir, settings.default_language)
    assert second.plan.step("evening_before") is not None
    await change(harness, "evening_before", "at", "-1d@18:00")
    await harness.tap(STAFF_ID, "Save")
    async with harness.app.context.session_factory() as session:
        assert await second.refresh(ContentVersionRepository(session))
    step = second.plan.step("evening_before")
    assert step is not None and step.at.text == "-1d@18:00"
    await harness.command(STAFF_ID, "plan")  # the next update in this process: refreshed
    assert harness.app.context.content.plan.step("evening_before") == step


async def test_rows_count_stays_one_per_step(harness: Harness) -> None:
    await book(harness)
    await change(harness, "arrival", "at", "-3h")
    await harness.tap(STAFF_ID, "Save")
    async with harness.app.context.session_factory() as session:
        keys = (await session.execute(select(Reminder.step_key))).scalars().all()
    assert sorted(keys) == sorted(set(keys)) and len(keys) == 5


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("3 hours before", "3 hours before"),
        ("90 minutes before", "1 hour 30 minutes before"),
        ("the day of the visit at 7am", "the day of the visit at 7:00 AM"),
        ("the day before at 6pm", "the day before at 6:00 PM"),
        ("3 horas antes", "3 hours before"),
        ("el día anterior a las 18:00", "the day before at 6:00 PM"),
        ("-1d@18:00", "the day before at 6:00 PM"),
        ("the day after at 10am", None),  # the arrival step is sent before the visit
    ],
)
async def test_a_time_is_read_as_the_team_says_it(
    harness: Harness, typed: str, shown: str | None
) -> None:
    [answer] = await change(harness, "arrival", "at", typed)
    if shown is None:
        assert "after the visit starts" in answer
    else:
        assert f"<b>Reminder: 2 hours before (arrival)</b>, {shown}" in answer
        assert "Save it?" in answer


async def test_the_plan_has_a_history_and_a_rollback_with_a_preview(harness: Harness) -> None:
    await book(harness)
    await change(harness, "evening_before", "at", "the day before at 6pm")
    await harness.tap(STAFF_ID, "Save")
    assert (await rows(harness))["evening_before"].due_at == EARLIER
    await harness.command(STAFF_ID, "plan")
    [history] = await harness.tap(STAFF_ID, "History")
    assert "Version 1 (live): Monday, November 23, 2026 at 10:00 AM EST, by Pat" in history
    timeline, offer = await harness.tap(STAFF_ID, "Version 0")
    assert "Version 0 of the plan" in timeline
    assert "<b>Reminder: the evening before (eye mask)</b>, the day before at 7:00 PM" in timeline
    assert "Restore it?" in offer
    cancel = harness.button(STAFF_ID, "Cancel")
    [restored] = await harness.tap(STAFF_ID, "Restore it")
    assert "version 2 of the plan “Infusion” is live" in restored and "1 moved" in restored
    assert (await rows(harness))["evening_before"].due_at == EVENING
    [stale] = await harness.press(STAFF_ID, cancel)  # the offer was answered
    assert "no longer active" in stale
