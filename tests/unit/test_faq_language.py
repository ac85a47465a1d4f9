"""The language a question is clearly written in (bot/domain/question_language.py): the FAQ
answers in it when it is another of the bot's than the patient's, and in the patient's when
unsure."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.content.store import Content
from bot.domain.question_language import QuestionLanguages

BUNDLED = Path(__file__).resolve().parents[2] / "messages"
CONTENT = Content(BUNDLED)

SPANISH = [
    "cuanto tiempo dura la infusion",
    "cuánto dura?",
    "puedo comer antes?",
    "donde estan ubicados",
    "cuanto cuesta",
    "necesito que me lleven a casa?",
    "que llevo a la cita",
    "es seguro la ketamina",
    "tienen estacionamiento",
    "me va a doler",
    "oye ¿puedo llevar mi cobija?",
    "tengo una pregunta",
]
ENGLISH = [
    "how long does it take",
    "how long is the infusion",
    "what should I bring?",
    "can I eat before",
    "where are you located",
    "does it hurt?",
    "how much does it cost",
    "is it safe",
    "do I need a driver",
    "i have a question",
]
UNSURE = [
    "",
    "  ",
    "no",  # both languages' word
    "LA",  # one word: Spanish's, and an English speaker's city
    "hola",
    "si",
    "gracias",
    "ok gracias",
    "duele?",  # clearly Spanish, but one word is not enough
    "infusion",  # "infusión" and "infusion" are one word unaccented
    "la infusion",
    "ketamine IV",
    "40 minutos?",
    "Uber",
    "can I bring my cobija por favor?",  # words of both
    "what time is my cita",
    "hola, how long is it?",
    "is my dog in la?",
]


@pytest.mark.parametrize("text", SPANISH)
def test_a_short_spanish_question_is_spanish(text: str) -> None:
    assert CONTENT.question_languages().written_in(text) == "es"


@pytest.mark.parametrize("text", ENGLISH)
def test_a_short_english_question_is_english(text: str) -> None:
    assert CONTENT.question_languages().written_in(text) == "en"


@pytest.mark.parametrize("text", UNSURE)
def test_one_word_shared_words_or_words_of_both_are_unsure(text: str) -> None:
    assert CONTENT.question_languages().written_in(text) is None


def test_a_word_tells_a_language_only_if_no_other_knows_it() -> None:
    """Two telling words of one language and none of another's; a word both know tells
    neither; a word of one letter or with digits tells nothing."""
    languages = QuestionLanguages(
        {
            "en": ["the dog", "is my", "no", "infusion", "u"],
            "es": ["el perro", "es mi", "la", "no", "infusión", "y", "40 minutos"],
        }
    )
    assert languages.written_in("Oye, ¿EL perro es MÍO... mi perro?") == "es"
    assert languages.written_in("is the dog mine?") == "en"
    assert languages.written_in("LA") is None
    assert languages.written_in("no infusion") is None
    assert languages.written_in("is my dog in la?") is None
    assert languages.written_in("la casa es roja", at_least=3) is None
    assert languages.written_in("y 40") is None
    assert languages.telling("es") == {"el", "perro", "es", "mi", "la", "minutos"}
    assert languages.telling("fr") == frozenset()


def test_a_question_a_language_borrows_tells_nothing_of_it(tmp_path: Path) -> None:
    """A question only the default language has is shown to Spanish patients in English
    (borrowed): its English keywords are not Spanish words."""
    copy = tmp_path / "messages"
    shutil.copytree(BUNDLED, copy)
    faq = copy / "en" / "faq.toml"
    faq.write_text(
        faq.read_text(encoding="utf-8")
        + '\n[[prompt]]\nkey = "wifi"\ntitle = "Wifi"\nkeywords = ["wifi zorblatt"]\n'
        'template = "faq/contact"\n',
        encoding="utf-8",
    )
    content = Content(copy)
    assert "wifi" in content.faq("es").borrowed
    assert "zorblatt" in content.question_languages().telling("en")
    assert "zorblatt" not in content.question_languages().telling("es")
