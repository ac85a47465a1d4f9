"""What a patient's lock screen would show of a message, folded for the lock-screen rule.

Reminders and the other messages the bot sends unprompted show on a locked phone, so they
must not name the treatment. The rule is checked on what a person would *read*: the rendered
HTML with its tags removed and its entities decoded, invisible characters (zero-width spaces,
soft hyphens, joiners: Unicode format characters) removed, compatibility forms and accents
folded, letters that look like Latin ones (Cyrillic "е", Greek "ο") read as those, case
ignored, and every space and punctuation mark between letters dropped, so that neither
``<b>ket</b>amine``, ``ket&#173;amine``, ``kеtamine`` (Cyrillic е) nor ``k e t a m i n e``
passes. Lookalikes come from Unicode's confusables data (the confusable_homoglyphs package).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from html.parser import HTMLParser

from confusable_homoglyphs import confusables

__all__ = ["fold", "visible_text", "words_shown"]


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def visible_text(html: str) -> str:
    """The text of Telegram HTML as it is shown: tags removed, entities decoded."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts)


@lru_cache(maxsize=4096)
def _latin(char: str) -> str:
    """The Latin letter `char` looks like, or `char` itself."""
    if char.isascii() or not char.isalpha():
        return char
    found = confusables.is_confusable(char, preferred_aliases=["latin"], greedy=True)
    for entry in found or ():
        for glyph in entry["homoglyphs"]:
            if glyph["c"].isascii() and glyph["c"].isalpha():
                return str(glyph["c"]).lower()
    return char


def fold(text: str) -> str:
    """`text` as letters and digits only, folded as the module's doc says."""
    composed = unicodedata.normalize("NFKC", text)
    kept = (c for c in composed if unicodedata.category(c) != "Cf")
    decomposed = unicodedata.normalize("NFD", "".join(_latin(c) for c in kept))
    plain = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    return "".join(c for c in plain.casefold() if c.isalnum())


def words_shown(html: str, words: Iterable[str]) -> list[str]:
    """The `words` a reader would find in the message `html` (see the module's doc)."""
    shown = fold(visible_text(html))
    return [word for word, folded in _folded(tuple(words)) if folded and folded in shown]


@lru_cache(maxsize=64)
def _folded(words: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    return tuple((word, fold(word)) for word in words)
