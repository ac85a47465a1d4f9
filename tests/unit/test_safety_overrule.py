"""The learned layer overrules a lexicon match only when it is sure (bot/domain/safety.py
``OVERRULED``): someone else in danger or being a burden below -10, the other alerting
categories below -12 (round 17), hopelessness and past ideation never; the rest of the message
is still read."""

from __future__ import annotations

import pytest

from bot.domain.safety import OVERRULED, CrisisDetector
from bot.domain.safety_model import CrisisModel

CATEGORIES = {
    "other_in_danger": ["my son said he wants to die"],
    "burden": ["i feel like a burden"],
    "active_ideation": ["i want to kill myself"],
    "overdose": ["took all my pills"],
    "hopelessness": ["no point in anything anymore"],
}
BETWEEN = (OVERRULED["other_in_danger"] + OVERRULED["active_ideation"]) / 2
"""A model sure enough for the first two categories and not for the others."""
NEVER = {"hopelessness", "past_ideation"}


def _screen(bias: float, weights: dict[str, float] | None = None) -> CrisisDetector:
    """A model whose every window scores `bias` (plus `weights` of the words it holds)."""
    model = CrisisModel(weights or {}, bias, 0.5)
    return CrisisDetector(CATEGORIES, model=model)


def test_far_below_the_threshold_the_two_categories_are_overruled() -> None:
    sure = _screen(BETWEEN)
    assert sure.check("lol my son said he wants to die because of the sweater") is None
    assert sure.check("i feel like a burden asking for so many blankets") is None


@pytest.mark.parametrize(
    ("text", "category"),
    [
        # Past an overruled match, the rest of the message is read.
        (
            "my son said he wants to die over a sweater. honestly i want to kill myself",
            "active_ideation",
        ),
        ("i feel like a burden and i took all my pills", "overdose"),
        (
            "my son said he wants to die, i feel like a burden, i want to kill myself",
            "active_ideation",
        ),
        # Any other category stands, whatever the model says.
        ("i want to kill myself", "active_ideation"),
        ("took all my pills", "overdose"),
    ],
)
def test_the_rest_is_read_and_other_categories_stand(text: str, category: str) -> None:
    found = _screen(BETWEEN).check(text)
    assert found is not None and found.category == category and found.alert_staff


def test_further_below_every_alerting_category_but_hopelessness_is_overruled() -> None:
    sure = _screen(min(OVERRULED.values()) - 5)
    assert sure.check("i want to kill myself") is None
    assert sure.check("took all my pills") is None
    found = sure.check("took all my pills, no point in anything anymore")
    assert found is not None and found.category == "hopelessness" and found.alert_staff
    assert not NEVER & set(OVERRULED)


def test_short_of_sure_the_match_stands() -> None:
    """Just above the line (and a message whose likeliest window scores above it) the match is
    the lexicon's, as without a model."""
    line = OVERRULED["other_in_danger"]
    unsure = _screen(line + 0.5)
    found = unsure.check("my son said he wants to die")
    assert found is not None and found.category == "other_in_danger"
    # One window of the message scoring high is enough: "tonight" here.
    windowed = _screen(line - 5, {"tonight": 10.0})
    found = windowed.check("my son said he wants to die tonight")
    assert found is not None and found.category == "other_in_danger"
    assert CrisisDetector(CATEGORIES).check("my son said he wants to die") is not None


def test_explain_names_what_the_verdict_stands_on() -> None:
    sure = _screen(BETWEEN)
    assert sure.explain("my son said he wants to die") is None
    assert sure.explain("my son said he wants to die and i want to kill myself") == (
        ":active_ideation: i want to kill myself"
    )
