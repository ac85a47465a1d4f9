"""Build bot/domain/slip_words.tsv: real words the date reader's slip corrector leaves alone.

The reader corrects a typing slip to the date word it is one or two edits from ("tomorow",
"mñana", "lnues"). A real word can be as close: "banana" is one letter from "manana", "abrir"
from "abril", "match" from "march", "mourning" from "morning". This script lists every common
English and Spanish word that the corrector would otherwise turn into a date word, so that
bot/domain/when_parser.py reads them as the words they are.

Run it when the vocabulary (bot/domain/when_words.py) or the corrector's rules change, then
commit the file:

    python -m venv /tmp/wordfreq && /tmp/wordfreq/bin/pip install wordfreq
    PYTHONPATH=. /tmp/wordfreq/bin/python scripts/build_slip_words.py

Source: the `wordfreq` package (Apache 2.0; its data CC BY-SA 4.0), word frequencies from
subtitles, books, news, Wikipedia and the web. A word counts as real when it is at least as
common as about once in a million words (Zipf 3.0): common misspellings ("tommorow", 2.3;
"tomorow", 1.8) stay below that, so they are still read as the date word they mean. Left out:
a date word of any language the reader knows ("abril" is read in English too), and the plural
of the date word it is near ("mondays", "domingos": read as the day, as before). The bot
needs a few hundred words, so it reads the file and does not install wordfreq.
"""

from __future__ import annotations

import sys
from pathlib import Path

from wordfreq import top_n_list, zipf_frequency  # type: ignore[import-not-found]

from bot.domain.accents import unaccented
from bot.domain.when_parser import knows, slip_of
from bot.domain.when_words import VOCABULARIES

OUT = Path(__file__).resolve().parent.parent / "bot" / "domain" / "slip_words.tsv"
LANGUAGES = ("en", "es")
TOP = 100_000
"""How many of each language's most frequent words are read."""
REAL = 3.0
"""The Zipf frequency from which a word is real (3.0: once in a million words)."""
MEANT = frozenset({"mornin", "mach"})
"""Common words read as the date word they are near: "mornin" (a date word spelt as people say
it), "mach" (March with a letter dropped: a physicist's Mach number is not typed beside a day;
the reader's own property test forgives every dropped letter of a month)."""


def main() -> int:
    found: dict[str, tuple[str, str, float]] = {}
    for lang in LANGUAGES:
        for raw in top_n_list(lang, TOP):
            frequency = zipf_frequency(raw, lang)
            if frequency < REAL:
                break  # the list is in order of frequency
            word = unaccented(raw.casefold())
            if not word.isalpha() or word in found or word in MEANT:
                continue
            if any(knows(vocabulary, word) for vocabulary in VOCABULARIES.values()):
                continue  # a date word of another language ("abril" is April in English too)
            for vocabulary in VOCABULARIES.values():
                target = slip_of(word, vocabulary, keep_real=False)
                if target is not None and word not in (f"{target}s", f"{target}es"):
                    found[word] = (lang, target, frequency)
                    break
    lines = [
        "# Real words the date reader's slip corrector leaves alone (scripts/build_slip_words.py).",
        "# word\tlanguage\tthe date word it is a slip's distance from\tZipf frequency",
        *(
            f"{word}\t{lang}\t{target}\t{frequency:.2f}"
            for word, (lang, target, frequency) in sorted(found.items())
        ),
    ]
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{OUT}: {len(found)} words", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
