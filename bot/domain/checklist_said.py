"""What a patient tells the bot they have done of their preparation checklist: "my husband is
driving me home" (the ride), "just bought an eye mask!", "ya tengo el antifaz". The items a
message says are done are read with the phrases of ``messages/<lang>/checklist_said.toml``
(staff edit them; its header explains them): per checklist item, phrases that say it is done.

A message says nothing done, whatever phrase it holds, when it

* asks: a "?" or "¿" anywhere (a "?" after a statement only hedges it: "my sister is driving
  me?" is not settled either), or a sentence that opens with a word of ``asking`` (after any
  ``fillers``: "hi, can my husband drive me home" asks without a "?");
* holds a word or phrase of ``unless`` anywhere: a negation or a difficulty ("my friend can't
  drive me anymore", "no tengo quien me lleve"), something still to do or uncertain ("I might
  ask my sister to drive me", "I need to buy an eye mask").

The whole message, not a clause of it: ticking an item the patient has not done is the worse
mistake (a reminder about a ticked item is not sent), so any doubt leaves the message to the
FAQ, which answers it as before.

A phrase matches its words in order, with at most :data:`GAP` other words between two of them
("bought eye mask" in "bought a new eye mask"), counted again from nothing after a word of
``joining`` ("and", "y"): one verb may serve a list, "packed my headphones and my eye mask"
ticks both. An ``unless`` phrase matches its words next to each other. Words are compared as
the FAQ compares them: lower case, without accents or apostrophes ("sister's" is "sisters",
"can't" is "cant").

Pure: no aiogram, no database. Which of the items said the patient's next visit has, and
ticking them, is the preparation service's (bot/services/reminders.py ``tick_said``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from bot.domain.accents import unaccented
from bot.domain.text_normalization import normalize

__all__ = ["GAP", "SaidDone", "has_phrase", "words"]

GAP = 2
"""Other words allowed between two words of a phrase ("got ride sorted" for "got my ride
sorted", "hice lista musica" for "hice mi lista de música")."""

_SENTENCE_BREAK = re.compile(r"[.!;:,\n\u2026]+")
"""What ends a sentence or a clause, for where a question may open ("ok, can he drive me?")."""


def words(text: str) -> tuple[str, ...]:
    """The words of `text` as phrases are compared: normalized, without accents."""
    return tuple(unaccented(normalize(text)).split())


def asks_something(
    text: str, asking: Iterable[str] | frozenset[str], fillers: Iterable[str] | frozenset[str]
) -> bool:
    """A "?" or "¿" anywhere, or a sentence that opens (after ``fillers``) with a word of
    ``asking``: shared by the readings of things done and of "when is my visit?"."""
    if "?" in text or "¿" in text:
        return True
    for sentence in _SENTENCE_BREAK.split(text):
        for word in words(sentence):
            if word in asking:
                return True
            if word not in fillers:
                break
    return False


def has_phrase(
    said: Sequence[str], phrase: Sequence[str], gap: int, joining: frozenset[str] = frozenset()
) -> bool:
    """Whether `phrase`'s words occur in `said` in order, at most `gap` words apart (a word of
    `joining` between them starts the count again)."""
    if not phrase:
        return False

    def rest(index: int, at: int) -> bool:
        if index == len(phrase):
            return True
        skipped = 0
        for j in range(at, len(said)):
            if said[j] == phrase[index] and rest(index + 1, j + 1):
                return True
            skipped = 0 if said[j] in joining else skipped + 1
            if skipped > gap:
                return False
        return False

    return any(word == phrase[0] and rest(1, i + 1) for i, word in enumerate(said))


class SaidDone:
    """One language's reading of "I've done it" (see the module docstring)."""

    def __init__(
        self,
        said: Mapping[str, Iterable[str]],
        *,
        unless: Iterable[str] = (),
        asking: Iterable[str] = (),
        fillers: Iterable[str] = (),
        joining: Iterable[str] = (),
    ) -> None:
        self._said = tuple(
            (item, tuple(p for p in (words(phrase) for phrase in phrases) if p))
            for item, phrases in said.items()
        )
        self._unless = tuple(p for p in (words(phrase) for phrase in unless) if p)
        self._asking = frozenset(w for text in asking for w in words(text))
        self._fillers = frozenset(w for text in fillers for w in words(text))
        self._joining = frozenset(w for text in joining for w in words(text))

    @property
    def items(self) -> frozenset[str]:
        """The items this language has phrases for."""
        return frozenset(item for item, phrases in self._said if phrases)

    def asks(self, text: str) -> bool:
        """Whether `text` asks something (or hedges with a "?"): see the module docstring."""
        return asks_something(text, self._asking, self._fillers)

    def doubts(self, text: str) -> bool:
        """Whether `text` holds a word or phrase of ``unless`` (negation, difficulty, a plan
        not carried out yet)."""
        said = words(text)
        return any(has_phrase(said, phrase, 0) for phrase in self._unless)

    def done(self, text: str) -> frozenset[str]:
        """The checklist items `text` says are done (empty when it asks or doubts)."""
        said = words(text)
        if not said or self.asks(text) or self.doubts(text):
            return frozenset()
        return frozenset(
            item
            for item, phrases in self._said
            if any(has_phrase(said, phrase, GAP, self._joining) for phrase in phrases)
        )
