"""What a patient's free text is about: one of the clinic's FAQ prompts, a conversational
intent (a greeting, thanks, "ok", good news, nerves, a reschedule request), both of two close topics
("Did you mean...?"), or nothing the bot knows.

Pure: no aiogram, no database. The topics come from ``messages/<lang>/faq.toml`` (the FAQ
prompts, shown as buttons) and ``messages/<lang>/conversation.toml`` (the intents, and the
language's common and clinic words); both are normalized with the same
:func:`bot.domain.safety.normalize` as the crisis screen, without accents.

Words typed short on a phone are first read as the words they stand for, by the language's
``spelling`` table of conversation.toml (Spanish "q", "xq", "tmb": "que", "porque",
"tambien"). Words are compared by their Snowball stems (snowballstemmer, in the prompts'
language), so "infusions", "eating" and "recuperarme" meet "infusion", "eat" and
"recuperación". A word of the text that is no known word but one typing slip away from one
(OSA distance 1; rapidfuzz; a swap of two letters is one slip; same first letter) is read as
that word first ("insurence", "infusoin").

Scoring. A topic's `keywords` say on their own what the question is about: a word scores
``KEYWORD``, a phrase one more per further word. Its `hints` point to it but are common
elsewhere too ("how much", "open"): a word scores 1, a phrase 1 per word. A phrase matches
its words in order, with at most one other word among them ("drive me home" for "drive
home"). A topic is answered when it scores at least ``ACCEPT`` plus ``UNKNOWN_COST`` for each
word of the text that neither the topics nor the language's common and clinic words know:
"what's the cost of a new iphone" speaks of something else, "what's the cost of a session"
does not. When the runner-up also passes and comes within ``CLOSE`` of the best, both are
offered. Small talk (greetings, thanks, "ok") is answered only when nothing substantial
matched and the text holds nothing unknown: "thanks, how long is recovery?" is about
recovery.

A learned layer (:mod:`bot.domain.faq_model`, ``messages/<lang>/faq_model.json``, trained by
``scripts/train_faq_model.py``), when the language ships one, is then weighed with the
keywords' verdict (:func:`weighed`): the keywords stay the first, explainable line, the model
ranks the topics by the text's words and by what the keywords saw (the topics their cues point
to, the words no list knows). It names a topic when the keywords were unsure (new words raised
what they needed), withdraws a keywords' answer it is sure is off-topic, replaces it with
another topic it is surer of (a keyword in the wrong topic's list: "sigo con psicologo?" is
about therapy, not medications), and orders two offered ones; each at a probability ("cuts")
chosen by the training script out of fold. A topic the model never learned, or a keyword it
was not trained with (both staff added), is answered by the keywords alone; a topic staff
removed is never offered.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

import snowballstemmer
from pydantic import AfterValidator, ConfigDict, Field
from pydantic.dataclasses import dataclass as pydantic_dataclass
from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.domain.accents import unaccented
from bot.domain.faq_model import OFF_TOPIC, Cuts, FaqModel, cue_features
from bot.domain.text_normalization import normalize

__all__ = [
    "MAX_KEYWORDS",
    "MAX_KEYWORD_LENGTH",
    "MAX_TITLE_LENGTH",
    "SMALL_TALK",
    "FaqEntry",
    "FaqMatcher",
    "Intent",
    "IntentKey",
    "Verdict",
]

MAX_TITLE_LENGTH = 40
MAX_KEYWORDS = 100
MAX_KEYWORD_LENGTH = 80

KEYWORD = 2.0
"""What a keyword word scores (a keyword phrase: one more per further word)."""
HINT_EXTRA = 0.5
"""What each further word of a hint phrase adds to its 1."""
ACCEPT = 2.0
"""The least score that answers a topic (one keyword, or two hints)."""
UNKNOWN_COST = 2.0
"""What each unknown word of the text adds to ACCEPT."""
HINT_ONLY = 1.5
"""The least score that answers a text in which every word is known."""
CLOSE = 0.75
"""A runner-up ranked at least this share of the best is offered with it."""
RANK_STRONG = 0.5
"""How much more keyword weight counts than hint weight when topics are ranked."""
SMALL_TALK_SHARE = 3
"""Small talk is answered when its words are at least a third of the text's."""
PHRASE_GAP = 1
"""Other words allowed among a phrase's words ("drive me home" for "drive home")."""

MODEL_CLOSE = 0.5
"""The learned layer's runner-up at least this share of its likeliest topic is offered too."""
CUES = 3
"""The topics the keywords point to that the learned layer is told of (best first)."""
NEAR = 3
"""The most questions offered beside the no-match answer (:meth:`FaqMatcher.closest`)."""
NEAR_LIKELY = 0.1
"""The least probability at which the learned layer's topic is offered beside the no-match
answer: below it, a message about something else gets no questions, only the full list."""

MAX_WORDS = 80
"""Words of a text looked at: a question is asked in far fewer."""
_CACHE_KEPT = 4096
_STEMMERS = {"en": "english", "es": "spanish"}


class IntentKey(StrEnum):
    """What the bot does itself rather than answer with a text of faq.toml."""

    GREETING = "greeting"
    THANKS = "thanks"
    ACK = "ack"
    NERVOUS = "nervous"
    RESCHEDULE = "reschedule"
    GOOD_NEWS = "good_news"
    """A patient telling they feel better ("the infusions helped"): a warm word, no advice."""


SMALL_TALK = frozenset({IntentKey.GREETING, IntentKey.THANKS, IntentKey.ACK, IntentKey.GOOD_NEWS})
"""Intents answered only when nothing substantial was asked: "feeling much better, how many
more infusions?" is about the series."""


def _printable(text: str) -> str:
    if any(ord(char) < 32 or ord(char) == 127 for char in text):
        raise ValueError("may not hold line breaks or control characters")
    return text


def _matchable(keyword: str) -> str:
    if not normalize(keyword):
        raise ValueError(f"{keyword!r} has no letters or digits to match")
    return _printable(keyword)


Keyword = Annotated[str, Field(max_length=MAX_KEYWORD_LENGTH), AfterValidator(_matchable)]
Keywords = Annotated[tuple[Keyword, ...], Field(max_length=MAX_KEYWORDS)]
_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)


@pydantic_dataclass(frozen=True, config=_STRICT)
class FaqEntry:
    """One prompt of ``faq.toml``: ``key`` is also its button's callback id, ``title`` the
    button's label, ``template`` the answer's text name (``faq/recovery``); ``keywords`` and
    ``hints`` as in the module docstring."""

    # At most 24 characters: the key rides in button data (64 bytes), as does its answer's
    # name (``faq/<key>``) in the buttons of /texts.
    key: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,23}$")]
    title: Annotated[
        str, Field(min_length=1, max_length=MAX_TITLE_LENGTH), AfterValidator(_printable)
    ]
    keywords: Annotated[Keywords, Field(min_length=1)]
    template: Annotated[str, Field(pattern=r"^[a-z0-9_]+(?:/[a-z0-9_]+)*$")]
    hints: Keywords = ()


@pydantic_dataclass(frozen=True, config=_STRICT)
class Intent:
    """One ``[[intent]]`` of ``conversation.toml``: what the bot does is the code's."""

    key: IntentKey
    keywords: Annotated[Keywords, Field(min_length=1)]
    hints: Keywords = ()
    unless: Keywords = ()
    """Words (as written, one each) that keep the intent from answering a text that holds
    one: good news is not "I don't feel better", nor "will I feel better?"."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a text is about: `answer` (a prompt's or an intent's key), or, when unsure, two
    `choices` (best first), or neither: no match."""

    answer: str | None = None
    choices: tuple[str, ...] = ()

    @property
    def ranked(self) -> tuple[str, ...]:
        """The topics offered, best first (empty: no match)."""
        return (self.answer,) if self.answer is not None else self.choices


NO_MATCH = Verdict()


@dataclass(frozen=True, slots=True)
class Reading:
    """What the keywords make of a text: its words (folded, slips read), their verdict, and
    every substantial topic any cue of the text points to, best first."""

    tokens: tuple[str, ...]
    verdict: Verdict
    found: tuple[str, ...] = ()
    chat: bool = False
    """The verdict is small talk (a greeting, thanks, "ok")."""
    words: tuple[str, ...] = ()
    """The text's folded words as written, short spellings spelled out (what the learned
    layer reads)."""
    unknown: int = 0
    """Words of the text no topic and no list of conversation.toml knows."""
    fresh: frozenset[str] = frozenset()
    """The topics of the verdict that a keyword the learned layer was not trained with (one
    staff added since) found in the text."""
    keyed: frozenset[str] = frozenset()
    """The topics a keyword of the text (not only hints) points to."""
    barred: frozenset[str] = frozenset()
    """The intents a word of their ``unless`` list keeps from answering the text (the learned
    layer may not name them either)."""


def folded(text: str) -> list[str]:
    """`normalize`d words, without accents: what keywords and questions are compared as."""
    return unaccented(normalize(text)).split()


@dataclass(frozen=True, slots=True)
class _Cue:
    stems: tuple[str, ...]
    weight: float
    strong: bool
    surfaces: frozenset[str]
    """The words a one-word cue was written as: a common or clinic word ("medical") meets a
    cue of the same stem ("medications") only if the cue was written so."""


@dataclass(frozen=True, slots=True)
class _Topic:
    key: str
    cues: tuple[_Cue, ...]
    """Heaviest first: a word of the text counts for one cue of a topic only."""
    small_talk: bool
    unless: frozenset[str] = frozenset()
    """Folded words of the text that keep the topic from answering (:attr:`Intent.unless`)."""


class FaqMatcher:
    """Scores text against every topic's keywords and hints; see the module docstring."""

    def __init__(
        self,
        entries: Sequence[FaqEntry],
        intents: Sequence[Intent] = (),
        *,
        common: Iterable[str] = (),
        known: Iterable[str] = (),
        spelling: Mapping[str, str] | None = None,
        lang: str = "en",
        model: FaqModel | None = None,
    ) -> None:
        self._entries: tuple[FaqEntry, ...] = tuple(entries)
        # Words as typed on a phone ("q", "xq"), read as the words they stand for.
        self._spelling: dict[str, tuple[str, ...]] = {
            typed: said
            for key, value in (spelling or {}).items()
            for typed in (" ".join(folded(key)),)
            for said in (tuple(folded(value)),)
            if typed and " " not in typed and said
        }
        self._model = model
        self._phrases: dict[str, frozenset[str]] = {}
        self._fresh: dict[str, tuple[_Cue, ...]] = {}
        self._stemmer = snowballstemmer.stemmer(_STEMMERS.get(lang, "english"))
        self._stems: dict[str, str] = {}
        self._corrections: dict[str, str] = {}
        words: set[str] = set()
        topic_words: set[str] = set()
        self._common = frozenset(w for text in common for w in folded(text))
        words |= self._common
        topics: list[_Topic] = []
        unless = {str(i.key): frozenset(w for u in i.unless for w in folded(u)) for i in intents}
        for key, keywords, hints, small in (
            *((e.key, e.keywords, e.hints, False) for e in self._entries),
            *((str(i.key), i.keywords, i.hints, i.key in SMALL_TALK) for i in intents),
        ):
            # By stems, each once at its highest weight: "park" and "parking" are one cue.
            cues: dict[tuple[str, ...], _Cue] = {}
            phrases: set[str] = set()
            for keyword, strong in (*((k, True) for k in keywords), *((h, False) for h in hints)):
                said = folded(keyword)
                if not said:
                    continue
                phrases.add(" ".join(said))
                words.update(said)
                topic_words.update(said)
                extra = len(said) - 1
                weight = KEYWORD + extra if strong else 1.0 + HINT_EXTRA * extra
                stems = tuple(self._stem(w) for w in said)
                found = cues.get(stems)
                surfaces = frozenset(said) if len(said) == 1 else frozenset()
                if found is not None:
                    surfaces |= found.surfaces
                    if found.weight >= weight:
                        weight, strong = found.weight, found.strong
                cues[stems] = _Cue(stems, weight, strong, surfaces)
            ordered = sorted(cues.values(), key=lambda cue: -cue.weight)
            topics.append(_Topic(key, tuple(ordered), small, unless.get(key, frozenset())))
            self._phrases[key] = frozenset(phrases)
            if model is not None and key in model.cues:
                # What staff added since the model was trained ("wifi" for contact).
                known_stems = {tuple(self._stem(w) for w in p.split()) for p in model.cues[key]}
                new = tuple(c for c in ordered if c.stems not in known_stems)
                if new:
                    self._fresh[key] = new
        self._topics = tuple(topics)
        self._keys = frozenset(topic.key for topic in self._topics)
        # Each topic's cues by their first stem, in the topic's order (heaviest first): a
        # text is checked against the cues its own words can start, not against them all.
        self._cues_by_stem: dict[str, list[tuple[int, int, _Cue]]] = {}
        for index, topic in enumerate(self._topics):
            for order, cue in enumerate(topic.cues):
                self._cues_by_stem.setdefault(cue.stems[0], []).append((index, order, cue))
        # Small talk typed long ("helloo", "graciassss"), by its words with every run of a
        # letter as one ("perro" stays a dog).
        self._squeezed = {
            _squeeze(w): w
            for i in intents
            if i.key in SMALL_TALK
            for k in i.keywords
            for w in folded(k)
        }
        known_words = {w for text in known for w in folded(text)}
        # A common or clinic word meets a one-word cue of its stem only if the cue was written
        # so: "medical" is no "medications", Spanish "como" no "comer".
        self._plain_words = frozenset(known_words | self._common)
        words |= known_words
        self._words = frozenset(words)
        # Topic and clinic words are known in every form ("infusions"); common words only as
        # listed (Spanish "partido" is no form of "parte").
        self._known_stems = frozenset(self._stem(w) for w in topic_words | known_words)
        # Typing slips are read as topic words of six letters or more ("dolar" stays clear of
        # "dolor") or clinic words of seven ("mexico" is no "medico"), never as common words
        # ("plants" is no slip of "plans").
        self._choices = tuple(
            sorted(
                {w for w in topic_words if len(w) >= 6} | {w for w in known_words if len(w) >= 7}
            )
        )

    @property
    def entries(self) -> tuple[FaqEntry, ...]:
        return self._entries

    def get(self, key: str) -> FaqEntry | None:
        return next((e for e in self._entries if e.key == key), None)

    def match(self, text: str) -> FaqEntry | None:
        """The FAQ prompt the text asks about, if the matcher is sure of one."""
        verdict = self.classify(text)
        return self.get(verdict.answer) if verdict.answer is not None else None

    def classify(self, text: str) -> Verdict:
        """What ``text`` is about: the keywords' verdict, weighed with the learned layer's
        when the matcher has one (see :meth:`_weighed`)."""
        reading = self.read(text)
        if self._model is None or not reading.tokens:
            return reading.verdict
        return self._weighed(reading)

    def spelled(self, text: str) -> tuple[str, ...]:
        """The text's folded words, those typed short ("q", "xq") as the words they stand
        for: what the keywords and the learned layer read."""
        words = folded(text)[:MAX_WORDS] if text else []
        if not self._spelling:
            return tuple(words)
        spelled: list[str] = []
        for word in words:
            spelled.extend(self._spelling.get(word, (word,)))
        return tuple(spelled[:MAX_WORDS])

    def closest(self, text: str, most: int = NEAR) -> tuple[str, ...]:
        """The questions of faq.toml (keys) an unmatched ``text`` comes nearest to, nearest
        first, at most ``most``: those a keyword or hint of the text points to, then those the
        learned layer finds likely (:data:`NEAR_LIKELY`). Offered with the no-match answer."""
        reading = self.read(text)
        prompts = {e.key for e in self._entries}
        near = [key for key in reading.found if key in prompts]
        if self._model is not None and reading.tokens:
            cues = cue_features(reading.found[:CUES], reading.unknown)
            near.extend(
                key
                for key, likely in self._model.ranked(reading.words, self._keys, cues)
                if key in prompts and likely >= NEAR_LIKELY
            )
        return tuple(dict.fromkeys(near))[:most]

    def read(self, text: str) -> Reading:
        """What the keywords alone make of ``text``."""
        written = self.spelled(text)
        tokens = [self._correct(t) for t in written]
        if not tokens:
            return Reading((), NO_MATCH)
        stems = [self._stem(t) for t in tokens]
        places: dict[str, list[int]] = {}
        for at, stem in enumerate(stems):
            places.setdefault(stem, []).append(at)
        unknown = sum(
            1
            for token, stem in zip(tokens, stems, strict=True)
            if not token.isdigit()
            and len(token) > 2
            and token not in self._words
            and stem not in self._known_stems
        )
        # Keywords weigh more than hints in the ranking (RANK_STRONG), ties go to the topic
        # listed first: "how long do I fast" is about fasting, not about a visit's length.
        candidates: dict[int, list[tuple[int, _Cue]]] = {}
        for stem in places:
            for index, order, cue in self._cues_by_stem.get(stem, ()):
                candidates.setdefault(index, []).append((order, cue))
        said = set(tokens)
        barred = frozenset(t.key for t in self._topics if not t.unless.isdisjoint(said))
        scored = sorted(
            (
                (*self._score(sorted(cues, key=_first), tokens, stems, places), index, topic)
                for index, topic in enumerate(self._topics)
                if topic.key not in barred
                for cues in (candidates.get(index, []),)
            ),
            key=lambda found: (-(found[0] + RANK_STRONG * found[1]), found[3]),
        )
        substantial = [
            (score, score + RANK_STRONG * strong, topic)
            for score, strong, _, _, topic in scored
            if not topic.small_talk
        ]
        small = [(score, words, topic) for score, _, words, _, topic in scored if topic.small_talk]
        chat = (
            small[0][2]
            if small
            and small[0][0] > 0
            and unknown == 0
            and small[0][1] * SMALL_TALK_SHARE >= len(tokens)
            else None
        )
        if chat is not None and (not substantial or small[0][0] >= substantial[0][0]):
            # "good morning", not the morning's breakfast
            return Reading(
                tuple(tokens), Verdict(answer=chat.key), chat=True, words=written, barred=barred
            )
        # A text of nothing but topic, clinic and common words is a question for the clinic:
        # a hint phrase or two hints answer it ("where is your office?").
        need = ACCEPT + UNKNOWN_COST * unknown if unknown else HINT_ONLY
        found = tuple(topic.key for score, _, topic in substantial if score > 0)
        keyed = frozenset(topic.key for score, rank, topic in substantial if rank > score)
        verdict = NO_MATCH
        if substantial and substantial[0][0] >= need:
            _, best, first = substantial[0]
            verdict = Verdict(answer=first.key)
            if len(substantial) > 1:
                runner_up, rank, second = substantial[1]
                if runner_up >= need and rank >= CLOSE * best:
                    verdict = Verdict(choices=(first.key, second.key))
        elif chat is not None:
            verdict = Verdict(answer=chat.key)
        is_chat = chat is not None and verdict.answer == chat.key
        fresh = frozenset(
            key
            for key in verdict.ranked
            if any(
                c.stems[0] in places
                and _find(tokens, stems, places[c.stems[0]], c, set(), self._plain_words)
                for c in self._fresh.get(key, ())
            )
        )
        return Reading(
            tuple(tokens), verdict, found, is_chat, written, unknown, fresh, keyed, barred
        )

    def _weighed(self, reading: Reading) -> Verdict:
        model = self._model
        assert model is not None
        cues = cue_features(reading.found[:CUES], reading.unknown)
        ranked = model.ranked(reading.words, self._keys, cues)
        return weighed(reading, ranked, model.cuts, model.learned)

    @property
    def phrases(self) -> dict[str, frozenset[str]]:
        """Each topic's keywords and hints, folded (what a trained model is told it knew)."""
        return dict(self._phrases)

    @property
    def topics(self) -> tuple[str, ...]:
        """Every topic's key: the prompts', then the intents'."""
        return tuple(topic.key for topic in self._topics)

    def _score(
        self,
        cues: list[tuple[int, _Cue]],
        tokens: list[str],
        stems: list[str],
        places: dict[str, list[int]],
    ) -> tuple[float, float, int]:
        """A topic's score from its `cues` whose first stem is in the text (heaviest first),
        the part of it keywords made, and how many words of the text its cues hold; each word
        counts for the topic's heaviest cue that holds it."""
        used: set[int] = set()
        total = strong = 0.0
        for _, cue in cues:
            found = _find(tokens, stems, places[cue.stems[0]], cue, used, self._plain_words)
            if found:
                used.update(found)
                total += cue.weight
                strong += cue.weight if cue.strong else 0.0
        return total, strong, len(used)

    def _stem(self, word: str) -> str:
        stem = self._stems.get(word)
        if stem is None:
            if len(self._stems) >= _CACHE_KEPT:
                self._stems.clear()
            stem = self._stems[word] = str(self._stemmer.stemWord(word))
        return stem

    def _correct(self, token: str) -> str:
        """The token, or the known word it is a typing slip away from. Each distinct token is
        looked up once per matcher (a bounded cache: patients ask the same questions)."""
        if len(token) < 3 or len(token) > 24 or token in self._words or token.isdigit():
            return token
        cached = self._corrections.get(token)
        if cached is not None:
            return cached
        corrected = token
        squeezed = self._squeezed.get(_squeeze(token))
        if squeezed is not None:  # "helloo", "graciassss"
            corrected = squeezed
        elif len(token) >= 5 and self._stem(token) not in self._known_stems:
            hit = process.extractOne(
                token,
                self._choices,
                scorer=OSA.distance,
                score_cutoff=1,
            )
            if hit is not None and str(hit[0])[0] == token[0]:
                corrected = str(hit[0])
        if len(self._corrections) >= _CACHE_KEPT:
            self._corrections.clear()
        self._corrections[token] = corrected
        return corrected


def _first(item: tuple[int, _Cue]) -> int:
    return item[0]


_REPEATS = re.compile(r"(.)\1+")


def _squeeze(word: str) -> str:
    """The word with every run of one letter as one letter ("helloo", "hello": "helo")."""
    return _REPEATS.sub(r"\1", word)


def _find(
    tokens: list[str],
    stems: list[str],
    starts: list[int],
    cue: _Cue,
    used: set[int],
    plain_words: frozenset[str],
) -> list[int]:
    """Where the cue's stems are in the text, in order, at most PHRASE_GAP other words among
    them, none of them counted for the topic yet ([] if nowhere)."""
    phrase = cue.stems
    if len(phrase) == 1:
        for at in starts:
            if at not in used:
                token = tokens[at]
                if token not in plain_words or token in cue.surfaces:
                    return [at]
        return []
    for start in starts:
        if start in used:
            continue
        found, at, gaps = [start], start + 1, 0
        for wanted in phrase[1:]:
            while at < len(stems) and (stems[at] != wanted or at in used) and gaps < PHRASE_GAP:
                at, gaps = at + 1, gaps + 1
            if at >= len(stems) or stems[at] != wanted or at in used:
                break
            found.append(at)
            at += 1
        else:
            return found
    return []


def weighed(
    reading: Reading, ranked: Sequence[tuple[str, float]], cuts: Cuts, learned: Collection[str]
) -> Verdict:
    """The keywords' verdict weighed with the learned layer's ranking (likeliest first, over
    the topics it ``learned``). The keywords stay the first line: their answer stands unless
    the model is sure it is off-topic (``cuts.veto``) or sure of another topic
    (``cuts.overrule``), and never for a topic the model has not learned nor for one a keyword
    it was not trained with found (both staff added);
    when they are unsure the model names the topic it finds likeliest (``cuts.found`` when a
    cue of the text points to it too, else ``cuts.alone``), with its runner-up when close;
    never for a text without a letter."""
    verdict = reading.verdict
    if not ranked:
        return verdict
    probability = dict(ranked)
    top, likeliest = ranked[0]
    said = verdict.ranked
    if any(key not in learned for key in said):
        # A topic the model never learned (staff added it; small talk only the engineers'
        # lines hold, good news) is the keywords' alone.
        return verdict
    if said and not reading.chat:
        if any(key in reading.fresh for key in said):
            return verdict
        if probability.get(OFF_TOPIC, 0.0) >= cuts.veto:
            return NO_MATCH
        if (
            top != OFF_TOPIC
            and top not in said
            and top not in reading.barred
            and likeliest >= cuts.overrule
            and not (said[0] in reading.keyed and top in reading.found and top not in reading.keyed)
        ):
            # Not against a keyword's answer for a topic only hints of the text point to:
            # "¿cuánto dura la recuperación?" is about recovery, by its keyword.
            return Verdict(answer=top)
        if verdict.choices and probability.get(said[1], 0.0) > probability.get(said[0], 0.0):
            return Verdict(choices=(said[1], said[0]))
        return verdict
    if top == OFF_TOPIC or top in reading.barred or (reading.chat and top in SMALL_TALK):
        return verdict
    if not any(char.isalpha() for word in reading.words for char in word):
        # A number alone ("3", "15:30") is no question and no "ok": the model named small talk.
        return verdict
    if likeliest < (cuts.found if top in reading.found else cuts.alone):
        return verdict
    if len(ranked) > 1:
        second, probable = ranked[1]
        offerable = not {top, second} & {OFF_TOPIC, *SMALL_TALK}  # small talk has no button
        if offerable and probable >= MODEL_CLOSE * likeliest:
            return Verdict(choices=(top, second))
    return Verdict(answer=top)
