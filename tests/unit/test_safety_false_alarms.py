"""What makes crisis words ordinary, by cause (round 11, from the false alarms of the
development corpora): a screening question answered no, a professional asking about someone's
history, recovery told with how long it has lasted, a relative's crisis long ago, an emergency
seen as a nurse, a gift with an ordinary reason, chest pain already examined, the news. The
ordinary lines here are worded apart from the corpora's, to show each rule reads the cause and
not one sentence; the crisis lines beside them must stay caught: a denial, a history or a joke
never hides what is said with it ("i said no, but honestly yes", "lol i want to die").

Also the detector's ``unless`` list: phrases that take an exclusion back when they follow it
within a few words."""

from __future__ import annotations

import pytest

from bot.content.schemas import SafetyLexicon, crisis_detector
from bot.content.store import Content
from bot.domain.safety import UNLESS_WORDS, CrisisDetector, LexiconPart
from tests.safety_corpora import ROOT


@pytest.fixture(scope="module")
def screen() -> CrisisDetector:
    return Content(ROOT / "messages").crisis_detector


@pytest.fixture(scope="module")
def lexicon_only() -> CrisisDetector:
    return Content(ROOT / "messages").crisis_detector_without_model


ORDINARY = [
    # a screening question answered no
    "the questionnaire asked whether I've had thoughts of ending my life, I said no",
    "my therapist asked if i've been thinking about suicide lately and i said no",
    "the form asks if I have had thoughts of hurting myself in the past two weeks, I ticked no",
    "why does the form ask if i've ever wanted to die?",
    "I have no plans to kill myself, I'm only saying it since the nurse asked",
    "el formulario preguntaba si he tenido ideas de suicidio y puse que no",
    "la enfermera me preguntó si quería hacerme daño y le dije que no",
    "¿por qué el cuestionario pregunta si quiero morirme? me dio curiosidad",
    # a professional or a volunteer asking about someone else
    "can you check whether the patient has a history of self harm before the first infusion",
    "I've witnessed anaphylaxis at work, do you keep epipens in the room?",
    "atiendo muchos intentos de suicidio en la guardia, ¿afecta el tratamiento?",
    "¿qué debo hacer si un paciente me dice que se quiere suicidar?",
    # recovery told with how long it has lasted
    "I used to self harm but I've been clean for over a year now",
    "ya no quiero lastimarme desde hace un año",
    # a relative's crisis long ago, the news
    "my mum's suicide attempt was back in 2010, I'm putting it under family history",
    "my brothers overdose was years ago, is that relevant for the form",
    "the news said someone overdosed at the station",
    # a gift with an ordinary reason
    "gave away my bike to my niece because it doesnt fit anymore",
    "le regalé mis libros a mi vecina porque ya no leo",
    # chest pain examined, what a leaflet says
    "tuve dolor de pecho el mes pasado, me revisaron y no era nada",
    "the leaflet says call 911 for chest pain, ok",
    # a safety plan made with a professional, a goodbye to a nurse who leaves
    "mi terapeuta me ayudó a hacer un plan de seguridad, ¿lo traigo?",
    "quiero despedirme del doctor que se jubila",
]


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_causes_are_not_flagged(lexicon_only: CrisisDetector, text: str) -> None:
    assert lexicon_only.check(text) is None


CAUGHT_WITH_ALERT = [
    "no plans or anything like that but I'm done with being alive",
    "lol i want to die",
    "me quiero morir jajaja",
    "the form asked if i've thought of killing myself, yes, tonight",
    "the nurse asked if i want to die and i said no but i do",
    "the intake form asks if i want to kill myself, i said no. i lied",
    "the form asks if i have a plan to kill myself, i said no, but i have the pills ready",
    "why does the form ask if i want to die? yes i do",
    "i don't have any plans to hurt myself because the nurse asked, but i want to die",
    "el formulario pregunta si quiero morirme, sí, esta noche",
    "la psiquiatra me preguntó si quería morirme y le dije que no, pero la verdad es que sí",
    "el cuestionario pregunta si quiero matarme, puse que no pero era mentira",
    "¿por qué el formulario pregunta si quiero morirme? sí quiero",
    "I used to cut but I've been clean for 4 years and now i want to cut again",
    "I used to cut but I've been clean for 4 years until last night when i cut again",
    "ya no tengo ganas de cortarme desde hace meses pero hoy quiero cortarme",
    "ya no tengo ganas de cortarme desde hace meses, hasta anoche que me corté otra vez",
    "gave away my guitar to my nephew because i wont need it where im going",
    "le regalé mi guitarra a mi sobrino porque ya no voy a estar",
    "I'm a nurse and I've seen anaphylaxis, my throat is closing up right now",
    "the local news said a man overdosed and it was my son, he's not breathing",
    "tengo dolor en el pecho, la otra vez no era nada pero ahora no puedo respirar",
    "el aniversario de mi esposo me pega fuerte y mi esposo me pega cuando bebe",
    # "morir de tristeza" was read as a hyperbole like "morir de risa" (before round 11)
    "me quiero morir de tristeza",
    "ya me despido, gracias por todo",
]


@pytest.mark.parametrize("text", CAUGHT_WITH_ALERT)
def test_a_denial_a_history_or_a_joke_hides_no_crisis(screen: CrisisDetector, text: str) -> None:
    match = screen.check(text)
    assert match is not None and match.alert_staff


# Thoughts "I've had" read as past ideation: the denial taken back leaves them caught (with
# the gentle answer; a "yes" that makes them present is not read yet).
@pytest.mark.parametrize(
    "text",
    [
        "the form asked if i've had thoughts of killing myself, i said no, but honestly yes",
        "the form asked if i've had thoughts of killing myself, i haven't stopped having them",
        "el formulario pregunta si he tenido pensamientos de muerte, y sí, los tengo ahora",
    ],
)
def test_a_denial_taken_back_is_not_an_exclusion(lexicon_only: CrisisDetector, text: str) -> None:
    assert lexicon_only.check(text) is not None


def _detector(unless: list[str]) -> CrisisDetector:
    lexicon = {
        "category": [{"key": "passive_ideation", "phrases": ["want to die"]}],
        "exclusions": {"phrases": ["asks if i want to die i said no"], "unless": unless},
    }
    return crisis_detector([SafetyLexicon.model_validate(lexicon)])


def test_unless_takes_an_exclusion_back_within_a_few_words() -> None:
    detector = _detector(["yes", "but honestly"])
    assert detector.check("the form asks if i want to die, i said no") is None
    assert detector.check("the form asks if i want to die, i said no, yes") is not None
    assert detector.check("it asks if i want to die i said no but honestly i do") is not None
    # Further than UNLESS_WORDS words on, it is another sentence ("what if someone ticks yes").
    far = " ".join(["word"] * UNLESS_WORDS)
    assert detector.check(f"asks if i want to die i said no {far} yes") is None
    # Without the list, the exclusion stands whatever follows.
    assert _detector([]).check("asks if i want to die i said no, yes") is None


def test_unless_phrases_are_checked_like_any_phrase() -> None:
    with pytest.raises(ValueError, match=r"exclusions\.unless"):
        _detector(["ab*"])
    part = LexiconPart("en", {"passive_ideation": ["want to die"]}, unless=["ab*"])
    with pytest.raises(ValueError, match=r"unless\[0\]"):
        CrisisDetector.from_parts([part])
    with pytest.raises(ValueError, match="no_such_term"):
        _detector(["{no_such_term}"])
