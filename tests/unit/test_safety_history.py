"""Family and medical history told calmly is ordinary; the same event happening now is a
crisis. The lexicon's exclusions for history need a time long past ("years ago", "as a kid",
"in 2019"), never a recent one ("an hour ago", "hace 20 minutos"), and a third person or a
past tense: these cases pin that down in both languages, through the shipped screen (lexicon
and learned layer)."""

from __future__ import annotations

import pytest

from bot.content.store import Content
from bot.domain.safety import RECENT, CrisisDetector, LexiconPart
from tests.safety_corpora import ROOT


@pytest.fixture(scope="module")
def screen() -> CrisisDetector:
    return Content(ROOT / "messages").crisis_detector


@pytest.mark.parametrize(
    "text",
    [
        "My brother died of an overdose three years ago.",
        "my dad overdosed when i was a kid",
        "my mom attempted suicide when I was little",
        "I had anaphylaxis once as a kid, I carry an epipen now",
        "i had a severe allergic reaction to bee stings as a kid, carry an epipen",
        "mi hermano murió de una sobredosis hace años",
        "mi tia se intento suicidar cuando yo era adolescente, lo menciono por antecedentes",
        "mi exnovio murio de sobredosis en 2018, a veces lo hablo en terapia",
        "me corte con un cuchillo cocinando, ya me puse curita",
        "mi esposo me pego su gripa",
        # A decade written with digits: the numbers-and-leet reading ("the 9os") of words
        # the history exclusion already read must not undo it.
        "my mom overdosed in the 90s",
        "my dad overdosed on painkillers back in the 80s and survived",
        "mi tio tuvo una sobredosis de calmantes en los 90 y sobrevivio",
    ],
)
def test_history_and_accidents_are_ordinary(screen: CrisisDetector, text: str) -> None:
    assert screen.check(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "my brother just took all my pills",
        "my brother overdosed 20 minutes ago",
        "my son swallowed bleach 10 minutes ago",
        "i went into anaphylaxis 5 min ago",
        "i had an accidental overdose an hour ago",
        "i cut myself an hour ago",
        "mi hermano se acaba de tomar todas mis pastillas",
        "mi hermano tuvo una sobredosis hace 20 minutos",
        "me queme con la plancha a proposito",
        "i want to k1ll myself",  # the fold still reads a word spelled with digits
        "took 2 many pills",
    ],
)
def test_the_same_events_now_are_a_crisis(screen: CrisisDetector, text: str) -> None:
    match = screen.check(text)
    assert match is not None and match.alert_staff


def test_the_learned_layer_does_not_read_what_an_exclusion_matched() -> None:
    from bot.domain.safety_model import CrisisModel

    model = CrisisModel({"suicide": 10.0}, -5.0, 0.5)  # flags any message saying "suicide"
    detector = CrisisDetector(
        {"x": ["attempted suicide"]}, exclusions=["mom attempted suicide years ago"], model=model
    )
    assert detector.check("my mom attempted suicide years ago") is None
    found = detector.check("my mom attempted suicide years ago, now i think of suicide")
    assert found is not None and found.category == "learned"


@pytest.mark.parametrize(
    "text",
    [
        "I attempted suicide last night",
        "i tried to kill myself yesterday",
        "I tried to kill myself two days ago and nobody knows",
        "I attempted last week",
        "intenté suicidarme anoche",
        "ayer intenté matarme",
        "intenté matarme hace dos días y nadie sabe",
        "ayer tuve un intento de suicidio",
    ],
)
def test_an_attempt_with_a_recent_time_alerts(screen: CrisisDetector, text: str) -> None:
    """An attempt told as history gets the gentle answer; the same attempt last night is a
    recent attempt (C-SSRS: an actual attempt), which the clinic must hear of now."""
    match = screen.check(text)
    assert match is not None and match.alert_staff


@pytest.mark.parametrize(
    "text",
    [
        "I tried to kill myself when I was 19, yesterday I told my therapist",
        "tried to kill myself in 2015",
        "I attempted suicide years ago, I'm doing well now",
        "the nurse asked yesterday if I ever attempted suicide, I said no",
        "intenté suicidarme hace 10 años",
        "intenté matarme a los 19, ayer se lo conté a mi psicóloga",
        "i attempted the exam yesterday",
        "I attempted my driving test last week, failed lol",
        "i attempted to bake bread yesterday",
    ],
)
def test_an_attempt_long_ago_stays_history(screen: CrisisDetector, text: str) -> None:
    match = screen.check(text)
    assert match is None or not match.alert_staff


def test_a_recent_time_makes_a_history_match_recent_only_near_it() -> None:
    part = LexiconPart(
        "en",
        {"past": ["i tried to end it"], "now": ["kill myself"]},
        quiet=["past"],
        terms={"age": ["19"]},
        recent=["last night"],
        long_ago=["at {age}"],
    )
    detector = CrisisDetector.from_parts([part])
    quiet = detector.check("i tried to end it")
    assert quiet is not None and not quiet.alert_staff
    found = detector.check("i tried to end it last night")
    assert found is not None and found.alert_staff and found.category == RECENT
    long_ago = detector.check("i tried to end it at 19 last night")
    assert long_ago is not None and not long_ago.alert_staff
    far = detector.check("i tried to end it and then one two three last night")
    assert far is not None and not far.alert_staff


def _over_history(**over: list[str]) -> CrisisDetector:
    """A lexicon where history ("i had ... kill myself") holds a wish's last words."""
    part = LexiconPart(
        "en",
        {
            "past": ["i had ... kill myself", "tried to kill myself"],
            "now": ["wish i had the courage to kill myself", "kill myself"],
        },
        quiet=["past"],
        over_history=over,
    )
    return CrisisDetector.from_parts([part])


def test_a_wish_holding_words_of_history_alerts_only_when_listed_over_history() -> None:
    """Without the list the wish is covered by the history inside it and met gently (the
    defect this list mends); listed, it alerts. History alone stays history either way."""
    wish = "i wish i had the guts to kill myself"
    covered = _over_history().check(wish)
    assert covered is not None and not covered.alert_staff
    held = _over_history(now=["wish i had the guts to kill myself"]).check(wish)
    assert held is not None and held.alert_staff and held.category == "now"
    history = _over_history(now=["wish i had the guts to kill myself"])
    for text in ("i had a plan to kill myself", "i tried to kill myself"):
        told = history.check(text)
        assert told is not None and not told.alert_staff


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"past": ["wish i had the guts to kill myself"]}, "does not alert"),
        ({"nowhere": ["wish i had the guts to kill myself"]}, "has no phrases"),
        ({"now": ["kill myself"]}, "also listed under"),
    ],
)
def test_over_history_phrases_are_checked(over: dict[str, list[str]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _over_history(**over)


@pytest.mark.parametrize(
    "text",
    [
        "I wish I had the guts to kill myself",
        "honestly i wish i had the balls to kill myself lol",
        "if only I had the courage to kill myself",
        "wish i was brave enough to kill myself",
    ],
)
def test_the_shipped_wishes_alert(screen: CrisisDetector, text: str) -> None:
    match = screen.check(text)
    assert match is not None and match.alert_staff and match.category == "active_ideation"
