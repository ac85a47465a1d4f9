"""A patient who tells the bot they have done an item of their checklist ("my husband is
driving me home", "ya tengo el antifaz") has it ticked on their next visit, through the
checklist's service (its reminder is then not sent), and is told so warmly with Undo; a
question, a "no", a difficulty, an uncertain plan or a patient with no visit keep the FAQ's
answer. Undo unticks once (a double tap is answered with a note) and a stale one (the visit
cancelled or over) changes nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.db.models import ChecklistTick
from tests.fake_telegram import updates
from tests.fake_telegram.server import RecordedRequest
from tests.integration import dbcheck
from tests.integration.harness import Harness, texts_to
from tests.integration.test_reminders import PAT, START, book, rows, run_at
from tests.integration.test_spanish import _consent_in_spanish, _from

RIDE_ANSWER = "Someone needs to drive you home."


async def ticks(harness: Harness) -> set[str]:
    [visit] = await dbcheck.appointments(harness, PAT)
    async with harness.app.context.session_factory() as session:
        found = await session.execute(
            select(ChecklistTick.item).where(ChecklistTick.appointment_id == visit.id)
        )
        return set(found.scalars())


def methods(sent: list[RecordedRequest]) -> list[str]:
    return [r.method.lower() for r in sent]


async def test_a_ride_said_sorted_is_ticked_and_its_reminder_not_sent(harness: Harness) -> None:
    await book(harness)
    [said] = await harness.send(PAT, "my husband is driving me home")
    assert said.startswith(
        "Lovely, the ride home is sorted. I've ticked it off your checklist for"
        " Thursday, December 3, 2026 ✅"
    )
    assert "4 more things to go" in said
    assert [label for label, _ in harness.buttons(PAT)] == ["↩️ Undo", "📋 Checklist"]
    assert await ticks(harness) == {"ride"}
    [checklist] = await harness.tap(PAT, "Checklist")
    assert "✅ Ride home arranged" in checklist and "⬜ Eye mask packed" in checklist
    # The same as the checklist's button: the ride's reminder is not sent.
    await run_at(harness, START - timedelta(days=3))
    assert await run_at(harness, START - timedelta(days=2)) == []
    planned = await rows(harness)
    assert (planned["ride"].status, planned["ride"].reason) == ("skipped", "done")


async def test_other_items_and_one_said_again(harness: Harness) -> None:
    await book(harness)
    [mask] = await harness.send(PAT, "just bought an eye mask!")
    assert mask.startswith("Lovely, the eye mask is packed.")
    [two] = await harness.send(PAT, "Playlist is ready and I packed my headphones.")
    assert "that's 2 things done" in two
    assert "✅ Calm playlist, no lyrics\n✅ Headphones packed" in two
    assert await ticks(harness) == {"eye_mask", "playlist", "headphones"}
    # Said again: already ticked, nothing to undo.
    [again] = await harness.send(PAT, "got my eye mask packed")
    assert "That's already ticked off your checklist: <b>Eye mask packed</b> ✅" in again
    assert [label for label, _ in harness.buttons(PAT)] == ["📋 Checklist"]


async def test_questions_doubts_and_no_visit_keep_the_faq_answer(harness: Harness) -> None:
    await harness.consent(PAT)
    # No visit booked: the answer as before, nothing stored.
    [answer] = await harness.send(PAT, "my husband is driving me home")
    assert RIDE_ANSWER in answer
    await harness.command(PAT, "appointment")
    await harness.send(PAT, "12/3 2:30pm")
    await harness.tap(PAT, "Confirm")
    for text, expected in (
        ("can my husband drive me home?", RIDE_ANSWER),
        ("can my husband drive me home", RIDE_ANSWER),
        ("my friend can't drive me anymore", RIDE_ANSWER),
        ("I don't have a ride", RIDE_ANSWER),
        ("I might ask my sister to drive me", RIDE_ANSWER),
        ("do I need an eye mask?", "What to bring and wear"),
    ):
        [answer] = await harness.send(PAT, text)
        assert expected in answer, text
        assert "ticked" not in answer, text
    assert await ticks(harness) == set()


async def test_undo_unticks_once_and_a_double_tap_gets_a_note(harness: Harness) -> None:
    await book(harness)
    await harness.send(PAT, "my sister's picking me up after")
    undo = harness.button(PAT, "Undo")
    sent = await harness.feed(updates.callback_update(PAT, undo))
    [edit] = [r for r in sent if r.method.lower() == "editmessagetext"]
    assert edit.params["text"].startswith("Okay, I've unticked it: <b>Ride home arranged</b>\n")
    assert await ticks(harness) == set()
    # The second tap of the same Undo: a note on the button, nothing sent or changed.
    again = await harness.feed(updates.callback_update(PAT, undo))
    assert methods(again) == ["answercallbackquery"]
    assert again[0].params.get("text") == "That's already unticked."
    assert await ticks(harness) == set()
    # Said again, it is ticked again, with an Undo of its own.
    [said] = await harness.send(PAT, "got my ride sorted")
    assert said.startswith("Lovely, the ride home is sorted.")
    assert await ticks(harness) == {"ride"}


async def test_a_stale_undo_changes_nothing(harness: Harness) -> None:
    await book(harness)
    await harness.send(PAT, "my husband is driving me home")
    undo = harness.button(PAT, "Undo")
    # The visit is over: its Undo is gone with it, the tick stays as it was.
    harness.clock.set(START + timedelta(minutes=1))
    [gone] = await harness.press(PAT, undo)
    assert "I can't find that appointment any more" in gone
    assert await ticks(harness) == {"ride"}
    # An Undo whose item the plan no longer has (forged or from an older plan): stale.
    harness.clock.set(START - timedelta(days=3))
    [stale] = await harness.press(PAT, undo.replace(":ride", ":water_bottle"))
    assert "That button is no longer active" in stale
    assert await ticks(harness) == {"ride"}


async def test_an_undo_of_a_cancelled_visit_changes_nothing(harness: Harness) -> None:
    await book(harness)
    await harness.send(PAT, "bought an eye mask")
    undo = harness.button(PAT, "Undo")
    await harness.command(PAT, "appointment")
    await harness.tap(PAT, "Dec 3")
    await harness.tap(PAT, "Cancel visit")
    await harness.tap(PAT, "Yes, cancel it")
    [gone] = await harness.press(PAT, undo)
    assert "I can't find that appointment any more" in gone
    assert await ticks(harness) == {"eye_mask"}


async def spanish(harness: Harness, text: str) -> list[str]:
    sent = await harness.feed(_from(updates.message_update(PAT, text), "es"))
    return texts_to(sent, PAT)


async def _book_in_spanish(harness: Harness) -> None:
    await _consent_in_spanish(harness)
    update: dict[str, Any] = updates.command_update(PAT, "appointment")
    await harness.feed(_from(update, "es"))
    await spanish(harness, "3/12 14:30")
    await harness.feed(_from(updates.callback_update(PAT, harness.button(PAT, "Confirmar")), "es"))


async def test_in_spanish_an_item_said_done_is_ticked_and_undone(harness: Harness) -> None:
    await _book_in_spanish(harness)
    [said] = await spanish(harness, "mi hijo me lleva a casa")
    assert said.startswith(
        "Qué bien, ya tiene quien le lleve a casa. Lo marqué en su lista para el"
        " jueves 3 de diciembre de 2026 ✅"
    )
    assert [label for label, _ in harness.buttons(PAT)] == ["↩️ Deshacer", "📋 Mi lista"]
    undo = harness.button(PAT, "Deshacer")
    [mask] = await spanish(harness, "ya tengo el antifaz")
    assert mask.startswith("Qué bien, el antifaz ya está en la bolsa.")
    [music] = await spanish(harness, "ya hice mi lista de música")
    assert music.startswith("Qué bien, la música ya está lista.")
    assert await ticks(harness) == {"ride", "eye_mask", "playlist"}
    sent = await harness.feed(_from(updates.callback_update(PAT, undo), "es"))
    [edit] = [r for r in sent if r.method.lower() == "editmessagetext"]
    assert edit.params["text"].startswith("De acuerdo, lo desmarqué: <b>Quien me lleve a casa</b>")
    again = await harness.feed(_from(updates.callback_update(PAT, undo), "es"))
    assert methods(again) == ["answercallbackquery"]
    assert again[0].params.get("text") == "Eso ya está desmarcado."
    assert await ticks(harness) == {"eye_mask", "playlist"}
    # A "no" keeps the answer, which says what to do.
    [answer] = await spanish(harness, "no tengo quien me lleve")
    assert "Alguien tiene que llevarle a casa." in answer
    assert await ticks(harness) == {"eye_mask", "playlist"}
