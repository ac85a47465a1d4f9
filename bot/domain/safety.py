"""Crisis screening of free text sent by patients.

The lexicon lives in ``messages/<lang>/safety.toml``, one per language, and is written and read
by clinic staff, so it is data, never code: categories of phrases in plain words, with a few
forms that let one phrase stand for many wordings (see :mod:`bot.domain.safety_patterns`):
``{terms}`` (named lists of words: ``"{i} {want} {die}"``), ``...`` for a few other words, and a
trailing ``*``. Every language's lexicon is merged into one detector and runs on every message,
whatever language the patient's Telegram is in; terms of the same name are one term across
languages, so a sentence that mixes them ("I want to morir") is read too.

The message is first folded against evasion (:mod:`bot.domain.safety_text`: lookalike letters
by Unicode's confusable skeletons, invisible characters, accents, spaced letters, hashtags,
emoji, leet) into one or more variants; every variant is searched with one alternation of the
whole lexicon; an ordinary message costs that one search.

**Exclusions** are longer phrases that neutralize a crisis match they cover (that overlaps them
and ends within them), for example "overdosed on chocolate" around "i overdosed". A crisis
phrase elsewhere in the same message still triggers. An exclusion followed within
:data:`UNLESS_WORDS` words by a phrase of its lexicon's ``unless`` list is taken back ("the
form asked if I want to die, I said no, but honestly yes"): a denial never hides what is said
right after it.

**Quiet categories** (``alert_staff = false`` in the lexicon, e.g. suicidal thoughts in the
past asked about with a question) cover a crisis match lying entirely inside them, like an
exclusion; if nothing else matched, the result is that category with ``alert_staff`` False
(gentle resources, then the usual answer). Any other crisis match still alerts.

**Proximity patterns** (:class:`Proximity`, ``[[category.pattern]]``) are the older spelling of
``first ... then``: a phrase of one family, then within a few words one of another.

**The language of the answer.** A match names the languages it was read in
(:attr:`CrisisMatch.languages`): the lexicon whose phrase matched, and the languages whose common
words (each lexicon's ``language_words``) the message is written in. One language: the crisis
answer in it; more than one: in each of them.

**A learned second layer** (:mod:`bot.domain.safety_model`), when the detector is given one,
reads what no phrase matched; the lexicon stays the first, explainable line. What an exclusion
matched (family history long past, an idiom) is left out of what it reads: the lexicon has
recognised that part of the message already. Its threshold is the one of the language the
message is written in (:meth:`CrisisDetector.language`), its default when that is not told.

**The learned layer overrules a lexicon match only when it is sure** (:data:`OVERRULED`): a
phrase of someone else in danger ("my son said he wants to die", which a teenager says of a
sweater) or of being a burden ("I feel like a burden asking for so many blankets") is not a
crisis when the model scores the whole message, at its likeliest window, far below any
threshold (-10); the rest of the message is still read for any other phrase. Since round 17
the other alerting categories too, further below (-12: "I burned my hand on the grill" said
in a way no phrase foresaw). Hopelessness stands whatever the model says ("Ya no tengo
esperanza de nada" after a list of failed medicines scored -15.5 out of fold), and so does
past ideation (its answer is the gentle one). A veto nearer the threshold would have lost
explicit crises ("Quiero morir." after a long preamble, -8.1; "Soy víctima de violencia
doméstica", -9.6).

This module is pure: no aiogram, no database.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.domain.safety_patterns import (
    GAP_WORDS,
    MAX_PHRASE_LENGTH,
    MIN_STEM_LENGTH,
    WILDCARD,
    Atom,
    Compiler,
    Item,
    marked_trie_regex,
    parse_phrase,
    trie_regex,
)
from bot.domain.safety_text import Folds, fold_numbers, to_for_too
from bot.domain.text_normalization import normalize, punct_to_spaces

if TYPE_CHECKING:
    from bot.domain.safety_model import CrisisModel

__all__ = [
    "GAP_WORDS",
    "MAX_PHRASE_LENGTH",
    "MAX_WITHIN",
    "MIN_STEM_LENGTH",
    "UNLESS_WORDS",
    "CrisisDetector",
    "CrisisMatch",
    "LexiconPart",
    "Proximity",
    "check_phrase",
    "normalize",
]

ALONE_WORDS = 3
"""A message of at most this many words is checked for the phrases that count alone."""
MAX_WITHIN = 6
"""The most words a :class:`Proximity` pattern lets stand between its two families."""
UNLESS_WORDS = GAP_WORDS
"""How far after an exclusion a phrase of its ``unless`` list takes it back: the phrase
starts within this many words of the exclusion's end."""
LEARNED = "learned"
"""The category of a match made by the learned layer."""
RECENT = "recent_attempt"
"""The category of a history match (past ideation) told with a recent time: "i tried to kill
myself last night", "intenté matarme hace dos días" (see :meth:`_Screen.first`)."""
OVERRULED: dict[str, float] = {
    "other_in_danger": -10.0,
    "burden": -10.0,
    "abuse_danger": -12.0,
    "active_ideation": -12.0,
    "harm_to_others": -12.0,
    "medical_emergency": -12.0,
    "overdose": -12.0,
    "passive_ideation": -12.0,
    "plan_intent": -12.0,
    "preparatory": -12.0,
    "self_harm": -12.0,
}
"""The categories the learned layer may overrule, and the logit below which it does (see
the module docstring). Chosen out of fold (scripts/train_safety_model.py --dump: every
calibration line scored by a model that never read its writer) on writers dev5-dev56, then
checked on dev57-dev76 and on safety_dev10 (which no model trains on). Of the lexicon's
matches of these two categories, no crisis line of either half scored below -6.2 (1,779 of
someone else in danger, the lowest -4.2: "El niño del usuario se bebió lejía"; 2,028 of
burden); below -10 were 41 ordinary lines of the first half and 12 of the second. At -8 (55
and 16) safety_dev10 lost a crisis line, a dog that ate sugar-free gum and trembles (-9.6):
-10 keeps it (docs/architecture.md, issue 16 round 14).

Round 17 (2026-12-08) added the other alerting categories at -12, from the same kind of
out-of-fold dump (``scripts/train_safety_model.py --dump``: 26,843 crisis lines and 874
ordinary lines the round-16 lexicon matched, dev5-dev76): no crisis line of those categories
scored below -10.6 (passive ideation; active ideation's lowest -9.2, abuse -9.6, self-harm
-9.7, preparatory -9.6), so -12 keeps a margin of more than a logit and a half under every one
of them; it overrules 70 more of the ordinary lines (121 in all, against 51 before). At -10 it
would have lost one crisis line for 50 more; at -8, seven. Hopelessness (one crisis line at
-15.5) and past ideation are not overruled."""
_OVERRULE_DEPTH = 3
"""How many overruled matches in a row a message is read on past (each reading is of what
follows the last one)."""
RECENT_WORDS = 4
"""How many words before or after a history match a recent time makes it recent."""
POISONING = frozenset({"overdose", "other_in_danger"})
"""Categories whose crisis answer also names Poison Control: pills or something harmful
swallowed, by the patient or by someone else (a child who got into the medicine)."""

PatternCompiler = Callable[[str], "re.Pattern[str]"]
"""What compiles the screen's regular expressions (``re.compile``, or one that keeps them)."""

_SENTENCE_END_RE = re.compile(r"[.!?;\n…]+")
"""Where a sentence ends, for the phrases that count at the end of one (``ending``)."""
_KEY_RE = re.compile(r"^[a-z][a-z0-9_]*$")
# Template code and HTML tags (a staff member's edited text goes through the screen too): the
# learned layer reads the words around them, not "if not catch_up endif".
_MARKUP_RE = re.compile(r"\{%.*?%\}|\{\{.*?\}\}|\{#.*?#\}|</?[a-zA-Z][^<>]*>", re.DOTALL)


@dataclass(frozen=True)
class CrisisMatch:
    """A message matched the crisis screen. Deliberately carries no text from the message.

    ``alert_staff`` is False for a category that only asks for gentle resources (such as
    suicidal thoughts in the past, asked about alongside a question): the bot sends them and
    then answers as usual, and the clinic team is not alerted. ``languages`` are the languages
    to answer in, the likeliest first; every language the screen knows when nothing in the
    message tells (no common word of any: unsure, so the answer is in each), and empty only
    for a screen that knows no language's words.
    """

    category: str
    alert_staff: bool = True
    languages: tuple[str, ...] = ()


@dataclass(frozen=True)
class Proximity:
    """A word from ``first``, then within ``within`` words a word from ``then``.

    Each family lists phrases (one or more words, a trailing ``*`` allowed as in crisis
    phrases): ``Proximity(("took", "swallowed"), ("pills", "bottle*"), 4)`` matches "took all
    my pills" and "swallowed a whole bottle of tylenol". Order matters: ``first`` comes first.
    """

    first: tuple[str, ...]
    then: tuple[str, ...]
    within: int = 3


@dataclass(frozen=True)
class LexiconPart:
    """One language's lexicon, as the detector takes it (``safety.toml`` after validation)."""

    language: str
    categories: Mapping[str, Sequence[str]]
    exclusions: Sequence[str] = ()
    patterns: Mapping[str, Sequence[Proximity]] = field(default_factory=dict)
    quiet: Iterable[str] = ()
    terms: Mapping[str, Sequence[str]] = field(default_factory=dict)
    emoji: Mapping[str, str] = field(default_factory=dict)
    words: Sequence[str] = ()
    alone: Mapping[str, Sequence[str]] = field(default_factory=dict)
    ending: Mapping[str, Sequence[str]] = field(default_factory=dict)
    over_history: Mapping[str, Sequence[str]] = field(default_factory=dict)
    present: Sequence[str] = ()
    unless: Sequence[str] = ()
    recent: Sequence[str] = ()
    long_ago: Sequence[str] = ()
    denials: Sequence[str] = ()


def check_phrase(raw: str) -> str:
    """``raw`` if it can be a lexicon phrase; ValueError saying why not otherwise."""
    parse_phrase(raw)
    return raw


@dataclass(frozen=True)
class _Phrase:
    category: str | None  # None for an exclusion
    language: str
    source: str  # as written, for error messages
    items: tuple[Item, ...]
    index: int = 0  # its place in its list, for error messages
    over_history: bool = False  # holds against a history match inside it


def _parse_at(raw: object, where: str) -> tuple[Item, ...]:
    try:
        return parse_phrase(raw)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


@dataclass(frozen=True)
class _Hit:
    category: str
    language: str
    source: str = ""  # the phrase as written, for explain()
    over_history: bool = False  # not covered by a history match inside it


class _Screen:
    """The compiled lexicon: crisis phrases, exclusions, and the categories that do not alert
    staff (``quiet``)."""

    def __init__(
        self,
        crisis: Sequence[_Phrase],
        exclusions: Sequence[_Phrase],
        quiet: frozenset[str],
        compiler: Compiler,
        present: Iterable[str] = (),
        unless: Sequence[_Phrase] = (),
        recent: Sequence[_Phrase] = (),
        long_ago: Sequence[_Phrase] = (),
        compile_pattern: PatternCompiler = re.compile,
        *,
        at_end: bool = False,
        denials: Sequence[_Phrase] = (),
    ) -> None:
        self.quiet = quiet
        optional = functools.partial(_optional, compile_pattern=compile_pattern)
        self.compiler = compiler
        markers = sorted({normalize(w) for w in present} - {""}, key=len, reverse=True)
        self.present = (
            compile_pattern(r"(?<!\w)(?:" + "|".join(map(re.escape, markers)) + r")(?!\w)")
            if markers
            else None
        )
        self.owner: dict[tuple[Atom, ...], _Hit] = {}
        for phrase in crisis:
            assert phrase.category is not None
            atoms = compiler.atoms(phrase.items)
            # Two phrases may compile alike (in the skeleton spelling); the first names it.
            self.owner.setdefault(
                atoms,
                _Hit(phrase.category, phrase.language, phrase.source, phrase.over_history),
            )
        # Everything in one alternation, searched once: the only cost of an ordinary message.
        # Each phrase ends in an empty group: a match's lastindex names the phrase.
        body, marks = marked_trie_regex(self.owner.items())
        self.hits: list[_Hit] = marks
        # A phrase that counts at the end of a sentence only (``at_end``) ends the text.
        self.gate = compile_pattern(r"(?<!\w)(?:" + body + (r")$" if at_end else r")(?!\w)"))
        excluded = [compiler.atoms(p.items) for p in exclusions]
        exclusion_body = trie_regex(excluded)
        self.exclusion = optional(exclusion_body)
        # A crisis phrase with its own verb denied ("no me quiero morir"): an exclusion that
        # holds only where nothing separates its words ("No, me quiero morir" is a crisis).
        self.denial = optional(trie_regex(compiler.atoms(p.items) for p in denials))
        # What takes an exclusion back: one of these phrases starting within UNLESS_WORDS
        # words after it ("i said no, but honestly yes").
        unless_body = trie_regex(compiler.atoms(p.items) for p in unless)
        self.unless = (
            compile_pattern(f"(?: \\w+){{0,{UNLESS_WORDS - 1}}} (?:{unless_body})(?!\\w)")
            if unless_body
            else None
        )
        # A recent time near a history match, and a time long past that keeps it history.
        self.recent = optional(trie_regex(compiler.atoms(p.items) for p in recent))
        self.long_ago = optional(trie_regex(compiler.atoms(p.items) for p in long_ago))
        # What can change the verdict of the gate's first match: an exclusion or a quiet
        # category. Without either in the text, the first match is the answer. Searched as
        # two patterns, not one alternation of both: the exclusions are compiled once (an
        # alternation of both cost a second of start-up, bench/README.md round 13).
        self.quiet_gate = optional(
            trie_regex(a for a, hit in self.owner.items() if hit.category in quiet)
        )

    def first(
        self, norm: str, depth: int = 0, words: str | None = None
    ) -> tuple[_Hit, bool, tuple[int, int]] | None:
        """The first match in normalized ``norm`` that no exclusion covers, and that no
        match of a quiet category (past ideation) covers, with True; else the first quiet
        match, with False. A phrase of a category's ``over_history`` list is not covered by
        a history match inside it: "wish i had the guts to kill myself" holds the history
        phrase "i had ... kill myself", and is a wish now.

        History does not cover what follows a word of the present (the lexicons'
        ``present_words``: "now", "tonight", "again"): what comes after one is read again on
        its own, so "i made a plan last year and now i want to kill myself" is a crisis, while
        "years ago i wanted to die, now im fine" stays history and "now i can talk about when
        i tried to kill myself in 2019" is history read again.

        ``words`` is the message with its punctuation (the variant ``norm`` was made from),
        which a denial needs to hold; without it no denial does."""
        found = self._first(norm, words)
        if found is not None and not found[1] and self.recent_near(norm, found[2]):
            hit = found[0]
            return _Hit(RECENT, hit.language, hit.source), True, found[2]
        if found is None or found[1] or self.present is None or depth >= _PRESENT_DEPTH:
            return found
        for marker in self.present.finditer(norm, found[2][0]):
            start = marker.end() + 1
            again = self.first(norm[start:], depth + 1, words)
            if again is not None and again[1]:
                hit, alert, (a, b) = again
                return hit, alert, (a + start, b + start)
        return found

    def _first(self, norm: str, words: str | None) -> tuple[_Hit, bool, tuple[int, int]] | None:
        gate = self.gate.search(norm)
        if gate is None:
            return None
        if not self.covered(norm):
            return self.hit_of(gate), True, gate.span()
        # Closer: the longest match at each word start, of phrases and of exclusions.
        starts = [0, *(i + 1 for i, ch in enumerate(norm) if ch == " ")]
        covered: list[tuple[int, int]] = []
        denied: list[tuple[int, int]] = []
        hits: list[tuple[tuple[int, int], _Hit]] = []
        # Read at each word start only when a denial is in the text at all (a long message
        # with an exclusion in it would otherwise pay for a second search at every word).
        denials = (
            self.denial
            if self.denial is not None and words is not None and self.denial.search(norm)
            else None
        )
        for start in starts:
            if self.exclusion is not None:
                excluded = self.exclusion.match(norm, start)
                if excluded is not None and not self.taken_back(norm, excluded.end()):
                    covered.append(excluded.span())
            if denials is not None:
                assert words is not None
                denial = denials.match(norm, start)
                if (
                    denial is not None
                    and not self.taken_back(norm, denial.end())
                    and _unbroken(denial.group(), words)
                ):
                    denied.append(denial.span())
            found = self.gate.match(norm, start)
            if found is not None:
                hits.append((found.span(), self.hit_of(found)))
        # A denial covers only what lies wholly within it: "ya no quiero morirme" (history,
        # from before the denial "no quiero morirme") stands.
        hits = [h for h in hits if not _inside(h[0], covered) and not _within(h[0], denied)]
        quiet = [h for h in hits if h[1].category in self.quiet]
        quiet_spans = [span for span, _ in quiet]
        for span, hit in hits:
            if hit.category not in self.quiet and (
                hit.over_history or not _inside(span, quiet_spans)
            ):
                return hit, True, span
        if quiet:
            return quiet[0][1], False, quiet[0][0]
        return None

    def covered(self, norm: str) -> bool:
        """Whether an exclusion, a denial or a quiet phrase is anywhere in ``norm``."""
        return any(
            p is not None and p.search(norm) for p in (self.exclusion, self.denial, self.quiet_gate)
        )

    def recent_near(self, norm: str, span: tuple[int, int]) -> bool:
        """Whether a history match at ``span`` is told with a recent time (the lexicons'
        ``recent_words``: "last night", "two days ago", "anoche") within :data:`RECENT_WORDS`
        words before or after it, and with no time long past there (``long_ago_words``: "in
        2015", "when i was 19"). An attempt told as history is met gently; the same attempt
        last night is a recent attempt (C-SSRS: an actual attempt), which the clinic must
        hear of now: "i tried to kill myself yesterday" alerts, "i tried to kill myself when
        i was 19, yesterday i told my therapist" stays history."""
        if self.recent is None:
            return False
        start, end = span
        before = norm[:start].split()[-RECENT_WORDS:]
        after = norm[end:].split()[:RECENT_WORDS]
        window = " ".join([*before, norm[start:end], *after])
        if self.recent.search(window) is None:
            return False
        return self.long_ago is None or self.long_ago.search(window) is None

    def taken_back(self, norm: str, end: int) -> bool:
        """Whether what follows an exclusion ending at ``end`` takes it back (``unless``)."""
        return self.unless is not None and self.unless.match(norm, end) is not None

    def unexcluded(self, norm: str) -> str:
        """``norm`` without what its exclusions and denials match (as it is when none does).
        Only the learned layer reads it, and only when the lexicon matched nothing: a denial
        that did not hold (broken by punctuation) left its crisis phrase matched."""
        for pattern in (self.exclusion, self.denial):
            if pattern is not None and pattern.search(norm) is not None:
                norm = self._without(pattern, norm)
        return norm

    def _without(self, pattern: re.Pattern[str], norm: str) -> str:
        """``norm`` without the matches of ``pattern`` that nothing after takes back."""

        def keep(match: re.Match[str]) -> str:
            return match.group() if self.taken_back(norm, match.end()) else " "

        return " ".join(pattern.sub(keep, norm).split())

    def hit_of(self, match: re.Match[str]) -> _Hit:
        assert match.lastindex is not None
        return self.hits[match.lastindex - 1]

    def scan(self, norm: str) -> list[tuple[int, int]]:
        """The span of the longest phrase at each word start of ``norm``."""
        starts = [0, *(i + 1 for i, ch in enumerate(norm) if ch == " ")]
        return [m.span() for m in (self.gate.match(norm, s) for s in starts) if m is not None]


@dataclass(frozen=True)
class _Found:
    hit: _Hit
    alert: bool
    span: tuple[int, int]
    text: str  # the variant it was found in


_PRESENT_DEPTH = 3
"""How many words of the present in a row a message is read again after (each reading is of
a shorter text; a message with more is rare and still read after the first three)."""


def _reads_a_fold(plain: str, folded: str, span: tuple[int, int]) -> bool:
    """Whether the match at ``span`` of the numbers-and-leet variant ``folded`` reads a word
    the fold changed. A match of words the fold left alone was judged on ``plain`` already,
    where an exclusion may have covered it: "my mom overdosed in the 90s" is history there,
    and the fold ("the 9os") must not undo that. When the fold changed the number of words,
    it cannot tell: the match counts."""
    before, after = plain.split(" "), folded.split(" ")
    if len(before) != len(after):
        return True
    first = folded.count(" ", 0, span[0])
    last = folded.count(" ", 0, span[1])
    return any(before[i] != after[i] for i in range(first, last + 1))


def _optional(
    body: str | None, compile_pattern: PatternCompiler = re.compile
) -> re.Pattern[str] | None:
    """Whole words of ``body`` (a trie's alternation) as a pattern, or None without one."""
    return compile_pattern(r"(?<!\w)(?:" + body + r")(?!\w)") if body else None


def _inside(span: tuple[int, int], spans: Sequence[tuple[int, int]]) -> bool:
    """Whether ``span`` is covered by one of ``spans``: it overlaps it and does not go on
    past its end ("i tried to kill myself" inside "tried to kill myself when i was 19")."""
    start, end = span
    return any(s < end and start < e and end <= e for s, e in spans)


def _within(span: tuple[int, int], spans: Sequence[tuple[int, int]]) -> bool:
    """Whether ``span`` lies wholly within one of ``spans`` (a denial's: unlike an exclusion,
    it does not cover a match that starts before it)."""
    start, end = span
    return any(s <= start and end <= e for s, e in spans)


def _unbroken(denied: str, words: str) -> bool:
    """Whether every place the words of a denial stand together in the message (``words``,
    with its punctuation) has no punctuation between them: "no me quiero morir, solo quiero
    dormir" is a denial, "No, me quiero morir" and "no. me quiero morir" are not. Counted
    over the whole message, so one broken place is enough for none to hold: the safe side."""
    pattern = re.compile(r"(?<!\w)" + re.escape(denied) + r"(?!\w)")
    together = len(pattern.findall(" ".join(words.split())))
    return together > 0 and together >= len(pattern.findall(to_for_too(punct_to_spaces(words))))


class CrisisDetector:
    """Finds crisis phrases in a patient's message.

    ``categories`` maps a category key (e.g. ``"active_ideation"``) to its phrases;
    ``exclusions`` are phrases that neutralize a crisis match lying entirely inside them.
    ``patterns`` adds :class:`Proximity` patterns to categories; ``terms`` names lists of
    phrases that phrases use as ``{name}``; ``quiet`` names the categories that do not alert
    staff (past ideation): a match of one covers every crisis match lying entirely inside
    it, like an exclusion, and when nothing else matched the result is that category with
    ``alert_staff=False``. Raises :class:`ValueError` on an empty or malformed phrase, an
    unknown term, a phrase listed under two categories, or an exclusion that does not
    contain any crisis phrase (so it would do nothing) or that is identical to one (so it
    would switch it off entirely).

    :meth:`from_parts` builds one detector from several languages' lexicons.
    """

    def __init__(
        self,
        categories: Mapping[str, Sequence[str]],
        exclusions: Sequence[str] = (),
        *,
        patterns: Mapping[str, Sequence[Proximity]] | None = None,
        quiet: Iterable[str] = (),
        terms: Mapping[str, Sequence[str]] | None = None,
        language: str = "",
        emoji: Mapping[str, str] | None = None,
        words: Sequence[str] = (),
        model: CrisisModel | None = None,
    ) -> None:
        part = LexiconPart(
            language,
            categories,
            exclusions,
            patterns or {},
            quiet,
            terms or {},
            emoji or {},
            words,
        )
        self._build([part], model)

    @classmethod
    def from_parts(
        cls,
        parts: Sequence[LexiconPart],
        model: CrisisModel | None = None,
        *,
        compile_pattern: PatternCompiler = re.compile,
    ) -> CrisisDetector:
        """One detector over several lexicons (a patient may write in any language). A
        category that alerts staff in any language alerts staff everywhere: the safe side.
        ``compile_pattern`` compiles the screen's regular expressions (the content layer
        passes one that keeps their programs on disk: foundation/regex_cache.py)."""
        detector = cls.__new__(cls)
        detector._build(parts, model, compile_pattern=compile_pattern)
        return detector

    @classmethod
    def validate(cls, parts: Sequence[LexiconPart]) -> None:
        """The checks of building a detector that need no compiled search (phrases, terms,
        categories); what needs one (exclusions) is checked when the detector is built."""
        cls.__new__(cls)._build(parts, None, compile_screen=False)

    def _build(
        self,
        parts: Sequence[LexiconPart],
        model: CrisisModel | None,
        *,
        compile_screen: bool = True,
        compile_pattern: PatternCompiler = re.compile,
    ) -> None:
        if not parts or not any(p.categories for p in parts):
            raise ValueError("at least one crisis category is required")
        terms: dict[str, list[tuple[Item, ...]]] = {}
        for part in parts:
            if isinstance(part.terms, str) or not isinstance(part.terms, Mapping):
                raise ValueError("terms must be a table of lists of phrases")
            for name, phrases in part.terms.items():
                if not isinstance(name, str) or not _KEY_RE.match(name):
                    raise ValueError(f"term name {name!r} must be snake_case (a-z, 0-9, _)")
                if isinstance(phrases, str) or not isinstance(phrases, Sequence) or not phrases:
                    raise ValueError(f"term {name!r}: needs a list of phrases")
                terms.setdefault(name, []).extend(
                    _parse_at(raw, f"term {name!r}[{i}]") for i, raw in enumerate(phrases)
                )
        crisis: list[_Phrase] = []
        owner: dict[tuple[Item, ...], str] = {}
        alerting: set[str] = set()
        quiet_named: set[str] = set()
        excluded: list[_Phrase] = []
        denials: list[_Phrase] = []
        unless: list[_Phrase] = []
        recent: list[_Phrase] = []
        long_ago: list[_Phrase] = []
        alone: list[_Phrase] = []
        ending: list[_Phrase] = []
        for part in parts:
            quiet_set = set(part.quiet)
            unknown = sorted(quiet_set - set(part.categories))
            if unknown:
                raise ValueError(f"quiet categories {unknown} have no phrases")
            quiet_named |= quiet_set
            alerting |= set(part.categories) - quiet_set
            crisis.extend(self._categories(part, owner))
            crisis.extend(self._over_history(part, owner, quiet_set))
            crisis.extend(self._proximity(part))
            for name, table, into in (
                ("alone", part.alone, alone),
                ("ending", part.ending, ending),
            ):
                for category, listed in table.items():
                    if category not in part.categories:
                        raise ValueError(f"{name} phrases of category {category!r}, which has none")
                    into.extend(
                        _Phrase(
                            category,
                            part.language,
                            str(raw),
                            _parse_at(raw, f"{category} {name}[{i}]"),
                        )
                        for i, raw in enumerate(listed)
                    )
            if isinstance(part.exclusions, str) or not isinstance(part.exclusions, Sequence):
                raise ValueError("exclusions must be a list of strings")
            excluded.extend(
                _Phrase(
                    None, part.language, str(raw), _parse_at(raw, f"exclusions[{index}]"), index
                )
                for index, raw in enumerate(part.exclusions)
            )
            # Lists of phrases that match no category: (the list, where to, its name in the
            # lexicon file, its name in a phrase's error).
            for listed, into, name, label in (
                (part.unless, unless, "exclusions.unless", "unless"),
                (part.denials, denials, "exclusions.denials", "denials"),
                (part.recent, recent, "recent_words", "recent_words"),
                (part.long_ago, long_ago, "long_ago_words", "long_ago_words"),
            ):
                if isinstance(listed, str) or not isinstance(listed, Sequence):
                    raise ValueError(f"{name} must be a list of strings")
                into.extend(
                    _Phrase(None, part.language, str(raw), _parse_at(raw, f"{label}[{i}]"), i)
                    for i, raw in enumerate(listed)
                )
        quiet = frozenset(quiet_named - alerting)
        compiler = Compiler(terms)
        try:
            if not compile_screen:
                for phrase in [
                    *crisis,
                    *excluded,
                    *denials,
                    *unless,
                    *recent,
                    *long_ago,
                    *alone,
                    *ending,
                ]:
                    compiler.atoms(phrase.items)
                return
            present = [w for p in parts for w in p.present]
            self._exact = _Screen(
                crisis,
                excluded,
                quiet,
                compiler,
                present,
                unless,
                recent,
                long_ago,
                compile_pattern=compile_pattern,
                denials=denials,
            )
            self._alone = (
                _Screen(alone, (), frozenset(), compiler, compile_pattern=compile_pattern)
                if alone
                else None
            )
            self._ending = (
                _Screen(
                    ending, (), frozenset(), compiler, compile_pattern=compile_pattern, at_end=True
                )
                if ending
                else None
            )
        except ValueError as exc:
            raise ValueError(f"a phrase uses {exc}") from None
        for phrase in excluded:
            self._check_exclusion(phrase)
        for phrase in denials:
            self._check_exclusion(phrase, "denials")
        self._categories_seen = frozenset(h.category for h in self._exact.owner.values())
        self._words = {
            p.language: frozenset(normalize(w) for w in p.words)
            for p in parts
            if p.words and p.language
        }
        vocabulary = {
            item.value.rstrip(WILDCARD)
            for phrase in [*crisis, *excluded, *denials, *unless, *alone, *ending]
            for item in phrase.items
            if item.kind == "word"
        }
        vocabulary |= {
            word
            for items in (i for phrases in terms.values() for i in phrases)
            for item in items
            if item.kind == "word"
            for word in [item.value.rstrip(WILDCARD)]
        }
        for words in self._words.values():
            vocabulary |= words
        self._folds = Folds(vocabulary, {p.language: p.emoji for p in parts})
        by_language: dict[str, set[str]] = {}
        for phrase in crisis:
            by_language.setdefault(phrase.language, set()).update(
                i.value.rstrip(WILDCARD) for i in phrase.items if i.kind == "word"
            )
        for part in parts:
            for phrases in part.terms.values():
                for raw in phrases:
                    by_language.setdefault(part.language, set()).update(
                        i.value.rstrip(WILDCARD) for i in parse_phrase(raw) if i.kind == "word"
                    )
        # A word of one language's lexicon and no other's tells that language.
        self._own_words = {
            lang: frozenset(
                w
                for w in words
                if not any(w in other for o, other in by_language.items() if o != lang)
            )
            for lang, words in by_language.items()
            if lang
        }
        # The common words that tell a language: one on two languages' lists ("me", "he" and
        # "no" are Spanish as well as English) tells neither, so "ya no aguanto más, he estado
        # guardando..." is Spanish alone.
        self._telling = {
            lang: frozenset(
                w for w in words if not any(w in self._words[o] for o in self._words if o != lang)
            )
            for lang, words in self._words.items()
        }
        self._model = model

    @staticmethod
    def _categories(part: LexiconPart, owner: dict[tuple[Item, ...], str]) -> list[_Phrase]:
        found: list[_Phrase] = []
        for category, phrases in part.categories.items():
            if not isinstance(category, str) or not _KEY_RE.match(category):
                raise ValueError(f"category key {category!r} must be snake_case (a-z, 0-9, _)")
            if isinstance(phrases, str) or not isinstance(phrases, Sequence):
                raise ValueError(f"category {category!r}: phrases must be a list of strings")
            if not phrases:
                raise ValueError(f"category {category!r}: phrases must not be empty")
            for index, raw in enumerate(phrases):
                items = _parse_at(raw, f"category {category!r} phrases[{index}]")
                previous = owner.get(items)
                if previous is not None and previous != category:
                    raise ValueError(
                        f"category {category!r} phrases[{index}]: phrase {raw!r} is also "
                        f"listed under category {previous!r}"
                    )
                if previous is None:
                    owner[items] = category
                    found.append(_Phrase(category, part.language, str(raw), items))
        return found

    @staticmethod
    def _over_history(
        part: LexiconPart, owner: dict[tuple[Item, ...], str], quiet: set[str]
    ) -> list[_Phrase]:
        """The phrases that hold against a history phrase inside them (see
        :meth:`_Screen._first`): a wish now that holds words of history."""
        found: list[_Phrase] = []
        for category, listed in part.over_history.items():
            if category not in part.categories or category in quiet:
                raise ValueError(
                    f"over_history phrases of category {category!r}, which has no phrases "
                    "or does not alert"
                )
            for index, raw in enumerate(listed):
                items = _parse_at(raw, f"category {category!r} over_history[{index}]")
                if items in owner:
                    raise ValueError(
                        f"category {category!r} over_history[{index}]: phrase {raw!r} is also "
                        f"listed under category {owner[items]!r}"
                    )
                owner[items] = category
                found.append(_Phrase(category, part.language, str(raw), items, index, True))
        return found

    @staticmethod
    def _proximity(part: LexiconPart) -> list[_Phrase]:
        """Each :class:`Proximity` as a phrase: its first family, a gap, its second."""
        found: list[_Phrase] = []
        for category, listed in part.patterns.items():
            if category not in part.categories:
                raise ValueError(f"patterns of category {category!r}, which has no phrases")
            for index, pattern in enumerate(listed):
                where = f"category {category!r} patterns[{index}]"
                if not 0 <= pattern.within <= MAX_WITHIN:
                    raise ValueError(f"{where}: within must be 0 to {MAX_WITHIN}")
                families: list[list[tuple[Item, ...]]] = []
                for name, family in (("first", pattern.first), ("then", pattern.then)):
                    if isinstance(family, str) or not family:
                        raise ValueError(f"{where}.{name}: needs a list of phrases")
                    families.append(
                        [_parse_at(raw, f"{where}.{name}[{i}]") for i, raw in enumerate(family)]
                    )
                first, then = families
                for a in first:
                    for b in then:
                        items = (*a, Item("gap", size=pattern.within), *b)
                        source = (
                            f"{where}: {' | '.join(pattern.first)} ... {' | '.join(pattern.then)}"
                        )
                        found.append(_Phrase(category, part.language, source, items))
        return found

    def _check_exclusion(self, exclusion: _Phrase, kind: str = "exclusions") -> None:
        # Wildcards are tested with their bare stem, terms with their first phrase.
        sample = self._exact.compiler.sample(exclusion.items)
        spans = self._exact.scan(sample)
        where = f"{exclusion.language} {kind}" if exclusion.language else kind
        where = f"{where}[{exclusion.index}]: {exclusion.source!r}"
        if not spans:
            raise ValueError(
                f"{where} does not contain any crisis phrase, so it would have no effect"
            )
        literal = all(i.kind == "word" for i in exclusion.items)
        if literal and any(span == (0, len(sample)) for span in spans):
            raise ValueError(
                f"{where} is the same as a crisis phrase and would switch it off entirely"
            )

    def with_model(self, model: CrisisModel | None) -> CrisisDetector:
        """The same lexicon with ``model`` as its learned layer (or none)."""
        other = copy.copy(self)
        other._model = model
        return other

    @property
    def model(self) -> CrisisModel | None:
        return self._model

    def plain(self, text: str) -> str:
        """``text`` as the screen reads it (its first variant): what the model is trained on."""
        variants = self._folds.variants(text)
        return variants[0][1] if variants else ""

    def plains(self, text: str) -> list[str]:
        """Every variant of ``text`` the screen reads (the learned layer reads them all)."""
        return [plain for _, plain in self._folds.variants(text)]

    @property
    def categories(self) -> frozenset[str]:
        return self._categories_seen

    @property
    def quiet(self) -> frozenset[str]:
        """The categories that do not alert staff."""
        return self._exact.quiet

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages whose common words the detector knows."""
        return tuple(sorted(self._words))

    def check(self, text: str | None) -> CrisisMatch | None:
        """The first crisis phrase in ``text`` that no exclusion covers, or None.

        Every variant of the message (see :mod:`bot.domain.safety_text`) is searched; then
        the numbers-and-leet variants of each, if it has a word to fold; then, if nothing
        matched, the learned layer.
        """
        if not text:
            return None
        variants = self._folds.variants(text)
        found, overruled = self._lexicon(text, variants)
        if found is not None:
            return self._match(found, variants[0][1])
        if overruled:
            return None  # the model is sure; what it overruled was all there was
        if self._model is None:
            return None
        model = self._model
        read = self._model_variants(text, variants)
        scored = [(plain, model.logit(plain)) for _, plain in read if plain]
        if not scored or max(logit for _, logit in scored) < model.lowest_cut:
            return None  # the common case: below every language's threshold
        # Each language has its threshold (chosen on corpora by independent writers).
        cut = model.cut(self.language(read[0][1]))
        flagged = [plain for plain, logit in scored if logit >= cut]
        # What an exclusion recognised (family history long past, an idiom) the lexicon has
        # already read: the learned layer reads the rest of the message.
        if any(model.logit(self._exact.unexcluded(plain)) >= cut for plain in flagged):
            return CrisisMatch(LEARNED, True, self._languages(read[0][1], ""))
        return None

    def _lexicon(
        self, text: str, variants: Sequence[tuple[str, str]]
    ) -> tuple[_Found | None, bool]:
        """The lexicon's match, past what the learned layer overrules (:data:`OVERRULED`),
        and whether it overruled any."""
        found = self._first(variants)
        if found is None or found.hit.category not in OVERRULED or self._model is None:
            return found, False
        overruled = self._overruled(text, variants)
        if not overruled:
            return found, False
        return self._first(variants, overruled), True

    def _model_variants(
        self, text: str, variants: Sequence[tuple[str, str]]
    ) -> Sequence[tuple[str, str]]:
        """The variants the learned layer reads: without template or HTML markup."""
        if ("{" in text or "<" in text) and (words := _MARKUP_RE.sub(" ", text)) != text:
            return self._folds.variants(words)
        return variants

    def _overruled(self, text: str, variants: Sequence[tuple[str, str]]) -> frozenset[str]:
        """The categories of :data:`OVERRULED` whose threshold the learned layer's score of
        the message (its likeliest window, of every variant) is below."""
        assert self._model is not None
        model = self._model
        plains = [plain for _, plain in self._model_variants(text, variants) if plain]
        top = max((model.logit(plain) for plain in plains), default=0.0)
        return frozenset(category for category, below in OVERRULED.items() if top < below)

    def language(self, plain: str) -> str | None:
        """The language a normalized message is written in, by its common words; None when
        it has none or mixes two (the learned layer's threshold then is its default)."""
        found = self._languages(plain, "")
        return found[0] if len(found) == 1 else None

    @property
    def language_words(self) -> Mapping[str, frozenset[str]]:
        """Each language's common words (safety.toml ``language_words``, normalized): what
        tells the crisis answer's language, and, with the FAQ's words, a question's
        (bot/domain/question_language.py)."""
        return self._words

    def _telling_counts(self, plain: str) -> list[tuple[int, str]]:
        """How many words of each language's telling list a normalized message uses, most
        first; languages with none left out."""
        tokens = set(plain.split(" "))
        counts = sorted(
            ((len(tokens & words), lang) for lang, words in self._telling.items()),
            reverse=True,
        )
        return [(n, lang) for n, lang in counts if n]

    def _first(
        self, variants: Sequence[tuple[str, str]], overruled: frozenset[str] = frozenset()
    ) -> _Found | None:
        """The lexicon's verdict on the variants: each as it is, then its numbers and leet,
        then the phrases that count where they end a sentence. A match of an ``overruled``
        category is passed over: what follows it is read."""
        for words, plain in variants:
            found = self._screen(plain, overruled, words)
            if found is not None:
                return _Found(*found, plain)
        for words, plain in variants:
            for folded in fold_numbers(words, plain):
                found = self._screen(folded, overruled)
                if found is not None and _reads_a_fold(plain, folded, found[2]):
                    return _Found(*found, folded)
        if self._ending is not None:
            for words, _ in variants:
                ends = self._at_end(words, overruled)
                if ends is not None:
                    return ends
        return None

    def _at_end(self, words: str, overruled: frozenset[str]) -> _Found | None:
        """A phrase of a category's ``ending`` list that ends a sentence of ``words`` (the
        variant with its punctuation): "i can't go on." and "honestly i cant go on 😞", not "i
        can't go on thursday"."""
        assert self._ending is not None
        for sentence in _SENTENCE_END_RE.split(words):
            plain = to_for_too(punct_to_spaces(sentence))
            found = self._ending.first(plain, words=sentence) if plain else None
            if found is not None and found[0].category not in overruled:
                return _Found(*found, plain)
        return None

    def _screen(
        self, plain: str, overruled: frozenset[str], words: str | None = None
    ) -> tuple[_Hit, bool, tuple[int, int]] | None:
        """The first match in one variant (a short message's also among the phrases that
        count alone), past any of an ``overruled`` category. ``words`` is the variant with
        its punctuation (a denial holds only with it: the numbers-and-leet folds pass none)."""
        found = self._exact.first(plain, words=words)
        if found is None and self._alone is not None and plain.count(" ") < ALONE_WORDS:
            found = self._alone.first(plain, words=words)
        offset = 0
        for _ in range(_OVERRULE_DEPTH):
            if found is None or found[0].category not in overruled:
                break
            rest = plain[offset + found[2][1] :].lstrip()
            offset = len(plain) - len(rest)
            found = self._exact.first(rest, words=words) if rest else None
        if found is None or found[0].category in overruled:
            return None
        hit, alert, (start, end) = found
        return hit, alert, (start + offset, end + offset)

    def explain(self, text: str) -> str | None:
        """The phrase (as written in the lexicon) that made ``text`` match, or "learned";
        for people tuning the lexicon, never for logs (it may echo the message)."""
        found, _ = self._lexicon(text, self._folds.variants(text))
        if found is not None:
            return f"{found.hit.language}:{found.hit.category}: {found.hit.source}"
        return "learned" if self.check(text) is not None else None

    def _match(self, found: _Found, plain: str) -> CrisisMatch:
        start, end = found.span
        matched = found.text[start:end].split(" ")
        return CrisisMatch(
            found.hit.category, found.alert, self._languages(plain, found.hit.language, matched)
        )

    def _languages(self, plain: str, matched: str, span: Sequence[str] = ()) -> tuple[str, ...]:
        """The languages to answer in: the one the phrase was written in, any whose own
        words the matched text uses ("I want to morir"), and the ones whose common words the
        message uses; several when they disagree or the words are mixed."""
        mixed = [
            lang
            for lang, own in self._own_words.items()
            if lang != matched and any(word in own for word in span)
        ]
        counts = self._telling_counts(plain)
        if not counts:
            # Nothing tells ("sh 🩸 rn", "kms kms kms"): unsure, so every language, the phrase's
            # first (the answer puts the patient's own first among them).
            told = [lang for lang in [matched, *mixed] if lang]
            return tuple(dict.fromkeys([*told, *sorted(self._words)]))
        top, lang = counts[0]
        langs = [lang]
        for n, other in counts[1:]:
            if n >= 2 and 3 * n >= top:  # mixed: a third as many of the other's words
                langs.append(other)
        for lang in [matched, *mixed]:
            if lang and lang not in langs:
                langs.append(lang)
        return tuple(langs)
