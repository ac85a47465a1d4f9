"""How the bot reads any message's text for matching (the FAQ's keywords, the crisis
screen's first step): :func:`normalize`.

Unicode NFKC; invisible characters removed (every format character, category Cf, such as the
zero-width space, soft hyphen, word joiner, ZWJ/ZWNJ and BOM, plus the other default-ignorable
marks: variation selectors, the combining grapheme joiner, Mongolian variation selectors); the
Hangul fillers, which render as blank space, turned into spaces; curly quotes straightened;
casefold; apostrophes removed ("can't" == "cant"); every other run of punctuation and
whitespace turned into one space. Invisible characters are removed rather than turned into
spaces, so that "k<ZWSP>ill" is the word "kill". The crisis screen folds more
(bot/domain/safety_text.py), from the same tables.

This module is pure: no aiogram, no database.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

__all__ = [
    "BLANK_LETTERS",
    "INVISIBLE",
    "SPACED_TABLE",
    "TEXT_TABLE",
    "finish_words",
    "normalize",
    "punct_to_spaces",
]

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
BLANK_LETTERS: tuple[int, ...] = (0x115F, 0x1160, 0x3164, 0xFFA0)


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


INVISIBLE: frozenset[int] = frozenset(_invisible_code_points())
_REMOVE: dict[int, str | None] = dict.fromkeys(INVISIBLE)
_BLANKS: dict[int, str | None] = dict.fromkeys(BLANK_LETTERS, " ")
_QUOTE_MAP: dict[int, str | None] = {ord(k): v for k, v in _QUOTES.items()}

# One translate table per pipeline, so that everything before casefolding is one pass.
TEXT_TABLE = str.maketrans(_QUOTE_MAP | _REMOVE | _BLANKS)
# Invisible characters as word breaks (the behaviour before they were removed).
SPACED_TABLE = str.maketrans(_QUOTE_MAP | dict.fromkeys(INVISIBLE, " ") | _BLANKS)

# Underscore counts as \w for `re`, but it is punctuation for people: "self_harm" is two words.
_PUNCT_RE = re.compile(r"[\W_]+")


def punct_to_spaces(words: str) -> str:
    """Every run of punctuation, underscores and whitespace as one space, ends trimmed."""
    return _PUNCT_RE.sub(" ", words).strip()


def finish_words(text: str) -> str:
    """Casefold translated text and drop apostrophes; punctuation is still there."""
    return text.casefold().replace("'", "")  # "can't" == "cant", "OD'd" == "odd"


def normalize(text: str) -> str:
    """Fold ``text`` to the form that FAQ keywords are matched against.

    NFKC, invisible (format and other default-ignorable) characters removed, lowercase
    (casefold), curly quotes straightened, apostrophes removed so that "can't" and "cant"
    are the same word, every other run of punctuation, underscores and whitespace turned
    into one space, and the ends trimmed. The result contains only word characters
    separated by single spaces. The crisis screen folds more (bot/domain/safety_text.py).
    """
    return punct_to_spaces(finish_words(unicodedata.normalize("NFKC", text).translate(TEXT_TABLE)))
