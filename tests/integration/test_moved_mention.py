"""A visit the patient says in passing was moved ("they moved my appt to friday at 11"): the
bot offers to move their visit, not to add a second one, and the move is the change of
/appointment (reminders, the clinic's `visit.moved`, a visit the clinic changed meanwhile,
second and stale taps). Said without the new time ("they moved it", "me cambiaron la
cita"), the new time is asked (which visit first, when several; none saved: adding one is
offered) and read back as the same move; a request for a new time keeps the FAQ's answer and
a crisis the crisis screen. And a visit named by its place alone ("my first one is ...")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.db.models import Appointment
from bot.db.patients import CANCELLED
from tests.fake_telegram import updates
from tests.fake_telegram.server import FakeTelegramServer
from tests.integration import dbcheck
from tests.integration.harness import Harness
from tests.integration.test_intake_events import (
    START_BOOKED,
    book_linked,
    bot_and_receiver,
    clinic_moves,
    event_rows,
)

PAT = 1001
# DEFAULT_NOW is Monday, November 23, 2026, 10:00 AM in New York.
DEC3 = "Thursday, December 3, 2026 at 2:30 PM EST"
DEC4 = "Friday, December 4, 2026 at 11:00 AM EST"
DEC4_UTC = datetime(2026, 12, 4, 16, 0, tzinfo=UTC)


async def book(h: Harness, typed: str, user: int = PAT) -> None:
    await h.command(user, "appointment")
    await h.send(user, typed)
    await h.tap(user, "Confirm")


async def told_moved(h: Harness, booked: str, said: str) -> str:
    """A patient who booked `booked` says `said`: the bot's answer."""
    await h.consent(PAT)
    await book(h, booked)
    [answer] = await h.send(PAT, said)
    return answer


async def tap_then_start(h: Harness, label: str) -> datetime:
    """Tap the button like `label`: the start of the patient's one visit then."""
    await h.tap(PAT, label)
    [visit] = await dbcheck.appointments(h, PAT)
    return visit.starts_at


async def upcoming(h: Harness) -> list[Appointment]:
    return [a for a in await dbcheck.appointments(h, PAT) if a.status != CANCELLED]


async def test_one_visit_said_moved_is_moved_with_its_reminders(harness: Harness) -> None:
    offer = await told_moved(harness, "12/3 2:30pm", "they moved my appt to 12/4 at 11am")
    [before] = await dbcheck.appointments(harness, PAT)
    assert "It sounds like you have a visit on" not in offer
    assert f"Move your visit on <b>{DEC3}</b>\nto <b>{DEC4}</b>?" in offer
    assert [t for t, _ in harness.buttons(PAT)] == [
        "🔁 Move it",
        "➕ Add as another visit",
        "✏️ Change",
    ]
    move = harness.button(PAT, "Move it")
    [moved] = await harness.press(PAT, move)
    assert f"has moved to\n<b>{DEC4}</b>" in moved
    [visit] = await dbcheck.appointments(harness, PAT)
    assert (visit.id, visit.starts_at) == (before.id, DEC4_UTC)
    # Its reminders follow it: planned before Friday's start, none left for Thursday's.
    dues = [r.due_at for r in (await dbcheck.reminders(harness, visit.id)).values()]
    assert any(START_BOOKED < due < DEC4_UTC for due in dues)
    # A second tap on Move: answered as done, nothing moved twice.
    [again] = await harness.press(PAT, move)
    assert DEC4 in again
    [visit] = await dbcheck.appointments(harness, PAT)
    assert (visit.version, visit.starts_at) == (before.version + 1, DEC4_UTC)


async def test_change_under_a_moved_visit_asks_its_new_time(harness: Harness) -> None:
    await told_moved(harness, "12/3 2:30pm", "my appointment got rescheduled to friday at 11")
    [ask] = await harness.tap(PAT, "Change")
    assert "What's the <b>new</b> date and time of this appointment?" in ask
    [confirm] = await harness.send(PAT, "12/4 9am")
    assert "Shall I move your appointment to this time?" in confirm
    assert await tap_then_start(harness, "Confirm") == datetime(2026, 12, 4, 14, 0, tzinfo=UTC)


async def test_add_as_another_visit_keeps_the_first(harness: Harness) -> None:
    await told_moved(harness, "12/3 2:30pm", "they pushed my visit back to 12/4 11am")
    [added] = await harness.tap(PAT, "Add as another visit")
    assert f"Saved! Your appointment is on\n<b>{DEC4}</b>" in added
    assert len(await upcoming(harness)) == 2


async def booked_in_spanish(h: Harness) -> None:
    """A patient whose Telegram speaks Spanish agrees and books December 3 at 2:30 PM."""
    start = updates.command_update(PAT, "start")
    start["message"]["from"]["language_code"] = "es"  # the language Telegram is set to
    await h.feed(start)
    agree = updates.callback_update(PAT, h.button(PAT, "acuerdo"))
    agree["callback_query"]["from"]["language_code"] = "es"
    await h.feed(agree)
    await book(h, "3/12 14:30")


async def test_in_spanish_the_visit_is_moved(harness: Harness) -> None:
    await booked_in_spanish(harness)
    [offer] = await harness.send(PAT, "me cambiaron la cita al 4 de diciembre a las 11")
    assert "Parece que le cambiaron la cita." in offer
    assert "¿Cambio su visita del <b>jueves 3 de diciembre de 2026, a las 2:30 p. m. EST" in offer
    assert "al <b>viernes 4 de diciembre de 2026, a las 11:00 a. m. EST</b>?" in offer
    [moved] = await harness.tap(PAT, "Mover mi cita")
    assert "viernes 4 de diciembre de 2026" in moved
    [visit] = await dbcheck.appointments(harness, PAT)
    assert visit.starts_at == DEC4_UTC


async def test_several_visits_ask_which_one_moved(harness: Harness) -> None:
    await harness.consent(PAT)
    await book(harness, "12/3 2:30pm")
    await book(harness, "12/10 2:30pm")
    [which] = await harness.send(PAT, "they rescheduled my infusion to 12/4 at 11am")
    assert f"a visit was moved to <b>{DEC4}</b>" in which
    assert DEC3 in which and "Thursday, December 10, 2026 at 2:30 PM EST" in which
    labels = [t for t, _ in harness.buttons(PAT)]
    assert labels == ["Thu Dec 3, 2:30 PM", "Thu Dec 10, 2:30 PM", "➕ Add as another visit"]
    second = harness.button(PAT, "Dec 10")
    first = harness.button(PAT, "Dec 3")
    [moved] = await harness.press(PAT, second)
    assert DEC4 in moved
    # The other visit's button of the same offer moves nothing more.
    await harness.press(PAT, first)
    starts = sorted(a.starts_at for a in await upcoming(harness))
    assert starts == [datetime(2026, 12, 3, 19, 30, tzinfo=UTC), DEC4_UTC]


async def test_without_a_visit_it_is_offered_to_be_added(harness: Harness) -> None:
    await harness.consent(PAT)
    [offer] = await harness.send(PAT, "they moved my appt to 12/4 at 11am")
    assert "It sounds like you have a visit on" in offer
    assert "Shall I add it to your appointments?" in offer


async def test_the_first_one_named_alone_is_a_visit(harness: Harness) -> None:
    await harness.consent(PAT)
    [offer] = await harness.send(
        PAT, "i think my first one is next thursday around 2? not totally sure"
    )
    assert "It sounds like you have a visit on" in offer
    assert "<b>Thursday, November 26, 2026 at 2:00 PM EST</b>" in offer
    # A question stays a question, and an ordinary sentence ordinary.
    for text in (
        "can i eat before my first one on thursday at 2?",
        "which one is better, friday at 11 or monday?",
    ):
        replies = await harness.send(PAT, text)
        assert not any("It sounds like" in r for r in replies), text


async def test_a_dst_crossing_move_reads_both_times_in_local_time(harness: Harness) -> None:
    offer = await told_moved(
        harness, "3/12/2027 2pm", "the clinic moved my appointment to 3/16/2027 at 11am"
    )
    assert "Move your visit on <b>Friday, March 12, 2027 at 2:00 PM EST</b>" in offer
    assert "to <b>Tuesday, March 16, 2027 at 11:00 AM EDT</b>?" in offer
    assert await tap_then_start(harness, "Move it") == datetime(2027, 3, 16, 15, 0, tzinfo=UTC)


async def test_a_stale_move_after_the_visit_was_cancelled_does_nothing(harness: Harness) -> None:
    await told_moved(harness, "12/3 2:30pm", "they moved my appt to 12/4 at 11am")
    move = harness.button(PAT, "Move it")
    await harness.command(PAT, "appointment")
    await harness.tap(PAT, "Dec 3")
    await harness.tap(PAT, "Cancel visit")
    await harness.tap(PAT, "Yes, cancel it")
    [stale] = await harness.press(PAT, move)
    assert "expired" in stale
    [visit] = await dbcheck.appointments(harness, PAT)
    assert visit.status == CANCELLED
    assert visit.starts_at == datetime(2026, 12, 3, 19, 30, tzinfo=UTC)


async def test_a_clinic_visit_moved_tells_the_clinic_once_and_a_clinic_change_wins(
    telegram: FakeTelegramServer, tmp_path: Path
) -> None:
    async with bot_and_receiver(telegram, tmp_path) as (h, receiver):
        appointment_id = await book_linked(h, "EHR-77")
        # The clinic moves the visit while the patient's offer is open: nothing is moved.
        await h.send(PAT, "they moved my appt to 12/4 at 11am")
        move = h.button(PAT, "Move it")
        clinic_time = START_BOOKED + timedelta(hours=1)
        await clinic_moves(h, appointment_id, clinic_time)
        [refused] = await h.press(PAT, move)
        assert "just changed this visit" in refused
        [visit] = await dbcheck.appointments(h, PAT)
        assert visit.starts_at == clinic_time
        assert await event_rows(h) == []
        # Said again, the move is made and the clinic told once, however often it is tapped.
        await h.send(PAT, "they moved my appt to 12/4 at 11am")
        move = h.button(PAT, "Move it")
        await h.press(PAT, move)
        await h.press(PAT, move)
        [visit] = await dbcheck.appointments(h, PAT)
        assert visit.starts_at == DEC4_UTC
        rows = await event_rows(h)
        assert [r.event_type for r in rows] == ["visit.moved"]
        assert '"data":{"start":"2026-12-04T16:00:00Z","zone":"America/New_York"}' in rows[0].body
        await receiver.wait_for(1)


# ---------------------------------------------- said moved without the new time: it is asked

ASKED = "What's its <b>new</b> date and time?"


async def test_said_moved_without_a_time_asks_it_and_reads_both_back(harness: Harness) -> None:
    asked = await told_moved(harness, "12/3 2:30pm", "they moved it")
    assert f"It sounds like your visit on <b>{DEC3}</b> was moved." in asked
    assert ASKED in asked
    assert "Eastern Time (New York)" in asked  # read in the patient's zone, said so
    [before] = await dbcheck.appointments(harness, PAT)
    [offer] = await harness.send(PAT, "12/4 11am")
    # The read-back of "they moved my appt to 12/4 at 11am": both times, the same buttons.
    assert f"Move your visit on <b>{DEC3}</b>\nto <b>{DEC4}</b>?" in offer
    assert [t for t, _ in harness.buttons(PAT)] == [
        "🔁 Move it",
        "➕ Add as another visit",
        "✏️ Change",
    ]
    assert await tap_then_start(harness, "Move it") == DEC4_UTC
    [visit] = await dbcheck.appointments(harness, PAT)
    assert (visit.id, visit.version) == (before.id, before.version + 1)


@pytest.mark.parametrize(
    "said",
    [
        "my appointment got moved",
        "the clinic changed my appointment",
        "Clinic called, they moved it",
    ],
)
async def test_each_way_of_saying_it_was_moved_asks_the_new_time(
    harness: Harness, said: str
) -> None:
    asked = await told_moved(harness, "12/3 2:30pm", said)
    assert ASKED in asked and DEC3 in asked


async def test_half_a_new_time_said_is_kept_and_the_rest_asked(harness: Harness) -> None:
    asked = await told_moved(harness, "12/3 2:30pm", "they moved it to friday")
    assert "Got it: it's now on <b>Friday, November 27, 2026</b>. At what time?" in asked
    [offer] = await harness.send(PAT, "11am")
    assert "to <b>Friday, November 27, 2026 at 11:00 AM EST</b>?" in offer
    assert await tap_then_start(harness, "Move it") == datetime(2026, 11, 27, 16, 0, tzinfo=UTC)


async def test_add_as_another_visit_and_change_work_as_when_the_time_was_said(
    harness: Harness,
) -> None:
    await told_moved(harness, "12/3 2:30pm", "my appt was rescheduled")
    await harness.send(PAT, "12/4 11am")
    [ask] = await harness.tap(PAT, "Change")
    assert "What's the <b>new</b> date and time of this appointment?" in ask
    await harness.send(PAT, "12/4 9am")
    [added] = await harness.tap(PAT, "Confirm")
    assert "has moved to" in added
    await harness.send(PAT, "they moved it")
    await harness.send(PAT, "12/11 10am")
    [added] = await harness.tap(PAT, "Add as another visit")
    assert "Saved! Your appointment is on" in added
    assert len(await upcoming(harness)) == 2


async def test_several_visits_ask_which_one_then_its_new_time(harness: Harness) -> None:
    await harness.consent(PAT)
    await book(harness, "12/3 2:30pm")
    await book(harness, "12/10 2:30pm")
    [which] = await harness.send(PAT, "the clinic changed my appointment")
    assert "It sounds like one of your visits was moved. Which one?" in which
    assert DEC3 in which and "Thursday, December 10, 2026 at 2:30 PM EST" in which
    assert [t for t, _ in harness.buttons(PAT)] == [
        "Thu Dec 3, 2:30 PM",
        "Thu Dec 10, 2:30 PM",
        "Main menu",
    ]
    [asked] = await harness.tap(PAT, "Dec 10")
    assert "your visit on <b>Thursday, December 10, 2026 at 2:30 PM EST</b> was moved" in asked
    [offer] = await harness.send(PAT, "12/4 11am")
    assert "Move your visit on <b>Thursday, December 10, 2026 at 2:30 PM EST</b>" in offer
    await harness.tap(PAT, "Move it")
    starts = sorted(a.starts_at for a in await upcoming(harness))
    assert starts == [datetime(2026, 12, 3, 19, 30, tzinfo=UTC), DEC4_UTC]


async def test_several_visits_and_the_time_typed_instead_asks_which_with_it(
    harness: Harness,
) -> None:
    await harness.consent(PAT)
    await book(harness, "12/3 2:30pm")
    await book(harness, "12/10 2:30pm")
    await harness.send(PAT, "they moved it")
    [which] = await harness.send(PAT, "12/4 11am")
    assert f"a visit was moved to <b>{DEC4}</b>" in which
    await harness.tap(PAT, "Dec 3")
    starts = sorted(a.starts_at for a in await upcoming(harness))
    assert starts == [DEC4_UTC, datetime(2026, 12, 10, 19, 30, tzinfo=UTC)]


async def test_without_a_visit_saved_it_is_said_kindly_and_adding_one_offered(
    harness: Harness,
) -> None:
    await harness.consent(PAT)
    [none] = await harness.send(PAT, "my appointment got moved")
    assert "I don't have a visit of yours saved yet" in none
    assert [t for t, _ in harness.buttons(PAT)] == ["➕ Add an appointment", "Main menu"]
    [ask] = await harness.tap(PAT, "Add an appointment")
    assert "When is your next infusion?" in ask


async def test_in_spanish_without_the_time_it_is_asked_in_spanish(harness: Harness) -> None:
    await booked_in_spanish(harness)
    [asked] = await harness.send(PAT, "me cambiaron la cita")
    assert "Parece que le cambiaron su visita del <b>jueves 3 de diciembre de 2026" in asked
    assert "¿Cuál es su <b>nueva</b> fecha y hora?" in asked
    [offer] = await harness.send(PAT, "4/12 a las 11")
    assert "al <b>viernes 4 de diciembre de 2026, a las 11:00 a. m. EST</b>?" in offer
    await harness.tap(PAT, "Mover mi cita")
    [visit] = await dbcheck.appointments(harness, PAT)
    assert visit.starts_at == DEC4_UTC


async def test_asking_for_a_new_time_keeps_its_answer_and_a_crisis_comes_first(
    harness: Harness,
) -> None:
    await harness.consent(PAT)
    await book(harness, "12/3 2:30pm")
    for text in ("can i move my appointment?", "i need to move my appointment"):
        replies = await harness.send(PAT, text)
        assert not any("It sounds like" in r for r in replies), text
        assert any("a new time for your visit" in r for r in replies), text
    replies = await harness.send(PAT, "they moved it and i want to kill myself")
    assert "988" in replies[0]
    assert not any("It sounds like" in r for r in replies)
    [visit] = await dbcheck.appointments(harness, PAT)
    assert visit.starts_at == datetime(2026, 12, 3, 19, 30, tzinfo=UTC)


async def test_moved_to_next_weekday_asks_the_new_time_then_which_week(harness: Harness) -> None:
    """ "they moved my appt to next tuesday at 10" on a Monday: the move's offer holds one
    time, so the new time is asked; typed, both weeks are offered, and the one tapped is the
    visit's new time."""
    answer = await told_moved(harness, "12/3 2:30pm", "they moved my appt to next tuesday at 10")
    assert "What's its <b>new</b> date and time?" in answer
    [choice] = await harness.send(PAT, "next tuesday at 10")
    assert "this week's or next week's" in choice
    assert await tap_then_start(harness, "Dec 1") == datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
