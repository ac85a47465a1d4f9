"""Denials (issue 16, round 17): a crisis phrase with its own verb denied ("no me quiero morir",
"I don't want to kill myself") is not a crisis, where nothing separates the denial from what it
denies. Punctuation breaks it ("No, me quiero morir" answers a question with a crisis), what
follows is read on its own ("no me quiero matar pero quiero cortarme"), the lexicon's ``unless``
words take it back ("not going to kill myself yet"), and "ya no quiero morirme" (no longer) is
history, met with the gentle answer.

The ordinary lines are worded apart from the corpora's, to show the rule reads the denial and
not one sentence."""

from __future__ import annotations

import pytest

from bot.content.store import Content
from bot.domain.safety import CrisisDetector, LexiconPart
from tests.safety_corpora import ROOT


@pytest.fixture(scope="module")
def screen() -> CrisisDetector:
    return Content(ROOT / "messages").crisis_detector


@pytest.fixture(scope="module")
def lexicon_only() -> CrisisDetector:
    return Content(ROOT / "messages").crisis_detector_without_model


DENIED = [
    "no me quiero morir, nada más estoy agotada del turno",
    "yo no me quiero matar, solo necesito desahogarme un rato",
    "no tengo ganas de morirme, tengo ganas de que llegue el viernes",
    "no, no quiero hacerme daño, solo me asustó la pregunta del formulario",
    "no pienso matarme, pienso terminar el tratamiento",
    "I don't want to kill myself, I want my old energy back",
    "im not going to hurt myself, just venting about my sister",
    "I would never hurt myself, the kids keep me going",
    "no thoughts of suicide, just the usual nerves before thursday",
    "I have no intention of harming myself, I promise. Can I bring my own blanket?",
]


@pytest.mark.parametrize("text", DENIED)
def test_a_denial_of_ones_own_verb_is_not_a_crisis(screen: CrisisDetector, text: str) -> None:
    assert screen.check(text) is None, screen.explain(text)


BROKEN = [
    "No, me quiero morir",
    "no. me quiero morir",
    "me preguntas si estoy bien? no. quiero matarme",
    "dije que era broma pero no, quiero suicidarme",
    # one place the words stand together and one where they do not: none holds (safe side)
    "no me quiero morir, decía antes. No. Me quiero morir.",
]


@pytest.mark.parametrize("text", BROKEN)
def test_punctuation_breaks_a_denial(lexicon_only: CrisisDetector, text: str) -> None:
    match = lexicon_only.check(text)
    assert match is not None and match.alert_staff, text


FOLLOWED = [
    "no me quiero matar pero sí me quiero cortar ahora",
    "no quiero morirme pero tampoco quiero despertar mañana",
    "I don't want to kill myself but I want to disappear forever",
    "no me quiero matar por ahora",
    "im not going to kill myself yet",
    "i dont want to die but i have the pills counted out for tonight",
]


@pytest.mark.parametrize("text", FOLLOWED)
def test_what_follows_a_denial_is_read(screen: CrisisDetector, text: str) -> None:
    match = screen.check(text)
    assert match is not None and match.alert_staff, text


@pytest.mark.parametrize(
    "text",
    [
        "ya no quiero morirme como antes, la ketamina me ayudó",
        "ya no me quiero matar, desde la segunda sesión estoy distinta",
        "hace años que no pienso en suicidarme",
    ],
)
def test_no_longer_wanting_to_die_is_history(lexicon_only: CrisisDetector, text: str) -> None:
    match = lexicon_only.check(text)
    assert match is not None and not match.alert_staff, text


def _detector(denials: list[str], unless: list[str] = ()) -> CrisisDetector:  # type: ignore[assignment]
    part = LexiconPart(
        "en",
        {"active": ["kill myself", "want to die"]},
        denials=denials,
        unless=list(unless),
    )
    return CrisisDetector.from_parts([part])


def test_a_denial_covers_only_what_lies_within_it() -> None:
    screen = _detector(["dont want to die"])
    assert screen.check("i dont want to die") is None
    assert screen.check("i dont. want to die") is not None
    assert screen.check("i dont want to die, i want to kill myself") is not None


def test_unless_takes_a_denial_back() -> None:
    screen = _detector(["dont want to die"], ["yet"])
    assert screen.check("i dont want to die today") is None
    assert screen.check("i dont want to die yet") is not None


def test_a_denial_must_hold_a_crisis_phrase() -> None:
    with pytest.raises(ValueError, match="denials"):
        _detector(["i dont want to nap"])
