"""Changing some words of a text as the front desk says it: ``eye mask -> eye mask or a soft
scarf``, or the words as they are now on one line and the new words on the next.

The words are looked for in the text's plain wording only, the words patients read: never
inside jinja's ``{{ }}``, ``{% %}`` or ``{# #}`` nor inside an HTML tag, and a match never
spans one of them (the values and the logic are changed through the whole-text edit). They are
compared as written first, then ignoring case (and typographic quotes and no-break spaces, which
a phone types for ``'``, ``"`` and a space) when nothing matched as written. Found once, the
change is made in the source; found several times, the caller asks for more words around them
or for every one to be changed; found only across bold, italics or a link, the pieces the
formatting cuts them into are named, to change one by one; not found, the closest line of
plain wording is offered to copy. The new words are plain text: HTML-escaped into the source
(as a whole-text edit escapes a typed ``<``), and refused when they hold ``{{``, ``{%`` or
``{#``. Pure functions, no I/O.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher, get_close_matches
from enum import StrEnum

__all__ = [
    "SEPARATORS",
    "TEMPLATE_MARKS",
    "Replaced",
    "WordChange",
    "WordsProblem",
    "WordsRefused",
    "plain_lines",
    "read_word_change",
    "replace_words",
]

SEPARATORS = ("->", "→", "=>")
"""What may stand between the words as they are and the new words, on one line."""
TEMPLATE_MARKS = ("{{", "{%", "{#")
"""What opens a value, logic or a comment of a template: never in the words."""
LIKE = 0.6
"""How alike (difflib's ratio) a line's words must be to the words typed to be quoted as the
closest when it holds none of them."""
MAX_WORDS = 1000
"""The longest words accepted, either side."""

# A template tag, or an HTML tag (which may hold a value: <a href="{{ url }}">). A literal
# "<" of the wording is written &lt; in a text, so any other "<" opens a tag.
_JINJA = r"{{.*?}}|{%.*?%}|{#.*?#}"
_TOKEN = re.compile(rf"{_JINJA}|<(?:{_JINJA}|[^<>])*>", re.DOTALL)
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_WORD = re.compile(r"\w+")
_PASSES = ((False, True), (False, False), (True, True), (True, False))
"""The ways the words are looked for, in turn until one finds them: (ignoring case, whole
words only). As written first; within each, whole words before parts of words ("mask" is
the word before the start of "masks")."""
_FOLDED = {
    **dict.fromkeys("‘’‚‛ʼ′`", "'"),
    **dict.fromkeys("“”„‟″«»", '"'),
    **dict.fromkeys("\u00a0\u202f\u2007", " "),
}


class WordsProblem(StrEnum):
    """Why some words cannot be changed (nothing was changed)."""

    UNREADABLE = "unreadable"  # neither "old -> new" nor two lines
    TEMPLATE = "template"  # {{, {% or {# in the words: the whole-text edit changes those
    NOT_FOUND = "not_found"  # not in the plain wording: `closest` is the nearest line
    SEVERAL = "several"  # found `count` times: more words around them, or change all
    FORMATTED = "formatted"  # found only across bold, italics or a link: `pieces`, each side


@dataclass(frozen=True, slots=True)
class WordChange:
    """The words as they are now (`old`) and the new words (`new`, "" to take them out)."""

    old: str
    new: str

    def note(self, count: int = 1) -> str:
        """How the change reads in a text's history: “old” → “new”, and how many times."""
        times = f" ×{count}" if count > 1 else ""
        return f"“{_short(self.old)}” → “{_short(self.new)}”{times}"


@dataclass(frozen=True, slots=True)
class Replaced:
    """The source with the change made `count` times; `ignoring_case` when the words were
    found only with another case (or other quotes)."""

    body: str
    count: int
    ignoring_case: bool = False


@dataclass(frozen=True, slots=True)
class WordsRefused:
    """Nothing changed, and why: `count` the matches found (SEVERAL), `closest` the line of
    plain wording nearest the words (NOT_FOUND; "" when the text has none), `pieces` the
    words as the formatting cuts them (FORMATTED: "no driving", "until the next day" of
    ``no driving <b>until the next day</b>``), each to change on its own."""

    code: WordsProblem
    count: int = 0
    closest: str = ""
    pieces: tuple[str, ...] = ()


def read_word_change(text: str) -> WordChange | None:
    """The change a member typed: ``old -> new`` (``→`` and ``=>`` too; the new words may be
    empty, to take the old ones out) or two lines, the old words then the new ones. None when
    it is neither, or names no old words."""
    found = [(text.find(sep), sep) for sep in SEPARATORS if sep in text]
    if found:
        at, sep = min(found)
        old, new = text[:at].strip(), text[at + len(sep) :].strip()
    else:
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        if len(lines) != 2:
            return None
        old, new = lines
    if not old or len(old) > MAX_WORDS or len(new) > MAX_WORDS:
        return None
    return WordChange(old, new)


def replace_words(
    source: str, change: WordChange, *, every: bool = False
) -> Replaced | WordsRefused:
    """`source` with `change` made in its plain wording: where the old words are found once,
    or everywhere they are found when `every`. Refused (nothing changed) when the words hold
    template syntax, are not found or are found several times (and not `every`)."""
    if any(mark in words for words in (change.old, change.new) for mark in TEMPLATE_MARKS):
        return WordsRefused(WordsProblem.TEMPLATE)
    if not change.old:
        return WordsRefused(WordsProblem.UNREADABLE)
    runs = list(_plain_runs(source))
    spans: list[tuple[int, int]] = []
    ignoring_case = False
    for ignoring_case, whole in _PASSES:
        spans = _matches(runs, change.old, fold=ignoring_case, whole=whole)
        if spans:
            break
    if not spans:
        pieces = _across_formatting(source, change.old)
        if pieces:
            return WordsRefused(WordsProblem.FORMATTED, pieces=pieces)
        return WordsRefused(WordsProblem.NOT_FOUND, closest=_closest(runs, change.old))
    if len(spans) > 1 and not every:
        return WordsRefused(WordsProblem.SEVERAL, count=len(spans))
    new = html.escape(change.new, quote=False)
    body = source
    for start, end in reversed(spans):
        body = body[:start] + new + body[end:]
    if _tags(body) != _tags(source) or any(  # the new words and what stood beside them
        body.count(mark) != source.count(mark) for mark in TEMPLATE_MARKS
    ):
        return WordsRefused(WordsProblem.TEMPLATE)
    return Replaced(body, len(spans), ignoring_case)


def plain_lines(source: str) -> list[str]:
    """The lines of a text's plain wording, as patients read them (entities decoded), each
    stripped; the pieces of a line cut by a tag or a value are lines of their own."""
    return _lines(list(_plain_runs(source)))


# --- inside ---------------------------------------------------------------------------------
def _short(words: str, limit: int = 80) -> str:
    words = " ".join(words.split())
    return words if len(words) <= limit else words[: limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class _Run:
    """A stretch of plain wording: `text` as read (entities decoded) and, for each of its
    characters, where it starts and ends in the source."""

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]


def _plain_runs(source: str) -> Iterator[_Run]:
    at = 0
    for tag in _TOKEN.finditer(source):
        if tag.start() > at:
            yield _decoded(source, at, tag.start())
        at = tag.end()
    if at < len(source):
        yield _decoded(source, at, len(source))


def _decoded(source: str, start: int, end: int) -> _Run:
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    at = start
    while at < end:
        entity = _ENTITY.match(source, at, end)
        decoded = html.unescape(entity.group()) if entity else ""
        if entity and len(decoded) == 1:
            chars.append(decoded)
            starts.append(at)
            ends.append(entity.end())
            at = entity.end()
        else:
            chars.append(source[at])
            starts.append(at)
            ends.append(at + 1)
            at += 1
    return _Run("".join(chars), tuple(starts), tuple(ends))


def _fold(text: str) -> str:
    """Case and typographic quotes set aside, one character for one (positions kept)."""
    folded = []
    for char in text:
        char = _FOLDED.get(char, char)
        lower = char.lower()
        folded.append(lower if len(lower) == 1 else char)
    return "".join(folded)


def _matches(runs: Sequence[_Run], words: str, *, fold: bool, whole: bool) -> list[tuple[int, int]]:
    """Where `words` stand in the source, as (start, end), in order, none overlapping; with
    `whole`, only where they do not begin or end inside a word."""
    needle = _fold(words) if fold else words
    spans: list[tuple[int, int]] = []
    for run in runs:
        hay = _fold(run.text) if fold else run.text
        at = hay.find(needle)
        while at >= 0:
            end = at + len(needle)
            if not whole or (_edge(hay, at - 1, at) and _edge(hay, end, end - 1)):
                spans.append((run.starts[at], run.ends[end - 1]))
                at = hay.find(needle, end)
            else:
                at = hay.find(needle, at + 1)
    return spans


def _across_formatting(source: str, words: str) -> tuple[str, ...]:
    """The pieces of `words` (case and quotes aside) where they stand only across HTML tags
    (bold, italics, a link) and no template value or logic: each piece the words of one
    stretch of plain wording. () when they are not there so either."""
    needle = _fold(words)
    if not needle:
        return ()
    cuts = [t for t in _TOKEN.finditer(source) if t.group().startswith("{")]
    bounds = [0, *(at for t in cuts for at in t.span()), len(source)]
    for start, end in zip(bounds[::2], bounds[1::2], strict=True):
        runs = list(_plain_runs(source[start:end]))
        joined = "".join(run.text for run in runs)
        owner = [i for i, run in enumerate(runs) for _ in run.text]
        at = _fold(joined).find(needle)
        if at < 0:
            continue
        pieces: dict[int, str] = {}
        for k in range(at, at + len(needle)):
            pieces[owner[k]] = pieces.get(owner[k], "") + joined[k]
        return tuple(" ".join(piece.split()) for piece in pieces.values() if piece.strip())
    return ()


def _edge(text: str, outside: int, inside: int) -> bool:
    """No word goes on across the edge between `inside` (a character of the words) and
    `outside` (the one beside it, if any)."""
    if not 0 <= outside < len(text):
        return True
    return not (text[outside].isalnum() and text[inside].isalnum())


def _tags(source: str) -> list[str]:
    return [tag.group() for tag in _TOKEN.finditer(source)]


def _lines(runs: Sequence[_Run]) -> list[str]:
    return [
        line.strip()
        for run in runs
        for line in run.text.splitlines()
        if any(char.isalnum() for char in line)
    ]


def _closest(runs: Sequence[_Run], words: str) -> str:
    """The line of plain wording nearest `words`: the one holding most of its words of three
    letters or more (each within difflib's 0.8 of one of the line's), then the one with a
    stretch of about as many words most like them (difflib's ratio; a line holding none of
    its words is quoted only from LIKE on); the first of equals; "" when no line is near."""
    needle = _fold(words)
    wanted = {word for word in _WORD.findall(needle) if len(word) > 2}  # "a", "or": any line
    size = max(1, len(needle.split()))
    matcher = SequenceMatcher(autojunk=False)
    matcher.set_seq2(needle)
    best, best_key = "", (0, 0.0)
    for line in _lines(runs):
        said = _fold(line)
        hits = sum(1 for word in wanted if get_close_matches(word, _WORD.findall(said), 1, 0.8))
        if hits < best_key[0]:
            continue
        ratio = 0.0
        spoken = said.split()
        for width in sorted({max(1, size - 1), size, size + 1}):
            for at in range(max(1, len(spoken) - width + 1)):
                matcher.set_seq1(" ".join(spoken[at : at + width]))
                if matcher.real_quick_ratio() > ratio:
                    ratio = max(ratio, matcher.ratio())
        if (hits or ratio >= LIKE) and (hits, ratio) > best_key:
            best, best_key = line, (hits, ratio)
    return best
