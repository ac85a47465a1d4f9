"""Crisis screening of free text sent by patients.

The lexicon lives in ``messages/<lang>/safety.toml`` and is edited by clinic staff, so it is
treated as data, never as code: every entry is a plain phrase. Phrases and incoming text go
through the same :func:`normalize`, and the phrases are escaped with :func:`re.escape` and
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

This module is pure: no aiogram, no database.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["MIN_STEM_LENGTH", "CrisisDetector", "CrisisMatch", "normalize"]

MIN_STEM_LENGTH = 3
MAX_PHRASE_LENGTH = 200
WILDCARD = "*"

_KEY_RE = re.compile(r"^[a-z][a-z0-9_]*$")

# Curly and look-alike quotes folded to their ASCII forms before anything else happens.
_QUOTE_TABLE = str.maketrans(
    {
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
)
# Underscore counts as \w for `re`, but it is punctuation for people: "self_harm" is two words.
_PUNCT_RE = re.compile(r"[\W_]+")
_PUNCT_KEEP_STAR_RE = re.compile(r"[^\w*]+|_+")


def _normalize(text: str, *, keep_star: bool = False) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_QUOTE_TABLE).casefold()
    text = text.replace("'", "")  # "can't" == "cant", "OD'd" == "odd"
    punct = _PUNCT_KEEP_STAR_RE if keep_star else _PUNCT_RE
    return punct.sub(" ", text).strip()


def normalize(text: str) -> str:
    """Fold ``text`` to the form that crisis phrases and FAQ keywords are matched against.

    NFKC, lowercase (casefold), curly quotes straightened, apostrophes removed so that
    "can't" and "cant" are the same word, every other run of punctuation, underscores and
    whitespace turned into one space, and the ends trimmed. The result contains only word
    characters separated by single spaces.
    """
    return _normalize(text)


@dataclass(frozen=True)
class CrisisMatch:
    """A message matched the crisis screen. Deliberately carries no text from the message."""

    category: str


@dataclass(frozen=True)
class _Pattern:
    category: str | None  # None for an exclusion
    source: str  # the phrase as written, for error messages
    atoms: tuple[str, ...]  # single characters, or WILDCARD


def _compile_phrase(raw: object, *, where: str) -> tuple[str, ...]:
    """Validate one phrase and turn it into trie atoms."""
    if not isinstance(raw, str):
        raise ValueError(f"{where}: phrase must be a string, got {type(raw).__name__}")
    if len(raw) > MAX_PHRASE_LENGTH:
        raise ValueError(f"{where}: phrase {raw!r} is longer than {MAX_PHRASE_LENGTH} characters")
    norm = _normalize(raw, keep_star=True)
    if not norm.replace(WILDCARD, "").strip():
        raise ValueError(f"{where}: phrase {raw!r} is empty after normalization")
    atoms: list[str] = []
    for word in norm.split(" "):
        if atoms:
            atoms.append(" ")
        stem = word[:-1] if word.endswith(WILDCARD) else word
        if WILDCARD in stem or not stem:
            raise ValueError(
                f"{where}: phrase {raw!r}: '*' is only allowed once, at the end of a word"
            )
        if word.endswith(WILDCARD) and len(stem) < MIN_STEM_LENGTH:
            raise ValueError(
                f"{where}: phrase {raw!r}: a word ending in '*' needs at least "
                f"{MIN_STEM_LENGTH} letters before the '*'"
            )
        atoms.extend(stem)
        if word.endswith(WILDCARD):
            atoms.append(WILDCARD)
    return tuple(atoms)


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


def _build_scanner(patterns: Iterable[_Pattern]) -> re.Pattern[str] | None:
    trie = _Trie()
    empty = True
    for pattern in patterns:
        trie.add(pattern.atoms)
        empty = False
    if empty:
        return None
    # A zero-width lookahead at each word start, capturing the longest phrase that starts
    # there, so that matches starting inside an earlier (exclusion) match are still seen.
    return re.compile(r"(?<!\w)(?=(" + trie.regex() + r")(?!\w))")


class CrisisDetector:
    """Finds crisis phrases in a patient's message.

    ``categories`` maps a category key (e.g. ``"suicide"``) to its phrases; ``exclusions``
    are phrases that neutralize a crisis match lying entirely inside them. Raises
    :class:`ValueError` on an empty or malformed phrase, a phrase listed under two
    categories, or an exclusion that does not contain any crisis phrase (so it would do
    nothing) or that is identical to one (so it would switch it off entirely).
    """

    def __init__(
        self, categories: Mapping[str, Sequence[str]], exclusions: Sequence[str] = ()
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
                atoms = _compile_phrase(raw, where=f"category {category!r} phrases[{index}]")
                previous = owner.get(atoms)
                if previous is not None and previous != category:
                    raise ValueError(
                        f"category {category!r} phrases[{index}]: phrase {raw!r} is also "
                        f"listed under category {previous!r}"
                    )
                if previous is None:
                    owner[atoms] = category
                    crisis.append(_Pattern(category, raw, atoms))

        if isinstance(exclusions, str) or not isinstance(exclusions, Sequence):
            raise ValueError("exclusions must be a list of strings")
        excluded: list[_Pattern] = []
        for index, raw in enumerate(exclusions):
            atoms = _compile_phrase(raw, where=f"exclusions[{index}]")
            excluded.append(_Pattern(None, raw, atoms))

        self._plain: dict[str, str] = {}
        self._wild: list[tuple[re.Pattern[str], str]] = []
        for p in crisis:
            if WILDCARD in p.atoms:
                self._wild.append((re.compile(_atoms_to_regex(p.atoms)), p.category or ""))
            else:
                self._plain["".join(p.atoms)] = p.category or ""
        # Longest wildcard stems first, so the most specific pattern names the category.
        self._wild.sort(key=lambda item: -len(item[0].pattern))

        scanner = _build_scanner(crisis)
        assert scanner is not None  # categories is non-empty and each has a phrase
        self._scanner: re.Pattern[str] = scanner
        self._exclusion_scanner = _build_scanner(excluded)

        for index, p in enumerate(excluded):
            self._check_exclusion(p, index)

    def _check_exclusion(self, exclusion: _Pattern, index: int) -> None:
        # Wildcards are tested with their bare stem, the shortest text they stand for.
        sample = "".join("" if a == WILDCARD else a for a in exclusion.atoms)
        spans = [m.span(1) for m in self._scanner.finditer(sample)]
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

    @classmethod
    def from_toml_dict(cls, data: Mapping[str, Any]) -> CrisisDetector:
        """Build a detector from the parsed ``safety.toml`` structure.

        Expected: an array of ``[[category]]`` tables, each with ``key`` (snake_case),
        ``phrases`` (non-empty array of strings) and an optional ``description``; and an
        optional ``[exclusions]`` table with ``phrases``. Unknown fields are rejected so
        that a typo such as ``phrase = [...]`` fails loudly instead of being ignored.
        """
        if not isinstance(data, Mapping):
            raise ValueError("safety lexicon must be a table")
        unknown = set(data) - {"category", "exclusions"}
        if unknown:
            raise ValueError(
                f"safety lexicon: unknown top-level field(s) {sorted(unknown)}; "
                "expected [[category]] and [exclusions]"
            )
        raw_categories = data.get("category")
        if not isinstance(raw_categories, list) or not raw_categories:
            raise ValueError("safety lexicon: 'category' must be a non-empty array of tables")

        categories: dict[str, list[str]] = {}
        for index, entry in enumerate(raw_categories):
            where = f"category[{index}]"
            if not isinstance(entry, Mapping):
                raise ValueError(f"{where} must be a table")
            unknown = set(entry) - {"key", "phrases", "description"}
            if unknown:
                raise ValueError(f"{where}: unknown field(s) {sorted(unknown)}")
            key = entry.get("key")
            if not isinstance(key, str) or not _KEY_RE.match(key):
                raise ValueError(f"{where}.key must be a snake_case string, got {key!r}")
            if key in categories:
                raise ValueError(f"{where}.key {key!r} is used by more than one category")
            description = entry.get("description", "")
            if not isinstance(description, str):
                raise ValueError(f"{where}.description must be a string")
            phrases = entry.get("phrases")
            if not isinstance(phrases, list) or not phrases:
                raise ValueError(f"{where}.phrases must be a non-empty array of strings")
            categories[key] = phrases

        exclusions: list[str] = []
        raw_exclusions = data.get("exclusions")
        if raw_exclusions is not None:
            if not isinstance(raw_exclusions, Mapping):
                raise ValueError("safety lexicon: 'exclusions' must be a table")
            unknown = set(raw_exclusions) - {"phrases"}
            if unknown:
                raise ValueError(f"exclusions: unknown field(s) {sorted(unknown)}")
            phrases = raw_exclusions.get("phrases", [])
            if not isinstance(phrases, list):
                raise ValueError("exclusions.phrases must be an array of strings")
            exclusions = phrases
        return cls(categories, exclusions)

    @property
    def categories(self) -> frozenset[str]:
        return frozenset(self._plain.values()) | {c for _, c in self._wild}

    def check(self, text: str | None) -> CrisisMatch | None:
        """The first crisis phrase in ``text`` that no exclusion covers, or None."""
        if not text:
            return None
        norm = normalize(text)
        if not norm:
            return None
        covered: list[tuple[int, int]] = []
        if self._exclusion_scanner is not None:
            covered = [m.span(1) for m in self._exclusion_scanner.finditer(norm)]
        for m in self._scanner.finditer(norm):
            start, end = m.span(1)
            if any(s <= start and end <= e for s, e in covered):
                continue
            return CrisisMatch(self._category_of(m.group(1)))
        return None

    def _category_of(self, matched: str) -> str:
        category = self._plain.get(matched)
        if category is not None:
            return category
        for pattern, wild_category in self._wild:
            if pattern.fullmatch(matched):
                return wild_category
        raise AssertionError(f"matched text has no category: {matched!r}")  # pragma: no cover
