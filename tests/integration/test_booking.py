"""Setting, listing, changing and cancelling appointments."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.telegram.callbacks import ApptCb, DraftCb
from tests.fake_telegram import updates
from tests.integration import dbcheck
from tests.integration.harness import STAFF_ID, Harness, last_button

PAT = 1001
OTHER = 2002
DEC3 = "Thursday, December 3, 2026 at 2:30 PM EST"


async def book(harness: Harness, user: int, text: str) -> list[str]:
    await harness.command(user, "appointment")
    reply = await harness.send(user, text)
    assert "I read this as" in reply[0], reply
    return await harness.tap(user, "Confirm")


@pytest.mark.parametrize(
    ("typed", "reading"),
    [
        ("2026-12-03 14:30", DEC3),
        ("12/3 2:30pm", DEC3),
        ("Dec 3 2:30 pm", DEC3),
        ("3 December 14:30", DEC3),
        ("tomorrow 10am", "Tuesday, November 24, 2026 at 10:00 AM EST"),
        ("thursday 9:15", "Thursday, November 26, 2026 at 9:15 AM EST"),
        ("2027-07-04 9:00", "Sunday, July 4, 2027 at 9:00 AM EDT"),
    ],
)
async def test_each_accepted_form_is_read_back_unambiguously(
    harness: Harness, typed: str, reading: str
) -> None:
    await harness.consent(PAT)
    [ask] = await harness.command(PAT, "appointment")
    assert "Eastern Time (New York), UTC-5" in ask
    assert "Thu Nov 26, 2:30 PM" in ask  # an example three days ahead, never a past date
    [confirm] = await harness.send(PAT, typed)
    assert f"<b>{reading}</b>" in confirm
    assert [t for t, _ in harness.buttons(PAT)] == ["✅ Confirm", "✏️ Change"]
    assert await dbcheck.count(harness, dbcheck.Appointment) == 0  # nothing until confirmed
    [saved] = await harness.tap(PAT, "Confirm")
    assert reading in saved
    [stored] = await dbcheck.appointments(harness, PAT)
    assert stored.starts_at.tzinfo is not None
    assert stored.timezone == "America/New_York"


async def test_stored_instant_is_utc(harness: Harness) -> None:
    await harness.consent(PAT)
    await book(harness, PAT, "12/3 2:30pm")
    [stored] = await dbcheck.appointments(harness, PAT)
    assert stored.starts_at == datetime(2026, 12, 3, 19, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2026-11-20 10:00", "already passed"),
        ("today 9am", "already passed"),
        ("2028-01-05 10:00", "more than a year"),
        ("banana bread", "couldn't read"),
        ("Dec 3", "What time is your appointment that day?"),
        ("2:30pm", "On which day?"),
        ("next week", "one exact day"),
        ("tomorrow or wednesday", "more than one day"),
        ("Wednesday Dec 3 2pm", "that date is a Thursday"),
        ("2/30 10am", "doesn't exist in the calendar"),
        ("Dec 3 25:00", "doesn't look right"),
        ("2027-03-14 2:30am", "clocks go forward"),
    ],
)
async def test_refusals_are_kind_and_keep_asking(
    harness: Harness, typed: str, expected: str
) -> None:
    await harness.consent(PAT)
    await harness.command(PAT, "appointment")
    [reply] = await harness.send(PAT, typed)
    assert expected in reply
    assert "<code>" in reply  # always with an example
    # still waiting for a time: the next good answer works
    [confirm] = await harness.send(PAT, "12/3 2:30pm")
    assert DEC3 in confirm
    assert await dbcheck.count(harness, dbcheck.Appointment) == 0


async def test_fall_back_overlap_asks_which_one(harness: Harness) -> None:
    await harness.consent(PAT)
    await harness.command(PAT, "appointment")
    [reply] = await harness.send(PAT, "2027-11-07 1:30am")
    assert "happens twice" in reply
    assert "1:30 AM EDT" in reply
    assert "1:30 AM EST" in reply
    buttons = harness.buttons(PAT)
    assert len(buttons) == 3
    [saved] = await harness.press(PAT, buttons[1][1])  # the later one
    assert "1:30 AM EST" in saved
    [stored] = await dbcheck.appointments(harness, PAT)
    assert stored.starts_at == datetime(2027, 11, 7, 6, 30, tzinfo=UTC)


async def test_next_weekday_in_this_week_asks_which_week(harness: Harness) -> None:
    """ "next tuesday at 10" typed on a Monday: tomorrow to some, the Tuesday of next week to
    many. Both dates are buttons; the one tapped is stored; a second tap on it is answered
    as saved, once."""
    await harness.consent(PAT)
    await harness.command(PAT, "appointment")
    [reply] = await harness.send(PAT, "next tuesday at 10")
    assert "By \"next Tuesday\", do you mean this week's or next week's?" in reply
    assert "<b>Tuesday, November 24, 2026 at 10:00 AM EST</b> (tomorrow)" in reply
    assert "<b>Tuesday, December 1, 2026 at 10:00 AM EST</b> (next week)" in reply
    assert "clocks" not in reply
    labels = [text for text, _ in harness.buttons(PAT)]
    assert labels == ["Tue Nov 24, 10:00 AM", "Tue Dec 1, 10:00 AM", "✏️ Change"]
    assert await dbcheck.count(harness, dbcheck.Appointment) == 0
    later = harness.button(PAT, "Dec 1")
    [saved] = await harness.press(PAT, later)
    assert "Tuesday, December 1, 2026 at 10:00 AM EST" in saved
    [again] = await harness.press(PAT, later)  # a double tap: saved already, not twice
    assert "Tuesday, December 1, 2026 at 10:00 AM EST" in again
    [stored] = await dbcheck.appointments(harness, PAT)
    assert stored.starts_at == datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


async def test_next_weekday_without_a_time_says_both_days_then_asks_which(
    harness: Harness,
) -> None:
    """ "next tuesday" alone on a Monday: the day is not read back as settled ("Got it:
    Tuesday, November 24") when the week is still to be asked."""
    await harness.consent(PAT)
    await harness.command(PAT, "appointment")
    [half] = await harness.send(PAT, "next tuesday")
    assert (
        "Got it: <b>Tuesday</b>, this week's (<b>Tuesday, November 24, 2026</b>) or next "
        "week's (<b>Tuesday, December 1, 2026</b>)."
    ) in half
    assert "Then I'll ask you which week." in half
    [reply] = await harness.send(PAT, "10am")
    assert "By \"next Tuesday\", do you mean this week's or next week's?" in reply
    assert [t for t, _ in harness.buttons(PAT)][:2] == [
        "Tue Nov 24, 10:00 AM",
        "Tue Dec 1, 10:00 AM",
    ]


async def test_next_weekday_choice_of_an_older_offer_has_expired(harness: Harness) -> None:
    await harness.consent(PAT)
    await harness.command(PAT, "appointment")
    await harness.send(PAT, "next wednesday at 10")
    this_week = harness.button(PAT, "Nov 25")
    [friday] = await harness.send(PAT, "12/4 3pm")
    assert "Friday, December 4, 2026 at 3:00 PM EST" in friday
    [stale] = await harness.press(PAT, this_week)
    assert "expired" in stale
    assert await dbcheck.count(harness, dbcheck.Appointment) == 0


async def test_next_weekday_already_in_next_week_is_read_back_as_one_day(
    harness: Harness,
) -> None:
    harness.clock.set(datetime(2026, 11, 27, 15, 0, tzinfo=UTC))  # Friday, 10 AM
    await harness.consent(PAT)
    await harness.command(PAT, "appointment")
    [confirm] = await harness.send(PAT, "next tuesday at 10")
    assert "<b>Tuesday, December 1, 2026 at 10:00 AM EST</b>" in confirm
    assert [t for t, _ in harness.buttons(PAT)] == ["✅ Confirm", "✏️ Change"]


async def test_next_weekday_this_week_says_tomorrow_only_when_it_is(harness: Harness) -> None:
    """On a Monday, this week's Tuesday is "(tomorrow)", this week's Wednesday "(this
    week)"; on a Saturday, this week's Sunday is tomorrow again."""
    await harness.consent(PAT)
    await harness.command(PAT, "appointment")
    [wednesday] = await harness.send(PAT, "next wednesday at 10")
    assert "<b>Wednesday, November 25, 2026 at 10:00 AM EST</b> (this week)" in wednesday
    assert "(tomorrow)" not in wednesday
    harness.clock.set(datetime(2026, 11, 28, 15, 0, tzinfo=UTC))  # Saturday, 10 AM
    await harness.command(PAT, "appointment")
    [sunday] = await harness.send(PAT, "next sunday at 10")
    assert "<b>Sunday, November 29, 2026 at 10:00 AM EST</b> (tomorrow)" in sunday
    assert "<b>Sunday, December 6, 2026 at 10:00 AM EST</b> (next week)" in sunday


@pytest.mark.parametrize(
    ("typed", "day"),
    [
        ("next week", datetime(2026, 12, 1, 15, 0, tzinfo=UTC)),
        ("not this week", datetime(2026, 12, 1, 15, 0, tzinfo=UTC)),
        ("the 1st", datetime(2026, 12, 1, 15, 0, tzinfo=UTC)),
        ("this week", datetime(2026, 11, 24, 15, 0, tzinfo=UTC)),
        ("tomorrow", datetime(2026, 11, 24, 15, 0, tzinfo=UTC)),
    ],
)
async def test_next_weekday_typed_answer_picks_a_week(
    harness: Harness, typed: str, day: datetime
) -> None:
    """Typed instead of tapped, an answer that names one of the two days (in words, or by
    its date) picks it, as the tap would."""
    await harness.consent(PAT)
    await harness.command(PAT, "appointment")
    await harness.send(PAT, "next tuesday at 10")
    [saved] = await harness.send(PAT, typed)
    assert "Saved!" in saved
    [stored] = await dbcheck.appointments(harness, PAT)
    assert stored.starts_at == day


async def test_next_weekday_not_sure_keeps_the_choice_with_the_clinic(harness: Harness) -> None:
    """ "not sure, they just said friday" is no new day: the two dates stay buttons, with a
    line to check with the clinic; the tap still works."""
    await harness.consent(PAT)
    await harness.command(PAT, "appointment")
    await harness.send(PAT, "next tuesday at 10")
    [unsure] = await harness.send(PAT, "not sure, they just said friday")
    assert "If you're not sure which week it is, please check with" in unsure
    assert "<b>203-914-1900</b>" in unsure
    assert "Friday" not in unsure
    assert [t for t, _ in harness.buttons(PAT)] == [
        "Tue Nov 24, 10:00 AM",
        "Tue Dec 1, 10:00 AM",
        "✏️ Change",
    ]
    [again] = await harness.send(PAT, "I don't know")
    assert "please check with" in again
    # A question naming a week or one of the dates picks none: the same line, the same buttons.
    for question in ("is it next week?", "wait is it tomorrow??"):
        [asked] = await harness.send(PAT, question)
        assert "please check with" in asked
        assert [t for t, _ in harness.buttons(PAT)][:2] == [
            "Tue Nov 24, 10:00 AM",
            "Tue Dec 1, 10:00 AM",
        ]
    assert await dbcheck.count(harness, dbcheck.Appointment) == 0
    [saved] = await harness.tap(PAT, "Dec 1")
    assert "Tuesday, December 1, 2026 at 10:00 AM EST" in saved


async def test_next_weekday_other_text_is_read_as_before(harness: Harness) -> None:
    """The weekday alone again, or another time, is read as it was without the choice."""
    await harness.consent(PAT)
    await harness.command(PAT, "appointment")
    await harness.send(PAT, "next tuesday at 10")
    [half] = await harness.send(PAT, "tuesday")
    assert "Got it: <b>Tuesday, November 24, 2026</b>." in half
    await harness.send(PAT, "next tuesday at 10")
    [confirm] = await harness.send(PAT, "dec 1 at 3pm")
    assert "<b>Tuesday, December 1, 2026 at 3:00 PM EST</b>" in confirm
    assert [t for t, _ in harness.buttons(PAT)] == ["✅ Confirm", "✏️ Change"]


async def test_change_button_asks_again(harness: Harness) -> None:
    await harness.consent(PAT)
    await harness.command(PAT, "appointment")
    await harness.send(PAT, "12/3 2:30pm")
    [ask] = await harness.tap(PAT, "Change")
    assert "Please type the date and time" in ask
    [confirm] = await harness.send(PAT, "12/4 3pm")
    assert "Friday, December 4, 2026 at 3:00 PM EST" in confirm


async def test_several_appointments_listed_changed_and_cancelled(harness: Harness) -> None:
    await harness.consent(PAT)
    await book(harness, PAT, "12/10 9am")
    await harness.command(PAT, "appointment")  # a list now, not a question
    [listing] = await harness.send(PAT, "/appointment")
    assert "Thursday, December 10, 2026 at 9:00 AM EST" in listing
    await harness.tap(PAT, "Add an appointment")
    await harness.send(PAT, "12/3 2:30pm")
    await harness.tap(PAT, "Confirm")
    [listing] = await harness.command(PAT, "appointment")
    assert listing.index("December 3") < listing.index("December 10")

    # change the December 10 one
    await harness.tap(PAT, "Dec 10")
    [ask] = await harness.tap(PAT, "Change time")
    assert "new" in ask
    await harness.send(PAT, "12/17 9am")
    [moved] = await harness.tap(PAT, "Confirm")
    assert "has moved to" in moved
    assert "December 17" in moved
    stored = await dbcheck.appointments(harness, PAT)
    assert [a.starts_at.day for a in stored] == [3, 17]
    assert len({a.id for a in stored}) == 2

    # cancel the December 3 one, after a confirmation
    await harness.command(PAT, "appointment")
    await harness.tap(PAT, "Dec 3")
    [question] = await harness.tap(PAT, "Cancel visit")
    assert "Cancel your appointment" in question
    [kept] = await harness.tap(PAT, "No, keep it")
    assert "stays" in kept
    await harness.command(PAT, "appointment")
    await harness.tap(PAT, "Dec 3")
    await harness.tap(PAT, "Cancel visit")
    [cancelled] = await harness.tap(PAT, "Yes, cancel it")
    assert "Cancelled" in cancelled
    [listing] = await harness.command(PAT, "appointment")
    assert "December 3" not in listing
    assert "December 17" in listing


async def test_same_time_twice_is_refused(harness: Harness) -> None:
    await harness.consent(PAT)
    await book(harness, PAT, "12/3 2:30pm")
    await harness.command(PAT, "appointment")
    await harness.tap(PAT, "Add an appointment")
    await harness.send(PAT, "Dec 3 2:30 pm")
    [reply] = await harness.tap(PAT, "Confirm")
    assert "already have an appointment at exactly that time" in reply
    assert await dbcheck.count(harness, dbcheck.Appointment) == 1


async def test_buttons_for_another_patients_appointment_are_refused(harness: Harness) -> None:
    await harness.consent(OTHER)
    await book(harness, OTHER, "12/3 2:30pm")
    [theirs] = await dbcheck.appointments(harness, OTHER)
    await harness.consent(PAT)
    for action in ("view", "change", "cancel", "cancel_yes"):
        [reply] = await harness.press(PAT, ApptCb(action=action, id=theirs.id).pack())
        assert "can't find that appointment" in reply
        assert "December" not in reply
    [still] = await dbcheck.appointments(harness, OTHER)
    assert still.status == "scheduled"


async def test_button_of_a_cancelled_appointment_is_stale(harness: Harness) -> None:
    await harness.consent(PAT)
    await book(harness, PAT, "12/3 2:30pm")
    [appt] = await dbcheck.appointments(harness, PAT)
    await harness.press(PAT, ApptCb(action="cancel_yes", id=appt.id).pack())
    [reply] = await harness.press(PAT, ApptCb(action="change", id=appt.id).pack())
    assert "can't find that appointment" in reply


@pytest.mark.parametrize(
    "data", ["a:view:notanumber", "a:view", "zzz", "", "d:confirm:extra", "a:view:" + "9" * 60]
)
async def test_forged_callback_data_gets_a_kind_answer(harness: Harness, data: str) -> None:
    await harness.consent(PAT)
    sent = await harness.feed(updates.callback_update(PAT, data))
    answered = [r for r in sent if r.method.lower() == "answercallbackquery"]
    assert answered, "the button spinner must stop"
    texts = [r.params["text"] for r in sent if r.method.lower() == "sendmessage"]
    assert texts
    assert "no longer active" in texts[0] or "can't find" in texts[0] or "expired" in texts[0]


async def test_confirm_without_a_reading_has_expired(harness: Harness) -> None:
    await harness.consent(PAT)
    [reply] = await harness.press(PAT, DraftCb(action="confirm").pack())
    assert "expired" in reply
    assert await dbcheck.count(harness, dbcheck.Appointment) == 0


async def test_a_reading_that_became_past_is_refused_at_confirm(harness: Harness) -> None:
    await harness.consent(PAT)
    await harness.command(PAT, "appointment")
    await harness.send(PAT, "today 11am")
    harness.clock.set(datetime(2026, 11, 23, 16, 30, tzinfo=UTC))  # 11:30 local
    [reply] = await harness.tap(PAT, "Confirm")
    assert "already passed" in reply
    assert await dbcheck.count(harness, dbcheck.Appointment) == 0


async def test_commands_work_in_the_middle_of_booking(harness: Harness) -> None:
    await harness.consent(PAT)
    await harness.command(PAT, "appointment")
    [faq] = await harness.command(PAT, "faq")
    assert "Questions about your visit" in faq
    [helped] = await harness.command(PAT, "help")
    assert "/appointment" in helped
    # the booking question is still open
    [confirm] = await harness.send(PAT, "12/3 2:30pm")
    assert DEC3 in confirm


async def test_question_while_booking_is_answered_too(harness: Harness) -> None:
    await harness.consent(PAT)
    await harness.command(PAT, "appointment")
    [answer, still] = await harness.send(PAT, "how long is recovery")
    assert "30" in answer
    assert "45" in answer
    assert "Whenever you're ready" in still
    # the date question stays open
    [confirm] = await harness.send(PAT, "12/3 2:30pm")
    assert DEC3 in confirm


async def test_crisis_while_booking_is_answered_and_the_question_stays_open(
    harness: Harness,
) -> None:
    await harness.consent(PAT)
    await harness.command(PAT, "appointment")
    replies = await harness.send(PAT, "I want to kill myself")
    assert any("988" in reply for reply in replies)
    [confirm] = await harness.send(PAT, "12/3 2:30pm")
    assert DEC3 in confirm


async def test_past_ideation_while_booking_gets_only_the_gentle_answer(
    harness: Harness,
) -> None:
    await harness.consent(PAT)
    await harness.command(PAT, "appointment")
    [gentle] = await harness.send(PAT, "I tried to kill myself years ago")
    assert "Thank you for telling me" in gentle and "988" in gentle
    # No "couldn't read that as a date", and the date question stays open.
    [confirm] = await harness.send(PAT, "12/3 2:30pm")
    assert DEC3 in confirm
    assert harness.server.sent_messages(STAFF_ID) == []


async def test_half_answers_are_put_together(harness: Harness) -> None:
    await harness.consent(PAT)
    await harness.command(PAT, "appointment")
    [day] = await harness.send(PAT, "tommorow")
    assert "Tuesday, November 24, 2026" in day
    assert "What time" in day
    [confirm] = await harness.send(PAT, "2:30")  # a bare 2:30 is in the afternoon
    assert "<b>Tuesday, November 24, 2026 at 2:30 PM EST</b>" in confirm
    # and the other way round: the time, then the day
    await harness.tap(PAT, "Change")
    [clock] = await harness.send(PAT, "at 10am")
    assert "On which day?" in clock
    [confirm] = await harness.send(PAT, "the 15th")
    assert "<b>Tuesday, December 15, 2026 at 10:00 AM EST</b>" in confirm


async def test_impossible_us_date_is_read_day_first_and_said_so(harness: Harness) -> None:
    await harness.consent(PAT)
    await harness.command(PAT, "appointment")
    [confirm] = await harness.send(PAT, "24/12 9am")
    assert "<b>Thursday, December 24, 2026 at 9:00 AM EST</b>" in confirm
    assert "day first" in confirm


async def test_conversation_survives_a_restart(harness: Harness, tmp_path: Path) -> None:
    """The booking question is stored in the database, not in process memory."""
    from tests.integration.harness import start_harness

    await harness.consent(PAT)
    await harness.command(PAT, "appointment")
    await harness.app.dispatcher.stop_polling()
    async with start_harness(
        harness.server,
        tmp_path,
        now=harness.clock.now(),
        database_url=harness.settings.database_url,
    ) as second:
        [confirm] = await second.send(PAT, "12/3 2:30pm")
        assert DEC3 in confirm


async def test_an_older_offers_confirm_does_not_book_the_newer_offer(harness: Harness) -> None:
    """Thursday was offered, then the patient typed Friday instead: the Thursday message's
    Confirm (still on screen) has expired; it must not book Friday, the time the conversation
    holds now. Only the token the button carries tells the two offers apart."""
    await harness.consent(PAT)
    await harness.command(PAT, "appointment")
    [thursday] = await harness.send(PAT, "12/3 2:30pm")
    assert DEC3 in thursday
    old_confirm = harness.button(PAT, "Confirm")
    [friday] = await harness.send(PAT, "12/4 3pm")
    assert "Friday, December 4, 2026 at 3:00 PM EST" in friday
    assert harness.button(PAT, "Confirm") != old_confirm
    [stale] = await harness.press(PAT, old_confirm)
    assert "expired" in stale
    assert await dbcheck.count(harness, dbcheck.Appointment) == 0
    # The newer offer's button still books Friday.
    [saved] = await harness.press(PAT, last_button(harness.server, PAT, "Confirm"))
    assert "December 4" in saved
    [stored] = await dbcheck.appointments(harness, PAT)
    assert stored.starts_at == datetime(2026, 12, 4, 20, 0, tzinfo=UTC)


async def test_a_visit_mentioned_in_passing_is_offered_and_saved(harness: Harness) -> None:
    """Told of a visit outside the booking steps, the bot offers to add it, not a FAQ page;
    words that are no time while the offer is open are answered as talk, and its buttons
    still save it."""
    await harness.consent(PAT)
    [offer] = await harness.send(PAT, "i have my first infusion this thursday at 9:30")
    assert "It sounds like you have a visit on" in offer
    assert "<b>Thursday, November 26, 2026 at 9:30 AM EST</b>" in offer
    assert "Shall I add it to your appointments?" in offer
    assert await dbcheck.count(harness, dbcheck.Appointment) == 0
    [thanks] = await harness.send(PAT, "thank you")
    assert "couldn't read" not in thanks
    [saved] = await harness.press(PAT, last_button(harness.server, PAT, "Confirm"))
    assert "Thursday, November 26, 2026 at 9:30 AM EST" in saved
    assert len(await dbcheck.appointments(harness, PAT)) == 1
    # Said again, it is a visit already kept: no second offer.
    [again] = await harness.send(PAT, "my first infusion is this thursday at 9:30")
    assert "It sounds like you have a visit" not in again


async def test_a_visit_mentioned_next_weekday_offers_both_weeks(harness: Harness) -> None:
    """ "next thursday" said on a Monday, in passing: both Thursdays are offered to add; the
    one tapped is saved; said again, either reading is a visit kept already: no offer."""
    await harness.consent(PAT)
    [offer] = await harness.send(PAT, "i have my first infusion next thursday at 9:30")
    assert "It sounds like you have a visit on Thursday." in offer
    assert "<b>Thursday, November 26, 2026 at 9:30 AM EST</b> (this week)" in offer
    assert "<b>Thursday, December 3, 2026 at 9:30 AM EST</b> (next week)" in offer
    assert "Tap the right one and I'll add it to your appointments." in offer
    assert await dbcheck.count(harness, dbcheck.Appointment) == 0
    [saved] = await harness.send(PAT, "this week")  # typed instead of tapped
    assert "Thursday, November 26, 2026 at 9:30 AM EST" in saved
    [stored] = await dbcheck.appointments(harness, PAT)
    assert stored.starts_at == datetime(2026, 11, 26, 14, 30, tzinfo=UTC)
    [again] = await harness.send(PAT, "my first infusion is next thursday at 9:30")
    assert "It sounds like you have a visit" not in again


@pytest.mark.parametrize(
    "text",
    [
        "can i eat before my visit tomorrow at 10?",  # a question stays a question
        "my infusion was yesterday at 10",  # past: nothing to add
        "my infusion is next week",  # no day and time
    ],
)
async def test_no_offer_without_an_upcoming_day_and_time_in_a_statement(
    harness: Harness, text: str
) -> None:
    await harness.consent(PAT)
    replies = await harness.send(PAT, text)
    assert not any("It sounds like you have a visit" in r for r in replies)
    assert await dbcheck.count(harness, dbcheck.Appointment) == 0


async def test_an_ordinal_counting_visits_is_no_date(harness: Harness) -> None:
    await harness.consent(PAT)
    await harness.command(PAT, "appointment")
    [confirm] = await harness.send(PAT, "my 3rd session is tomorrow at 10am")
    assert "<b>Tuesday, November 24, 2026 at 10:00 AM EST</b>" in confirm


async def test_a_date_that_just_passed_is_read_a_year_ahead_and_said_so(
    harness: Harness,
) -> None:
    """ "12/3 10am" typed on December 7: December 3 has just passed, so it is read as next
    year's, and the read-back says so above Confirm and Change; a date still ahead is not."""
    harness.clock.set(datetime(2026, 12, 7, 14, 0, tzinfo=UTC))
    await harness.consent(PAT)
    await harness.command(PAT, "appointment")
    [confirm] = await harness.send(PAT, "12/3 10am")
    assert "<b>Friday, December 3, 2027 at 10:00 AM EST</b>" in confirm
    assert "That date has just passed, so I read it as the next one, almost a year away" in (
        confirm
    )
    assert [t for t, _ in harness.buttons(PAT)] == ["✅ Confirm", "✏️ Change"]
    await harness.tap(PAT, "Change")
    [ahead] = await harness.send(PAT, "12/9 10am")
    assert "December 9, 2026" in ahead and "just passed" not in ahead
