"""The FAQ matcher's learned layer: its data, its ranking, how it is weighed with the keywords,
and how it degrades when staff edit faq.toml."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bot.content.loading import FAQ_MODEL
from bot.content.store import Content, ContentError
from bot.content.validate import validate_content
from bot.domain.faq import FaqEntry, FaqMatcher, Reading, Verdict, folded, weighed
from bot.domain.faq_model import OFF_TOPIC, Cuts, FaqModel, cue_features, message_features

MESSAGES = Path(__file__).resolve().parents[2] / "messages"


CUTS = Cuts(found=0.6, alone=0.9, veto=0.8, overrule=0.9)


def _model(cuts: Cuts = CUTS) -> FaqModel:
    classes = ["cost", "location", OFF_TOPIC]
    weights = {
        "price": {0: 4.0},
        "en:park": {1: 4.0},
        "guitar": {2: 6.0},
        "how much": {0: 1.0},
    }
    return FaqModel(classes, [0.0, 0.0, 0.5], weights, cuts)


def test_the_model_reads_its_data_and_refuses_other_data() -> None:
    model = _model()
    again = FaqModel.from_data(json.loads(json.dumps(model.to_data())))
    assert again.classes == model.classes and again.weights == model.weights
    assert again.cuts == model.cuts and again.bias == model.bias
    data = model.to_data()
    for bad, message in (
        ({"format": 99}, "format"),
        ({**data, "cuts": {**data["cuts"], "veto": 1.5}}, "cuts must give"),
        ({**data, "cuts": {"veto": 0.5}}, "cuts must give"),
        ({**data, "bias": [0.0]}, "one bias per class"),
        ({**data, "weights": {"price": {"7": 1.0}}}, "names no class"),
        ({**data, "weights": []}, "weights"),
        ({**data, "cues": {"cost": "price"}}, "cues"),
    ):
        with pytest.raises(ValueError, match=message):
            FaqModel.from_data(bad)


def test_the_ranking_reads_stems_and_pairs_and_leaves_out_topics_gone() -> None:
    model = _model()
    ranked = model.ranked(folded("Where can I park?"), frozenset({"cost", "location"}))
    assert ranked[0][0] == "location" and sum(p for _, p in ranked) == pytest.approx(1.0)
    assert model.ranked(folded("how much, what price"), frozenset({"cost"}))[0][0] == "cost"
    # A topic staff removed from faq.toml is never ranked; off-topic always is.
    assert [c for c, _ in model.ranked(folded("parking"), frozenset({"cost"}))] == [
        OFF_TOPIC,
        "cost",
    ]
    assert model.ranked([], frozenset({"cost"})) == []


@pytest.mark.parametrize(
    "text",
    ["how much is the price price", "where do i park my car", "guitar lessons near the clinic"],
)
def test_the_cached_words_score_as_the_training_features_add_up(text: str) -> None:
    model = Content(MESSAGES).faq_model("en")
    assert model is not None
    words = folded(text)
    by_features = list(model.bias)
    for feature in message_features(words):
        for index, weight in model.weights.get(feature, {}).items():
            by_features[index] += weight
    for _ in range(2):  # the second time from its cache
        assert model.scores(words) == pytest.approx(by_features)


def _reading(verdict: Verdict, found: tuple[str, ...] = (), chat: bool = False) -> Reading:
    return Reading(("x",), verdict, found, chat, ("x",))


LEARNED = frozenset({"cost", "location", "hours", OFF_TOPIC})


def test_the_keywords_answer_stands_unless_the_model_is_sure() -> None:
    sure = _reading(Verdict(answer="cost"), ("cost",))
    assert weighed(sure, [("cost", 0.5), ("location", 0.4)], CUTS, LEARNED) == sure.verdict
    # Sure of another topic, or that it is about nothing the clinic answers.
    assert weighed(sure, [("location", 0.95), ("cost", 0.05)], CUTS, LEARNED).answer == "location"
    assert weighed(sure, [(OFF_TOPIC, 0.85), ("cost", 0.15)], CUTS, LEARNED) == Verdict()
    # Never against a topic it has not learned (one staff added).
    wifi = _reading(Verdict(answer="wifi"), ("wifi",))
    assert weighed(wifi, [(OFF_TOPIC, 0.99)], CUTS, LEARNED) == wifi.verdict
    unsure = _reading(Verdict(choices=("cost", "location")), ("cost", "location"))
    assert weighed(unsure, [("location", 0.7), ("cost", 0.3)], CUTS, LEARNED).choices == (
        "location",
        "cost",
    )


def test_when_the_keywords_are_unsure_the_model_names_a_topic_it_is_sure_of() -> None:
    pointed = _reading(Verdict(), ("hours",))
    assert weighed(pointed, [("hours", 0.7), (OFF_TOPIC, 0.3)], CUTS, LEARNED).answer == "hours"
    assert weighed(pointed, [("hours", 0.5), (OFF_TOPIC, 0.5)], CUTS, LEARNED) == Verdict()
    nothing = _reading(Verdict())
    assert weighed(nothing, [("location", 0.7), (OFF_TOPIC, 0.3)], CUTS, LEARNED) == Verdict()
    assert weighed(nothing, [("location", 0.95)], CUTS, LEARNED).answer == "location"
    assert weighed(nothing, [(OFF_TOPIC, 0.95), ("location", 0.05)], CUTS, LEARNED) == Verdict()
    # A close runner-up is offered with it.
    close = [("hours", 0.62), ("location", 0.35), (OFF_TOPIC, 0.03)]
    assert weighed(pointed, close, CUTS, LEARNED).choices == ("hours", "location")
    # Small talk stays small talk when the model only hears small talk.
    hello = _reading(Verdict(answer="greeting"), chat=True)
    assert weighed(hello, [("greeting", 0.99)], CUTS, LEARNED | {"greeting"}).answer == "greeting"


def test_the_cue_features_name_the_topics_found_and_the_unknown_words() -> None:
    assert cue_features(("cost",), 0) == ["u:0", "k:cost", "k:cost u:0"]
    assert cue_features((), 7) == ["u:3"]


def test_a_topic_the_model_never_learned_is_answered_by_its_keywords() -> None:
    entries = [
        FaqEntry(key="cost", title="Cost", keywords=("price",), template="faq/cost"),
        FaqEntry(key="wifi", title="Wifi", keywords=("wifi",), template="faq/wifi"),
    ]
    common = ("is", "there", "what", "the", "where", "do", "i")
    matcher = FaqMatcher(entries, common=common, model=_model())
    assert matcher.classify("is there wifi").answer == "wifi"
    assert matcher.classify("what is the price").answer == "cost"
    # "location" is no topic of this faq.toml: the model never offers it.
    assert matcher.classify("where do i park").ranked == ()


def test_a_keyword_staff_added_since_training_is_not_withdrawn() -> None:
    cuts = Cuts(found=0.6, alone=0.9, veto=0.6, overrule=1.01)
    classes, bias = ["cost", OFF_TOPIC], [0.0, 0.0]
    weights = {"guitar": {1: 9.0}}
    trained = FaqModel(classes, bias, weights, cuts, {"cost": ["price"]})
    entries = [
        FaqEntry(key="cost", title="Cost", keywords=("price", "guitar"), template="faq/cost")
    ]
    common = ("the", "of", "a", "what", "is")
    matcher = FaqMatcher(entries, common=common, model=trained)
    # "guitar" was added after training: its answer stands though the model says off-topic.
    assert matcher.classify("what is the guitar").answer == "cost"
    # Had it been there at training, the model's veto would hold.
    seen = FaqModel(classes, bias, weights, cuts, {"cost": ["price", "guitar"]})
    assert FaqMatcher(entries, common=common, model=seen).classify("the guitar").ranked == ()
    again = FaqModel.from_data(json.loads(json.dumps(trained.to_data())))
    assert again.cues == {"cost": frozenset({"price"})}


def test_the_shipped_models_match_the_shipped_topics() -> None:
    content = Content(MESSAGES)
    for lang in ("en", "es"):
        model = content.faq_model(lang)
        assert model is not None, lang
        topics = set(content.faq(lang).matcher.topics)
        assert set(model.classes) - {OFF_TOPIC} <= topics, lang
        # Trained beside the shipped keywords: none of them is new to it.
        assert model.cues == content.faq(lang).matcher.phrases, lang


def test_without_a_model_the_keywords_answer_and_a_broken_one_is_reported(
    tmp_path: Path,
) -> None:
    root = tmp_path / "messages"
    shutil.copytree(MESSAGES, root)
    (root / "es" / FAQ_MODEL).unlink()
    content = Content(root)
    assert content.faq_model("es") is None  # never the English one
    assert content.faq("es").matcher.classify("cuanto cuesta").answer == "cost"
    (root / "en" / FAQ_MODEL).write_text('{"format": 1, "classes": 3}', encoding="utf-8")
    with pytest.raises(ContentError, match=r"faq_model\.json"):
        _ = Content(root).faq("en").matcher
    assert any("faq_model.json" in p for p in validate_content(root))
