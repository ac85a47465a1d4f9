"""What a patient's lock screen would show of a message, folded for the lock-screen rule.

Reminders and the other messages the bot sends unprompted show on a locked phone, so they
must not name the treatment. The rule is checked on what a person would *read*: the rendered
HTML with its tags removed and its entities decoded, invisible characters (zero-width spaces,
soft hyphens, joiners: Unicode format characters) removed, compatibility forms and accents
folded, letters that look like Latin ones (Cyrillic "е", Greek "ο") read as those, case
ignored, and every space and punctuation mark between letters dropped, so that neither
``<b>ket</b>amine``, ``ket&#173;amine``, ``kеtamine`` (Cyrillic е) nor ``k e t a m i n e``
passes. Lookalikes come from Unicode's confusable mappings (UTS #39), by the same library the
crisis screen folds them with (`disarm`, bot/domain/safety_text.py). A letter that looks like
both a capital I and a small l (Greek "Ι", Cyrillic "І", the palochka "ӏ") is read both ways:
the text has two readings then, and a word found in either is shown.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from html.parser import HTMLParser

from disarm import normalize_confusables

__all__ = ["fold", "readings", "visible_text", "words_shown"]


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
    """The Latin letter `char` looks like, in lower case, or `char` itself."""
    if char.isascii() or not char.isalpha():
        return char
    # Some letters are in Unicode's table by their small form only ("Ω" -> "ω" -> "w").
    for form in (char, char.casefold()):
        folded = normalize_confusables(form)
        if folded.isascii() and folded.isalpha():
            return folded.lower()
    return char


@lru_cache(maxsize=1024)
def _stroke(char: str) -> bool:
    """Whether `char` is a letter other than I and l that looks like an I or an l."""
    return not char.isascii() and char.isalpha() and _latin(char) in ("i", "l")


def fold(text: str, stroke: str | None = None) -> str:
    """`text` as letters and digits only, folded as the module's doc says; `stroke`, when
    given, is how a letter that looks like both I and l is read."""
    composed = unicodedata.normalize("NFKC", text)
    kept = (c for c in composed if unicodedata.category(c) != "Cf")
    latin = (stroke if stroke and _stroke(c) else _latin(c) for c in kept)
    decomposed = unicodedata.normalize("NFD", "".join(latin))
    plain = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    return "".join(c for c in plain.casefold() if c.isalnum())


def readings(text: str) -> tuple[str, ...]:
    """`text` folded: once, or twice when a letter in it looks like both I and l (as "i",
    then as "l")."""
    if text.isascii() or not any(map(_stroke, unicodedata.normalize("NFKC", text))):
        return (fold(text),)
    return fold(text, "i"), fold(text, "l")


def words_shown(html: str, words: Iterable[str]) -> list[str]:
    """The `words` a reader would find in the message `html` (see the module's doc)."""
    shown = readings(visible_text(html))
    return [
        word
        for word, folded in _folded(tuple(words))
        if folded and any(folded in reading for reading in shown)
    ]


@lru_cache(maxsize=64)
def _folded(words: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    return tuple((word, fold(word)) for word in words)
