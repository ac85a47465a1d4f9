"""The crisis lexicon's phrases: parsed, checked, and compiled into regular expressions.

A phrase is plain words, as people write them, with four forms beyond plain words:

- ``word*``: that word or any longer word starting with it ("self harm*" matches "self
  harming"); the stem needs at least :data:`MIN_STEM_LENGTH` letters.
- ``{name}``: any phrase of the term ``name`` (a named list of words and phrases, which may
  itself use other terms): ``"{i} {want} {die}"`` matches "i want to die", "im gonna be dead",
  "i'd rather not be alive"...
- ``{name?}``: the same, or nothing ("{i} {really?} {want} {die}").
- ``...``: up to :data:`GAP_WORDS` other words ("{i} ... {kill} myself" matches "i really do
  want to kill myself").

Phrases are compiled to regular expressions over normalized text (words separated by single
spaces): words are escaped, a term is the prefix tree (trie) of its phrases, and a gap is
``(?: \\w+){0,n}``, which can only take whole words, so a start costs at most ``n`` word
lengths: linear, no runaway backtracking. Every phrase of a lexicon goes into one prefix tree
(a shared start, a term included, is written once), so a message costs one search.

This module is pure: no aiogram, no database.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from bot.domain.safety_text import normalize_phrase

__all__ = [
    "GAP",
    "GAP_WORDS",
    "MAX_PHRASE_LENGTH",
    "MIN_STEM_LENGTH",
    "WILDCARD",
    "Compiler",
    "Frag",
    "Item",
    "marked_trie_regex",
    "parse_phrase",
    "trie_regex",
]

MIN_STEM_LENGTH = 3
MAX_PHRASE_LENGTH = 200
PARSED_PHRASES = 65_536
"""Distinct phrase texts kept parsed (both lexicons hold some 10,000 phrases and terms)."""
WILDCARD = "*"
GAP = "..."
GAP_WORDS = 4
"""The most words a ``...`` in a phrase stands for."""

_ITEM_RE = re.compile(r"(\{[^{}]*\}|\.\.\.|…)")
_TERM_RE = re.compile(r"^\{([a-z][a-z0-9_]*)(\?)?\}$")
_GLUED_RE = re.compile(r"[^\s]\{|\}[^\s]|[^\s.…](?:\.\.\.|…)|(?:\.\.\.|…)[^\s.…]")


@dataclass(frozen=True)
class Frag:
    """An atom of the prefix tree that stands for a regular expression (a term, a gap)."""

    regex: str


Atom = str | Frag
"""One character of a phrase, the wildcard, or a fragment."""


@dataclass(frozen=True)
class Item:
    """One element of a parsed phrase: a ``word``, a ``term`` (maybe ``optional``) or a
    ``gap`` of up to ``size`` words."""

    kind: Literal["word", "term", "gap"]
    value: str = ""
    optional: bool = False
    size: int = GAP_WORDS


def parse_phrase(raw: object) -> tuple[Item, ...]:
    """Parse and check one phrase; ValueError saying what is wrong."""
    if not isinstance(raw, str):
        raise ValueError(f"phrase must be a string, got {type(raw).__name__}")
    return _parse_text(raw)


@functools.lru_cache(maxsize=PARSED_PHRASES)
def _parse_text(raw: str) -> tuple[Item, ...]:
    """:func:`parse_phrase` of a string, kept: a lexicon is parsed again each time a detector
    is built or checked (a staff edit's preview, the validator, every test's content), and
    normalizing its thousands of phrases is most of that time. Items are frozen, so a parsed
    phrase is shared safely; a phrase that fails raises each time (nothing is kept)."""
    if len(raw) > MAX_PHRASE_LENGTH:
        raise ValueError(f"phrase {raw!r} is longer than {MAX_PHRASE_LENGTH} characters")
    if _GLUED_RE.search(raw):
        raise ValueError(f"phrase {raw!r}: a {{term}} or '...' must stand as a word of its own")
    items: list[Item] = []
    for part in _ITEM_RE.split(raw):
        if not part.strip():
            continue
        if part in (GAP, "…"):
            items.append(Item("gap"))
            continue
        if part.startswith("{"):
            term = _TERM_RE.match(part)
            if term is None:
                raise ValueError(
                    f"phrase {raw!r}: {part!r} is not a term (a name in snake_case, "
                    "like {die} or {really?})"
                )
            items.append(Item("term", term.group(1), optional=term.group(2) == "?"))
            continue
        norm = normalize_phrase(part)
        for word in norm.split(" "):
            if not word.replace(WILDCARD, ""):
                continue
            _check_word(word, raw)
            items.append(Item("word", word))
    if not items:
        raise ValueError(f"phrase {raw!r} is empty after normalization")
    if not any(i.kind == "word" or (i.kind == "term" and not i.optional) for i in items):
        raise ValueError(f"phrase {raw!r} needs a word or a term that is not optional")
    for edge in (items[0], items[-1]):
        if edge.kind == "gap" or edge.optional:
            raise ValueError(
                f"phrase {raw!r}: '...' and optional terms go between words, not at an end"
            )
    for a, b in itertools.pairwise(items):
        if a.kind == "gap" and b.kind == "gap":
            raise ValueError(f"phrase {raw!r}: two '...' in a row")
    return tuple(items)


def _check_word(word: str, raw: str) -> None:
    stem = word[:-1] if word.endswith(WILDCARD) else word
    if WILDCARD in stem or not stem:
        raise ValueError(f"phrase {raw!r}: '*' is only allowed once, at the end of a word")
    if word.endswith(WILDCARD) and len(stem) < MIN_STEM_LENGTH:
        raise ValueError(
            f"phrase {raw!r}: a word ending in '*' needs at least "
            f"{MIN_STEM_LENGTH} letters before the '*'"
        )


def gap_regex(size: int) -> str:
    """Up to ``size`` whole words, each with the space before it."""
    return f"(?: \\w+){{0,{size}}}"


class Compiler:
    """Turns parsed phrases into atoms, resolving terms.

    ``terms`` maps a term's name to its parsed phrases. A term used by a phrase is compiled
    once (its prefix tree as one fragment) and kept.
    """

    def __init__(self, terms: Mapping[str, Sequence[tuple[Item, ...]]]) -> None:
        self.terms = terms
        self._compiled: dict[str, str] = {}
        self._first: dict[str, frozenset[str]] = {}
        self._resolving: list[str] = []

    def atoms(self, items: Sequence[Item]) -> tuple[Atom, ...]:
        out: list[Atom] = []
        for index, item in enumerate(items):
            if item.kind == "gap":
                out.append(Frag(gap_regex(item.size)))
                continue
            if item.kind == "term" and item.optional:
                out.append(Frag(f"(?: {self.term(item.value)})?"))
                continue
            if index:
                out.append(" ")
            if item.kind == "term":
                out.append(Frag(self.term(item.value)))
            else:
                word = item.value
                if word.endswith(WILDCARD):
                    out.extend(word[:-1])
                    out.append(WILDCARD)
                else:
                    out.extend(word)
        return tuple(out)

    def term(self, name: str) -> str:
        """The regular expression of term ``name``, as one group."""
        compiled = self._compiled.get(name)
        if compiled is not None:
            return compiled
        if name not in self.terms:
            raise ValueError(f"no term named {name!r}")
        if name in self._resolving:
            chain = " -> ".join([*self._resolving, name])
            raise ValueError(f"term {name!r} uses itself ({chain})")
        self._resolving.append(name)
        try:
            body = trie_regex(self.atoms(items) for items in self.terms[name])
        finally:
            self._resolving.pop()
        compiled = "(?:" + (body or "(?!)") + ")"
        first = self.first_chars(name)
        if len(first) > 1:
            # A cheap first-letter check: the regex engine tries each branch of an
            # alternation in turn, so a term that begins a phrase would otherwise cost every
            # word of every message one try per letter its own phrases begin with. (A term
            # whose phrases all begin with one letter begins with that letter already.)
            compiled = "(?=[" + "".join(re.escape(c) for c in sorted(first)) + "])" + compiled
        self._compiled[name] = compiled
        return compiled

    def first_chars(self, name: str) -> frozenset[str]:
        """The letters a phrase of term ``name`` can begin with (empty: any or none)."""
        found = self._first.get(name)
        if found is not None:
            return found
        chars: set[str] = set()
        for items in self.terms.get(name, ()):
            head = items[0] if items else None
            if head is None or head.kind == "gap" or head.optional:
                return frozenset()
            if head.kind == "word":
                chars.add(head.value[0])
                continue
            if head.value in self._resolving or head.value not in self.terms:
                return frozenset()
            self._resolving.append(head.value)
            try:
                inner = self.first_chars(head.value)
            finally:
                self._resolving.pop()
            if not inner:
                return frozenset()
            chars |= inner
        self._first[name] = frozenset(chars)
        return self._first[name]

    def sample(self, items: Sequence[Item]) -> str:
        """The shortest plain text the phrase stands for (a term's first phrase, no gaps)."""
        words: list[str] = []
        for item in items:
            if item.kind == "word":
                words.append(item.value.rstrip(WILDCARD))
            elif item.kind == "term" and not item.optional:
                words.append(self.sample(self.terms[item.value][0]))
        return " ".join(words)


class _Trie:
    """Prefix tree of atoms, rendered as one regex alternation with shared prefixes factored.

    With ``marked``, each phrase's end is rendered as an empty capturing group, numbered in
    the order they are written, so a match's ``lastindex`` tells which phrase it was
    (:attr:`marks` holds each group's phrase, in group order)."""

    _END = ""

    def __init__(self, *, marked: bool = False) -> None:
        self.root: dict[Any, Any] = {}
        self.marked = marked
        self.marks: list[Any] = []

    def add(self, atoms: Sequence[Atom], key: Any = True) -> None:
        node = self.root
        for atom in atoms:
            node = node.setdefault(atom, {})
        node.setdefault(self._END, key)

    def regex(self) -> str:
        self.marks = []
        return self._node_regex(self.root)

    def _node_regex(self, node: dict[Any, Any]) -> str:
        terminal = self._END in node
        branches = [
            _atom_regex(atom) + self._node_regex(child)
            for atom, child in sorted(
                ((k, v) for k, v in node.items() if k != self._END),
                # Literal continuations first, so "suicide note" beats "suicid*".
                key=lambda item: _atom_order(item[0]),
            )
        ]
        if self.marked and terminal:
            # Longer phrases first; ending here is the last alternative.
            self.marks.append(node[self._END])
            branches.append("()")
            return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if terminal:
            # Greedy optional: at a given start the longest phrase is tried first.
            return "(?:" + body + ")?"
        return body


def _atom_regex(atom: Atom) -> str:
    if isinstance(atom, Frag):
        return atom.regex
    return r"\w*" if atom == WILDCARD else re.escape(atom)


def _atom_order(atom: Atom) -> tuple[int, str]:
    if isinstance(atom, Frag):
        return (1, atom.regex)
    return (2, atom) if atom == WILDCARD else (0, atom)


BIG_FRAGMENT = 200
"""A fragment this long (a term of many phrases) is written once for all the phrases that end
with it, rather than once per beginning (see :func:`_factor_tails`)."""


def _factor_tails(
    phrases: Iterable[tuple[Sequence[Atom], Any]],
) -> list[tuple[tuple[Atom, ...], Any]]:
    """Phrases that end alike from their largest fragment on, merged into one.

    A prefix tree writes a shared beginning once, but a term at the end of many different
    beginnings ("thoughts of {kill myself}", "urge to {kill myself}") would be written once
    per beginning. Here phrases with the same key and the same tail from their largest
    fragment on become one phrase: the alternation of their beginnings, then the tail once.
    """
    groups: dict[tuple[tuple[Atom, ...], Any], list[tuple[Atom, ...]]] = {}
    out: list[tuple[tuple[Atom, ...], Any]] = []
    for atoms, key in phrases:
        atoms = tuple(atoms)
        sizes = [(len(a.regex), i) for i, a in enumerate(atoms) if isinstance(a, Frag)]
        size, index = max(sizes, default=(0, 0))
        if size < BIG_FRAGMENT or index == 0:
            out.append((atoms, key))
            continue
        groups.setdefault((atoms[index:], key), []).append(atoms[:index])
    for (tail, key), heads in groups.items():
        if len(heads) == 1:
            out.append((heads[0] + tail, key))
            continue
        # Each head ends before the fragment; a head ending in a space keeps it outside.
        spaced = [h[:-1] for h in heads if h and h[-1] == " "]
        bare = [h for h in heads if not h or h[-1] != " "]
        if spaced:
            body = trie_regex(spaced, factor=False)
            out.append(((Frag(f"(?:{body})"), " ", *tail), key))
        if bare:
            body = trie_regex(bare, factor=False)
            out.append(((Frag(f"(?:{body})"), *tail), key))
    return out


def trie_regex(phrases: Iterable[Sequence[Atom]], *, factor: bool = True) -> str | None:
    """One alternation of every phrase's atoms, shared prefixes written once; None if none."""
    trie = _Trie()
    empty = True
    listed = [(tuple(a), True) for a in phrases]
    for atoms, _ in _factor_tails(listed) if factor else listed:
        trie.add(atoms)
        empty = False
    return None if empty else trie.regex()


def marked_trie_regex(phrases: Iterable[tuple[Sequence[Atom], Any]]) -> tuple[str, list[Any]]:
    """Like :func:`trie_regex`, with each phrase's end an empty group: the regex, and the key
    of each group in order (group ``n`` is ``keys[n - 1]``)."""
    trie = _Trie(marked=True)
    for atoms, key in _factor_tails(phrases):
        trie.add(atoms, key)
    body = trie.regex()
    return body, trie.marks


def atoms_regex(atoms: Sequence[Atom]) -> str:
    """One phrase's atoms as a regular expression (to tell which phrase a match was)."""
    return "".join(_atom_regex(a) for a in atoms)
