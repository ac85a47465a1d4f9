"""Changing some words of a text (bot/domain/text_words.py): only the plain wording, once or
every time, as written before ignoring case, the closest line when not found, no template
syntax in the words, the new words HTML-escaped."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.domain.text_words import (
    Replaced,
    WordChange,
    WordsProblem,
    WordsRefused,
    plain_lines,
    read_word_change,
    replace_words,
)

ROOT = Path(__file__).resolve().parents[2]
EVENING = (ROOT / "messages/en/reminders/evening_before.html.j2").read_text()


def change(source: str, old: str, new: str, *, every: bool = False) -> Replaced | WordsRefused:
    return replace_words(source, WordChange(old, new), every=every)


@pytest.mark.parametrize(
    ("typed", "old", "new"),
    [
        ("eye mask -> eye mask or a soft scarf", "eye mask", "eye mask or a soft scarf"),
        ("eye mask → eye mask or a soft scarf", "eye mask", "eye mask or a soft scarf"),
        ("eye mask=>sleep mask", "eye mask", "sleep mask"),
        ("eye mask\neye mask or a soft scarf\n", "eye mask", "eye mask or a soft scarf"),
        ("  eye mask  \n\n  sleep mask ", "eye mask", "sleep mask"),
        ("a calm evening ->", "a calm evening", ""),  # the words taken out
        ("a -> b -> c", "a", "b -> c"),  # the first arrow divides
    ],
)
def test_what_a_member_types_is_read(typed: str, old: str, new: str) -> None:
    assert read_word_change(typed) == WordChange(old, new)


@pytest.mark.parametrize("typed", ["eye mask", "-> scarf", "one\ntwo\nthree", "", "  \n "])
def test_what_is_neither_form_is_not_read(typed: str) -> None:
    assert read_word_change(typed) is None


def test_the_eye_mask_is_changed_in_the_source_and_nothing_else() -> None:
    done = change(EVENING, "eye mask", "eye mask or a soft scarf")
    assert isinstance(done, Replaced) and done.count == 1 and not done.ignoring_case
    assert done.body == EVENING.replace("An eye mask", "An eye mask or a soft scarf")
    assert "{% for item in checklist %}" in done.body


def test_words_inside_values_logic_comments_and_tags_are_not_found() -> None:
    source = (
        '{# the item #}{% if item %}<a href="https://x.org/item">{{ item.label }}</a>{% endif %}'
        "Bring one item."
    )
    done = change(source, "item", "thing")
    assert isinstance(done, Replaced) and done.count == 1
    assert done.body == source.replace("one item", "one thing")
    assert change("{{ item }}", "item", "thing") == WordsRefused(WordsProblem.NOT_FOUND)


def test_a_match_never_spans_a_tag_or_a_value() -> None:
    """Words found only across bold, italics or a link are named in the pieces to change one
    by one; across a value (what each patient gets) they are not found."""
    source = "<b>Your visit is tomorrow</b> 🌙 at {{ when }} sharp"
    refused = change(source, "tomorrow 🌙", "x")
    assert refused == WordsRefused(WordsProblem.FORMATTED, pieces=("tomorrow", "🌙"))
    assert isinstance(change(source, "visit is tomorrow", "visit is soon"), Replaced)
    across_a_value = change(source, "🌙 at sharp", "x")
    assert isinstance(across_a_value, WordsRefused)
    assert across_a_value.code is WordsProblem.NOT_FOUND


def test_words_across_formatting_are_named_in_pieces() -> None:
    source = (
        "Please don't drive: no driving <b>until the next day</b>, "
        'see <a href="{{ url }}">our page</a>.'
    )
    refused = change(source, "No driving until the next day", "x")
    assert refused == WordsRefused(
        WordsProblem.FORMATTED, pieces=("no driving", "until the next day")
    )
    link = change(source, "see our page", "x")
    assert link == WordsRefused(WordsProblem.FORMATTED, pieces=("see", "our page"))


def test_several_matches_are_counted_and_changed_all_only_when_asked() -> None:
    source = "Take a mask. {{ x }} The mask helps. <i>mask</i>"
    assert change(source, "mask", "scarf") == WordsRefused(WordsProblem.SEVERAL, count=3)
    done = change(source, "mask", "scarf", every=True)
    assert isinstance(done, Replaced) and done.count == 3
    assert done.body == "Take a scarf. {{ x }} The scarf helps. <i>scarf</i>"
    more = change(source, "The mask", "The scarf")
    assert isinstance(more, Replaced) and more.body == source.replace("The mask", "The scarf")


def test_case_counts_first_and_is_ignored_only_when_nothing_matches_as_written() -> None:
    source = "Eye mask. An eye mask helps."
    exact = change(source, "Eye mask", "Sleep mask")
    assert isinstance(exact, Replaced) and not exact.ignoring_case
    assert exact.body == "Sleep mask. An eye mask helps."
    assert change(source, "EYE MASK", "x") == WordsRefused(WordsProblem.SEVERAL, count=2)
    folded = change("An eye mask helps.", "An Eye Mask", "A scarf")
    assert isinstance(folded, Replaced) and folded.ignoring_case
    assert folded.body == "A scarf helps."
    # A phone's curly apostrophe finds the typed one.
    curly = change("a good night's sleep", "night’s sleep", "rest")
    assert isinstance(curly, Replaced) and curly.body == "a good rest"


def test_whole_words_before_parts_of_words() -> None:
    source = "masks and a mask"
    whole = change(source, "mask", "scarf")
    assert isinstance(whole, Replaced) and whole.body == "masks and a scarf"
    part = change("calmer", "calm", "quiet")
    assert isinstance(part, Replaced) and part.body == "quieter"


def test_not_found_quotes_the_closest_line_to_copy() -> None:
    refused = change(EVENING, "eye mak", "scarf")
    assert isinstance(refused, WordsRefused) and refused.code is WordsProblem.NOT_FOUND
    assert refused.closest.startswith("An eye mask can make the session calmer")
    typo = change(EVENING, "Your visit is tomorow", "x")
    assert typo == WordsRefused(WordsProblem.NOT_FOUND, closest="Your visit is tomorrow")
    assert change(EVENING, "zzz qqq", "x") == WordsRefused(WordsProblem.NOT_FOUND, closest="")
    # A value typed as patients read it: the line of plain words around it.
    answer = "Anything else? Call {{ clinic.name }} at <b>{{ clinic.phone }}</b>.\nBring water."
    by_value = change(answer, "Call Ki Ketamine", "Phone us")
    assert by_value == WordsRefused(WordsProblem.NOT_FOUND, closest="Anything else? Call")
    assert plain_lines(EVENING) == [
        "Your visit is tomorrow",
        "For your bag:",
        refused.closest,
    ]


@pytest.mark.parametrize("new", ["{{ when }}", "mask {% if x %}", "{# note #}"])
def test_template_syntax_in_the_words_is_refused(new: str) -> None:
    assert change(EVENING, "eye mask", new) == WordsRefused(WordsProblem.TEMPLATE)
    assert change(EVENING, new, "eye mask") == WordsRefused(WordsProblem.TEMPLATE)


def test_new_words_that_would_make_a_tag_with_the_text_beside_them_are_refused() -> None:
    # "{" typed before "{% if %}" would open a value: the tags would change.
    for source in ("Rest{% if x %}.{% endif %}", "Rest{{ when }}"):
        assert change(source, "Rest", "Rest {") == WordsRefused(WordsProblem.TEMPLATE)


def test_new_words_are_escaped_and_old_ones_found_as_patients_read_them() -> None:
    done = change("Q&amp;A: <b>calm</b> &lt;3", "calm", "calm & <quiet>")
    assert isinstance(done, Replaced)
    assert done.body == "Q&amp;A: <b>calm &amp; &lt;quiet&gt;</b> &lt;3"
    entity = change("Q&amp;A: <b>calm</b> &lt;3", "Q&A", "Questions")
    assert isinstance(entity, Replaced) and entity.body == "Questions: <b>calm</b> &lt;3"
    assert change("a &lt;3 b", "<3", "♥") == Replaced("a ♥ b", 1)


def test_the_note_names_the_change() -> None:
    assert WordChange("eye mask", "scarf").note() == "“eye mask” → “scarf”"
    assert WordChange("to", "too").note(2) == "“to” → “too” ×2"
    assert len(WordChange("x" * 500, "y\n" * 300).note()) < 200
