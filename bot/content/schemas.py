"""Shapes of the data files in `messages/`, validated on load.

Staff will edit these files (and later, database versions of them), so every field is checked;
`bot/content/loading.py` reads them through `foundation.data_file`, so an error names the file,
the line and the field. (The reminder plan's models are in `scheduler/plan.py`.)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Annotated, Protocol, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    field_validator,
    model_validator,
)

from bot.domain.checklist_said import SaidDone
from bot.domain.faq import MAX_KEYWORD_LENGTH, FaqEntry, Intent, Keyword
from bot.domain.safety import (
    MAX_WITHIN,
    CrisisDetector,
    LexiconPart,
    PatternCompiler,
    Proximity,
    check_phrase,
)
from bot.domain.safety_model import CrisisModel
from bot.domain.visit_asked import VisitAsked
from bot.domain.visits import DEFAULT_VISIT_TYPE, VisitType
from bot.domain.which_week import WeekWords
from foundation import regex_cache
from foundation.data_file import FieldError

_PHONE_CHARS = set("0123456789+-() .")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class ClinicProfile(_Strict):
    """Facts about the clinic that templates may print. One file: `messages/clinic.toml`."""

    name: str = Field(min_length=1, max_length=80)
    # How reminders refer to the clinic. Reminders show on lock screens, so a name that reveals
    # the treatment (as many clinic names do) must not appear there.
    discreet_name: str = Field(default="the clinic", min_length=1, max_length=80)
    # Words reminders must never contain (checked by the content validator).
    private_words: list[str] = Field(
        default_factory=lambda: [
            "ketamine",
            "esketamine",
            "spravato",
            "depression",
            "ptsd",
            "suicid",
            "anxiety",
            "psychiatr",
            "infusion",
            # Spanish ("suicid" above covers it too)
            "ketamina",
            "esketamina",
            "infusión",
            "depresión",
            "ansiedad",
            "psiquiatr",
            "estrés postraumático",
        ]
    )
    phone: str = Field(min_length=3, max_length=32)
    phone_e164: str = Field(pattern=r"^\+[1-9][0-9]{6,14}$")
    city: str = Field(default="", max_length=80)
    address: str = Field(default="", max_length=200)
    website: str = Field(default="", max_length=200)
    hours: str = Field(default="", max_length=200)
    parking: str = Field(default="", max_length=200)
    cost_note: str = Field(default="", max_length=400)
    crisis_line: str = Field(default="988", min_length=2, max_length=16)
    emergency_number: str = Field(default="911", min_length=2, max_length=16)
    # Said in the crisis answer when someone swallowed medicine or something harmful.
    poison_control: str = Field(default="1-800-222-1222", min_length=2, max_length=32)
    # The type of a visit a patient books themselves (staff, imports and the API choose theirs).
    default_visit_type: VisitType = DEFAULT_VISIT_TYPE

    @field_validator("default_visit_type", mode="before")
    @classmethod
    def _visit_type(cls, value: object) -> object:
        if isinstance(value, str) and value not in set(VisitType):
            kinds = ", ".join(VisitType)
            raise ValueError(f"{value!r} is not a visit type; choose from {kinds}")
        return value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        if not set(value) <= _PHONE_CHARS:
            raise ValueError("may hold only digits, spaces, + - ( ) and dots")
        return value

    @field_validator("website")
    @classmethod
    def _website(cls, value: str) -> str:
        if value and not value.startswith("https://"):
            raise ValueError("must start with https://")
        return value


_FORMAT_FIELDS = frozenset(
    {
        "weekday",
        "weekday_short",
        "month",
        "month_short",
        "day",
        "year",
        "hour",
        "hour12",
        "minute",
        "ampm",
        "zone",
        "time",
        "date",
    }
)
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


class DateFormats(_Strict):
    """How one language writes dates and times; `{placeholders}` are filled by code.

    Only plain `{name}` placeholders are allowed: `str.format` would otherwise let an edited
    pattern reach attributes of the values (`{day.__class__}`)."""

    weekdays: list[str] = Field(min_length=7, max_length=7)
    months: list[str] = Field(min_length=12, max_length=12)
    weekdays_short: list[str] = Field(min_length=7, max_length=7)
    months_short: list[str] = Field(min_length=12, max_length=12)
    am: str = Field(min_length=1, max_length=8)
    pm: str = Field(min_length=1, max_length=8)
    time: str = Field(min_length=1, max_length=60)
    date: str = Field(min_length=1, max_length=60)
    datetime_long: str = Field(min_length=1, max_length=120)
    datetime_short: str = Field(min_length=1, max_length=80)
    # A length of time as `{{ minutes | duration }}` writes it: the unit's word for one, then
    # for several ("30 minutes", "2 hours", "1 hour"; 90 minutes stays "90 minutes").
    minute_words: tuple[str, str] = ("minute", "minutes")
    hour_words: tuple[str, str] = ("hour", "hours")

    @field_validator("time", "date", "datetime_long", "datetime_short")
    @classmethod
    def _placeholders(cls, value: str) -> str:
        stripped = value.replace("{{", "").replace("}}", "")
        names = _PLACEHOLDER.findall(stripped)
        unknown = sorted(set(names) - _FORMAT_FIELDS)
        if unknown:
            raise ValueError(f"unknown placeholders {unknown}; allowed: {sorted(_FORMAT_FIELDS)}")
        if "{" in _PLACEHOLDER.sub("", stripped) or "}" in _PLACEHOLDER.sub("", stripped):
            raise ValueError("unbalanced { or }")
        return value


class CommandText(_Strict):
    command: str = Field(pattern=r"^[a-z0-9_]{1,32}$")
    description: str = Field(min_length=3, max_length=256)


class CommandList(_Strict):
    command: list[CommandText] = Field(min_length=1, max_length=100)


class _Keyed(Protocol):
    @property
    def key(self) -> str: ...


K = TypeVar("K", bound=_Keyed)


def _unique_keys(tables: tuple[K, ...], what: str) -> tuple[K, ...]:
    """``tables`` if no two have the same key; the second of two named otherwise."""
    seen: set[str] = set()
    for index, table in enumerate(tables):
        if table.key in seen:
            raise FieldError((index, "key"), f"{table.key!r} is used by more than one {what}")
        seen.add(table.key)
    return tables


class FaqFile(_Strict):
    """`messages/<lang>/faq.toml`: the prompts, shown as buttons in this order."""

    prompt: tuple[FaqEntry, ...] = Field(min_length=1, max_length=40)

    @field_validator("prompt")
    @classmethod
    def _unique(cls, prompts: tuple[FaqEntry, ...]) -> tuple[FaqEntry, ...]:
        return _unique_keys(prompts, "prompt")


Words = tuple[Annotated[str, Field(min_length=1, max_length=MAX_KEYWORD_LENGTH)], ...]


class ConversationFile(_Strict):
    """`messages/<lang>/conversation.toml`: what the FAQ matcher knows besides the prompts:
    the intents the bot answers itself (greetings, thanks, nerves, a reschedule request),
    the language's `common` words (they say nothing of a topic) and the clinic's `known`
    words (of no one topic, but no sign of another subject either)."""

    common: Words = Field(default=(), max_length=2000)
    known: Words = Field(default=(), max_length=2000)
    spelling: dict[
        Annotated[str, Field(pattern=r"^[a-z0-9]{1,24}$")],
        Annotated[str, Field(pattern=r"^[a-z0-9]+( [a-z0-9]+){0,3}$", max_length=60)],
    ] = Field(default_factory=dict, max_length=500)
    """A word as typed on a phone and the words it stands for (Spanish "q": "que", "xq":
    "porque"), read so before anything else; lowercase, unaccented."""
    intent: tuple[Intent, ...] = Field(default=(), max_length=20)

    @field_validator("intent")
    @classmethod
    def _unique(cls, intents: tuple[Intent, ...]) -> tuple[Intent, ...]:
        return _unique_keys(intents, "intent")


ItemKey = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
"""A checklist item's key, as the plans name it (scheduler/plan.py)."""
_OneWord = Annotated[str, Field(min_length=1, max_length=30, pattern=r"^[^\s]+$")]


class ChecklistSaidFile(_Strict):
    """`messages/<lang>/checklist_said.toml`: what a patient says to have done of their
    checklist (bot/domain/checklist_said.py): per item key, the phrases that say it is done
    (`said`); `unless`, the words that keep a message from ticking anything; `asking` and
    `fillers`, the words with which a question opens; `joining`, the words that join a list
    ("packed my headphones and my eye mask"). Keys no plan has are named by the
    content check (bot/content/validate.py)."""

    said: dict[ItemKey, Annotated[tuple[Keyword, ...], Field(max_length=300)]] = Field(
        default_factory=dict, max_length=100
    )
    unless: tuple[Keyword, ...] = Field(default=(), max_length=1000)
    asking: tuple[_OneWord, ...] = Field(default=(), max_length=200)
    fillers: tuple[_OneWord, ...] = Field(default=(), max_length=200)
    joining: tuple[_OneWord, ...] = Field(default=(), max_length=50)

    def reader(self) -> SaidDone:
        return SaidDone(
            self.said,
            unless=self.unless,
            asking=self.asking,
            fillers=self.fillers,
            joining=self.joining,
        )


class WhichWeekFile(_Strict):
    """`messages/<lang>/which_week.toml`: a typed answer to "this week's or next week's?"
    (bot/domain/which_week.py): the phrases that pick this week's day (`this_week`) or next
    week's (`next_week`), that say the patient is not sure (`unsure`), and the words that
    turn a week phrase around (`negations`: "not this week")."""

    this_week: tuple[Keyword, ...] = Field(default=(), max_length=200)
    next_week: tuple[Keyword, ...] = Field(default=(), max_length=200)
    unsure: tuple[Keyword, ...] = Field(default=(), max_length=300)
    negations: tuple[_OneWord, ...] = Field(default=(), max_length=50)

    def reader(self) -> WeekWords:
        return WeekWords(
            this_week=self.this_week,
            next_week=self.next_week,
            unsure=self.unsure,
            negations=self.negations,
        )


class VisitAskedFile(_Strict):
    """`messages/<lang>/visit_asked.toml`: a patient asking when their own visit is
    (bot/domain/visit_asked.py): the phrases that ask when (`when`), that name their visit
    (`visit`), that say both (`alone`), that ask without a question (`telling`); the words
    that open a question (`asking`, after `fillers`); and the words that leave a message to
    the FAQ (`unless`)."""

    when: tuple[Keyword, ...] = Field(default=(), max_length=300)
    visit: tuple[Keyword, ...] = Field(default=(), max_length=300)
    alone: tuple[Keyword, ...] = Field(default=(), max_length=300)
    asking: tuple[_OneWord, ...] = Field(default=(), max_length=200)
    fillers: tuple[_OneWord, ...] = Field(default=(), max_length=200)
    telling: tuple[Keyword, ...] = Field(default=(), max_length=300)
    unless: tuple[Keyword, ...] = Field(default=(), max_length=1000)

    def reader(self) -> VisitAsked:
        return VisitAsked(
            when=self.when,
            visit=self.visit,
            alone=self.alone,
            asking=self.asking,
            fillers=self.fillers,
            telling=self.telling,
            unless=self.unless,
        )


Phrase = Annotated[str, AfterValidator(check_phrase)]


class ProximityPattern(_Strict):
    """One `[[category.pattern]]`: a phrase of `first`, then within `within` words a phrase
    of `then` ("took" ... "pills")."""

    first: tuple[Phrase, ...] = Field(min_length=1)
    then: tuple[Phrase, ...] = Field(min_length=1)
    within: int = Field(default=3, ge=0, le=MAX_WITHIN)


class CrisisCategory(_Strict):
    """One `[[category]]` of `safety.toml`; the key is recorded for staff. A category with
    `alert_staff = false` (past ideation) gets the gentle resources, then the usual answer."""

    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str = ""
    alert_staff: bool = True
    phrases: tuple[Phrase, ...] = Field(min_length=1)
    pattern: tuple[ProximityPattern, ...] = ()
    # Phrases that count only when they are (almost) the whole message: "suicide" alone is a
    # cry for help, "suicide risk" in a question is not.
    alone: tuple[Phrase, ...] = ()
    # Phrases that count only where they end a sentence: "i can't go on." is despair, "i can't
    # go on thursday" is a visit.
    ending: tuple[Phrase, ...] = ()
    # Phrases that hold against a history phrase lying inside them: "wish i had the guts to
    # kill myself" holds "i had ... kill myself" (history), but is a wish now.
    over_history: tuple[Phrase, ...] = ()


class SafetyExclusions(_Strict):
    phrases: tuple[Phrase, ...] = ()
    # Words that take an exclusion back when they follow it ("the form asked if I want to
    # die, I said no, but honestly yes"): a denial never hides what comes right after it.
    unless: tuple[Phrase, ...] = ()
    # A crisis phrase with its own verb denied ("no me quiero morir", "I don't want to kill
    # myself"): switched off like an exclusion, but only where no punctuation stands between
    # its words ("No, me quiero morir" is a crisis), and taken back by `unless` too.
    denials: tuple[Phrase, ...] = ()


class SafetyLexicon(_Strict):
    """`messages/<lang>/safety.toml`: crisis phrases by category, the terms they use, and
    exclusions; the emoji read as words; the language's common words (which tell the screen
    what language a message is in). The rules between phrases (one category per phrase, an
    exclusion must hold a crisis phrase, a term must exist) are the detector's own: building
    it is part of the check."""

    terms: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")], tuple[Phrase, ...]] = {}
    category: tuple[CrisisCategory, ...] = Field(min_length=1)
    exclusions: SafetyExclusions = SafetyExclusions()
    emoji: dict[Annotated[str, Field(min_length=1, max_length=8)], Phrase] = {}
    language_words: tuple[Annotated[str, Field(min_length=1, max_length=30)], ...] = ()
    # Words of the present ("now", "tonight"): history told before one does not cover a
    # crisis told after it.
    present_words: tuple[Annotated[str, Field(min_length=1, max_length=30)], ...] = ()
    # A recent time ("last night", "two days ago") near a history match makes it a recent
    # attempt (it alerts), unless a time long past is there too ("in 2015", "at 19").
    recent_words: tuple[Phrase, ...] = Field(default=(), max_length=500)
    long_ago_words: tuple[Phrase, ...] = Field(default=(), max_length=500)

    @field_validator("category")
    @classmethod
    def _unique(cls, categories: tuple[CrisisCategory, ...]) -> tuple[CrisisCategory, ...]:
        return _unique_keys(categories, "category")

    @field_validator("terms")
    @classmethod
    def _terms_not_empty(cls, terms: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for name, phrases in terms.items():
            if not phrases:
                raise FieldError((name,), "needs at least 1 phrase")
        return terms

    @model_validator(mode="after")
    def _detector_accepts(self) -> SafetyLexicon:
        # Exclusions need the compiled lexicon, so they are checked when the detector is
        # built (Content.crisis_detector), naming the language.
        CrisisDetector.validate([self.part("")])
        return self

    def part(self, language: str) -> LexiconPart:
        """The lexicon as the detector takes it."""
        return LexiconPart(
            language=language,
            categories={c.key: c.phrases for c in self.category},
            exclusions=self.exclusions.phrases,
            unless=self.exclusions.unless,
            denials=self.exclusions.denials,
            patterns={
                c.key: [Proximity(p.first, p.then, p.within) for p in c.pattern]
                for c in self.category
            },
            quiet=[c.key for c in self.category if not c.alert_staff],
            alone={c.key: c.alone for c in self.category if c.alone},
            ending={c.key: c.ending for c in self.category if c.ending},
            over_history={c.key: c.over_history for c in self.category if c.over_history},
            terms=self.terms,
            emoji=self.emoji,
            words=self.language_words,
            present=self.present_words,
            recent=self.recent_words,
            long_ago=self.long_ago_words,
        )


def crisis_detector(
    lexicons: Mapping[str, SafetyLexicon] | Iterable[SafetyLexicon],
    model: CrisisModel | None = None,
    *,
    compile_pattern: PatternCompiler | None = None,
) -> CrisisDetector:
    """One detector over several lexicons, by language (a patient may write in any). Its
    large patterns come from programs kept on disk when this machine compiled them before
    (``compile_pattern`` None: the process's cache, foundation/regex_cache.py)."""
    if isinstance(lexicons, Mapping):
        parts = [lexicon.part(lang) for lang, lexicon in lexicons.items()]
    else:
        parts = [lexicon.part("") for lexicon in lexicons]
    return CrisisDetector.from_parts(
        parts, model, compile_pattern=compile_pattern or regex_cache.shared().compile
    )


class TextTitle(_Strict):
    """A text as the team finds it in /texts: a title (it becomes a button, so at most 64
    characters) and a line saying where the text shows."""

    title: str = Field(min_length=1, max_length=64)
    about: str = Field(default="", max_length=200)


def _one_placeholder(name: str) -> AfterValidator:
    def check(value: str) -> str:
        found = set(_PLACEHOLDER.findall(value))
        if found != {name}:
            raise ValueError(f"must hold {{{name}}} and no other placeholder")
        return value

    return AfterValidator(check)


class TitlePatterns(_Strict):
    """How texts named by data are titled: a reminder step staff added (`{key}`), a FAQ
    answer (`{question}`), a button (`{label}`, its live label)."""

    step: Annotated[str, Field(min_length=1, max_length=60), _one_placeholder("key")]
    answer: Annotated[str, Field(min_length=1, max_length=60), _one_placeholder("question")]
    button: Annotated[str, Field(min_length=1, max_length=60), _one_placeholder("label")]


class TextTitles(_Strict):
    """`messages/<lang>/texts.toml`: the plain names of the texts, for the team (/texts):
    `text` by template name, `button` (where each button shows) by label key, `variable`
    (what each value a template may use means) by name, and the `pattern` of names made from
    data. Texts, buttons and variables missing here fall back to the default language."""

    pattern: TitlePatterns
    variable: dict[str, Annotated[str, Field(min_length=1, max_length=300)]] = {}
    button: dict[str, Annotated[str, Field(min_length=1, max_length=200)]] = {}
    text: dict[str, TextTitle] = {}


ButtonLabel = Annotated[str, Field(min_length=1, max_length=64)]


class ButtonLabels(RootModel[dict[str, ButtonLabel]]):
    """`messages/<lang>/buttons.toml`: label by key (plain text or a jinja expression)."""

    model_config = ConfigDict(frozen=True)
