"""The language a question is clearly written in, when it is another of the bot's than the
patient's: a patient whose phone is in English asks "cuanto tiempo dura la infusion", and the
FAQ answers in Spanish. When unsure ("no", "LA", "hola", "can I bring my cobija por favor?")
the answer keeps the patient's own language.

A word tells a language when that language's words know it and no other's do: the words of
its FAQ (faq.toml's keywords and hints, the intents, the common and clinic words of
conversation.toml) and the common words the crisis screen tells a language by (safety.toml's
``language_words``). "cuanto", "dura" and "tiempo" are only Spanish's; "infusion" (accents
are not compared), "no", "me" and "ok" are both languages' and tell neither. Words of one
letter and words with digits tell nothing ("a", "u", "y", "40"). A message is clearly
written in a language when at least ``CLEAR_WORDS`` of its words tell that language and
none tells another. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from bot.domain.faq import folded

__all__ = ["CLEAR_WORDS", "QuestionLanguages"]

CLEAR_WORDS = 2
"""How many telling words of one language (and none of another) make a message clearly
written in it: one is not enough ("LA" is Spanish's word and an English speaker's city,
"hola" an English speaker's greeting too)."""


def _may_tell(word: str) -> bool:
    return len(word) > 1 and not any(char.isdigit() for char in word)


class QuestionLanguages:
    """The words that tell each language, from every language's words (folded, as
    :func:`bot.domain.faq.folded` folds a message)."""

    def __init__(self, words: Mapping[str, Iterable[str]]) -> None:
        known = {
            lang: frozenset(w for text in texts for w in folded(text))
            for lang, texts in words.items()
        }
        self._telling = {
            lang: frozenset(
                w
                for w in own
                if _may_tell(w) and not any(w in other for o, other in known.items() if o != lang)
            )
            for lang, own in known.items()
        }

    def telling(self, lang: str) -> frozenset[str]:
        """The words that tell `lang` (none for a language the bot does not have)."""
        return self._telling.get(lang, frozenset())

    def written_in(self, text: str, *, at_least: int = CLEAR_WORDS) -> str | None:
        """The language `text` is clearly written in (see the module's doc); None when
        unsure."""
        words = set(folded(text))
        counts = [(len(words & tell), lang) for lang, tell in self._telling.items()]
        found = [(n, lang) for n, lang in counts if n]
        if len(found) != 1 or found[0][0] < at_least:
            return None
        return found[0][1]
