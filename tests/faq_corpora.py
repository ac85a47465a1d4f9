"""The FAQ corpora: ``tests/corpora/faq/<lang>/*.tsv``, lines of ``topic<TAB>message``.

``dev.tsv``, ``dev2.tsv``, ``dev4.tsv``, ``dev5.tsv`` and ``dev6.tsv`` were written by people
who never saw the keywords; ``own.tsv`` holds the engineers' own additions. A held-out file
(its name holds ``heldout``) is measured, never read to tune or train: :func:`development_files`
leaves it out.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT / "tests" / "corpora" / "faq"
LANGUAGES = ("en", "es")
OFF_TOPIC = "off_topic"
TOPICS = frozenset(
    {
        "what_to_expect", "how_long", "how_it_feels", "recovery", "how_it_works",
        "conditions", "why_several", "with_therapy", "how_to_prepare", "contact",
        "eating_drinking", "medications", "what_to_bring", "location", "hours", "cost",
        "pain", "side_effects", "back_to_work", "greeting", "thanks", "ack", "nervous",
        "reschedule", "good_news", OFF_TOPIC,
    }
)  # fmt: skip


def corpus(path: Path) -> list[tuple[str, str]]:
    lines: list[tuple[str, str]] = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        topic, sep, text = raw.partition("\t")
        assert sep and text.strip(), f"{path.name}:{number}: not topic<TAB>message"
        assert topic in TOPICS, f"{path.name}:{number}: unknown topic {topic!r}"
        lines.append((topic, text.strip()))
    return lines


HELD_OUT = "heldout"


def development_files(lang: str) -> list[Path]:
    """A language's corpora that keywords and the learned layer may be tuned on."""
    return [p for p in sorted((CORPORA / lang).glob("*.tsv")) if HELD_OUT not in p.name]
