"""The FAQ matcher's cost per message: the keywords alone (as before issue 17) vs. the
keywords weighed with the learned layer (now).

    .venv/bin/python -m bench.faq_matcher        # [--rounds 7]

Both matchers are the working tree's as the bot builds them (``Content.faq(lang).matcher``),
one with its learned layer and one without (``Faq.keywords_matcher()``: the keyword layer is the
code of before, its verdict computed the same way). They read the same messages: every
development FAQ corpus, per language, first cold (a fresh matcher: every word's corrections
and features computed once) and then warm (the same matcher again: what a running bot sees,
patients asking in much the same words), and a long message (4,096 characters, Telegram's
most). Reported: the best of ``--rounds`` passes, in µs per message. Also: the time to read
the model (once per process) and to build a matcher (once per content version).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence

from bench.common import ROOT, log
from bot.content.loading import _faq_model
from bot.content.store import Content
from bot.domain.faq import FaqMatcher
from tests.faq_corpora import LANGUAGES, corpus, development_files

LONG = "my appointment is next week and i was wondering about parking and the cost " * 60


def _best(run: Callable[[], None], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def _per_message(matcher: FaqMatcher, texts: Sequence[str], rounds: int) -> float:
    def run() -> None:
        for text in texts:
            matcher.classify(text)

    return 1e6 * _best(run, rounds) / len(texts)


def _cold(build: Callable[[], FaqMatcher], texts: Sequence[str], rounds: int) -> float:
    """µs per message through a matcher built just before (its build not counted)."""
    best = float("inf")
    for _ in range(rounds):
        matcher = build()
        started = time.perf_counter()
        for text in texts:
            matcher.classify(text)
        best = min(best, time.perf_counter() - started)
    return 1e6 * best / len(texts)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    print("| messages | keywords µs/msg | with model µs/msg | ratio |")
    print("|---|---|---|---|")
    for lang in LANGUAGES:
        texts = [text for path in development_files(lang) for _, text in corpus(path)]
        content = Content(ROOT / "messages")
        model = content.faq_model(lang)
        log(f"{lang}: {len(texts)} messages, model {'yes' if model else 'none'}")

        def fresh(lang: str = lang, learned: bool = True) -> FaqMatcher:
            _faq_model.cache_clear()
            return Content(ROOT / "messages").faq(lang).build(learned)

        rows = [
            (
                f"{lang} corpora, {len(texts)}, cold",
                _cold(lambda: fresh(learned=False), texts, args.rounds),
                _cold(fresh, texts, args.rounds),
            ),
        ]
        matcher = content.faq(lang).matcher
        keywords = content.faq(lang).keywords_matcher()
        rows.append(
            (
                f"{lang} corpora, {len(texts)}, warm",
                _per_message(keywords, texts, args.rounds),
                _per_message(matcher, texts, args.rounds),
            )
        )
        rows.append(
            (
                f"{lang} one message of {len(LONG)} characters",
                _per_message(keywords, [LONG], args.rounds),
                _per_message(matcher, [LONG], args.rounds),
            )
        )
        for name, old, new in rows:
            print(f"| {name} | {old:.1f} | {new:.1f} | {new / old:.2f} |")

        def load(lang: str = lang) -> None:
            _faq_model.cache_clear()
            Content(ROOT / "messages").faq_model(lang)

        def build(lang: str = lang) -> None:
            _ = Content(ROOT / "messages").faq(lang).matcher

        print(
            f"| {lang}: reading the model (once per process) | | "
            f"{1e3 * _best(load, args.rounds):.0f} ms | |"
        )
        print(
            f"| {lang}: building a matcher (model read) | "
            f"{1e3 * _best(build, args.rounds):.0f} ms | | |"
        )


if __name__ == "__main__":
    main()
