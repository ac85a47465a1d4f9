"""A patient asking when their own visit is ("what time is my appointment?", "¿cuándo me
toca?") is answered from their visits, as /appointment lists them (in the zone each was
booked in, a button each), or, with none saved, told so kindly with a button to add one; in
the language the question is written in. Other questions about a visit keep the FAQ's answer,
a request for a new time the reschedule answer, a visit told in passing the offer to add it,
and a crisis the crisis screen."""

from __future__ import annotations

import pytest

from tests.integration import dbcheck
from tests.integration.harness import Harness
from tests.integration.test_reminders import PAT, book
from tests.integration.test_spanish import _consent_in_spanish

LISTED = "<b>Your upcoming appointments</b>"
LISTED_ES = "<b>Sus próximas citas</b>"
NONE = "I don't have a visit of yours saved yet, so I can't look up its time."
NONE_ES = "Todavía no tengo ninguna visita suya guardada, así que no puedo decirle la hora."


async def listed(harness: Harness) -> str:
    """What /appointment shows the patient now."""
    [shown] = await harness.command(PAT, "appointment")
    return shown


@pytest.mark.parametrize(
    "asked",
    ["what time is my appointment?", "when is my infusion?", "is my visit still on thursday?"],
)
async def test_asked_with_a_visit_the_list_is_the_answer(harness: Harness, asked: str) -> None:
    await book(harness)
    [answer] = await harness.send(PAT, asked)
    assert LISTED in answer and "Thursday, December 3, 2026 at 2:30 PM EST" in answer
    buttons = [label for label, _ in harness.buttons(PAT)]
    assert buttons[-2:] == ["➕ Add an appointment", "Main menu"] and len(buttons) == 3
    # The very list /appointment shows, with its buttons.
    assert answer == await listed(harness)
    assert [label for label, _ in harness.buttons(PAT)] == buttons
    [visit] = await dbcheck.appointments(harness, PAT)  # nothing booked or changed
    assert visit.version == 1


async def test_asked_without_a_visit_adding_one_is_offered(harness: Harness) -> None:
    await harness.consent(PAT)
    [answer] = await harness.send(PAT, "what time is my appointment?")
    assert answer.startswith(NONE)
    assert "<b>" in answer and "Sorry, I couldn't match that" not in answer
    assert [label for label, _ in harness.buttons(PAT)] == ["➕ Add an appointment", "Main menu"]
    [ask] = await harness.tap(PAT, "Add an appointment")
    assert "When is your next infusion?" in ask


async def test_in_spanish_with_a_visit(harness: Harness) -> None:
    await _consent_in_spanish(harness)
    await harness.command(PAT, "appointment")
    await harness.send(PAT, "3/12 14:30")
    await harness.tap(PAT, "Confirmar")
    for asked in ("¿a qué hora es mi cita?", "¿cuándo me toca?"):
        [answer] = await harness.send(PAT, asked)
        assert LISTED_ES in answer
        assert "jueves 3 de diciembre de 2026, a las 2:30 p. m. EST" in answer
        assert [label for label, _ in harness.buttons(PAT)][-2:] == [
            "➕ Agregar una cita",
            "Menú principal",
        ]
    assert answer == await listed(harness)


async def test_in_spanish_without_a_visit(harness: Harness) -> None:
    await _consent_in_spanish(harness)
    [answer] = await harness.send(PAT, "¿cuándo me toca?")
    assert answer.startswith(NONE_ES)
    assert [label for label, _ in harness.buttons(PAT)] == ["➕ Agregar una cita", "Menú principal"]
    [ask] = await harness.tap(PAT, "Agregar una cita")
    assert "¿Cuándo es su próxima infusión?" in ask


async def test_asked_in_the_other_language_it_is_answered_in_it(harness: Harness) -> None:
    """A phone in English, the question in Spanish: the list in Spanish, and the other way."""
    await book(harness)
    [answer] = await harness.send(PAT, "¿a qué hora es mi cita?")
    assert LISTED_ES in answer and "jueves 3 de diciembre de 2026" in answer
    [none] = await harness.send(PAT + 1, "¿cuándo es mi próxima infusión?")
    assert none.startswith(NONE_ES)


@pytest.mark.parametrize(
    ("asked", "answered"),
    [
        ("how long does a visit take?", "How long"),
        ("what should i bring to my appointment?", "bring"),
        ("can i reschedule my appointment?", "call"),
        ("my appointment is thursday at 2pm", "Thursday, November 26, 2026 at 2:00 PM EST"),
        ("¿cuánto dura la cita?", "dura"),
    ],
)
async def test_other_questions_and_statements_keep_their_answers(
    harness: Harness, asked: str, answered: str
) -> None:
    await book(harness)
    answers = await harness.send(PAT, asked)
    assert not any(LISTED in a or LISTED_ES in a for a in answers)
    assert any(answered.lower() in a.lower() for a in answers), answers


async def test_a_crisis_is_answered_first(harness: Harness) -> None:
    await book(harness)
    answers = await harness.send(PAT, "when is my appointment, i want to kill myself")
    assert any("988" in a for a in answers)
    assert not any(LISTED in a for a in answers)
