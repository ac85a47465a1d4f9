"""What a patient says to have done of their checklist (bot/domain/checklist_said.py), read
with the shipped phrases (messages/<lang>/checklist_said.toml), and the content check of that
file: a table of what ticks and, as important, what must not (a question, a "no", a
difficulty, a plan not carried out)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.content.store import Content, ContentError
from bot.content.validate import validate_content
from bot.domain.checklist_said import SaidDone

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "messages"
FAQ_CORPORA = ROOT / "tests" / "corpora" / "faq"
_CONTENT = Content(BUNDLED)


def said(text: str, lang: str) -> set[str]:
    return set(_CONTENT.checklist_said(lang).done(text))


@pytest.mark.parametrize(
    ("text", "items"),
    [
        ("my husband is driving me home", {"ride"}),
        ("my sister's picking me up after", {"ride"}),
        ("My sister’s picking me up after 🙂", {"ride"}),
        ("got my ride sorted", {"ride"}),
        ("my son is taking me home after", {"ride"}),
        ("I have a ride home", {"ride"}),
        ("my husband will drive me home", {"ride"}),
        ("bought an eye mask", {"eye_mask"}),
        ("just bought an eye mask!", {"eye_mask"}),
        ("playlist is ready", {"playlist"}),
        ("made a playlist for the infusion", {"playlist"}),
        ("packed my headphones", {"headphones", "something_calm"}),
        ("filled out the forms", {"paperwork"}),
        ("wrote down my questions", {"questions"}),
        ("took the day off", {"time_off"}),
        ("My husband is driving me home and I bought an eye mask.", {"ride", "eye_mask"}),
        ("packed my headphones and my eye mask", {"headphones", "something_calm", "eye_mask"}),
    ],
)
def test_english_says_done(text: str, items: set[str]) -> None:
    assert said(text, "en") == items


@pytest.mark.parametrize(
    ("text", "items"),
    [
        ("mi hijo me lleva a casa", {"ride"}),
        ("Mi esposo me recoge después", {"ride"}),
        ("ya tengo quien me lleve", {"ride"}),
        ("ya tengo el antifaz", {"eye_mask"}),
        ("Ya tengo el ANTIFAZ!", {"eye_mask"}),
        ("ya hice mi lista de música", {"playlist"}),
        ("ya hice mi lista de musica", {"playlist"}),
        ("empaqué los audífonos", {"headphones", "something_calm"}),
        ("llené los formularios", {"paperwork"}),
        ("ya guardé los audífonos y el antifaz", {"headphones", "something_calm", "eye_mask"}),
    ],
)
def test_spanish_says_done(text: str, items: set[str]) -> None:
    assert said(text, "es") == items


@pytest.mark.parametrize(
    "text",
    [
        # questions, with or without a "?"
        "can my husband drive me home?",
        "can my husband drive me home",
        "hi, so can my sister pick me up",
        "do I need an eye mask?",
        "who is driving me home",
        "my husband is driving me home?",
        # a negation or a difficulty
        "my friend can't drive me anymore",
        "my friend cant drive me anymore",
        "I don't have a ride",
        "I have no ride home",
        "nobody can pick me up",
        "my ride fell through",
        "my husband was driving me home but he's sick",
        # something still to do, or uncertain
        "I might ask my sister to drive me",
        "maybe my sister is picking me up",
        "I need to buy an eye mask",
        "I'll pack my headphones",
        "I'm going to make a playlist",
        "still have to get my ride sorted",
        "hoping my husband can drive me home",
        # nothing said done
        "my first infusion is thursday at 10am",
        "headphones",
        "",
    ],
)
def test_english_must_not_tick(text: str) -> None:
    assert said(text, "en") == set()


@pytest.mark.parametrize(
    "text",
    [
        "no tengo quien me lleve",
        "¿mi hijo me puede llevar a casa?",
        "puedo llevar antifaz",
        "necesito un antifaz",
        "tengo que comprar un antifaz",
        "quizás mi hermana me lleve a casa",
        "mi hijo ya no me puede llevar",
        "voy a hacer mi lista de música",
        "todavía no tengo audífonos",
        "mi esposo me iba a recoger pero se enfermó",
    ],
)
def test_spanish_must_not_tick(text: str) -> None:
    assert said(text, "es") == set()


@pytest.mark.parametrize("lang", ["en", "es"])
def test_no_message_of_the_faq_development_corpora_ticks_anything(lang: str) -> None:
    """Thousands of patients' questions (the FAQ matcher's development corpora; the held-out
    one is never read) keep their answer: none says an item is done."""
    reader = _CONTENT.checklist_said(lang)
    texts = [
        line.split("\t", 1)[1]
        for path in sorted((FAQ_CORPORA / lang).glob("*.tsv"))
        if "heldout" not in path.name
        for line in path.read_text(encoding="utf-8").splitlines()
        if "\t" in line and not line.startswith("#")
    ]
    assert len(texts) > 2000
    assert [text for text in texts if reader.done(text)] == []


def test_a_phrase_matches_its_words_in_order_with_two_others_at_most() -> None:
    reader = SaidDone({"eye_mask": ["bought eye mask"]})
    assert reader.done("bought an eye mask") == {"eye_mask"}
    assert reader.done("bought a new eye mask") == {"eye_mask"}
    assert reader.done("bought a really nice new eye mask") == frozenset()
    assert reader.done("eye mask bought") == frozenset()


def test_a_joining_word_starts_the_allowance_again() -> None:
    reader = SaidDone({"eye_mask": ["bought eye mask"]}, joining=["and"])
    assert reader.done("bought some headphones and an eye mask") == {"eye_mask"}
    assert reader.done("bought a charger and a new eye mask") == {"eye_mask"}
    assert reader.done("bought a phone charger for the car and an eye mask") == frozenset()
    assert (
        SaidDone({"eye_mask": ["bought eye mask"]}).done("bought some headphones and an eye mask")
        == frozenset()
    )


def test_the_lists_of_a_language_are_its_own() -> None:
    reader = SaidDone(
        {"ride": ["picking me up"]},
        unless=["fell through", "nope"],
        asking=["can"],
        fillers=["hey"],
    )
    assert reader.done("my sister is picking me up") == {"ride"}
    assert reader.done("nope, my sister is picking me up") == frozenset()
    assert reader.done("hey can my sister's picking me up") == frozenset()
    assert reader.done("my ride fell through, my sister is picking me up") == frozenset()
    # "fell" alone is no "fell through": an unless phrase's words are next to each other.
    assert reader.done("my sister fell asleep, she is picking me up") == {"ride"}
    assert reader.items == {"ride"}


def test_an_item_without_phrases_is_never_read() -> None:
    reader = SaidDone({"water_bottle": [], "ride": ["driving me home"]})
    assert reader.items == {"ride"}
    assert reader.done("my husband is driving me home") == {"ride"}


def _copy(tmp_path: Path) -> Path:
    copy = tmp_path / "messages"
    shutil.copytree(BUNDLED, copy)
    return copy


def test_the_check_names_a_key_no_plan_has_and_a_missing_file(tmp_path: Path) -> None:
    """One check (it renders every text): a key no plan has is named with its line, a plan's
    item without phrases is fine (nothing is read for it), and a language without the file
    reads the default language's and is told."""
    messages = _copy(tmp_path)
    path = messages / "en" / "checklist_said.toml"
    text = path.read_text(encoding="utf-8")
    start = text.index("relaxation = [")
    text = text[:start] + text[text.index("]\n", start) + 2 :]
    path.write_text(text + 'water_bottle = ["packed my water bottle"]\n', encoding="utf-8")
    (messages / "es" / "checklist_said.toml").unlink()
    lines = path.read_text(encoding="utf-8").count("\n")
    assert validate_content(messages) == [
        f"{path}:{lines}: said.water_bottle: no plan has the checklist item 'water_bottle'"
        " (plans/*.toml checklist)",
        f"{messages / 'es' / 'checklist_said.toml'}: missing (falls back to en)",
    ]
    content = Content(messages)
    assert "relaxation" not in content.checklist_said("en").items
    assert content.checklist_said("es").done("bought an eye mask") == {"eye_mask"}


@pytest.mark.parametrize(
    ("bad", "found"),
    [
        ('asking = ["can", "tengo que"]\n', "asking"),
        ('unless = ["!!!"]\n', "unless"),
        ('[said]\nRide = ["driving me home"]\n', "Ride"),
    ],
)
def test_a_broken_file_names_the_file_and_the_field(tmp_path: Path, bad: str, found: str) -> None:
    messages = _copy(tmp_path)
    path = messages / "en" / "checklist_said.toml"
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(ContentError) as raised:
        Content(messages).checklist_said("en")
    assert str(path) in str(raised.value) and found in str(raised.value)
