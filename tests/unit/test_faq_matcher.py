"""The FAQ list in messages/en/faq.toml and the free-text matcher."""

from __future__ import annotations

import re
import time
import tomllib
from pathlib import Path

import pytest

from bot.content.loading import load_file
from bot.content.schemas import FaqFile
from bot.content.store import Content, ContentError
from bot.domain.faq import FaqEntry, FaqMatcher, Verdict
from foundation.data_file import validate_file

MESSAGES_DIR = Path(__file__).resolve().parents[2] / "messages"
FAQ_TOML = MESSAGES_DIR / "en" / "faq.toml"

REQUIRED_ORDER = [
    "what_to_expect",
    "how_long",
    "how_it_feels",
    "recovery",
    "how_it_works",
    "conditions",
    "why_several",
    "with_therapy",
    "how_to_prepare",
    "contact",
]


@pytest.fixture(scope="module")
def raw_prompts() -> list[dict]:
    with FAQ_TOML.open("rb") as fh:
        return tomllib.load(fh)["prompt"]


@pytest.fixture(scope="module")
def entries() -> tuple[FaqEntry, ...]:
    return load_file(FaqFile, FAQ_TOML).prompt


@pytest.fixture(scope="module")
def matcher() -> FaqMatcher:
    """The shipped English matcher: faq.toml with conversation.toml."""
    return Content(MESSAGES_DIR).faq("en").matcher


def test_required_prompts_in_order(entries: tuple[FaqEntry, ...]) -> None:
    keys = [e.key for e in entries]
    assert [k for k in keys if k in REQUIRED_ORDER] == REQUIRED_ORDER


def test_keys_unique(raw_prompts: list[dict]) -> None:
    keys = [p["key"] for p in raw_prompts]
    assert len(keys) == len(set(keys))


def test_titles_short_and_plain(raw_prompts: list[dict]) -> None:
    for prompt in raw_prompts:
        title = prompt["title"]
        assert 0 < len(title) <= 40, title
        assert "<" not in title, title
        assert "&" not in title, title


def test_keywords_lowercase_and_nonempty(raw_prompts: list[dict]) -> None:
    for prompt in raw_prompts:
        assert prompt["keywords"], prompt["key"]
        for keyword in prompt["keywords"]:
            assert keyword, prompt["key"]
            assert keyword == keyword.lower().strip(), (prompt["key"], keyword)


def test_every_template_exists(raw_prompts: list[dict]) -> None:
    for prompt in raw_prompts:
        path = MESSAGES_DIR / "en" / f"{prompt['template']}.html.j2"
        assert path.is_file(), f"{prompt['key']}: missing {path}"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("what should I expect?", "what_to_expect"),
        ("What happens during the infusion?", "what_to_expect"),
        ("how long is recovery", "recovery"),
        ("can I eat before my infusion", "eating_drinking"),
        ("where do I park?", "location"),
        ("does insurance cover it", "cost"),
        ("How long does the visit take?", "how_long"),
        ("how will it feel", "how_it_feels"),
        ("what conditions do you treat", "conditions"),
        ("can I drive home", "recovery"),
        ("Can I drive home afterwards?", "recovery"),
        ("phone number", "contact"),
        ("reschedule", "reschedule"),
        ("I need to cancel my appointment", "reschedule"),
        ("i'm really nervous about tomorrow", "nervous"),
        ("hi", "greeting"),
        ("thank you", "thanks"),
        ("ok", "ack"),
        ("how does ketamine work", "how_it_works"),
        ("How long does the pain relief last?", "why_several"),
        ("why do I need several infusions", "why_several"),
        ("How many infusions will I need?", "why_several"),
        ("should I keep seeing my therapist", "with_therapy"),
        ("how do I prepare", "how_to_prepare"),
        ("What music should I listen to?", "how_to_prepare"),
        ("Can ketamine help my depression?", "conditions"),
    ],
)
def test_examples_map_to_topics(matcher: FaqMatcher, text: str, key: str) -> None:
    assert matcher.classify(text).answer == key, text


@pytest.mark.parametrize(
    "text",
    ["asdfgh", "", "   ", "?!", "what's the cost of a new iphone", "where can i park my boat"],
)
def test_no_match(matcher: FaqMatcher, text: str) -> None:
    assert matcher.classify(text) == Verdict()
    assert matcher.match(text) is None


def test_match_is_only_for_questions(matcher: FaqMatcher) -> None:
    """`match` answers with a prompt of faq.toml only; intents are `classify`'s."""
    assert matcher.match("hello") is None
    assert matcher.match("how long is recovery").key == "recovery"  # type: ignore[union-attr]


def test_small_talk_gives_way_to_a_question(matcher: FaqMatcher) -> None:
    assert matcher.classify("thanks! how long is the recovery?").answer == "recovery"
    assert matcher.classify("good morning").answer == "greeting"
    assert matcher.classify("helloo").answer == "greeting"


def test_close_topics_are_both_offered() -> None:
    matcher = FaqMatcher(
        [
            FaqEntry("a", "A", ("parking",), "faq/a"),
            FaqEntry("b", "B", ("cost",), "faq/b"),
            FaqEntry("c", "C", ("hours",), "faq/c"),
        ]
    )
    assert matcher.classify("parking cost").choices == ("a", "b")
    assert matcher.classify("parking").answer == "a"


def test_unknown_words_need_more_evidence() -> None:
    matcher = FaqMatcher([FaqEntry("cost", "Cost", ("cost",), "faq/a")], common=("the", "of"))
    assert matcher.classify("the cost").answer == "cost"
    assert matcher.classify("the cost of bitcoin").answer is None


def test_common_words_do_not_meet_a_cue_of_their_stem() -> None:
    """Spanish "como" (how) is no form of "comer" (to eat)."""
    matcher = FaqMatcher([FaqEntry("eat", "Eat", ("comer",), "faq/a")], common=("como",), lang="es")
    assert matcher.classify("como").answer is None
    assert matcher.classify("comer").answer == "eat"
    assert matcher.classify("comemos").answer == "eat"


def test_phrase_outweighs_single_word() -> None:
    matcher = FaqMatcher(
        [
            FaqEntry("a", "A", ("recovery",), "faq/a"),
            FaqEntry("b", "B", ("how long",), "faq/b"),
        ]
    )
    assert matcher.classify("how long is recovery").ranked[0] == "b"


def test_tie_offers_both_earlier_first() -> None:
    matcher = FaqMatcher(
        [FaqEntry("a", "A", ("pain",), "faq/a"), FaqEntry("b", "B", ("pain",), "faq/b")]
    )
    assert matcher.classify("pain").choices == ("a", "b")


def test_plural_and_whole_words() -> None:
    matcher = FaqMatcher([FaqEntry("a", "A", ("infusion", "iv"), "faq/a")])
    assert matcher.match("infusions?") is not None
    assert matcher.match("ivy league") is None
    assert matcher.match("INFUSION") is not None


def test_long_input_is_fast(matcher: FaqMatcher) -> None:
    text = ("lorem ipsum dolor sit amet consectetur " * 120)[:4096]
    matcher.match(text)
    start = time.perf_counter()
    for _ in range(10):
        matcher.match(text)
    assert (time.perf_counter() - start) / 10 < 0.01


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, r"faq.toml: prompt: missing \(required\)"),
        ({"prompt": []}, "faq.toml: prompt: needs at least 1, has 0"),
        ({"prompt": [{"key": "Bad"}]}, r"faq.toml: prompt\[1\]\.key: String should match pattern"),
        (
            {"prompt": [{"key": "a", "title": "x" * 41, "keywords": ["a"], "template": "faq/a"}]},
            r"prompt\[1\]\.title: String should have at most 40 characters",
        ),
        (
            {"prompt": [{"key": "a", "title": " ", "keywords": ["a"], "template": "faq/a"}]},
            r"prompt\[1\]\.title: String should have at least 1 character",
        ),
        (
            {"prompt": [{"key": "a", "title": "A", "keywords": [], "template": "faq/a"}]},
            r"prompt\[1\]\.keywords: needs at least 1, has 0",
        ),
        (
            {"prompt": [{"key": "a", "title": "A", "keywords": ["?!"], "template": "faq/a"}]},
            r"prompt\[1\]\.keywords\[1\]: '\?!' has no letters or digits to match",
        ),
        (
            {"prompt": [{"key": "a", "title": "A", "keywords": ["a"], "template": "../x"}]},
            r"prompt\[1\]\.template: String should match pattern",
        ),
        (
            {"prompt": [{"key": "a", "title": "A", "keywords": ["a"], "template": "faq//a"}]},
            r"prompt\[1\]\.template: String should match pattern",
        ),
        (
            {
                "prompt": [
                    {"key": "a", "title": "A", "keywords": ["a"], "template": "faq/a"},
                    {"key": "a", "title": "B", "keywords": ["b"], "template": "faq/b"},
                ]
            },
            r"prompt\[2\]\.key: 'a' is used by more than one prompt",
        ),
        (
            {"prompt": [{"key": "a", "title": "A", "keywords": ["a"], "templat": "faq/a"}]},
            r"prompt\[1\]\.templat: unknown field \(did you mean 'template'\?\)",
        ),
    ],
)
def test_invalid_faq_rejected(data: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_file(FaqFile, data, "faq.toml")


def test_faq_problems_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "faq.toml"
    path.write_text(
        FAQ_TOML.read_text(encoding="utf-8").replace('key = "how_long"', 'key = "How long"'),
        encoding="utf-8",
    )
    line = FAQ_TOML.read_text(encoding="utf-8").split("\n").index('key = "how_long"') + 1
    with pytest.raises(ContentError, match=rf"^{re.escape(str(path))}:{line}: prompt\[2\]\.key: "):
        load_file(FaqFile, path)


def test_typos_and_missing_accents_still_find_the_question() -> None:
    matcher = FaqMatcher(
        [
            FaqEntry("recovery", "Recovery", ("recovery", "how long", "recuperación"), "faq/a"),
            FaqEntry("feel", "Feeling", ("feel like",), "faq/b"),
        ],
        common=("is", "the"),
    )
    assert matcher.match("how long is the recovry").key == "recovery"  # type: ignore[union-attr]
    assert matcher.match("recuperacion").key == "recovery"  # type: ignore[union-attr]
    assert matcher.match("recoverry??").key == "recovery"  # type: ignore[union-attr]
    assert matcher.match("recovrey").key == "recovery"  # type: ignore[union-attr]
    # Far from every keyword, or too short to guess: nothing.
    assert matcher.match("banana") is None
    assert matcher.match("how") is None


def test_short_spellings_are_read_as_the_words_they_stand_for() -> None:
    """Spanish typed on a phone: "q" is "que", "xq" "porque", "sita" a slip of "cita"."""
    matcher = FaqMatcher(
        [FaqEntry("expect", "Expect", ("que esperar", "que me hacen en la cita"), "faq/a")],
        common=("me", "en", "la", "porque"),
        spelling={"q": "que", "xq": "porque", "sita": "cita", "Finde": "fin de semana"},
        lang="es",
    )
    assert matcher.spelled("Q esperar, XQ") == ("que", "esperar", "porque")
    assert matcher.spelled("el finde") == ("el", "fin", "de", "semana")
    assert matcher.classify("q esperar").answer == "expect"
    assert matcher.classify("q me hacen en la sita").answer == "expect"
    # Without the table the short word is no word of the phrase.
    plain = FaqMatcher([FaqEntry("expect", "Expect", ("que esperar",), "faq/a")], lang="es")
    assert plain.classify("q esperar").answer is None


def test_the_shipped_spanish_spellings_are_read() -> None:
    matcher = Content(MESSAGES_DIR).faq("es").keywords_matcher()
    assert matcher.spelled("xq tenéis q ir tmb") == ("porque", "tienen", "que", "ir", "tambien")
    assert matcher.classify("onde estan ubicados").answer == "location"


def test_an_unmatched_message_is_offered_the_questions_it_comes_nearest_to() -> None:
    matcher = FaqMatcher(
        [
            FaqEntry("cost", "Cost", ("cost",), "faq/a"),
            FaqEntry("hours", "Hours", ("hours",), "faq/b"),
            FaqEntry("park", "Parking", ("parking",), "faq/c"),
        ],
        common=("the", "of", "a", "and"),
    )
    assert matcher.classify("the cost of a new iphone").ranked == ()
    assert matcher.closest("the cost of a new iphone") == ("cost",)
    assert matcher.closest("cost and hours and parking of bitcoin", most=2) == ("cost", "hours")
    assert matcher.closest("qwerty zxcv") == ()


def test_the_shipped_matcher_offers_near_questions_only_when_some_are_near(
    matcher: FaqMatcher,
) -> None:
    assert "cost" in matcher.closest("whats the cost of a new iphone")
    assert len(matcher.closest("recovery time for acl surgery")) <= 3
    assert matcher.closest("qwerty zxcv") == ()


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("en", "the infusions helped, im in a better place now", "good_news"),
        ("en", "feeling so much better since my last infusion", "good_news"),
        ("en", "i don't feel any better after three infusions", None),
        ("en", "when will i feel better", None),
        ("en", "feeling much better, how many more infusions do i need?", "why_several"),
        ("es", "ya me siento mucho mejor gracias a las infusiones", "good_news"),
        ("es", "no me siento mejor después de tres infusiones", None),
        ("es", "gracias por todo", "thanks"),
    ],
)
def test_good_news_is_small_talk_kept_from_negations_and_questions(
    lang: str, text: str, expected: str | None
) -> None:
    ranked = Content(MESSAGES_DIR).faq(lang).matcher.classify(text).ranked
    if expected is None:
        assert "good_news" not in ranked
    else:
        assert ranked[:1] == (expected,)
