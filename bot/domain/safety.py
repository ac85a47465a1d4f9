"""Crisis screening of free text sent by patients.

The lexicon lives in ``messages/<lang>/safety.toml`` and is edited by clinic staff, so it is
treated as data, never as code: every entry is a plain phrase. Phrases and incoming text go
through the same normalization, and the phrases are escaped with :func:`re.escape` and
compiled into one alternation (factored as a prefix tree, so the scan stays fast) that only
matches whole words.

The one pattern form beyond plain words is a trailing ``*`` on a word, meaning "this word
and any longer word starting with it": ``self harm*`` matches "self harm", "self-harming"
and "self harmed". The stem before the ``*`` must be at least :data:`MIN_STEM_LENGTH`
letters, and the ``*`` becomes ``\\w*`` in the compiled pattern, which cannot backtrack
beyond the end of one word.

Exclusions are longer phrases that neutralize a crisis match lying entirely inside them,
for example the general question "can you overdose" around the crisis phrase "overdose".
A crisis phrase elsewhere in the same message still triggers.

**Proximity patterns** (:class:`Proximity`) catch what people describe rather than name: a
phrase of one family, then within a few words (at most :data:`MAX_WITHIN`) a phrase of
another ("took" ... "all my pills", "swallowed" ... "whole bottle"). Each family is compiled
as a prefix tree like the phrases, and the words between as ``(?: \\w+){0,n}``, which can
only take whole words, so a start costs at most ``n`` word lengths: linear, no runaway
backtracking.

**Quiet categories** (``alert_staff = false`` in the lexicon, e.g. suicidal thoughts in the
past asked about with a question) cover a crisis match lying entirely inside them, like an
exclusion; if nothing else matched, the result is that category with ``alert_staff`` False
(gentle resources, then the usual answer). Any other crisis match still alerts.

**Cost.** Every phrase and pattern is one alternation, searched once per message variant;
an ordinary message costs that one search. Only a message with a hit is looked at closer
(exclusions, quiet categories, which phrase or pattern matched).

Normalization
-------------
:func:`normalize` (shared with FAQ matching): Unicode NFKC; invisible characters removed
(every format character, category Cf, such as the zero-width space, soft hyphen, word
joiner, ZWJ/ZWNJ and BOM, plus the other default-ignorable marks: variation selectors,
the combining grapheme joiner, Mongolian variation selectors); the Hangul fillers, which
render as blank space, turned into spaces; curly quotes straightened; casefold;
apostrophes removed ("can't" == "cant"); every other run of punctuation and whitespace
turned into one space. The invisible characters are removed rather than turned into
spaces, so that "k<ZWSP>ill" is the word "kill" and not "k ill".

The crisis screen adds three foldings that only it uses, because they would make FAQ
matching of ordinary text worse, not better:

0. **Accents and other combining marks** are dropped after canonical decomposition
   ("suicidarme" == "suicidármé", "daño" == "dano"; marks stacked on letters to dodge the
   screen are gone too). ASCII text skips this step.

1. **Lookalike letters.** Cyrillic and Greek letters that look like a Latin letter are
   replaced by that letter (:data:`_LOOKALIKES`). This is a visual fold, not a
   transliteration: Cyrillic "р" becomes "p", not "r". A capital folds like its small
   letter, so matching stays case-insensitive, and the lexicon is folded too, so a
   phrase written in Cyrillic or Greek still matches itself. Four Greek capitals look
   like a different letter than their small forms ("Η" like "H", "η" like "n"); a
   message containing one is also checked with them read as capitals
   (:data:`_CAPITAL_LOOKALIKES`).
2. **Numbers and leet**, checked as a *second* variant of the message (the plain variant
   is always checked, so a phrase that really contains a digit is never lost). Standalone
   "2" -> "to", "4" -> "for", "u" -> "you", "ur" -> "your", "r" -> "are", a few number
   words ("4ever", "2nite", ...), and in a word that mixes letters with digits, "@" or
   "$": 0 -> o, 1 -> i, 3 -> e, 4 -> a, 5 -> s, 7 -> t, @ -> a, $ -> s. Standalone numbers
   other than 2 and 4 ("911", "10") are left alone, and so is "im", which is how the
   lexicon already spells "i'm". Because "1" may stand for "i" or "l", this variant is
   matched against a second compiled lexicon, and both sides are reduced to a skeleton:
   "l" -> "i", and the words "too"/"two" -> "to" (so "took 2 many pills" is "took too
   many pills"). The lexicon phrases get the same folds. This variant is only built when
   the message has something to fold, so ordinary text costs one scan, as before.

A message that contained invisible characters is also checked with them turned into
spaces (the behaviour before they were removed), so no earlier match is lost. A match in
any variant counts; exclusions apply within the variant they are found in.

This module is pure: no aiogram, no database.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "MAX_WITHIN",
    "MIN_STEM_LENGTH",
    "CrisisDetector",
    "CrisisMatch",
    "Proximity",
    "check_phrase",
    "normalize",
]

MIN_STEM_LENGTH = 3
MAX_PHRASE_LENGTH = 200
MAX_WITHIN = 6
"""The most words a :class:`Proximity` pattern lets stand between its two families."""
WILDCARD = "*"

_KEY_RE = re.compile(r"^[a-z][a-z0-9_]*$")

# Curly and look-alike quotes folded to their ASCII forms before anything else happens.
_QUOTES: dict[str, str] = {
    "\u2018": "'",  # left single quotation mark
    "\u2019": "'",  # right single quotation mark (the usual phone apostrophe)
    "\u201a": "'",  # single low-9 quotation mark
    "\u201b": "'",  # single high-reversed-9 quotation mark
    "\u2032": "'",  # prime
    "\u02bc": "'",  # modifier letter apostrophe
    "\u0060": "'",  # grave accent used as an apostrophe
    "\u00b4": "'",  # acute accent used as an apostrophe
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u201f": '"',
    "\u2033": '"',
}

# Default-ignorable code points that are not format characters (Cf): the combining
# grapheme joiner, Khmer inherent vowels, Mongolian free variation selectors and the
# variation selectors (U+FE0F follows many emoji). The supplementary block E0000-E0FFF
# (tags, more variation selectors) is added whole in _invisible_code_points().
_IGNORABLE_MARKS: tuple[int, ...] = (
    0x034F,
    0x17B4,
    0x17B5,
    *range(0x180B, 0x1810),
    *range(0xFE00, 0xFE10),
)
# Hangul fillers are letters (so `\w`) that render as blank space: treated as a space.
_BLANK_LETTERS: tuple[int, ...] = (0x115F, 0x1160, 0x3164, 0xFFA0)


def _invisible_code_points() -> Iterator[int]:
    """Every format character (Cf) and the other default-ignorable marks.

    Format characters exist only in planes 0, 1 and 14, so only those are scanned at
    import; a test checks the whole range.
    """
    for cp in range(0x20000):
        if unicodedata.category(chr(cp)) == "Cf":
            yield cp
    yield from _IGNORABLE_MARKS
    yield from range(0xE0000, 0xE1000)


_INVISIBLE: frozenset[int] = frozenset(_invisible_code_points())
# Combining marks (Mn) of the Basic Multilingual Plane, dropped by the crisis screen after
# canonical decomposition: accents ("suicidarme" == "suicidárme", "corazon" == "corazón")
# and marks stacked on letters to dodge the screen ("k\u0336i\u0336l\u0336l\u0336").
_MARKS: dict[int, None] = {
    cp: None for cp in range(0x10000) if unicodedata.category(chr(cp)) == "Mn"
}

# Lookalikes: Cyrillic and Greek small letters that look like a Latin letter in common
# fonts, folded to that Latin letter by the crisis screen only. Their capitals fold the
# same way (derived by casefolding, see _lookalike_map), so that matching stays
# case-insensitive for a lexicon written in Cyrillic or Greek. Cyrillic "в", "н", "м", "т"
# are small capitals in shape, so they fold with their capitals "В", "Н", "М", "Т".
_LOOKALIKES: dict[str, str] = {
    # Cyrillic
    "\u0430": "a",  # а
    "\u0432": "b",  # в
    "\u0435": "e",  # е
    "\u043a": "k",  # к
    "\u043c": "m",  # м
    "\u043d": "h",  # н
    "\u043e": "o",  # о
    "\u0440": "p",  # р
    "\u0441": "c",  # с
    "\u0442": "t",  # т
    "\u0443": "y",  # у
    "\u0445": "x",  # х
    "\u0455": "s",  # ѕ
    "\u0456": "i",  # і
    "\u0458": "j",  # ј
    "\u0475": "v",  # ѵ
    "\u04af": "y",  # ү
    "\u04bb": "h",  # һ
    "\u04cf": "l",  # ӏ (palochka)
    "\u0501": "d",  # ԁ
    "\u051b": "q",  # ԛ
    "\u051d": "w",  # ԝ
    # Greek
    "\u03b1": "a",  # α
    "\u03b2": "b",  # β
    "\u03b5": "e",  # ε
    "\u03b6": "z",  # ζ
    "\u03b7": "n",  # η
    "\u03b9": "i",  # ι
    "\u03ba": "k",  # κ
    "\u03bc": "u",  # μ
    "\u03bd": "v",  # ν
    "\u03bf": "o",  # ο
    "\u03c1": "p",  # ρ
    "\u03c4": "t",  # τ
    "\u03c5": "u",  # υ
    "\u03c7": "x",  # χ
    "\u03f3": "j",  # ϳ
}
# Greek capitals that look like a different Latin letter than their small form. They are
# read this way in an extra variant, checked only when one of them occurs.
_CAPITAL_LOOKALIKES: dict[str, str] = {
    "\u0397": "h",  # Η (small η looks like n)
    "\u039c": "m",  # Μ (small μ looks like u)
    "\u039d": "n",  # Ν (small ν looks like v)
    "\u03a5": "y",  # Υ (small υ looks like u)
}

_REMOVE: dict[int, str | None] = dict.fromkeys(_INVISIBLE)
_BLANKS: dict[int, str | None] = dict.fromkeys(_BLANK_LETTERS, " ")
_QUOTE_MAP: dict[int, str | None] = {ord(k): v for k, v in _QUOTES.items()}


def _lookalike_map() -> dict[int, str | None]:
    """Every letter whose casefold contains a lookalike, mapped to its folded casefold.

    The crisis screen folds lookalikes in the same translate pass as the quotes, *before*
    casefolding (one pass over the text instead of two), so the capitals ("А" -> "a"),
    and letters that only casefold to a lookalike (Cyrillic "ᲂ" -> "о", Greek "ᾳ" ->
    "αι"), are mapped here directly. Only the blocks where Greek and Cyrillic casing
    lives are scanned; a test checks every code point.
    """
    small = str.maketrans(_LOOKALIKES)
    mapping: dict[int, str | None] = {}
    blocks = (range(0x0300, 0x0530), range(0x1C80, 0x1C90), range(0x1F00, 0x2000))
    for cp in (cp for block in blocks for cp in block):
        folded = chr(cp).casefold()
        if any(ch in _LOOKALIKES for ch in folded):
            # A combining mark (U+0345, which casefolds to iota) is dropped, not a letter.
            mark = unicodedata.category(chr(cp)) == "Mn"
            mapping[cp] = None if mark else folded.translate(small)
    return mapping


# One translate table per pipeline, so that everything before casefolding is one pass.
_TEXT_TABLE = str.maketrans(_QUOTE_MAP | _REMOVE | _BLANKS)
_SCREEN_TABLE = str.maketrans(_QUOTE_MAP | _REMOVE | _BLANKS | _lookalike_map())
# Invisible characters as word breaks (the behaviour before they were removed).
_SCREEN_SPACED_TABLE = str.maketrans(_SCREEN_TABLE | dict.fromkeys(_INVISIBLE, " "))
_SCREEN_CAPITALS_TABLE = str.maketrans(_SCREEN_TABLE | str.maketrans(_CAPITAL_LOOKALIKES))
_CAPITAL_LOOKALIKE_RE = re.compile("[" + "".join(_CAPITAL_LOOKALIKES) + "]")

# Underscore counts as \w for `re`, but it is punctuation for people: "self_harm" is two words.
_PUNCT_RE = re.compile(r"[\W_]+")
_PUNCT_KEEP_STAR_RE = re.compile(r"[^\w*]+|_+")

# --- numbers and leet (the second variant checked by the crisis screen) -------------------

# Whole words (after casefolding) replaced by the words they stand for.
_NUMBER_WORDS: dict[str, str] = {
    "2": "to",
    "4": "for",
    "2day": "today",
    "2nite": "tonight",
    "2night": "tonight",
    "2morrow": "tomorrow",
    "2moro": "tomorrow",
    "4ever": "forever",
    "4get": "forget",
    "4got": "forgot",
    "4give": "forgive",
    "b4": "before",
}
# Standalone letters and letter pairs, matched in the normalized (punctuation-free) text.
_SHORT_WORDS: dict[str, str] = {"u": "you", "ur": "your", "r": "are"}
# Inside a word that mixes letters with digits, "@" or "$" only: "k1ll", "$uicide".
_LEET_TABLE = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"}
)
_FOLD_CHAR_RE = re.compile(r"[0-9@$]")
# The punctuation step, except that "@" and "$" are kept for the leet fold.
_PUNCT_KEEP_LEET_RE = re.compile(r"[^\w@$]+|_+")
_SHORT_WORD_RE = re.compile(r"\b(?:ur?|r)\b")
_SKELETON_WORDS = {"too": "to", "two": "to"}
_SKELETON_WORD_RE = re.compile(r"\bt(?:oo|wo)\b")


def _fold_word(word: str) -> str:
    replacement = _NUMBER_WORDS.get(word)
    if replacement is not None:
        return replacement
    if not any(ch.isalpha() for ch in word):
        return word  # a number ("911", "10", "$100"): never leet
    return word.translate(_LEET_TABLE)


def _fold_leet(text: str) -> str:
    """Fold every word of space-separated ``text`` that has a digit, "@" or "$".

    One fast character-class search finds those characters and each hit is widened to its
    word with ``str.find``, so the cost follows the number of digits rather than the
    length of the text.
    """
    parts: list[str] = []
    done = 0  # text[:done] is already in parts
    for hit in _FOLD_CHAR_RE.finditer(text):
        if hit.start() < done:
            continue  # in a word already folded
        start = text.rfind(" ", 0, hit.start()) + 1
        end = text.find(" ", hit.start())
        if end < 0:
            end = len(text)
        parts.append(text[done:start])
        parts.append(_fold_word(text[start:end]))
        done = end
    parts.append(text[done:])
    return "".join(parts)


def _fold_numbers(words: str, plain: str) -> str | None:
    """The numbers-and-leet variant of a message, or None if it would equal ``plain``.

    ``words`` is the message casefolded with punctuation still in, ``plain`` the same
    after the punctuation step. Cheap substring tests come first, so that a message with
    nothing to fold costs almost nothing.
    """
    folded = plain
    if _FOLD_CHAR_RE.search(words) is not None:
        if "@" in words or "$" in words:
            spaced = _PUNCT_KEEP_LEET_RE.sub(" ", words).strip()
            folded = _PUNCT_RE.sub(" ", _fold_leet(spaced)).strip()
        else:
            folded = _fold_leet(plain)
    padded = f" {folded} "
    # Spelled out rather than a loop over _SHORT_WORDS: this runs for every message.
    if " u " in padded or " r " in padded or " ur " in padded:
        folded = _SHORT_WORD_RE.sub(lambda m: _SHORT_WORDS[m.group()], folded)
    return None if folded == plain else folded


def _skeleton(norm: str) -> str:
    """Reduce normalized text to the form in which "1", "i" and "l" are one letter.

    The leet variant has already turned a "1" into "i"; it may have stood for "l"
    ("ki11"), so "l" becomes "i" as well, on both the message and the lexicon side; and
    "too" and "two" become "to", the word a standalone "2" was folded to.
    """
    norm = norm.replace("l", "i")
    if "too" in norm or "two" in norm:
        norm = _SKELETON_WORD_RE.sub("to", norm)
    return norm


def _finish_words(text: str) -> str:
    """Casefold translated text and drop apostrophes; punctuation is still there."""
    return text.casefold().replace("'", "")  # "can't" == "cant", "OD'd" == "odd"


def _strip_marks(nfkc: str) -> str:
    """Accents and other combining marks dropped, for the crisis screen only (canonical
    decomposition first, so "é" is "e" and Greek "ά" is "α", which the lookalike fold then
    reads as "a"). ASCII text is returned as it is."""
    if nfkc.isascii():
        return nfkc
    return unicodedata.normalize("NFD", nfkc).translate(_MARKS)


def _normalize(text: str, *, keep_star: bool = False, screen: bool = False) -> str:
    nfkc = unicodedata.normalize("NFKC", text)
    if screen:
        words = _finish_words(_strip_marks(nfkc).translate(_SCREEN_TABLE))
    else:
        words = _finish_words(nfkc.translate(_TEXT_TABLE))
    punct = _PUNCT_KEEP_STAR_RE if keep_star else _PUNCT_RE
    return punct.sub(" ", words).strip()


def normalize(text: str) -> str:
    """Fold ``text`` to the form that crisis phrases and FAQ keywords are matched against.

    NFKC, invisible (format and other default-ignorable) characters removed, lowercase
    (casefold), curly quotes straightened, apostrophes removed so that "can't" and "cant"
    are the same word, every other run of punctuation, underscores and whitespace turned
    into one space, and the ends trimmed. The result contains only word characters
    separated by single spaces. The crisis screen folds lookalike letters on top of this;
    see the module docstring.
    """
    return _normalize(text)


@dataclass(frozen=True)
class CrisisMatch:
    """A message matched the crisis screen. Deliberately carries no text from the message.

    ``alert_staff`` is False for a category that only asks for gentle resources (such as
    suicidal thoughts in the past, asked about alongside a question): the bot sends them and
    then answers as usual, and the clinic team is not alerted.
    """

    category: str
    alert_staff: bool = True


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
class _Pattern:
    category: str | None  # None for an exclusion
    source: str  # the phrase as written, for error messages
    norm: str  # the phrase normalized for the screen, "*" kept
    atoms: tuple[str, ...]  # single characters, or WILDCARD


def _compile_phrase(raw: object) -> tuple[str, tuple[str, ...]]:
    """Validate one phrase; return it normalized and as trie atoms."""
    if not isinstance(raw, str):
        raise ValueError(f"phrase must be a string, got {type(raw).__name__}")
    if len(raw) > MAX_PHRASE_LENGTH:
        raise ValueError(f"phrase {raw!r} is longer than {MAX_PHRASE_LENGTH} characters")
    norm = _normalize(raw, keep_star=True, screen=True)
    if not norm.replace(WILDCARD, "").strip():
        raise ValueError(f"phrase {raw!r} is empty after normalization")
    return norm, _phrase_atoms(norm, raw)


def check_phrase(raw: str) -> str:
    """``raw`` if it can be a lexicon phrase; ValueError saying why not otherwise."""
    _compile_phrase(raw)
    return raw


def _compile_at(raw: object, where: str) -> tuple[str, tuple[str, ...]]:
    try:
        return _compile_phrase(raw)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def _phrase_atoms(norm: str, raw: str) -> tuple[str, ...]:
    atoms: list[str] = []
    for word in norm.split(" "):
        if atoms:
            atoms.append(" ")
        stem = word[:-1] if word.endswith(WILDCARD) else word
        if WILDCARD in stem or not stem:
            raise ValueError(f"phrase {raw!r}: '*' is only allowed once, at the end of a word")
        if word.endswith(WILDCARD) and len(stem) < MIN_STEM_LENGTH:
            raise ValueError(
                f"phrase {raw!r}: a word ending in '*' needs at least "
                f"{MIN_STEM_LENGTH} letters before the '*'"
            )
        atoms.extend(stem)
        if word.endswith(WILDCARD):
            atoms.append(WILDCARD)
    return tuple(atoms)


def _skeleton_atoms(pattern: _Pattern) -> tuple[str, ...]:
    """The phrase as the numbers-and-leet variant of a message spells it.

    The same folds as the message side, word by word: number words and leet, then the
    skeleton. A word ending in ``*`` only gets the letter-for-letter folds, which keep
    its length, so it still passes the stem-length rule.
    """
    words: list[str] = []
    for word in pattern.norm.split(" "):
        if word.endswith(WILDCARD):
            stem = word[:-1]
            if _FOLD_CHAR_RE.search(stem) and any(ch.isalpha() for ch in stem):
                stem = stem.translate(_LEET_TABLE)
            words.append(stem.replace("l", "i") + WILDCARD)
            continue
        word = _SHORT_WORDS.get(word, word)
        if _FOLD_CHAR_RE.search(word):
            word = _fold_word(word)
        word = word.replace("l", "i")
        words.append(_SKELETON_WORDS.get(word, word))
    return _phrase_atoms(" ".join(words), pattern.source)


def _atoms_to_regex(atoms: Sequence[str]) -> str:
    return "".join(r"\w*" if a == WILDCARD else re.escape(a) for a in atoms)


class _Trie:
    """Prefix tree of atoms, rendered as one regex alternation with shared prefixes factored."""

    _END = ""

    def __init__(self) -> None:
        self.root: dict[str, Any] = {}

    def add(self, atoms: Sequence[str]) -> None:
        node = self.root
        for atom in atoms:
            node = node.setdefault(atom, {})
        node[self._END] = True

    def regex(self) -> str:
        return self._node_regex(self.root)

    def _node_regex(self, node: dict[str, Any]) -> str:
        terminal = self._END in node
        branches = [
            (r"\w*" if atom == WILDCARD else re.escape(atom)) + self._node_regex(child)
            for atom, child in sorted(
                ((k, v) for k, v in node.items() if k != self._END),
                # Literal continuations before a wildcard, so "suicide note" beats "suicid*".
                key=lambda item: (item[0] == WILDCARD, item[0]),
            )
        ]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if terminal:
            # Greedy optional: at a given start the longest phrase is tried first.
            return "(?:" + body + ")?"
        return body


def _trie_regex(phrases: Iterable[Sequence[str]]) -> str | None:
    trie = _Trie()
    empty = True
    for atoms in phrases:
        trie.add(atoms)
        empty = False
    return None if empty else trie.regex()


def _build_scanner(phrases: Iterable[Sequence[str]]) -> re.Pattern[str] | None:
    body = _trie_regex(phrases)
    if body is None:
        return None
    # A zero-width lookahead at each word start, capturing the longest phrase that starts
    # there, so that matches starting inside an earlier (exclusion) match are still seen.
    return re.compile(r"(?<!\w)(?=(" + body + r")(?!\w))")


@dataclass(frozen=True)
class _CompiledProximity:
    """A :class:`Proximity` as atoms of each family, ready for one lexicon."""

    category: str
    first: tuple[tuple[str, ...], ...]
    then: tuple[tuple[str, ...], ...]
    within: int

    def regex(self) -> str:
        """``first (any word){0,within} then`` over normalized text (words separated by one
        space). Each ``\\w+`` must take a whole word, because a space or the end follows,
        so a start position costs at most ``within`` word lengths: no runaway backtracking."""
        first = _trie_regex(self.first)
        then = _trie_regex(self.then)
        return f"(?:{first})(?: \\w+){{0,{self.within}}} (?:{then})(?!\\w)"


class _Screen:
    """One compiled lexicon: crisis phrases (atoms -> category), proximity patterns,
    exclusions, and the categories that do not alert staff (``quiet``)."""

    def __init__(
        self,
        crisis: Mapping[tuple[str, ...], str],
        exclusions: Iterable[tuple[str, ...]],
        patterns: Sequence[_CompiledProximity] = (),
        quiet: frozenset[str] = frozenset(),
    ) -> None:
        exclusions = list(exclusions)
        self.plain: dict[str, str] = {}
        self.wild: list[tuple[re.Pattern[str], str]] = []
        for atoms, category in crisis.items():
            if WILDCARD in atoms:
                self.wild.append((re.compile(_atoms_to_regex(atoms)), category))
            else:
                self.plain["".join(atoms)] = category
        # Longest wildcard stems first, so the most specific pattern names the category.
        self.wild.sort(key=lambda item: -len(item[0].pattern))
        phrases = _trie_regex(crisis)
        assert phrases is not None  # the detector always has at least one phrase
        self.scanner: re.Pattern[str] = re.compile(r"(?<!\w)(?=(" + phrases + r")(?!\w))")
        self.patterns = [
            (re.compile(r"(?<!\w)(?=(" + p.regex() + "))"), p.category) for p in patterns
        ]
        # Everything in one alternation, searched once: the only cost of an ordinary message.
        # Group 1 is a phrase, group 2 + i the pattern i.
        self.gate = re.compile(
            r"(?<!\w)(?:("
            + ")|(".join([phrases + r"(?!\w)", *(p.regex() for p in patterns)])
            + "))"
        )
        self.exclusion_scanner = _build_scanner(exclusions)
        self.quiet = quiet
        # What can change the verdict of the gate's first match: an exclusion or a quiet
        # category. Without either in the text, the first match is the answer.
        quiet_phrases = _trie_regex(a for a, c in crisis.items() if c in quiet)
        cover = [
            *(r for r in (_trie_regex(exclusions), quiet_phrases) if r is not None),
            *(p.regex() for p in patterns if p.category in quiet),
        ]
        self.cover = re.compile(r"(?<!\w)(?:" + "|".join(cover) + ")") if cover else None

    def first(self, norm: str) -> CrisisMatch | None:
        """The first match in normalized ``norm`` that no exclusion covers, and that no
        match of a quiet category (past ideation) covers; else the first quiet match."""
        gate = self.gate.search(norm)
        if gate is None:
            return None
        if self.cover is None or self.cover.search(norm) is None:
            index = gate.lastindex or 1
            if index == 1:
                return CrisisMatch(self.category_of(gate.group(1)))
            return CrisisMatch(self.patterns[index - 2][1])
        covered: list[tuple[int, int]] = []
        if self.exclusion_scanner is not None:
            covered = [m.span(1) for m in self.exclusion_scanner.finditer(norm)]
        hits = [(m.span(1), 0, self.category_of(m.group(1))) for m in self.scanner.finditer(norm)]
        for pattern, category in self.patterns:
            hits.extend((m.span(1), 1, category) for m in pattern.finditer(norm))
        # In order of position; at one start the longest match, and a phrase before a pattern.
        hits.sort(key=lambda h: (h[0][0], -h[0][1], h[1]))
        hits = [h for h in hits if not _inside(h[0], covered)]
        quiet = [h for h in hits if h[2] in self.quiet]
        quiet_spans = [span for span, _, _ in quiet]
        for span, _, category in hits:
            if category not in self.quiet and not _inside(span, quiet_spans):
                return CrisisMatch(category)
        if quiet:
            return CrisisMatch(quiet[0][2], alert_staff=False)
        return None

    def category_of(self, matched: str) -> str:
        category = self.plain.get(matched)
        if category is not None:
            return category
        for pattern, wild_category in self.wild:
            if pattern.fullmatch(matched):
                return wild_category
        raise AssertionError(f"matched text has no category: {matched!r}")  # pragma: no cover


def _inside(span: tuple[int, int], spans: Sequence[tuple[int, int]]) -> bool:
    start, end = span
    return any(s <= start and end <= e for s, e in spans)


class CrisisDetector:
    """Finds crisis phrases in a patient's message.

    ``categories`` maps a category key (e.g. ``"suicide"``) to its phrases; ``exclusions``
    are phrases that neutralize a crisis match lying entirely inside them. ``patterns`` adds
    :class:`Proximity` patterns to categories; ``quiet`` names the categories that do not
    alert staff (past ideation): a match of one covers every crisis match lying entirely
    inside it, like an exclusion, and when nothing else matched the result is that category
    with ``alert_staff=False``. Raises :class:`ValueError` on an empty or malformed phrase,
    a phrase listed under two categories, or an exclusion that does not contain any crisis
    phrase (so it would do nothing) or that is identical to one (so it would switch it off
    entirely).
    """

    def __init__(
        self,
        categories: Mapping[str, Sequence[str]],
        exclusions: Sequence[str] = (),
        *,
        patterns: Mapping[str, Sequence[Proximity]] | None = None,
        quiet: Iterable[str] = (),
    ) -> None:
        if not categories:
            raise ValueError("at least one crisis category is required")
        owner: dict[tuple[str, ...], str] = {}
        crisis: list[_Pattern] = []
        for category, phrases in categories.items():
            if not isinstance(category, str) or not _KEY_RE.match(category):
                raise ValueError(f"category key {category!r} must be snake_case (a-z, 0-9, _)")
            if isinstance(phrases, str) or not isinstance(phrases, Sequence):
                raise ValueError(f"category {category!r}: phrases must be a list of strings")
            if not phrases:
                raise ValueError(f"category {category!r}: phrases must not be empty")
            for index, raw in enumerate(phrases):
                norm, atoms = _compile_at(raw, f"category {category!r} phrases[{index}]")
                previous = owner.get(atoms)
                if previous is not None and previous != category:
                    raise ValueError(
                        f"category {category!r} phrases[{index}]: phrase {raw!r} is also "
                        f"listed under category {previous!r}"
                    )
                if previous is None:
                    owner[atoms] = category
                    crisis.append(_Pattern(category, str(raw), norm, atoms))
        quiet_set = frozenset(quiet)
        unknown = sorted(quiet_set - set(categories))
        if unknown:
            raise ValueError(f"quiet categories {unknown} have no phrases")
        exact_patterns, loose_patterns = self._patterns(patterns or {}, categories)

        if isinstance(exclusions, str) or not isinstance(exclusions, Sequence):
            raise ValueError("exclusions must be a list of strings")
        excluded: list[_Pattern] = []
        for index, raw in enumerate(exclusions):
            norm, atoms = _compile_at(raw, f"exclusions[{index}]")
            excluded.append(_Pattern(None, str(raw), norm, atoms))

        self._exact = _Screen(owner, (p.atoms for p in excluded), exact_patterns, quiet_set)
        for index, p in enumerate(excluded):
            self._check_exclusion(p, index)

        # The lexicon for the numbers-and-leet variant. Two phrases may share a skeleton;
        # the first one names the category. An exclusion whose skeleton is a crisis
        # phrase would switch that phrase off in this variant, so it is left out here.
        loose: dict[tuple[str, ...], str] = {}
        for p in crisis:
            loose.setdefault(_skeleton_atoms(p), p.category or "")
        loose_exclusions = [a for a in map(_skeleton_atoms, excluded) if a not in loose]
        self._loose = _Screen(loose, loose_exclusions, loose_patterns, quiet_set)

    @staticmethod
    def _patterns(
        patterns: Mapping[str, Sequence[Proximity]], categories: Mapping[str, Sequence[str]]
    ) -> tuple[list[_CompiledProximity], list[_CompiledProximity]]:
        """Each pattern compiled for the exact and for the numbers-and-leet lexicon."""
        exact: list[_CompiledProximity] = []
        loose: list[_CompiledProximity] = []
        for category, listed in patterns.items():
            if category not in categories:
                raise ValueError(f"patterns of category {category!r}, which has no phrases")
            for index, pattern in enumerate(listed):
                where = f"category {category!r} patterns[{index}]"
                if not 0 <= pattern.within <= MAX_WITHIN:
                    raise ValueError(f"{where}: within must be 0 to {MAX_WITHIN}")
                families: list[list[_Pattern]] = []
                for name, family in (("first", pattern.first), ("then", pattern.then)):
                    if isinstance(family, str) or not family:
                        raise ValueError(f"{where}.{name}: needs a list of phrases")
                    families.append(
                        [
                            _Pattern(category, str(raw), *_compile_at(raw, f"{where}.{name}[{i}]"))
                            for i, raw in enumerate(family)
                        ]
                    )
                first, then = families
                exact.append(
                    _CompiledProximity(
                        category,
                        tuple(p.atoms for p in first),
                        tuple(p.atoms for p in then),
                        pattern.within,
                    )
                )
                loose.append(
                    _CompiledProximity(
                        category,
                        tuple(map(_skeleton_atoms, first)),
                        tuple(map(_skeleton_atoms, then)),
                        pattern.within,
                    )
                )
        return exact, loose

    def _check_exclusion(self, exclusion: _Pattern, index: int) -> None:
        # Wildcards are tested with their bare stem, the shortest text they stand for.
        sample = "".join("" if a == WILDCARD else a for a in exclusion.atoms)
        spans = [m.span(1) for m in self._exact.scanner.finditer(sample)]
        if not spans:
            raise ValueError(
                f"exclusions[{index}]: {exclusion.source!r} does not contain any crisis "
                "phrase, so it would have no effect"
            )
        if any(span == (0, len(sample)) for span in spans):
            raise ValueError(
                f"exclusions[{index}]: {exclusion.source!r} is the same as a crisis phrase "
                "and would switch it off entirely"
            )

    @property
    def categories(self) -> frozenset[str]:
        return frozenset(self._exact.plain.values()) | {c for _, c in self._exact.wild}

    @property
    def quiet(self) -> frozenset[str]:
        """The categories that do not alert staff."""
        return self._exact.quiet

    def check(self, text: str | None) -> CrisisMatch | None:
        """The first crisis phrase in ``text`` that no exclusion covers, or None.

        The normalized message (lookalike letters folded, invisible characters removed)
        is always checked. Other variants are built only when they can differ from it:
        invisible characters read as word breaks, if there were any; the Greek capitals
        "Η", "Μ", "Ν", "Υ" read as "h", "m", "n", "y", if any occur; and the
        numbers-and-leet variant against the skeleton lexicon, if the message has a word
        to fold. See the module docstring.
        """
        if not text:
            return None
        nfkc = _strip_marks(unicodedata.normalize("NFKC", text))
        translated = nfkc.translate(_SCREEN_TABLE)
        variants = [_finish_words(translated)]
        if not nfkc.isascii():
            # Invisible characters are deleted by the table and nothing else changes the
            # length (casefolding, which may, comes later: "ß" -> "ss").
            if len(translated) != len(nfkc):
                variants.append(_finish_words(nfkc.translate(_SCREEN_SPACED_TABLE)))
            if _CAPITAL_LOOKALIKE_RE.search(nfkc) is not None:
                variants.append(_finish_words(nfkc.translate(_SCREEN_CAPITALS_TABLE)))

        plains: list[str] = []
        for words in variants:
            plain = _PUNCT_RE.sub(" ", words).strip()
            match = self._exact.first(plain)
            if match is not None:
                return match
            plains.append(plain)
        for words, plain in zip(variants, plains, strict=True):
            folded = _fold_numbers(words, plain)
            if folded is not None:
                match = self._loose.first(_skeleton(folded))
                if match is not None:
                    return match
        return None
