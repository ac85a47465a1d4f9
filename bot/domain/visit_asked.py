"""A patient asking when their own visit is: "what time is my appointment?", "when is my
infusion?", "is my visit still on thursday?", "¿a qué hora es mi cita?", "¿cuándo me toca?".
The bot knows their visits, so it answers from them (bot/telegram/handlers/own_visit.py)
rather than with an answer text of the FAQ.

Read with the words of ``messages/<lang>/visit_asked.toml`` (staff edit them; its header
explains them). A message asks when the patient's visit is when

* it asks: a "?" or "¿" anywhere, a sentence that opens with a word of ``asking`` (after any
  ``fillers``: "hi, when is my appointment"), or a phrase of ``telling`` that asks without a
  question ("i forgot when my appointment is", "recuérdame a qué hora es mi cita");
* it names the patient's visit with a phrase of ``visit`` ("my appointment", "mi cita", "i
  come in", "me toca") and asks when with a phrase of ``when`` ("when", "what time",
  "thursday", "a qué hora"), in either order; or holds a phrase of ``alone``, which says
  both ("am i booked", "do i have an appointment", "mis citas");
* and it holds no word or phrase of ``unless``: the FAQ's topics and the requests the bot
  answers otherwise ("how long does my appointment take?", "what should i bring to my
  appointment?", "can i reschedule my appointment?", "when is my last meal before the
  infusion?"). A question the words here do not settle is the FAQ's, as before.

A statement is no question ("my appointment is thursday at 2pm" is a visit to add, read by
bot/domain/visit_mentions.py before this). Phrases of ``visit``, ``alone`` and ``telling``
match their words in order with at most :data:`GAP` other words between two of them ("my
next appointment", "my 3rd infusion"); phrases of ``when`` and ``unless`` match their words
next to each other. Words are compared as the FAQ compares them: lower case, without accents
or apostrophes ("when's" is "whens", "cuándo" is "cuando").

Pure: no aiogram, no database.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.domain.checklist_said import asks_something, has_phrase, words

__all__ = ["GAP", "VisitAsked"]

GAP = 2
"""Other words allowed between two words of a ``visit``, ``alone`` or ``telling`` phrase ("my
next appointment" for "my appointment", "tengo alguna cita" for "tengo cita")."""


Phrases = tuple[tuple[str, ...], ...]


def _phrases(texts: Iterable[str]) -> Phrases:
    return tuple(p for p in (words(text) for text in texts) if p)


class VisitAsked:
    """One language's reading of "when is my visit?" (see the module docstring)."""

    def __init__(
        self,
        *,
        when: Iterable[str] = (),
        visit: Iterable[str] = (),
        alone: Iterable[str] = (),
        asking: Iterable[str] = (),
        fillers: Iterable[str] = (),
        telling: Iterable[str] = (),
        unless: Iterable[str] = (),
    ) -> None:
        self._when = _phrases(when)
        self._visit = _phrases(visit)
        self._alone = _phrases(alone)
        self._asking = frozenset(w for text in asking for w in words(text))
        self._fillers = frozenset(w for text in fillers for w in words(text))
        self._telling = _phrases(telling)
        self._unless = _phrases(unless)

    def asked(self, text: str) -> bool:
        """Whether `text` asks when the patient's own visit is (see the module docstring)."""
        said = words(text)
        if not said or self._any(said, self._unless, 0):
            return False
        if not (
            asks_something(text, self._asking, self._fillers) or self._any(said, self._telling, GAP)
        ):
            return False
        if self._any(said, self._alone, GAP):
            return True
        return self._any(said, self._visit, GAP) and self._any(said, self._when, 0)

    @staticmethod
    def _any(said: tuple[str, ...], phrases: Phrases, gap: int) -> bool:
        return any(has_phrase(said, phrase, gap) for phrase in phrases)
