"""How a visit is spoken of in passing (bot/domain/visit_mentions.py): moved, named by its
place alone, asked about."""

from __future__ import annotations

import pytest

from bot.domain.visit_mentions import asks, names_one_in_order, says_moved


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
