"""How a visit is spoken of in passing (bot/domain/visit_mentions.py): moved, named by its
place alone, asked about."""

from __future__ import annotations

import pytest

from bot.domain.visit_mentions import asks, names_one_in_order, says_moved, says_was_moved


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("they moved my appt to friday at 11", "en"),
        ("my appointment got rescheduled to 12/11 11am", "en"),
        ("they pushed my visit back to friday at 11", "en"),
        ("the clinic brought my infusion forward to tuesday at 9", "en"),
        ("they changed it to friday at 11", "en"),
        ("me cambiaron la cita al viernes a las 11", "es"),
        ("movieron mi cita para el viernes a las 11", "es"),
        ("me pasaron la cita al viernes a las 11", "es"),
        ("reprogramaron mi cita para el viernes a las 11", "es"),
        ("cambié la cita al viernes a las 11", "es"),
        ("me la cambiaron al viernes a las 11", "es"),
        ("han cambiado mi cita al viernes a las 11", "es"),
    ],
)
def test_a_visit_said_moved(text: str, lang: str) -> None:
    assert says_moved(text, lang)


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("they didn't move my appt, still thursday at 2", "en"),
        ("my infusion is next thursday at 9:30", "en"),
        ("i moved my dinner to friday at 7", "en"),
        ("my mood changed a lot, see you friday at 11", "en"),
        ("no me cambiaron la cita, sigue el jueves a las 2", "es"),
        ("el martes pasado fui a la cita, la próxima es el viernes a las 11", "es"),
    ],
)
def test_nothing_said_moved(text: str, lang: str) -> None:
    assert not says_moved(text, lang)


def test_a_hedging_question_mark_is_no_question() -> None:
    hedge = "i think my first one is next thursday around 2? not totally sure"
    assert not asks(hedge) and names_one_in_order(hedge)
    assert not asks("mi primera es el jueves a las 2? no estoy segura", "es")
    assert asks("can i eat before my visit tomorrow at 10?")
    assert asks("my appt is friday at 11, can i eat before?")
    assert asks("¿mi cita es mañana?", "es")
    assert asks("puedo comer antes de mi cita mañana a las 10?", "es")
    assert not names_one_in_order("which one is better, friday at 11 or monday")


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("they moved it", "en"),
        ("my appointment got moved", "en"),
        ("the clinic changed my appointment", "en"),
        ("ok so they moved it", "en"),
        ("Clinic called, they moved it", "en"),
        ("my appt was rescheduled", "en"),
        ("it got pushed back", "en"),
        ("my session has been moved", "en"),
        ("my appointment on friday got moved", "en"),
        ("i rescheduled my appointment", "en"),
        ("they bumped my visit", "en"),
        ("me cambiaron la cita", "es"),
        ("me la cambiaron", "es"),
        ("cambiaron mi cita", "es"),
        ("mi cita fue cambiada", "es"),
        ("la cita cambió", "es"),
        ("me movieron la cita", "es"),
        ("reprogramaron mi consulta", "es"),
        ("han cambiado mi cita", "es"),
        ("me pospusieron la sesión", "es"),
    ],
)
def test_a_visit_said_moved_without_its_time(text: str, lang: str) -> None:
    assert says_was_moved(text, lang)


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        # Asking for a new time, or asking whether: the FAQ's answers.
        ("can i move my appointment?", "en"),
        ("i need to move my appointment", "en"),
        ("I need to change my appointment", "en"),
        ("i want to reschedule", "en"),
        ("need to push my appt back", "en"),
        ("running late can we move it", "en"),
        ("i want my appointment changed", "en"),
        ("did they move my appointment", "en"),
        ("has my appointment been moved", "en"),
        ("how do i change my appointment time", "en"),
        ("if they moved it what happens", "en"),
        # Not done, or not a visit.
        ("they didn't move my appointment", "en"),
        ("my appointment wasn't moved", "en"),
        ("my dog has been anxious since we moved apartments", "en"),
        ("my mood changed a lot", "en"),
        ("my flight got moved so i need to move my appointment", "en"),
        ("¿me cambiaron la cita?", "es"),
        ("quiero cambiar mi cita", "es"),
        ("necesito cambiar la cita", "es"),
        ("tengo que mover mi cita", "es"),
        ("no me cambiaron la cita", "es"),
        ("si me cambian la cita qué hago", "es"),
        ("me pasó algo", "es"),
        ("cambio de planes", "es"),
    ],
)
def test_no_visit_said_moved_without_its_time(text: str, lang: str) -> None:
    assert not says_was_moved(text, lang)
