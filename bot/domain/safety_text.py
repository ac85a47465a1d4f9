"""How the crisis screen reads a message: the foldings against evasion, and the variants.

It starts from the normalisation FAQ matching uses too (bot/domain/text_normalization.py:
:func:`normalize`): Unicode NFKC; invisible characters removed (every
format character, category Cf, such as the zero-width space, soft hyphen, word joiner,
ZWJ/ZWNJ and BOM, plus the other default-ignorable marks: variation selectors, the combining
grapheme joiner, Mongolian variation selectors); the Hangul fillers, which render as blank
space, turned into spaces; curly quotes straightened; casefold; apostrophes removed ("can't"
== "cant"); every other run of punctuation and whitespace turned into one space. Invisible
characters are removed rather than turned into spaces, so that "k<ZWSP>ill" is the word "kill".

The crisis screen folds more, because a person in crisis may write oddly and someone testing
the bot may write to dodge it, while FAQ matching of ordinary text would only get worse:

- **Accents and other combining marks** are dropped after canonical decomposition
  ("suicidarme" == "suicidármé"; marks stacked on letters to dodge the screen go too).
- **Lookalike letters** are folded to the Latin letter they look like with Unicode's
  confusable mappings (UTS #39, the `disarm` library's implementation: Cyrillic, Greek,
  Cherokee, small capitals, mathematical letters...). Enclosed, squared and fullwidth letters
  are already plain letters after NFKC. A word is only folded when it had a Latin letter or
  becomes Latin entirely, so a Russian or Greek word is left as it is (a lexicon written in
  those scripts still matches itself). Both sides are folded: the lexicon's phrases too.
- **A capital I standing for l** inside a lowercase word ("kiII myseIf") is read as l, in a
  variant of its own.
- **Numbers and leet** (variants of their own): standalone "2" -> "to", "4" -> "for", "u" ->
  "you", "ur" -> "your", "r" -> "are", a few number words ("4ever", "2nite"), and in a word
  that mixes letters with digits, "@", "$" or "!": 0 -> o, 1 -> i, 3 -> e, 4 -> a, 5 -> s,
  7 -> t, @ -> a, $ -> s, ! -> i. Since "1" may stand for "i" or "l" ("ki11"), a word with a
  "1" is read both ways. "too" and "two" are read as "to" everywhere, on both sides, so that
  "took 2 many" is "took too many".
- **A letter starred out** ("k*lling", "s*icide") is read as the lexicon word it can only be.
- **Letters spaced or split by punctuation** ("k i l l", "k.i.l.l", "q u i e r o  m o r i r":
  one separator between letters, a wider gap between words, and a word of one or two spaced
  letters among them: "s o y  u n  e s t o r b o") are joined; two pieces that make
  a word of the lexicon ("sui cide", "over dose") are joined; words run together in a hashtag
  or a joined run ("#killmyself") are split into the lexicon's words where they can all be
  found there. **A letter said three times or more** ("diiiie", "moriiiir") is said once, or
  twice when that makes a word of the lexicon ("allll" is "all"). One "joined" variant holds
  all of that.
- **Emoji standing for a word** (the lexicons' ``[emoji]`` tables: a skull for "die", a knife
  for "cut") are read as that word, in a variant per language, so "I want to 💀" is "I want to
  die" while "that meme 💀" stays a meme.

Every variant is only built when the message has something it would change, so an ordinary
message costs one scan. A match in any variant counts.

This module is pure: no aiogram, no database.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping

from disarm import normalize_confusables

from bot.domain.text_normalization import (
    INVISIBLE,
    SPACED_TABLE,
    TEXT_TABLE,
    finish_words,
    punct_to_spaces,
)

__all__ = [
    "Folds",
    "fold_confusables",
    "fold_numbers",
    "normalize_phrase",
    "to_for_too",
]

# Combining marks (Mn) of the Basic Multilingual Plane, dropped by the crisis screen after
# canonical decomposition: accents ("suicidarme" == "suicidárme", "corazon" == "corazón")
# and marks stacked on letters to dodge the screen ("k\u0336i\u0336l\u0336l\u0336").
_MARKS: dict[int, None] = {
    cp: None for cp in range(0x10000) if unicodedata.category(chr(cp)) == "Mn"
}

_PUNCT_KEEP_STAR_RE = re.compile(r"[^\w*]+|_+")


def strip_marks(nfkc: str) -> str:
    """Accents and other combining marks dropped, for the crisis screen only (canonical
    decomposition first, so "é" is "e"). ASCII text is returned as it is."""
    if nfkc.isascii():
        return nfkc
    return unicodedata.normalize("NFD", nfkc).translate(_MARKS)


# --- lookalike letters (UTS #39 confusables) ----------------------------------------------------

_NON_ASCII_WORD_RE = re.compile(r"[^\s]*[^\x00-\x7f][^\s]*")
_LATIN_RE = re.compile(r"[A-Za-z0-9]")


def _fold_word(match: re.Match[str]) -> str:
    word = match.group()
    folded: str = normalize_confusables(word)
    if not folded.isascii():
        # Letters whose small form is in Unicode's table but not their capital ("Ω" -> "ω").
        folded = "".join(
            ch if ch.isascii() else normalize_confusables(ch.casefold()) for ch in folded
        )
    if folded.isascii() or _LATIN_RE.search(word) is not None:
        return folded
    # A word of another script that only partly looks Latin ("хочу"): a real word, kept.
    return word


def fold_confusables(text: str) -> str:
    """Lookalike letters folded to the Latin letters they look like, word by word.

    A word is folded when it had a Latin letter or a digit (a mixed-script word: "kіll" with a
    Cyrillic "і") or when it becomes Latin entirely ("ᏦᎥᏞᏞ", "КМЅ"); any other word of a
    non-Latin script is a word of that script and is left alone. Only words with a non-ASCII
    character are looked at, so ASCII text costs one search.
    """
    if text.isascii():
        return text
    return _NON_ASCII_WORD_RE.sub(_fold_word, text)


def _screen_words(text: str, table: dict[int, str | None], *, small_first: bool = False) -> str:
    """NFKC, marks, quotes and invisibles, lookalikes, casefold: punctuation still in.

    Lookalikes are folded before casefolding, since a capital's shape can differ from its
    small letter's (Greek "Η" looks like H, "η" like n), and after (some of Unicode's entries
    are on small letters only). With ``small_first`` they are folded after casefolding only:
    how a lexicon phrase in Greek or Cyrillic reads whatever the case it is typed in.
    """
    nfkc = strip_marks(unicodedata.normalize("NFKC", text))
    translated = nfkc.translate(table)
    if translated.isascii():
        return finish_words(translated)
    if small_first:
        return fold_confusables(finish_words(translated))
    return fold_confusables(finish_words(fold_confusables(translated)))


def _normalize(text: str, *, keep_star: bool = False, screen: bool = False) -> str:
    if screen:
        words = _screen_words(text, TEXT_TABLE)
    else:
        words = finish_words(unicodedata.normalize("NFKC", text).translate(TEXT_TABLE))
    if keep_star:
        return _PUNCT_KEEP_STAR_RE.sub(" ", words).strip()
    return punct_to_spaces(words)


def normalize_phrase(text: str) -> str:
    """A lexicon phrase as the screen reads it, with its ``*`` wildcards kept (its letters of
    other scripts folded as small letters: see :func:`_screen_words`)."""
    words = _screen_words(text, TEXT_TABLE, small_first=True)
    return to_for_too(_PUNCT_KEEP_STAR_RE.sub(" ", words).strip())


# --- numbers and leet (the variant checked against the skeleton lexicon) -----------------------

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
SHORT_WORDS: dict[str, str] = {"u": "you", "ur": "your", "r": "are"}
# Inside a word that mixes letters with digits, "@", "$" or "!" only: "k1ll", "$uicide", "d!e".
LEET_TABLE = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"}
)
LEET_L_TABLE = LEET_TABLE | str.maketrans({"1": "l"})
FOLD_CHAR_RE = re.compile(r"[0-9@$]")
_ONE_IN_WORD_RE = re.compile(r"[^\W\d_]1|1[^\W\d_]")
_TRAILING_BANG_RE = re.compile(r"!+(?= |$)")
_ONES_RE = re.compile(r"\b\w*1\w*")


def _first_one_i(match: re.Match[str]) -> str:
    return match.group().replace("1", "i", 1)


_BANG_IN_WORD_RE = re.compile(r"\w!+\w")
# The punctuation step, except that "@", "$" and "!" are kept for the leet fold.
_PUNCT_KEEP_LEET_RE = re.compile(r"[^\w@$!]+|_+")
_SHORT_WORD_RE = re.compile(r"\b(?:ur?|r)\b")
_SKELETON_WORD_RE = re.compile(r"\bt(?:oo|wo)\b")


def fold_word(word: str, table: dict[int, str] = LEET_TABLE) -> str:
    """One word of the leet variant: a number word, or its digits and symbols as letters."""
    replacement = _NUMBER_WORDS.get(word)
    if replacement is not None:
        return replacement
    if not any(ch.isalpha() for ch in word):
        return word  # a number ("911", "10", "$100"): never leet
    return word.translate(table)


def _fold_leet(text: str, table: dict[int, str]) -> str:
    """Fold every word of space-separated ``text`` that has a digit, "@", "$" or "!".

    One fast character-class search finds those characters and each hit is widened to its
    word with ``str.find``, so the cost follows the number of digits rather than the
    length of the text.
    """
    parts: list[str] = []
    done = 0  # text[:done] is already in parts
    for hit in _LEET_HIT_RE.finditer(text):
        if hit.start() < done:
            continue  # in a word already folded
        start = text.rfind(" ", 0, hit.start()) + 1
        end = text.find(" ", hit.start())
        if end < 0:
            end = len(text)
        parts.append(text[done:start])
        parts.append(fold_word(text[start:end], table))
        done = end
    parts.append(text[done:])
    return "".join(parts)


_LEET_HIT_RE = re.compile(r"[0-9@$!]")


def fold_numbers(words: str, plain: str) -> list[str]:
    """The numbers-and-leet variants of a message: none if there is nothing to fold, one, or
    two when a "1" in a word may be an "i" or an "l".

    ``words`` is the message casefolded with punctuation still in, ``plain`` the same
    after the punctuation step. Cheap substring tests come first, so that a message with
    nothing to fold costs almost nothing.
    """
    has_digit = FOLD_CHAR_RE.search(words) is not None
    has_bang = "!" in words and _BANG_IN_WORD_RE.search(words) is not None
    padded = f" {plain} "
    short = " u " in padded or " r " in padded or " ur " in padded
    if not (has_digit or has_bang or short):
        return []
    source = plain
    if has_bang or "@" in words or "$" in words:
        spaced = _PUNCT_KEEP_LEET_RE.sub(" ", words).strip()
        # A "!" ending a word is punctuation ("help!"), one inside it a letter ("d!e").
        source = _TRAILING_BANG_RE.sub("", spaced)
    found: list[str] = []
    readings: tuple[dict[int, str] | None, ...] = (LEET_TABLE,)
    if _ONE_IN_WORD_RE.search(source):
        # "1" as "l" too ("ki11"), and as "i" then "l" ("k111" is "kill").
        readings = (LEET_TABLE, LEET_L_TABLE, None)
    for table in readings:
        if table is None:
            folded = _ONES_RE.sub(_first_one_i, source)
            folded = _fold_leet(folded, LEET_L_TABLE)
        elif has_digit or has_bang or source != plain:
            folded = _fold_leet(source, table)
        else:
            folded = plain
        folded = punct_to_spaces(folded)
        if short:
            folded = _SHORT_WORD_RE.sub(lambda m: SHORT_WORDS[m.group()], folded)
        folded = to_for_too(folded)
        if folded != plain and folded not in found:
            found.append(folded)
    return found


def to_for_too(plain: str) -> str:
    """ "too" and "two" read as "to" (a standalone "2" is folded to "to"), on both sides."""
    if "too" in plain or "two" in plain:
        return _SKELETON_WORD_RE.sub("to", plain)
    return plain


# --- the variants of one message ------------------------------------------------------------------

# A capital I inside a word that has small letters: "kiII", "myseIf".
_CAPITAL_I_RE = re.compile(r"[a-z]I|I[a-z]*I")
_CAPITAL_I_WORD_RE = re.compile(r"\b\w*[a-z]\w*\b")
# Letters with exactly one separator between them: "k i l l", "k.i.l.l", "s-u-i-c-i-d-e".
_SPACED_LETTERS_RE = re.compile(r"(?<![^\W\d_])(?:[^\W\d_][ .\-_*·•,/|+~]){2,}[^\W\d_](?![^\W_])")
# Words of spaced letters with a wider gap (two spaces or more) between them: "s o y  u n  e s t
# o r b o". Each letter is followed by one separator, or by the gap, or ends the run.
_SPACED_WORD = r"[^\W\d_](?:[ .\-_*·•,/|+~][^\W\d_])*"
_SPACED_WORDS_RE = re.compile(rf"(?<![^\W\d_]){_SPACED_WORD}(?:  +{_SPACED_WORD})+(?![^\W_])")
_GAP_RE = re.compile(r"  +")
# A word with a letter starred out: "k*lling", "s*icide", "d*ad".
_MASKED_RE = re.compile(r"(?<![\w*])[^\W\d_]+\*[^\W\d_]+(?![\w*])")
_SEPARATORS_RE = re.compile(r"[ .\-_*·•,/|+~]")
# A letter of a script with cases other than Latin (Greek, Cyrillic, Cherokee, Armenian...).
_NON_LATIN_LETTER_RE = re.compile(
    r"[\u0370-\u058f\u10a0-\u10ff\u13a0-\u13ff\u1c80-\u1c8f\u1f00-\u1fff\u2c00-\u2c5f\ua640-\ua69f\uab70-\uabbf]"
)
_HASHTAG_RE = re.compile(r"#(\w+)")
_STRETCHED_RE = re.compile(r"[^\W\d_]*([^\W\d_])\1{2,}[^\W\d_]*")
"""A word with a letter said three times or more ("diiiie", "moriiiir", "allll")."""
_RUN_RE = re.compile(r"([^\W\d_])\1{2,}")
MAX_SEGMENT = 40
"""The longest run of joined letters or hashtag that is split into words."""


def _capital_i_as_l(nfkc: str) -> str:
    def fix(match: re.Match[str]) -> str:
        word = match.group()
        return word[0] + word[1:].replace("I", "l")

    return _CAPITAL_I_WORD_RE.sub(fix, nfkc)


class Folds:
    """What the variants need from the lexicons: their words, and their emoji tables.

    ``words``: every word written in a lexicon (a hashtag or a joined run of letters is split
    into these); ``joinable``: the longer ones (at least 5 letters), which two pieces of a split
    word may make; ``emoji``: per language, an emoji and the word it stands for.
    """

    def __init__(self, words: Iterable[str], emoji: Mapping[str, Mapping[str, str]]) -> None:
        self.words = frozenset(w for w in words if w.isalpha())
        self.joinable = frozenset(w for w in self.words if len(w) >= 5)
        # The beginnings (3 letters or more) a split word's first piece can be.
        self._heads = frozenset(w[:k] for w in self.joinable for k in range(3, len(w) - 1))
        self._by_length: dict[int, list[str]] = {}
        for word in sorted(self.words):
            self._by_length.setdefault(len(word), []).append(word)
        self.emoji = {lang: dict(table) for lang, table in emoji.items() if table}
        symbols = sorted({e for table in self.emoji.values() for e in table}, key=len, reverse=True)
        self._emoji_re = re.compile("|".join(map(re.escape, symbols)) if symbols else "(?!)")

    # --- building the variants -------------------------------------------------------------
    def variants(self, text: str) -> list[tuple[str, str]]:
        """(words, plain) for each variant of ``text`` worth checking, the plain one first.

        ``words`` is casefolded with its punctuation, ``plain`` has only words and single
        spaces (what the lexicon is matched against).
        """
        nfkc = unicodedata.normalize("NFKC", text)
        bases = [_screen_words(text, TEXT_TABLE)]
        if not nfkc.isascii():
            if any(ord(ch) in INVISIBLE for ch in nfkc):
                bases.append(_screen_words(text, SPACED_TABLE))
            if _NON_LATIN_LETTER_RE.search(nfkc) is not None:
                bases.append(_screen_words(text, TEXT_TABLE, small_first=True))
        if "I" in nfkc and _CAPITAL_I_RE.search(nfkc) is not None:
            bases.append(_screen_words(_capital_i_as_l(nfkc), TEXT_TABLE))
        found: list[tuple[str, str]] = []
        seen: set[str] = set()

        def add(words: str) -> None:
            plain = to_for_too(punct_to_spaces(words))
            if plain and plain not in seen:
                seen.add(plain)
                found.append((words, plain))

        for words in bases:
            add(words)
        for words in bases:
            joined = self.joined(words)
            if joined is not None:
                add(joined)
            if self.emoji and not words.isascii():
                for table in self.emoji.values():
                    replaced = self._emoji_re.sub(_emoji_words(table), words)
                    if replaced != words:
                        add(replaced)
        return found

    def joined(self, words: str) -> str | None:
        """``words`` with spaced letters joined, split words mended and runs of words (a
        hashtag, a joined run) split; None when nothing changed."""
        text = words
        if _STRETCHED_RE.search(text) is not None:
            text = _STRETCHED_RE.sub(self._unstretch, text)
        if "*" in text and _MASKED_RE.search(text) is not None:
            text = _MASKED_RE.sub(self._unmask, text)
        if _SPACED_LETTERS_RE.search(text) is not None:
            if "  " in text:
                text = _SPACED_WORDS_RE.sub(self._spaced_words, text)
            text = _SPACED_LETTERS_RE.sub(lambda m: " " + self._split(_strip_seps(m)) + " ", text)
        if "#" in text:
            text = _HASHTAG_RE.sub(lambda m: " " + self._split(m.group(1)) + " ", text)
        tokens = punct_to_spaces(text).split(" ")
        mended = self._mend(tokens)
        if mended is not None:
            text = " ".join(mended)
        return None if text == words else text

    def _spaced_words(self, match: re.Match[str]) -> str:
        """Words of spaced letters, the gaps between them kept as word breaks; as it is unless
        one of them has three letters or more (so "a  b" stays two letters)."""
        words = [_SEPARATORS_RE.sub("", w) for w in _GAP_RE.split(match.group())]
        if max(len(w) for w in words) < 3:
            return match.group()
        return " " + " ".join(self._split(w) for w in words) + " "

    def _unstretch(self, match: re.Match[str]) -> str:
        """A stretched word as it is written: its runs said twice if that makes a lexicon
        word ("allll" is "all"), else once ("diiiie" is "die", "moriiiir" is "morir")."""
        word = match.group()
        twice = _RUN_RE.sub(r"\1\1", word)
        return twice if twice in self.words else _RUN_RE.sub(r"\1", word)

    def _unmask(self, match: re.Match[str]) -> str:
        """A word with letters starred out ("k*lling", "s*icide") as the lexicon word it can
        only be, if there is one of that length."""
        masked = match.group()
        pattern = re.compile(re.escape(masked).replace(r"\*", "[a-z]"))
        for word in self._by_length.get(len(masked), ()):
            if pattern.fullmatch(word):
                return word
        return masked

    def _mend(self, tokens: list[str]) -> list[str] | None:
        """Two neighbouring pieces that make a longer lexicon word, joined ("sui cide")."""
        heads = self._heads
        if heads.isdisjoint(tokens):
            return None  # the common case: one set operation
        joinable = self.joinable
        out: list[str] = []
        changed = False
        i = 0
        while i < len(tokens):
            token = tokens[i]
            if token in heads and i + 1 < len(tokens):
                pair = token + tokens[i + 1]
                if pair in joinable and not (token in joinable and tokens[i + 1] in joinable):
                    out.append(pair)
                    changed = True
                    i += 2
                    continue
            out.append(token)
            i += 1
        return out if changed else None

    def _split(self, run: str) -> str:
        """A run of letters split into lexicon words (the fewest), or as it is."""
        if len(run) > MAX_SEGMENT or run in self.words:
            return run
        n = len(run)
        best: list[list[str] | None] = [None] * (n + 1)
        best[0] = []
        for end in range(1, n + 1):
            for start in range(max(0, end - 20), end):
                head = best[start]
                if head is None:
                    continue
                piece = run[start:end]
                if piece in self.words:
                    candidate = [*head, piece]
                    current = best[end]
                    if current is None or len(candidate) < len(current):
                        best[end] = candidate
        result = best[n]
        return " ".join(result) if result else run


def _emoji_words(table: Mapping[str, str]) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        return f" {table.get(match.group(), match.group())} "

    return replace


def _strip_seps(match: re.Match[str]) -> str:
    return _SEPARATORS_RE.sub("", match.group())
