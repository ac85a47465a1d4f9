"""How the crisis screen sees through invisible characters, lookalike letters and leet.

The reviewed corpora (messages that must and must not trigger) are POSITIVE and NEGATIVE
in test_safety.py; this file tests the mechanisms, with small lexicons where that makes
the point clearer, and with property tests over the real lexicon.
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.content.loading import load_file
from bot.content.schemas import SafetyLexicon, crisis_detector
from bot.domain import safety_text, text_normalization
from bot.domain.safety import CrisisDetector, CrisisMatch
from bot.domain.text_normalization import normalize
from tests.unit.screen_timing import LINEAR, growth
from tests.unit.test_safety import NEGATIVE, POSITIVE, SAFETY_TOML

FORMAT_CHARS: list[str] = [
    chr(cp) for cp in range(sys.maxunicode + 1) if unicodedata.category(chr(cp)) == "Cf"
]


@functools.cache
def _detector() -> CrisisDetector:
    """The real lexicon, built once (hypothesis does not mix with function fixtures)."""
    return crisis_detector([load_file(SafetyLexicon, SAFETY_TOML)])


# --- invisible characters -------------------------------------------------------------------


def test_format_characters_are_known() -> None:
    # The ones named in the module docstring, so this list cannot silently be empty.
    assert {"\u200b", "\u00ad", "\u2060", "\u200c", "\u200d", "\ufeff"} <= set(FORMAT_CHARS)


def test_every_format_character_is_removed_by_normalize() -> None:
    """The import-time scan covers planes 0, 1 and 14 only; this checks the whole range."""
    kept = [f"U+{ord(ch):04X}" for ch in FORMAT_CHARS if normalize(f"ab{ch}cd") != "abcd"]
    assert not kept


@pytest.mark.parametrize(
    "mark",
    ["\u034f", "\u17b4", "\u180b", "\ufe0f", "\U000e0100"],
    ids=["grapheme joiner", "khmer vowel", "mongolian fvs", "vs16", "vs17"],
)
def test_other_invisible_marks_are_removed(mark: str) -> None:
    assert normalize(f"ki{mark}ll") == "kill"


@pytest.mark.parametrize("filler", ["\u115f", "\u1160", "\u3164", "\uffa0"])
def test_hangul_fillers_are_spaces(filler: str) -> None:
    assert normalize(f"want{filler}to{filler}die") == "want to die"


def test_invisible_characters_as_word_breaks_still_count() -> None:
    # Removing them joins words; the screen also reads them as breaks, as it used to.
    detector = CrisisDetector({"x": ["want to die"]})
    assert detector.check("want\u200bto\u200bdie") == CrisisMatch("x")
    assert detector.check("wa\u200bnt to d\u00adie") == CrisisMatch("x")


@settings(max_examples=300, deadline=None)
@given(
    text=st.sampled_from(POSITIVE),
    inserts=st.lists(
        st.tuples(st.integers(min_value=0), st.sampled_from(FORMAT_CHARS)),
        min_size=1,
        max_size=4,
    ),
)
def test_format_characters_anywhere_keep_a_phrase_caught(
    text: str, inserts: list[tuple[int, str]]
) -> None:
    for position, char in inserts:
        at = position % (len(text) + 1)
        text = text[:at] + char + text[at:]
    assert _detector().check(text) is not None, repr(text)


# --- lookalike letters -----------------------------------------------------------------------


# The Cyrillic and Greek letters the screen folded with a table of its own before it used
# Unicode's confusable mappings (UTS #39): each must still read as its Latin letter.
_OLD_TABLE = {
    "\u0430": "a",
    "\u0432": "b",
    "\u0435": "e",
    "\u043a": "k",
    "\u043c": "m",
    "\u043d": "h",
    "\u043e": "o",
    "\u0440": "p",
    "\u0441": "c",
    "\u0442": "t",
    "\u0443": "y",
    "\u0445": "x",
    "\u0455": "s",
    "\u0456": "i",
    "\u0458": "j",
    "\u0475": "v",
    "\u04af": "y",
    "\u04bb": "h",
    "\u04cf": "l",
    "\u0501": "d",
    "\u051b": "q",
    "\u051d": "w",
    "\u03b1": "a",
    "\u03b2": "b",
    "\u03b5": "e",
    "\u03b7": "n",
    "\u03b9": "i",
    "\u03ba": "k",
    "\u03bc": "u",
    "\u03bd": "v",
    "\u03bf": "o",
    "\u03c1": "p",
    "\u03c4": "t",
    "\u03c5": "u",
    "\u03c7": "x",
    "\u03f3": "j",
    # Greek capitals that look like another letter than their small forms
    "\u0397": "h",
    "\u039c": "m",
    "\u039d": "n",
    "\u03a5": "y",
}


@pytest.mark.parametrize(("letter", "latin"), sorted(_OLD_TABLE.items()))
def test_the_old_lookalike_table_still_folds(letter: str, latin: str) -> None:
    assert safety_text._normalize(f"k{letter}x", screen=True) == f"k{latin}x"
    assert re.fullmatch("k[a-z]x", safety_text._normalize(f"k{letter.upper()}x", screen=True))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "\u1d0b\u026a\u029f\u029f \u1d0d\u028f\ua731\u1d07\u029f\ua730",
            "kill myself",
        ),  # small capitals
        ("\u24da\u24d8\u24db\u24db myself", "kill myself"),  # circled letters
        ("\U0001f13a\U0001f138\U0001f13b\U0001f13b myself", "kill myself"),  # squared
        ("\U0001f17a\U0001f178\U0001f17b\U0001f17b myself", "kill myself"),  # negative squared
        (
            "\u13e6\u13a5\u13de\u13de \u13b7\u13bd\u13da\u13ac\u13de\ua730",
            "kill myself",
        ),  # Cherokee
        ("\U0001d424\U0001d422\U0001d425\U0001d425 myself", "kill myself"),  # mathematical bold
        ("\uff4b\uff49\uff4c\uff4c myself", "kill myself"),  # fullwidth
    ],
)
def test_lookalike_alphabets_fold_to_latin(text: str, expected: str) -> None:
    assert safety_text._normalize(text, screen=True) == expected


def test_lookalikes_fold_by_shape_not_sound() -> None:
    # Cyrillic "р" is the letter "er" but looks like "p".
    assert CrisisDetector({"x": ["pop"]}).check("\u0440\u043e\u0440") == CrisisMatch("x")
    assert CrisisDetector({"x": ["ror"]}).check("\u0440\u043e\u0440") is None


def test_greek_capital_and_small_eta_fold_differently() -> None:
    detector = CrisisDetector({"x": ["hurt", "unalive"]})
    assert detector.check("\u0397URT") == CrisisMatch("x")  # Η looks like H
    assert detector.check("u\u03b7alive") == CrisisMatch("x")  # η looks like n


def test_a_cyrillic_or_greek_phrase_still_matches_itself_in_any_case() -> None:
    detector = CrisisDetector({"ru": ["хочу умереть"], "el": ["θέλω να πεθάνω"]})
    for text in ("Хочу умереть", "ХОЧУ УМЕРЕТЬ", "хОЧУ уМЕРЕТЬ"):
        assert detector.check(text) == CrisisMatch("ru"), text
    for text in ("Θέλω να πεθάνω", "ΘΈΛΩ ΝΑ ΠΕΘΆΝΩ", "θΈλω Να πεθάνω"):
        assert detector.check(text) == CrisisMatch("el"), text
    assert detector.check("спасибо, всё хорошо") is None


def test_normalize_does_not_fold_lookalikes() -> None:
    # FAQ matching and other languages keep their letters; only the crisis screen folds.
    assert normalize("Привет, kіll") == "привет k\u0456ll"
    assert normalize("Ευχαριστώ") == "ευχαριστώ"


def _latin_to_lookalikes() -> dict[str, list[str]]:
    """Each Latin letter and the Cyrillic, Greek and Cherokee letters that read as it."""
    found: dict[str, list[str]] = {}
    blocks = (range(0x0370, 0x0530), range(0x13A0, 0x13F6))
    for ch in (chr(cp) for block in blocks for cp in block):
        if not ch.isalpha():
            continue
        latin = safety_text._normalize(f"k{ch}x", screen=True)
        if re.fullmatch("k[a-z]x", latin):
            found.setdefault(latin[1], []).append(ch)
    return found


_LATIN_TO_LOOKALIKES = _latin_to_lookalikes()


@settings(max_examples=300, deadline=None)
@given(text=st.sampled_from(POSITIVE), data=st.data())
def test_lookalikes_anywhere_keep_a_phrase_caught(text: str, data: st.DataObject) -> None:
    chars = list(text)
    for i, ch in enumerate(chars):
        options = _LATIN_TO_LOOKALIKES.get(ch.lower())
        if options and data.draw(st.booleans(), label=f"swap {i}"):
            chars[i] = data.draw(st.sampled_from(options), label=f"lookalike {i}")
    swapped = "".join(chars)
    assert _detector().check(swapped) is not None, repr(swapped)


# --- numbers, number words and leet ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("i want 2 die", "passive_ideation"),
        ("gonna k1ll myself", "active_ideation"),
        ("ki11 myself", "active_ideation"),
        ("I t00k 2 many pills", "overdose"),
        ("we r in danger", "abuse_danger"),
        ("I c4nt bre4the", "medical_emergency"),
    ],
)
def test_folded_variant_reports_category(text: str, category: str) -> None:
    assert _detector().check(text) == CrisisMatch(category)


@pytest.mark.parametrize(
    ("phrase", "text"),
    [
        ("sleep forever", "i just want to sleep 4ever"),
        ("end it tonight", "gonna end it 2nite"),
        ("you are better off", "u r better off"),
        ("your fault", "it's ur fault"),
        ("kill myself", "k1ll mys3lf"),
        ("kill myself", "ki11 myself"),  # "1" standing for "l"
        ("kill myself", "KI11 MYSELF"),
        ("suicide", "$u1c1d3"),
        ("not safe", "n0t s@fe"),
        ("took too many pills", "took 2 many pills"),
        ("took two pills", "took 2 pills"),
        ("all alone", "@ll @l0ne"),
    ],
)
def test_numbers_and_leet_are_folded(phrase: str, text: str) -> None:
    assert CrisisDetector({"x": [phrase]}).check(text) == CrisisMatch("x")


@pytest.mark.parametrize(
    ("phrase", "text"),
    [
        ("call 911", "call 911 now"),
        ("take 2 pills", "should I take 2 pills"),
        ("4 am", "woke at 4 am"),
    ],
)
def test_a_phrase_with_a_digit_is_not_lost(phrase: str, text: str) -> None:
    assert CrisisDetector({"x": [phrase]}).check(text) == CrisisMatch("x")


def test_numbers_on_their_own_are_not_leet() -> None:
    detector = CrisisDetector({"x": ["i odd", "so sick"]})
    assert detector.check("I had 1 odd reaction") is None  # "1" is not "i" on its own
    assert detector.check("5 0 sick") is None
    assert detector.check("i 0dd") == CrisisMatch("x")  # but "0dd" is a word with a digit


def test_normalize_does_not_fold_numbers() -> None:
    assert normalize("I took 2 pills at 10am") == "i took 2 pills at 10am"
    assert normalize("k1ll u") == "k1ll u"


def test_exclusions_apply_in_the_folded_variant() -> None:
    detector = CrisisDetector({"x": ["overdose"]}, exclusions=["can you overdose"])
    assert detector.check("can u 0verdose on ketamine?") is None
    assert detector.check("can u 0verdose? I think I 0verdose") == CrisisMatch("x")


def test_wildcards_survive_the_folded_lexicon() -> None:
    detector = CrisisDetector({"x": ["self harm*"]})
    assert detector.check("$elf h@rming") == CrisisMatch("x")
    assert detector.check("s3lf h4rmed 2day") == CrisisMatch("x")
    assert detector.check("self h4rbour") is None


def test_long_input_with_digits_costs_in_proportion() -> None:
    """Digits are read as letters too (leetspeak): still linear in the message."""
    text = ("I took 2 pills at 10am and see u at 5pm for session 4 of 6, thanks " * 70)[:4096]
    detector = _detector()
    assert detector.check(text) is None
    ratio = growth(detector.check, text[:1024], text)
    assert ratio < LINEAR, f"4x the text took {ratio:.1f}x the time"
    assert detector.check(text + " i want 2 d1e") is not None


# --- ordinary text stays ordinary -------------------------------------------------------------


def _normalize_before(text: str) -> str:
    """normalize() as it was before invisible characters were removed, for comparison."""
    quotes = str.maketrans(text_normalization._QUOTES)
    text = unicodedata.normalize("NFKC", text).translate(quotes).casefold().replace("'", "")
    return re.sub(r"[\W_]+", " ", text).strip()


_VISIBLE = st.characters(
    exclude_categories=("Cf", "Cs"),
    exclude_characters="".join(
        map(chr, text_normalization.INVISIBLE | set(text_normalization.BLANK_LETTERS))
    ),
)


@settings(max_examples=500, deadline=None)
@given(text=st.text(alphabet=_VISIBLE, max_size=60))
def test_normalize_is_unchanged_for_text_without_invisible_characters(text: str) -> None:
    # What FAQ matching sees only changes where a message has invisible characters.
    assert normalize(text) == _normalize_before(text)


def test_reviewed_negatives_include_digits_scripts_and_invisibles() -> None:
    """Keep the NEGATIVE corpus honest about what the new foldings could break."""
    assert sum(bool(re.search(r"\d", t)) for t in NEGATIVE) >= 10
    assert any(re.search("[\u0400-\u04ff]", t) for t in NEGATIVE)
    assert any(re.search("[\u0370-\u03ff]", t) for t in NEGATIVE)
    assert any(set(t) & set(FORMAT_CHARS) for t in NEGATIVE)


@pytest.mark.parametrize(
    "text",
    ["s o y  u n  e s t o r b o", "le voy a d.a.r  c.u.e.l.l.o", "i  a m  a  b u r d e n"],
)
def test_spaced_words_of_one_or_two_letters_are_joined(text: str) -> None:
    detector = CrisisDetector({"x": ["soy un estorbo", "dar cuello", "i am a burden"]})
    assert detector.check(text) == CrisisMatch("x")


def test_single_letters_with_wide_gaps_stay_letters() -> None:
    detector = CrisisDetector({"x": ["ab"]})
    assert detector.check("plan a  b  c, then d e f") is None


# --- letters said three times or more -------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["i wanna diiiiie", "wish i was deeeead", "took allll my pills", "cant breeeathe help"],
)
def test_stretched_letters_are_read_as_the_word(text: str) -> None:
    assert _detector().check(text) is not None


def test_stretched_letters_said_twice_when_that_makes_a_lexicon_word() -> None:
    plains = _detector().plains("took allll my pills")
    assert "took all my pills" in plains
    assert _detector().plains("soooo tired lol") == ["soooo tired lol", "so tired lol"]


def test_stretched_ordinary_words_stay_ordinary() -> None:
    assert _detector().check("sooooo tired but the infusion went greeeeat") is None
