"""A patient asking when their own visit is (bot/domain/visit_asked.py), read with the shipped
words (messages/<lang>/visit_asked.toml): what must be read as asking, and as important what
must not (the FAQ's questions about a visit, a request for a new time, a statement); the
corpora of tests/corpora/visit_asked/ (the development lists, all of them; the held-out lists,
to the floors they reached when measured once); no question of the FAQ corpora taken from the
FAQ; and the content check of the file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.content.store import Content
from bot.content.validate import validate_content
from bot.domain.visit_asked import VisitAsked

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "messages"
CORPORA = ROOT / "tests" / "corpora" / "visit_asked"
FAQ_CORPORA = ROOT / "tests" / "corpora" / "faq"
_CONTENT = Content(BUNDLED)

HELD_OUT_FLOORS = {"en": (37, 40), "es": (38, 40)}
"""Of the held-out lists' 40 questions and 40 others: the questions read as asking, the others
left alone, when measured once with the final words (December 2026)."""


def asked(text: str, lang: str) -> bool:
    return _CONTENT.visit_asked(lang).asked(text)


@pytest.mark.parametrize(
    "text",
    [
        "what time is my appointment?",
        "when is my infusion?",
        "is my visit still on thursday?",
        "what time is my appointment",  # a question without its "?"
        "hi, when's my next appt",
        "what's my next appointment",
        "do i have an appointment tomorrow?",
        "am i booked for friday?",
        "what are my appointments",
        "i forgot what time my appointment is",  # asked without a question
        "can you remind me when my next visit is",
        "when do i come in",
    ],
)
def test_english_asks(text: str) -> None:
    assert asked(text, "en")


@pytest.mark.parametrize(
    "text",
    [
        "¿a qué hora es mi cita?",
        "¿cuándo me toca?",
        "cuando es mi proxima cita",
        "¿tengo cita mañana?",
        "¿sigue en pie mi cita del jueves?",
        "no me acuerdo a qué hora es mi cita",
        "cuáles son mis citas",
    ],
)
def test_spanish_asks(text: str) -> None:
    assert asked(text, "es")


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        # the FAQ's topics
        ("how long does a visit take?", "en"),
        ("what should i bring to my appointment?", "en"),
        ("can i eat before my appointment?", "en"),
        ("when is my last meal before the infusion", "en"),
        ("when will i feel better after my infusion", "en"),
        ("whats the earliest appointment time", "en"),
        ("¿cuánto dura la cita?", "es"),
        ("a que hora es mi ultima comida", "es"),
        # a request for a new time: the reschedule answer
        ("can i reschedule my appointment?", "en"),
        ("i need to change my appointment time", "en"),
        ("¿puedo cambiar mi cita?", "es"),
        # statements: a visit to add, or nothing asked
        ("my appointment is thursday at 2pm", "en"),
        ("i have an appointment on friday", "en"),
        ("mi cita es el jueves a las 2", "es"),
        ("tengo una cita el viernes", "es"),
        # a past visit, another's visit, a visit named by no word of it
        ("¿cuándo fue mi última infusión?", "es"),
        ("what's my next step", "en"),
        ("what time does the clinic open", "en"),
    ],
)
def test_other_questions_and_statements_are_not_read(text: str, lang: str) -> None:
    assert not any(asked(text, other) for other in _CONTENT.languages), lang


def test_the_reading_by_its_lists() -> None:
    """The rule itself, with words of its own: a question (a "?", an opening word, a telling
    phrase), a visit and a when in either order or one phrase of both, and no unless."""
    reading = VisitAsked(
        when=["when", "what time"],
        visit=["my appointment"],
        alone=["am i booked"],
        asking=["when", "what", "am"],
        fillers=["hi"],
        telling=["remind me"],
        unless=["bring", "how long"],
    )
    assert reading.asked("when is my appointment")
    assert reading.asked("hi, what time is my next appointment")  # a filler, a word between
    assert reading.asked("my appointment is at what time?")  # either order
    assert reading.asked("remind me what time my appointment is")
    assert reading.asked("am i still booked")  # alone
    assert not reading.asked("my appointment is when")  # no question
    assert not reading.asked("what time is it?")  # no visit
    assert not reading.asked("is my appointment soon?")  # no when
    assert not reading.asked("what time should i bring my appointment card?")
    assert not reading.asked("What Time... how long is my appointment?")
    assert not reading.asked("")


def _corpus(path: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {"ask": [], "other": []}
    section: str | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line in ("# ask", "# other"):
            section = line[2:]
        elif line and not line.startswith("#"):
            assert section is not None, f"{path}: {line!r} before a section"
            found[section].append(line)
    return found


def _read(found: dict[str, list[str]], lang: str) -> tuple[list[str], list[str]]:
    """The questions missed and the others taken, read as the bot reads them: with every
    language's words."""

    def reads(text: str) -> bool:
        return any(asked(text, other) for other in (lang, *_CONTENT.languages))

    return [t for t in found["ask"] if not reads(t)], [t for t in found["other"] if reads(t)]


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_development_lists_all_pass(lang: str) -> None:
    found = _corpus(CORPORA / f"dev_{lang}.txt")
    assert len(found["ask"]) >= 30 and len(found["other"]) >= 30
    assert _read(found, lang) == ([], [])


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_held_out_lists_keep_their_floors(lang: str) -> None:
    found = _corpus(CORPORA / f"heldout_{lang}.txt")
    assert (len(found["ask"]), len(found["other"])) == (40, 40)
    missed, taken = _read(found, lang)
    read, left = 40 - len(missed), 40 - len(taken)
    print(f"\nheld-out {lang}: {read}/40 questions read, {left}/40 others left alone")
    floor_read, floor_left = HELD_OUT_FLOORS[lang]
    assert read >= floor_read and left >= floor_left, (missed, taken)


@pytest.mark.parametrize("lang", ["en", "es"])
def test_no_question_of_the_faq_corpora_is_taken_from_the_faq(lang: str) -> None:
    taken = []
    for path in sorted((FAQ_CORPORA / lang).glob("*.tsv")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("#") or "\t" not in line:
                continue
            topic, text = line.split("\t", 1)
            if any(asked(text, other) for other in _CONTENT.languages):
                taken.append((path.name, topic, text))
    assert taken == []


def test_the_check_reads_the_file_and_names_what_is_wrong(tmp_path: Path) -> None:
    """A language without the file reads the default language's and is told; a field the
    file does not know is named with its line."""
    messages = tmp_path / "messages"
    shutil.copytree(BUNDLED, messages)
    (messages / "es" / "visit_asked.toml").unlink()
    assert validate_content(messages) == [
        f"{messages / 'es' / 'visit_asked.toml'}: missing (falls back to en)"
    ]
    assert Content(messages).visit_asked("es").asked("when is my appointment?")
    path = messages / "en" / "visit_asked.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text + 'maybe = ["perhaps"]\n', encoding="utf-8")
    line = text.count("\n") + 1
    assert f"{path}:{line}: maybe: unknown setting" in "\n".join(validate_content(messages))
