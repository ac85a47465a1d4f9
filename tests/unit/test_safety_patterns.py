"""The lexicon's phrase forms ({terms}, "...", optional terms, alone phrases), the languages a
match names, the learned layer's data, and the text folds added for issue 16."""

from __future__ import annotations

import json
import math
import shutil
import tomllib
from pathlib import Path

import pytest

from bot.content.loading import SAFETY_MODEL
from bot.content.schemas import SafetyLexicon, crisis_detector
from bot.content.store import Content
from bot.domain.safety import CrisisDetector, CrisisMatch, LexiconPart
from bot.domain.safety_model import WINDOW, CrisisModel, features, windows, word_features
from bot.domain.safety_patterns import parse_phrase

MESSAGES = Path(__file__).resolve().parents[2] / "messages"

TERMS = {
    "i": ["i", "im", "i am"],
    "want": ["want to", "wanna", "need to"],
    "die": ["die", "be dead", "not wake up"],
    "really": ["really", "just"],
}


def detector(phrases: list[str], **kwargs: object) -> CrisisDetector:
    return CrisisDetector({"x": phrases}, terms=TERMS, **kwargs)  # type: ignore[arg-type]


def test_a_term_stands_for_each_of_its_phrases() -> None:
    screen = detector(["{i} {want} {die}"])
    for text in ("I want to die", "im gonna... no, i wanna be dead", "i need to not wake up"):
        assert screen.check(text) == CrisisMatch("x"), text
    assert screen.check("i want to diet") is None
    assert screen.check("you want to die") is None


def test_an_optional_term_and_a_gap() -> None:
    screen = detector(["{i} {really?} {want} {die}", "{i} ... kill myself"])
    assert screen.check("i really want to die") is not None
    assert screen.check("i want to die") is not None
    assert screen.check("i really do want to kill myself") is not None
    assert screen.check("i so very much do honestly want to kill myself") is None  # 6 words


@pytest.mark.parametrize(
    ("phrase", "message"),
    [
        ("{nope} die", "no term named 'nope'"),
        ("{i}die", "must stand as a word of its own"),
        ("... die", "not at an end"),
        ("{really?}", "needs a word or a term that is not optional"),
        ("{Bad}", "is not a term"),
        ("die ... ... now", "two '...' in a row"),
    ],
)
def test_malformed_phrases_are_refused(phrase: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        detector([phrase])


def test_a_term_that_uses_itself_is_refused() -> None:
    with pytest.raises(ValueError, match="uses itself"):
        CrisisDetector({"x": ["{a}"]}, terms={"a": ["x {b}"], "b": ["y {a}"]})


def test_alone_phrases_count_only_in_a_short_message() -> None:
    screen = CrisisDetector.from_parts(
        [LexiconPart("en", {"x": ["kill myself"]}, alone={"x": ["suicide"]})]
    )
    assert screen.check("suicide") == CrisisMatch("x", languages=("en",))
    assert screen.check("sui cide!!") is not None
    assert screen.check("what is the suicide risk of ketamine?") is None


@pytest.mark.parametrize(
    ("text", "caught"),
    [
        ("i cant go on", True),
        ("I can't go on.", True),
        ("honestly I can't go on 😞", True),
        ("I can't go on. Everything hurts.", True),
        ("ok. i cant go on!! sorry", True),
        ("I can't go on thursday, can we move it?", False),
        ("can I go on the waitlist? I can't go on the 12th", False),
        ("I can't go on the trip", False),
    ],
)
def test_ending_phrases_count_where_they_end_a_sentence(text: str, caught: bool) -> None:
    screen = CrisisDetector.from_parts(
        [LexiconPart("en", {"x": ["kill myself"]}, ending={"x": ["i cant go on"]})]
    )
    assert (screen.check(text) is not None) is caught


def test_ending_phrases_need_their_category() -> None:
    with pytest.raises(ValueError, match="ending phrases of category 'y'"):
        CrisisDetector.from_parts(
            [LexiconPart("en", {"x": ["kill myself"]}, ending={"y": ["i cant go on"]})]
        )


def test_terms_of_one_name_are_one_term_across_languages() -> None:
    en = LexiconPart(
        "en", {"x": ["{i} {want} {die}"]}, terms=TERMS, words=["i", "the", "want", "to"]
    )
    es = LexiconPart(
        "es", {"x": ["quiero {die}"]}, terms={"die": ["morir"]}, words=["quiero", "de", "la"]
    )
    screen = CrisisDetector.from_parts([en, es])
    mixed = screen.check("I want to morir")
    assert mixed is not None and set(mixed.languages) == {"en", "es"}
    assert screen.check("quiero morir") == CrisisMatch("x", languages=("es",))
    assert screen.check("i want to die") == CrisisMatch("x", languages=("en",))
    spanish = screen.check("quiero die de verdad, la verdad")
    assert spanish is not None and spanish.languages[0] == "es"


def test_the_real_lexicons_say_the_language_of_the_message() -> None:
    screen = Content(MESSAGES).crisis_detector
    for text, langs in [
        ("ya no quiero vivir", ("es",)),
        ("i dont want to live anymore", ("en",)),
        ("I want to morir", ("en", "es")),
        ("quiero kill myself", ("es", "en")),
        # "he" and "me" are Spanish words too: they tell neither language.
        ("ya no aguanto más, he estado guardando las pastillas para cuando me decida", ("es",)),
        ("me he tomado todas las pastillas", ("es",)),
        ("he took all my pills and he is not waking up", ("en",)),
    ]:
        match = screen.check(text)
        assert match is not None and set(match.languages) == set(langs), text


def test_each_lexicon_file_passes_its_own_check() -> None:
    # Terms used by one language's file must be defined in it (the merge comes after).
    for path in sorted(MESSAGES.glob("*/safety.toml")):
        lexicon = SafetyLexicon.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
        crisis_detector({path.parent.name: lexicon})


def test_explain_names_the_phrase() -> None:
    screen = detector(["{i} {want} {die}"])
    assert screen.explain("i wanna die") == ":x: {i} {want} {die}"
    assert screen.explain("hello") is None


def test_parse_phrase_keeps_words_terms_and_gaps() -> None:
    kinds = [(i.kind, i.value, i.optional) for i in parse_phrase("I'm {really?} ... self-harm*")]
    assert kinds == [
        ("word", "im", False),
        ("term", "really", True),
        ("gap", "", False),
        ("word", "self", False),
        ("word", "harm*", False),
    ]


# --- the learned layer --------------------------------------------------------------------


def test_the_model_reads_its_data_and_refuses_other_data() -> None:
    model = CrisisModel({"end": 3.0, "end it": 4.0}, -4.0, 0.9)
    again = CrisisModel.from_data(json.loads(json.dumps(model.to_data())))
    assert again.weights == model.weights and again.threshold == 0.9
    assert model.flags("i will end it")
    assert not model.flags("the end")
    data = model.to_data()
    for bad, message in (
        ({"format": 99}, "format"),
        ({**data, "threshold": 2}, "between 0 and 1"),
        ({**data, "weights": []}, "weights"),
    ):
        with pytest.raises(ValueError, match=message):
            CrisisModel.from_data(bad)


def test_each_language_has_its_threshold_and_an_untold_one_the_default() -> None:
    model = CrisisModel({"end": 3.0}, -1.0, 0.8, {"en": 0.95, "es": 0.6})
    again = CrisisModel.from_data(json.loads(json.dumps(model.to_data())))
    assert again.thresholds == {"en": 0.95, "es": 0.6}
    # logit 2.0: above es (0.41) and the default (1.39), below en (2.94)
    assert model.flags("the end", "es") and model.flags("the end")
    assert not model.flags("the end", "en")
    assert model.flags("the end", "fr")  # a language without its own threshold: the default
    assert model.lowest_cut == pytest.approx(math.log(0.6 / 0.4))
    with pytest.raises(ValueError, match="thresholds"):
        CrisisModel.from_data({**model.to_data(), "thresholds": {"en": "high"}})
    with pytest.raises(ValueError, match="between 0 and 1"):
        CrisisModel.from_data({**model.to_data(), "thresholds": {"en": 1.0}})
    # A model of the format before thresholds per language is still read.
    old = {k: v for k, v in model.to_data().items() if k != "thresholds"}
    assert CrisisModel.from_data({**old, "format": 2}).thresholds == {}


def test_the_detector_uses_the_threshold_of_the_language_it_tells() -> None:
    parts = [
        LexiconPart("en", {"active_ideation": ["kill myself"]}, words=["the", "is", "my"]),
        LexiconPart("es", {"active_ideation": ["matarme"]}, words=["el", "es", "mi"]),
    ]
    model = CrisisModel({"fin": 2.0}, -1.0, 0.8, {"en": 0.95, "es": 0.6})  # logit 1.0
    detector = CrisisDetector.from_parts(parts, model)
    assert detector.language("es mi fin") == "es"
    assert detector.language("fin") is None
    assert detector.check("es mi fin") is not None  # es: 1.0 >= 0.41
    assert detector.check("is my fin") is None  # en: 1.0 < 2.94
    assert detector.check("fin") is None  # not told: the default, 1.0 < 1.39


def test_the_common_words_of_each_language_are_told() -> None:
    """What tells the crisis answer's language, and a question's with the FAQ's words
    (bot/domain/question_language.py)."""
    parts = [
        LexiconPart("en", {"active_ideation": ["kill myself"]}, words=["the", "Is"]),
        LexiconPart("es", {"active_ideation": ["matarme"]}, words=["el", "es"]),
    ]
    words = CrisisDetector.from_parts(parts).language_words
    assert words == {"en": {"the", "is"}, "es": {"el", "es"}}


def test_a_long_message_is_read_in_windows() -> None:
    model = CrisisModel({"end it": 10.0}, -5.0, 0.9)
    filler = " ".join(["word"] * (WINDOW * 10))
    assert model.flags(f"{filler} i will end it {filler}")
    assert not model.flags(filler)


def test_a_word_is_read_by_its_stems_and_letter_sequences() -> None:
    found = word_features("matandome")
    assert {"matandome", "es:mat", "c:<mata", "c:dome>"} <= set(found)
    assert word_features("ya") == ["ya"]  # a short word is only itself
    # Spanish verb forms share their stem, so a weight learned on one reads the others.
    model = CrisisModel({"es:mat": 2.0, "es:quier mat": 3.0}, -4.0, 0.6)
    assert model.flags("quiero matarme") and model.flags("quiero matandome")
    assert not model.flags("mataron al personaje de la serie")


@pytest.mark.parametrize(
    "text",
    [
        "quiero morirme ya no aguanto",
        "hola buenos dias a que hora es mi cita",
        "i want to end it all tonight",
        " ".join(["otra palabra"] * WINDOW) + " me quiero matar",
        "eye mask " * 40,  # a repeated word counts once, as in training
    ],
)
def test_the_models_cached_words_score_as_its_features_add_up(text: str) -> None:
    data = json.loads((MESSAGES / SAFETY_MODEL).read_text(encoding="utf-8"))
    model = CrisisModel.from_data(data)
    by_features = max(
        model.bias + sum(model.weights.get(f, 0.0) for f in set(features(window)))
        for window in windows(text)
    )
    for _ in range(2):  # the second time from its cache
        assert model.logit(text) == pytest.approx(by_features)


def test_the_shipped_model_is_the_one_the_content_loads() -> None:
    data = json.loads((MESSAGES / SAFETY_MODEL).read_text(encoding="utf-8"))
    shipped = Content(MESSAGES).crisis_detector.model
    assert shipped is not None and shipped.threshold == data["threshold"]
    assert len(shipped.weights) == len(data["weights"]) > 1000


def test_a_broken_model_file_is_a_content_error(tmp_path: Path) -> None:
    root = tmp_path / "messages"
    shutil.copytree(MESSAGES, root)
    (root / SAFETY_MODEL).write_text('{"format": 2, "weights": {}, "bias": 0}', encoding="utf-8")
    with pytest.raises(Exception, match="bias and threshold"):
        Content(root).crisis_detector  # noqa: B018


# Round 13 (issue 16): concepts from the misses of dev57-dev64, in sentences of their own, one or
# two per warning sign: each must alert with the lexicon alone.
CRISIS_ROUND_13 = [
    # wishing one had the nerve, wanting to die now, signing off for good, a voice pushing
    "wish I had the nerve to end my life tonight",
    "i dont have the balls to kill myself, that's the only reason",
    "I have had it with everything and I want to die tonight",
    "I'm ready to log off permanently",
    "part of me wants to uninstall myself",
    "my head keeps yelling at me to kill myself",
    "honestly feeling like ending it all",
    "ion wanna be here no more",
    # being dead or heaven sounding good, an accident wished, not saving oneself
    "being dead sounds pretty good right now",
    "I keep hoping a truck swerves and runs me over",
    "sometimes I wish the aneurysm had finished the job",
    "if I slipped off the pier I wouldn't bother swimming",
    "woke up again, gutted",
    # burden
    "sorry i exist, truly",
    "it's best I get out of everyone's way for good",
    "I've become a burden to my daughter",
    # hopelessness
    "the infusions were my last hope",
    "it will never change, I know it now",
    "I've lost the will to go on",
    "I don't see myself still here next christmas",
    "God has given up on me",
    "I don't know if I can keep going like this",
    # a day chosen
    "I've settled on the day",
    # acquiring the means, final arrangements
    "went and bought a noose online",
    "checked whether the rafters would hold my weight",
    "been filling the same prescription at two chemists",
    "drove to the overpass again to look at the drop",
    "wrote my passwords down for my sister in case",
    "who gonna get my records when im gone",
    "left a goodbye voicemail for my dad",
    # self-harm, overdose
    "kept banging my head against the wall until it bled",
    "used to cut in college and the urges are back",
    "accidentally triple dosed my seroquel",
    "overdid it on my sleeping tablets",
    # someone else, harm to others, abuse
    "my roommate has a knife to her throat",
    "she took all her lithium",
    "the baby is chewing on my pill bottle",
    "keep thinking about using it on her",
    "I'm afraid I'll hit my son",
    "he's violating the restraining order right now",
    "my wife's brother struck me",
    # praying not to wake up is a wish to be dead now (it was read as history)
    "i pray every night not to wake up",
    "some nights I pray I never wake up",
    # wishing for the nerve to end it (C-SSRS: thoughts of killing oneself)
    "I wish I had the courage to end it",
    "if only I had the nerve to go through with it",
]


@pytest.mark.parametrize("text", CRISIS_ROUND_13)
def test_round_13_concepts_alert_with_the_lexicon_alone(text: str) -> None:
    match = Content(MESSAGES).crisis_detector_without_model.check(text)
    assert match is not None and match.alert_staff, text
