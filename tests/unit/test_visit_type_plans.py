"""A plan per visit type (messages/plans/<type>.toml): each loads and is checked on its own,
the clinic's values per type are checked field by field, the infusion plan is the one plan of
before visit types (its file and its stored versions, key ``plan``), and a stored version of
one type's plan never changes another's."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.content.catalogue import EDGE_PREPARATIONS, SAMPLE_PREPARATIONS
from bot.content.loading import ContentError
from bot.content.store import Content, duration_words
from bot.domain.content_kinds import PLAN_KEY, ContentKind, plan_key, plan_type_of
from bot.domain.visits import DEFAULT_VISIT_TYPE, VisitType
from scheduler.plan import Preparation
from scheduler.plan_loading import PlanError, load_plan, parse_plan

BUNDLED = Path(__file__).resolve().parents[2] / "messages"
PLANS = BUNDLED / "plans"


@pytest.fixture
def messages(tmp_path: Path) -> Path:
    copy = tmp_path / "messages"
    shutil.copytree(BUNDLED, copy)
    return copy


def test_every_visit_type_has_a_shipped_plan() -> None:
    content = Content(BUNDLED)
    assert sorted(p.stem for p in PLANS.glob("*.toml")) == sorted(VisitType)
    for kind in VisitType:
        assert content.plan_for(kind) == load_plan(PLANS / f"{kind}.toml")
        assert content.plan_path(kind) == PLANS / f"{kind}.toml"
    assert content.plan == content.plan_for(VisitType.INFUSION)
    assert content.default_visit_type is DEFAULT_VISIT_TYPE is VisitType.INFUSION


def test_the_infusion_plan_is_the_plan_of_before_visit_types() -> None:
    """Existing patients' reminders do not change: the same steps, times, items, buttons."""
    plan = load_plan(PLANS / "infusion.toml")
    assert [
        (s.key, s.at.text, s.expires.text, s.template, s.items, s.buttons) for s in plan.steps
    ] == [
        ("playlist", "-3d", "-1d", "reminders/playlist", ("playlist", "headphones"),
         ("done", "snooze")),
        ("ride", "-2d", "-3h", "reminders/ride", ("ride",), ("done", "snooze", "attend")),
        ("evening_before", "-1d@19:00", "-2h", "reminders/evening_before", ("eye_mask",),
         ("done", "snooze", "checklist")),
        ("arrival", "-2h", "0", "reminders/arrival", ("relaxation",), ("done", "attend")),
        ("follow_up", "+1d", "+3d", "reminders/follow_up", (), ("checkin",)),
    ]  # fmt: skip
    assert plan.checklist == ("playlist", "headphones", "eye_mask", "ride", "relaxation")
    # The clinic has not set fasting values: the answers send patients to its instructions.
    assert (plan.preparation.no_food_hours, plan.preparation.liquids_cutoff_minutes) == (
        None,
        None,
    )


def test_the_esketamine_and_consultation_values_are_the_published_ones() -> None:
    esketamine = load_plan(PLANS / "esketamine.toml").preparation
    assert esketamine.no_food_hours == 2
    assert esketamine.liquids_cutoff_minutes == 30
    assert esketamine.observation_minutes == 120  # at least 2 hours under the REMS
    assert esketamine.driver_required is True
    consultation = load_plan(PLANS / "consultation.toml")
    assert consultation.preparation.no_food_hours is None  # no fasting
    assert consultation.preparation.driver_required is False
    assert consultation.checklist == ("paperwork", "medication_list", "questions")
    assert not [s for s in consultation.steps if "checkin" in s.buttons]


PLAN_HEAD = 'checklist = []\n\n[[step]]\nkey = "a"\nat = "-1d"\ntemplate = "a"\n\n'


@pytest.mark.parametrize(
    ("preparation", "expected"),
    [
        (
            "no_food_hours = 6\nclear_liquids_hours = 2\nclear_liquids_minutes = 30",
            "x.toml:11: preparation.clear_liquids_minutes: clear_liquids_hours is set too",
        ),
        (
            "no_food_hours = 2\nclear_liquids_minutes = 150",
            "x.toml:10: preparation.clear_liquids_minutes: 150 is more than no_food_hours (2)",
        ),
        (
            "no_food_hours = 2\nclear_liquids_hours = 3",
            "x.toml:10: preparation.clear_liquids_hours: 3 is more than no_food_hours (2)",
        ),
        ('driver_required = "yes"', "x.toml:9: preparation.driver_required: expected true or"),
        ("observation_minutes = 0", "x.toml:9: preparation.observation_minutes"),
        ("arrival_minutes = 241", "x.toml:9: preparation.arrival_minutes"),
        ("clear_liquids_minutes = 1441", "x.toml:9: preparation.clear_liquids_minutes"),
        ("fasting = true", "x.toml:9: preparation.fasting"),
    ],
)
def test_the_clinic_values_are_checked_with_file_line_and_field(
    preparation: str, expected: str
) -> None:
    with pytest.raises(PlanError) as info:
        parse_plan(f"{PLAN_HEAD}[preparation]\n{preparation}\n", "x.toml")
    assert str(info.value).startswith(expected), str(info.value)


def test_the_liquids_cut_off_is_written_in_hours_or_minutes() -> None:
    assert Preparation(clear_liquids_hours=2).liquids_cutoff_minutes == 120
    assert Preparation(clear_liquids_minutes=30).liquids_cutoff_minutes == 30
    assert Preparation(clear_liquids_hours=0).liquids_cutoff_minutes == 0
    assert Preparation().liquids_cutoff_minutes is None
    assert not Preparation().any_set and Preparation(driver_required=False).any_set
    # Every kind of value is among the samples texts are checked with.
    samples = (*SAMPLE_PREPARATIONS, *EDGE_PREPARATIONS)
    assert any(p.clear_liquids_minutes for p in samples)
    assert any(p.clear_liquids_hours == 0 for p in samples)
    assert any(p.driver_required is False for p in samples)
    assert not samples[0].any_set


def test_durations_read_as_words() -> None:
    words = (("minute", "minutes"), ("hour", "hours"))
    assert duration_words(30, *words) == "30 minutes"
    assert duration_words(1, *words) == "1 minute"
    assert duration_words(60, *words) == "1 hour"
    assert duration_words(120, *words) == "2 hours"
    assert duration_words(90, *words) == "90 minutes"
    content = Content(BUNDLED)
    es = content.formats("es")
    assert duration_words(120, es.minute_words, es.hour_words) == "2 horas"
    assert duration_words(30, es.minute_words, es.hour_words) == "30 minutos"


def test_stored_plans_are_keyed_per_type_and_infusion_keeps_the_old_key() -> None:
    assert plan_key(VisitType.INFUSION) == PLAN_KEY == "plan"
    assert plan_key(VisitType.ESKETAMINE) == "plan/esketamine"
    assert plan_key(VisitType.CONSULTATION) == "plan/consultation"
    for kind in VisitType:
        assert plan_type_of(plan_key(kind)) == kind
    assert plan_type_of("en/faq") is None


def test_a_stored_version_changes_its_own_type_only() -> None:
    content = Content(BUNDLED)
    shipped = {kind: content.plan_for(kind) for kind in VisitType}
    infusion = content.plan_source_for(VisitType.INFUSION).replace(
        'at = "-1d@19:00"', 'at = "-1d@18:00"'
    )
    content.use({(ContentKind.PLAN, "plan"): infusion}, 1)
    assert content.plan_for("infusion").step("evening_before").at.text == "-1d@18:00"  # type: ignore[union-attr]
    assert content.plan_for("esketamine") == shipped[VisitType.ESKETAMINE]
    esketamine = content.plan_source_for("esketamine").replace('at = "-3h"', 'at = "-4h"')
    content.use({(ContentKind.PLAN, "plan/esketamine"): esketamine}, 2)
    assert content.plan_for("esketamine").step("arrival").at.text == "-4h"  # type: ignore[union-attr]
    assert content.plan_for("infusion") == shipped[VisitType.INFUSION]
    assert content.plan_source_for("esketamine") == esketamine
    # A stored plan that no longer reads names its type's file.
    content.use({(ContentKind.PLAN, "plan/consultation"): "checklist = 3"}, 3)
    with pytest.raises(ContentError, match=r"plans/consultation.toml \(stored\)"):
        content.plan_for("consultation")
    with pytest.raises(ValueError, match="massage"):
        content.plan_for("massage")


def test_a_messages_folder_from_before_visit_types_keeps_its_plan_toml(messages: Path) -> None:
    legacy = messages / "plan.toml"
    text = (messages / "plans" / "infusion.toml").read_text(encoding="utf-8")
    (messages / "plans" / "infusion.toml").unlink()
    legacy.write_text(text.replace('at = "-3d"', 'at = "-4d"'), encoding="utf-8")
    content = Content(messages)
    assert content.plan_path("infusion") == legacy
    assert content.plan_for("infusion").step("playlist").at.text == "-4d"  # type: ignore[union-attr]
    assert content.plan_for("esketamine") == load_plan(PLANS / "esketamine.toml")


def test_exported_content_writes_each_types_stored_plan(messages: Path, tmp_path: Path) -> None:
    content = Content(messages)
    stored = content.plan_source_for("consultation").replace('at = "-2h"', 'at = "-90m"')
    content.use({(ContentKind.PLAN, "plan/consultation"): stored}, 1)
    out = tmp_path / "export"
    content.export(out)
    assert (out / "plans" / "consultation.toml").read_text(encoding="utf-8") == stored
    assert (out / "plans" / "infusion.toml").read_text(encoding="utf-8") == (
        messages / "plans" / "infusion.toml"
    ).read_text(encoding="utf-8")
    assert not (out / "plan.toml").exists()
    assert "plans" not in Content(out).languages


def test_the_clinic_default_type_is_checked(messages: Path) -> None:
    clinic = messages / "clinic.toml"
    text = clinic.read_text(encoding="utf-8")
    clinic.write_text(
        text.replace('default_visit_type = "infusion"', 'default_visit_type = "consultation"')
    )
    assert Content(messages).default_visit_type is VisitType.CONSULTATION
    clinic.write_text(text.replace('default_visit_type = "infusion"', 'default_visit_type = "spa"'))
    with pytest.raises(ContentError, match=r"clinic.toml:\d+: default_visit_type: 'spa' is not a"):
        _ = Content(messages).clinic


def test_every_step_text_is_found_with_its_type() -> None:
    steps = Content(BUNDLED).step_templates()
    assert steps["reminders/playlist"][0] is VisitType.INFUSION
    assert steps["reminders/esketamine/ride"][0] is VisitType.ESKETAMINE
    assert steps["reminders/consultation/questions"][0] is VisitType.CONSULTATION
    assert steps["reminders/follow_up"][0] is VisitType.INFUSION  # shared: the first type's
