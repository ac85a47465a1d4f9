"""Render every FAQ and crisis template and check it is valid, short Telegram HTML."""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pytest
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from bot.content.store import duration_words

MESSAGES_DIR = Path(__file__).resolve().parents[2] / "messages"
EN_DIR = MESSAGES_DIR / "en"

ALLOWED_TAG_RE = re.compile(
    r"^(?:<(?:b|i|u|s|code|pre|blockquote|tg-spoiler)>"
    r"|</(?:b|i|u|s|code|pre|blockquote|tg-spoiler|a)>"
    r'|<a href="[^"<>]+">)$'
)
TAG_RE = re.compile(r"<[^<>]*>")
ENTITY_RE = re.compile(r"&(?:amp|lt|gt|quot|#\d+|#x[0-9a-fA-F]+);")


@dataclass(frozen=True)
class SamplePreparation:
    no_food_hours: int | None = 6
    clear_liquids_hours: int | None = 2
    clear_liquids_minutes: int | None = None
    observation_minutes: int | None = None
    driver_required: bool | None = None

    @property
    def liquids_cutoff_minutes(self) -> int | None:
        if self.clear_liquids_minutes is not None:
            return self.clear_liquids_minutes
        return None if self.clear_liquids_hours is None else self.clear_liquids_hours * 60


@dataclass(frozen=True)
class SampleClinic:
    name: str = "Harbor & Vine Infusions"  # the "&" checks that autoescape is on
    phone: str = "555-010-0199"
    phone_e164: str = "+15550100199"
    city: str = "Springfield"
    address: str = "12 Elm St, Springfield"
    website: str = ""
    hours: str = "Monday to Friday, 8 AM to 6 PM"
    parking: str = "Free parking behind the building"
    cost_note: str = "Infusions are self-pay; ask us for a receipt for your insurer."
    crisis_line: str = "988"
    emergency_number: str = "911"
    poison_control: str = "1-800-222-1222"


CLINIC = SampleClinic()
STAFF_VARS = {
    "patient_ref": "#123",
    "display_name": "Sam <Tester>",
    "telegram_id": 123456789,
    "at_local": "Tue 14 May, 21:07",
    "occurrences": 1,
    "staff_notified": True,
    "poisoning": True,
    "visit_label": "J.D. #4411",
    "visit_time": "Tue 21 May, 10:00",
    "suggested": True,  # faq_no_match: the nearest questions are offered
}


def _faq_templates() -> list[str]:
    with (EN_DIR / "faq.toml").open("rb") as fh:
        prompts = tomllib.load(fh)["prompt"]
    return [f"{p['template']}.html.j2" for p in prompts]


TEMPLATES = [
    *_faq_templates(),
    "faq_menu.html.j2",
    "faq_no_match.html.j2",
    "crisis.html.j2",
    "crisis_staff_alert.html.j2",
]


@pytest.fixture(scope="module")
def env() -> Environment:
    made = Environment(
        loader=FileSystemLoader(str(EN_DIR)), autoescape=True, undefined=StrictUndefined
    )
    made.filters["duration"] = lambda minutes: duration_words(
        minutes, ("minute", "minutes"), ("hour", "hours")
    )
    return made


def _render(
    env: Environment,
    name: str,
    clinic: object = CLINIC,
    preparation: object = SamplePreparation(),
) -> str:
    return env.get_template(name).render(clinic=clinic, preparation=preparation, **STAFF_VARS)


def _emoji_count(text: str) -> int:
    return sum(1 for ch in text if unicodedata.category(ch) == "So")


@pytest.mark.parametrize("name", TEMPLATES)
def test_template_renders_as_telegram_html(env: Environment, name: str) -> None:
    text = _render(env, name)
    assert text.strip(), name
    assert len(text) < 1000, f"{name}: {len(text)} characters"
    for tag in TAG_RE.findall(text):
        assert ALLOWED_TAG_RE.match(tag), f"{name}: tag {tag!r} is not allowed by Telegram"
    without_tags = TAG_RE.sub("", text)
    assert "<" not in without_tags, f"{name}: stray '<'"
    assert ">" not in without_tags, f"{name}: stray '>'"
    assert "&" not in ENTITY_RE.sub("", text), f"{name}: unescaped '&'"
    assert "<br" not in text.lower(), name
    assert "<p" not in text.lower(), name
    assert "\n\n\n" not in text, f"{name}: more than one blank line in a row"
    assert text == text.strip(), f"{name}: leading or trailing whitespace"
    assert _emoji_count(text) <= 1, f"{name}: more than one emoji"


@pytest.mark.parametrize("name", TEMPLATES)
def test_template_has_no_hard_coded_clinic(name: str) -> None:
    source = (EN_DIR / name).read_text(encoding="utf-8")
    for literal in ("203-914-1900", "2039141900", "Ki Ketamine", "Stamford", "McAllister"):
        assert literal not in source, f"{name}: hard-coded {literal!r}"


@pytest.mark.parametrize("name", [n for n in TEMPLATES if n != "crisis_staff_alert.html.j2"])
def test_patient_facing_templates_give_the_clinic_phone(env: Environment, name: str) -> None:
    assert CLINIC.phone in _render(env, name)


def test_crisis_answer(env: Environment) -> None:
    text = _render(env, "crisis.html.j2")
    first_line = text.splitlines()[0].lower()
    assert "matter" in first_line or "not alone" in first_line
    assert "<b>988</b>" in text
    assert "<b>911</b>" in text
    assert CLINIC.phone in text
    assert "tel:" not in text  # Telegram does not accept tel: links
    assert "24/7" in text
    assert "<b>1-800-222-1222</b>" in text  # rendered with poisoning: Poison Control


def test_staff_alert_names_patient_without_message(env: Environment) -> None:
    text = _render(env, "crisis_staff_alert.html.j2")
    assert "#123" in text
    assert "Sam &lt;Tester&gt;" in text
    assert "123456789" in text
    assert "Tue 14 May, 21:07" in text
    assert "contact the patient now" in text.lower()

    plain = env.get_template("crisis_staff_alert.html.j2").render(
        clinic=CLINIC, **{**STAFF_VARS, "display_name": ""}
    )
    assert "()" not in plain


def test_empty_clinic_facts_read_well(env: Environment) -> None:
    """No street address: the town, after "in"; no hours, parking or cost note: not
    mentioned; no preparation values: the clinic's own instructions."""
    bare = SampleClinic(address="", hours="", parking="", cost_note="")
    location = _render(env, "faq/location.html.j2", bare)
    assert "in Springfield" in location and " at Springfield" not in location
    assert "Parking:" not in location and "where to park" in location
    hours = _render(env, "faq/hours.html.j2", bare)
    assert "open " not in hours and "8 AM" not in hours
    assert "Monday to Friday, 8 AM to 6 PM" in _render(env, "faq/hours.html.j2")
    assert "self-pay" not in _render(env, "faq/cost.html.j2", bare)
    unset = SamplePreparation(no_food_hours=None, clear_liquids_hours=None)
    eating = _render(env, "faq/eating_drinking.html.j2", bare, unset)
    assert "hours</b>" not in eating and CLINIC.phone in eating
    set_ = _render(env, "faq/eating_drinking.html.j2")
    assert "<b>6 hours</b>" in set_ and "<b>2 hours</b>" in set_
    minutes = _render(
        env,
        "faq/eating_drinking.html.j2",
        preparation=SamplePreparation(2, None, 30),
    )
    assert "<b>2 hours</b>" in minutes and "<b>30 minutes</b> before" in minutes
    one = _render(env, "faq/eating_drinking.html.j2", preparation=SamplePreparation(1, 0))
    assert "<b>1 hour</b>" in one and "until you arrive" in one
    for text in (location, hours, eating):
        assert "\n\n\n" not in text


def test_medications_never_name_a_drug_to_stop(env: Environment) -> None:
    text = _render(env, "faq/medications.html.j2").lower()
    assert "follow what your own clinician told you" in text
    assert "bring a list" in text
    for drug in ("ssri", "maoi", "benzo", "lithium", "lamotrigine", "stimulant", "opioid"):
        assert drug not in text


def test_contact_without_address_or_website(env: Environment) -> None:
    bare = SampleClinic(address="", website="")
    text = _render(env, "faq/contact.html.j2", bare)
    assert "Springfield" in text
    assert "\n\n\n" not in text

    full = SampleClinic(website="https://example.org")
    text = _render(env, "faq/contact.html.j2", full)
    assert "12 Elm St" in text
    assert "https://example.org" in text


def test_recovery_says_until_the_next_day(env: Environment) -> None:
    assert "until the next day" in _render(env, "faq/recovery.html.j2")
    # An esketamine visit's values: the monitoring time, and no driving until the next day.
    esketamine = _render(
        env,
        "faq/recovery.html.j2",
        preparation=SamplePreparation(2, None, 30, observation_minutes=120, driver_required=True),
    )
    assert "at least <b>2 hours</b>" in esketamine and "30 to 45" not in esketamine
    assert "until the next day</b>, after a restful night's sleep" in esketamine
    consultation = _render(
        env, "faq/recovery.html.j2", preparation=SamplePreparation(None, None, None, None, False)
    )
    assert "don't need anyone to drive you home" in consultation
