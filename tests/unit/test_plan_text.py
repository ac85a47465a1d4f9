"""Editing a plan file's text in place: the field changed, comments and the rest kept; the
`enabled` flag is read strictly."""

from __future__ import annotations

from pathlib import Path

import pytest

from scheduler.plan_loading import PlanError, parse_plan
from scheduler.plan_text import NoSuchStep, append_step, set_step_field

SHIPPED = (Path(__file__).parents[2] / "messages" / "plans" / "infusion.toml").read_text(
    encoding="utf-8"
)


def test_a_field_is_replaced_in_place_and_comments_stay() -> None:
    edited = set_step_field(SHIPPED, "evening_before", "at", "-1d@18:00")
    assert parse_plan(edited).step("evening_before").at.text == "-1d@18:00"  # type: ignore[union-attr]
    assert [line for line in SHIPPED.splitlines() if line.startswith("#")] == [
        line for line in edited.splitlines() if line.startswith("#")
    ]
    assert len(edited.splitlines()) == len(SHIPPED.splitlines())


def test_a_missing_field_is_added_to_its_step() -> None:
    edited = set_step_field(SHIPPED, "ride", "enabled", False)
    plan = parse_plan(edited)
    assert [s.enabled for s in plan.steps] == [True, False, True, True, True]
    assert [s.key for s in plan.active_steps] == [
        "playlist",
        "evening_before",
        "arrival",
        "follow_up",
    ]
    assert plan.active_step("ride") is None and plan.step("ride") is not None


def test_a_multi_line_array_is_replaced_whole() -> None:
    text = SHIPPED.replace('items = ["eye_mask"]', 'items = [\n  "eye_mask",\n]')
    edited = set_step_field(text, "evening_before", "items", ["eye_mask", "ride"])
    assert parse_plan(edited).step("evening_before").items == ("eye_mask", "ride")  # type: ignore[union-attr]


def test_hostile_values_stay_values() -> None:
    edited = set_step_field(SHIPPED, "ride", "at", '"\nkey = "x')
    with pytest.raises(PlanError, match=r"step\[2\]\.at"):
        parse_plan(edited)


def test_unknown_step() -> None:
    with pytest.raises(NoSuchStep):
        set_step_field(SHIPPED, "nope", "at", "-1d")


def test_append_step() -> None:
    edited = append_step(SHIPPED, {"key": "water", "at": "-1d@12:00", "template": "reminders/w"})
    assert parse_plan(edited).steps[-1].key == "water"


def test_enabled_must_be_a_boolean() -> None:
    text = SHIPPED.replace('key = "ride"', 'key = "ride"\nenabled = "no"')
    with pytest.raises(
        PlanError, match=r"plan.toml:\d+: step\[2\].enabled: expected true or false"
    ):
        parse_plan(text)
