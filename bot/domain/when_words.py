"""The words `bot.domain.when_parser` reads, per language, as data.

Keys are casefolded, without accents and without dots or apostrophes ("p.m." -> "pm",
"o'clock" -> "oclock", "miércoles" -> "miercoles"); a key of several words is a phrase
("day after tomorrow", "de la tarde"), and the longest phrase written wins. Spanish reads its
own words and the English ones (patients mix them). Typos of the longer words (months,
weekdays, "tomorrow", ...) are corrected by edit distance in the parser, so they need no entry
here; abbreviations and shorthands ("tmrw", "2moro", "mñn") do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

Meridiem = Literal["am", "pm", "night", "noon"]
"""How an hour of 1-12 reads: a.m., p.m., "de la noche" (evening up to 11, then small hours),
"del mediodía" (12 is noon, 1-5 are p.m.)."""

PartOfDay = Literal["morning", "afternoon", "evening", "night"]

Unit = Literal["minute", "hour", "day", "week", "month", "year"]

MONTHS: Final[dict[str, int]] = {
    "january": 1, "jan": 1,
    "february": 2, "feb": 2,
    "march": 3, "mar": 3,
    "april": 4, "apr": 4,
    "may": 5,
    "june": 6, "jun": 6,
    "july": 7, "jul": 7,
    "august": 8, "aug": 8,
    "september": 9, "sep": 9, "sept": 9,
    "october": 10, "oct": 10,
    "november": 11, "nov": 11,
    "december": 12, "dec": 12,
}  # fmt: skip

# Monday is 0, as in datetime.date.weekday().
WEEKDAYS: Final[dict[str, int]] = {
    "monday": 0, "mon": 0,
    "tuesday": 1, "tue": 1, "tues": 1,
    "wednesday": 2, "wed": 2, "weds": 2,
    "thursday": 3, "thu": 3, "thur": 3, "thurs": 3,
    "friday": 4, "fri": 4,
    "saturday": 5, "sat": 5,
    "sunday": 6, "sun": 6,
}  # fmt: skip

# Words naming a day relative to today: the value is the offset in days.
RELATIVE_DAYS: Final[dict[str, int]] = {
    "today": 0, "tomorrow": 1, "tmrw": 1, "tmr": 1, "tmw": 1, "tmrow": 1, "tomm": 1,
    "2moro": 1, "2morrow": 1, "2morow": 1, "2mrw": 1,
    "day after tomorrow": 2, "the day after tomorrow": 2, "day after tmrw": 2,
    "yesterday": -1, "day before yesterday": -2,
}  # fmt: skip

# Before a weekday: "this" Thursday is the coming one (today's, while its time is ahead);
# "this coming" Thursday is the coming one but never today ("upcoming": said on a Thursday, a
# week ahead); "next" Thursday is the upcoming one too, but while that one is still in this week
# (Monday to Sunday) many mean the Thursday of next week by it: the reading then holds both
# (`WhenReading.other_day`) and the patient is asked. "last" Thursday is in the past.
WeekdayModifier = Literal["coming", "upcoming", "next", "last"]
WEEKDAY_MODIFIERS: Final[dict[str, WeekdayModifier]] = {
    "this": "coming", "next": "next", "nxt": "next", "this coming": "upcoming",
    "coming": "upcoming", "last": "last", "past": "last",
}  # fmt: skip

# After a weekday: "Friday after next" is a week after the coming one.
WeekdaySuffix = Literal["coming", "upcoming", "next", "after_next", "next_week", "last"]
WEEKDAY_SUFFIXES: Final[dict[str, WeekdaySuffix]] = {
    "after next": "after_next", "next week": "next_week", "of next week": "next_week",
}  # fmt: skip

# Words naming a fixed time of day: (hour, minute) on the 24-hour clock.
NAMED_TIMES: Final[dict[str, tuple[int, int]]] = {"noon": (12, 0), "midnight": (0, 0)}

# After an hour: "am", "p.m.", "in the morning", "at night". "a"/"p" only glued ("10a").
MERIDIEMS: Final[dict[str, Meridiem]] = {
    "am": "am", "pm": "pm", "a m": "am", "p m": "pm",
    "in the morning": "am", "in the afternoon": "pm", "in the evening": "pm",
    "at night": "night", "tonight": "night",
}  # fmt: skip
GLUED_MERIDIEMS: Final[dict[str, Meridiem]] = {"a": "am", "p": "pm"}

# Parts of the day: they give a day no time ("tomorrow morning": what time?), and tell how
# to read a bare hour ("tomorrow afternoon at 3").
PARTS_OF_DAY: Final[dict[str, PartOfDay]] = {
    "morning": "morning", "in the morning": "morning",
    "afternoon": "afternoon", "in the afternoon": "afternoon",
    "evening": "evening", "in the evening": "evening",
    "night": "night", "at night": "night",
}  # fmt: skip
# Today's part of the day: "this afternoon", "tonight".
TODAY_PARTS: Final[dict[str, PartOfDay]] = {
    "this morning": "morning", "this afternoon": "afternoon", "this evening": "evening",
    "tonight": "night", "tonite": "night", "this night": "night",
}  # fmt: skip

# Words that may come before a time and make a bare number an hour: "at 3", "@ 3".
HOUR_MARKERS: Final[frozenset[str]] = frozenset({"at", "around", "about", "by", "@"})
# Words that carry no meaning here.
FILLERS: Final[frozenset[str]] = frozenset({"on", "the", "of"})

# Suffixes glued to a day number: "3rd", "21st". Their agreement with the number is not
# checked; "3th" is as clear as "3rd".
ORDINAL_SUFFIXES: Final[frozenset[str]] = frozenset({"st", "nd", "rd", "th"})
# Word allowed between a day and a month: "3rd of December".
DAY_MONTH_JOINERS: Final[frozenset[str]] = frozenset({"of"})
# Marks a day of the month written alone: "the 15th".
DAY_MARKERS: Final[frozenset[str]] = frozenset({"the", "on the"})

# Glued or following an hour, "16h", "0930 hrs": the hour is on the 24-hour clock.
HOUR_UNITS: Final[frozenset[str]] = frozenset({"h", "hs", "hrs", "hr", "hours", "hour"})
OCLOCK: Final[frozenset[str]] = frozenset({"oclock", "o clock"})

NUMBER_WORDS: Final[dict[str, int]] = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20,
    "thirty": 30, "forty": 40, "forty five": 45, "a": 1, "an": 1,
}  # fmt: skip
COUNTED_NOUNS: Final[frozenset[str]] = frozenset(
    {
        "infusion", "infusions", "visit", "visits", "appointment", "appointments", "session",
        "sessions", "treatment", "treatments", "time", "dose", "round", "consultation",
        "one", "infusiones", "sesion", "sesiones", "cita", "citas", "vez",
        "dosis", "tratamiento", "tratamientos", "consulta", "visita", "visitas", "ronda",
    }
)  # fmt: skip
"""Words an ordinal counts rather than dates ("my first infusion", "3rd session", "mi primer
tratamiento"): an ordinal followed by one is no day of the month. Folded, without accents."""

ORDINAL_WORDS: Final[dict[str, int]] = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13,
    "fourteenth": 14, "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18,
    "nineteenth": 19, "twentieth": 20, "twenty first": 21, "twenty second": 22,
    "twenty third": 23, "twenty fourth": 24, "twenty fifth": 25, "twenty sixth": 26,
    "twenty seventh": 27, "twenty eighth": 28, "twenty ninth": 29, "thirtieth": 30,
    "thirty first": 31,
}  # fmt: skip

# Minutes after (or, negative, before) the hour: "half past 2", "quarter to 3".
MINUTES_BEFORE_HOUR: Final[dict[str, int]] = {
    "half past": 30, "quarter past": 15, "quarter after": 15, "quarter to": -15,
    "quarter til": -15, "quarter of": -15,
}  # fmt: skip
# Minutes after an hour: "2 thirty", "9 y media".
MINUTES_AFTER_HOUR: Final[dict[str, int]] = {
    "thirty": 30, "fifteen": 15, "forty five": 45, "oh five": 5,
}  # fmt: skip

# "in 3 days", "3 weeks from today".
OFFSET_INTRODUCERS: Final[frozenset[str]] = frozenset({"in", "within"})
OFFSET_ANCHORS: Final[frozenset[str]] = frozenset({"from", "after"})
UNITS: Final[dict[str, Unit]] = {
    "minute": "minute", "minutes": "minute", "min": "minute", "mins": "minute",
    "hour": "hour", "hours": "hour", "hr": "hour", "hrs": "hour",
    "day": "day", "days": "day", "week": "week", "weeks": "week", "wk": "week", "wks": "week",
    "month": "month", "months": "month", "year": "year", "years": "year",
}  # fmt: skip
HALF_UNITS: Final[frozenset[str]] = frozenset({"half an", "half a"})

# Days with a name: (month, day).
HOLIDAYS: Final[dict[str, tuple[int, int]]] = {
    "christmas eve": (12, 24), "christmas": (12, 25), "christmas day": (12, 25),
    "xmas": (12, 25), "new years eve": (12, 31), "new year eve": (12, 31),
    "new years day": (1, 1), "new year day": (1, 1), "new years": (1, 1),
    "new year": (1, 1),
}  # fmt: skip

# Words that name a span, not a day: the patient is asked which day exactly.
VAGUE_PHRASES: Final[frozenset[str]] = frozenset({
    "next week", "this week", "sometime next week", "the week after", "next weekend",
    "this weekend", "the weekend", "weekend", "next month", "this month", "next year",
    "end of the month", "end of month", "end of the week", "beginning of the month",
    "soon", "early", "mid", "late", "end of", "beginning of",
})  # fmt: skip

# "tomorrow or wednesday", "between the 14th and 18th": two answers, pick one.
ALTERNATIVES: Final[frozenset[str]] = frozenset({"or", "between", "either"})

# Time-zone abbreviations written after a time: read as nothing ("2pm est").
ZONE_WORDS: Final[frozenset[str]] = frozenset({
    "est", "edt", "et", "cst", "cdt", "ct", "mst", "mdt", "mt", "pst", "pdt", "pt",
    "eastern", "central", "pacific", "mountain", "time", "hst", "akst", "utc", "gmt",
})  # fmt: skip

# Before or after a number that is no time: a price, a room, a chart ("wed $150", "room 930
# wed", "chart 1030", "150 pesos"); "$", "€" and "#" are words here.
NOT_A_TIME: Final[frozenset[str]] = frozenset({
    "$", "€", "#", "usd", "dollars", "dollar", "bucks", "pesos", "peso", "dolares", "euros",
    "room", "rm", "suite", "ste", "chart", "mrn", "id", "ext", "no", "nro", "num", "number",
    "floor", "apt", "unit", "sala", "consultorio", "habitacion", "cuarto", "piso",
    "expediente", "historia", "telefono", "tel", "phone", "cel",
})  # fmt: skip

# Words that may be a month or weekday, or an everyday word ("I may", "wed"): read as the date
# word only next to a number.
AMBIGUOUS_DATE_WORDS: Final[frozenset[str]] = frozenset({"may", "mar", "sun", "set", "dom"})

# --- Spanish ----------------------------------------------------------------------------------
ES_MONTHS: Final[dict[str, int]] = {
    "enero": 1, "ene": 1,
    "febrero": 2, "feb": 2,
    "marzo": 3, "mar": 3,
    "abril": 4, "abr": 4,
    "mayo": 5, "may": 5,
    "junio": 6, "jun": 6,
    "julio": 7, "jul": 7,
    "agosto": 8, "ago": 8,
    "septiembre": 9, "setiembre": 9, "sep": 9, "sept": 9, "set": 9,
    "octubre": 10, "oct": 10,
    "noviembre": 11, "nov": 11,
    "diciembre": 12, "dic": 12,
}  # fmt: skip
# No "mar" for martes: it is marzo.
ES_WEEKDAYS: Final[dict[str, int]] = {
    "lunes": 0, "lun": 0,
    "martes": 1, "mart": 1,
    "miercoles": 2, "mie": 2, "mier": 2, "mierc": 2,
    "jueves": 3, "jue": 3, "juev": 3,
    "viernes": 4, "vie": 4, "vier": 4,
    "sabado": 5, "sab": 5,
    "domingo": 6, "dom": 6,
}  # fmt: skip
ES_RELATIVE_DAYS: Final[dict[str, int]] = {
    "hoy": 0, "manana": 1, "mnn": 1, "mna": 1,
    "pasado manana": 2, "pasao manana": 2, "pasado mnn": 2,
    "ayer": -1, "antier": -2, "anteayer": -2, "antes de ayer": -2,
}  # fmt: skip
# "el próximo martes" is "next tuesday": while the coming Tuesday is still in this week, some
# mean it and some next week's, so the reading holds both and the patient is asked, as in
# English. "el martes que viene" is the coming one ("this coming tuesday"), and "el martes de
# la semana que viene" next week's (ES_WEEKDAY_SUFFIXES). Said on a Tuesday, "el próximo
# martes" and "el martes que viene" are a week ahead, never today.
ES_WEEKDAY_MODIFIERS: Final[dict[str, WeekdayModifier]] = {
    "proximo": "next", "el proximo": "next", "este": "coming", "el": "coming",
    "esta": "coming", "el otro": "coming",
}  # fmt: skip
ES_WEEKDAY_SUFFIXES: Final[dict[str, WeekdaySuffix]] = {
    "que viene": "upcoming", "que entra": "upcoming",
    "de la proxima semana": "next_week", "de la semana que viene": "next_week",
    "de la otra semana": "next_week", "de la siguiente semana": "next_week",
    "pasado": "last", "de la semana pasada": "last",
}  # fmt: skip
ES_NAMED_TIMES: Final[dict[str, tuple[int, int]]] = {
    "mediodia": (12, 0), "medio dia": (12, 0), "medianoche": (0, 0),
}  # fmt: skip
# "de la noche" is evening up to 11 and the small hours after: "12 de la noche" is midnight
# (as "medianoche"), "1 de la noche" 1 a.m., "9 de la noche" 9 p.m.
ES_MERIDIEMS: Final[dict[str, Meridiem]] = {
    "a m": "am", "p m": "pm",
    "de la manana": "am", "de la madrugada": "am", "en la manana": "am",
    "por la manana": "am", "de la tarde": "pm", "en la tarde": "pm", "por la tarde": "pm",
    "de la noche": "night", "en la noche": "night", "por la noche": "night",
    "del mediodia": "noon", "de mediodia": "noon",
}  # fmt: skip
ES_PARTS_OF_DAY: Final[dict[str, PartOfDay]] = {
    "por la manana": "morning", "en la manana": "morning", "de manana": "morning",
    "por la tarde": "afternoon", "en la tarde": "afternoon", "tarde": "afternoon",
    "por la noche": "night", "en la noche": "night", "noche": "night",
}  # fmt: skip
ES_TODAY_PARTS: Final[dict[str, PartOfDay]] = {
    "esta manana": "morning", "esta tarde": "afternoon", "esta noche": "night",
    "hoy en la noche": "night", "hoy por la noche": "night", "hoy en la tarde": "afternoon",
    "hoy por la tarde": "afternoon", "hoy en la manana": "morning",
}  # fmt: skip
ES_HOUR_MARKERS: Final[frozenset[str]] = frozenset({
    "a las", "a la", "para las", "para la", "por las", "como a las", "sobre las", "tipo",
    "las", "la",
})  # fmt: skip
ES_FILLERS: Final[frozenset[str]] = frozenset({"a", "al", "para", "de", "del", "en"})
ES_ORDINAL_SUFFIXES: Final[frozenset[str]] = frozenset({"o", "ro", "er", "do", "to", "vo"})
ES_DAY_MONTH_JOINERS: Final[frozenset[str]] = frozenset({"de", "del"})
ES_DAY_MARKERS: Final[frozenset[str]] = frozenset({
    "el", "el dia", "dia", "para el", "para el dia", "el proximo dia",
})  # fmt: skip
ES_HOUR_UNITS: Final[frozenset[str]] = frozenset({"h", "hs", "hrs", "horas", "hora"})
ES_NUMBER_WORDS: Final[dict[str, int]] = {
    "una": 1, "uno": 1, "un": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6,
    "siete": 7, "ocho": 8, "nueve": 9, "diez": 10, "once": 11, "doce": 12, "trece": 13,
    "catorce": 14, "quince": 15, "dieciseis": 16, "diecisiete": 17, "dieciocho": 18,
    "diecinueve": 19, "veinte": 20, "veintiuno": 21, "veintidos": 22, "veintitres": 23,
    "veinticuatro": 24, "veinticinco": 25, "veintiseis": 26, "veintisiete": 27,
    "veintiocho": 28, "veintinueve": 29, "treinta": 30, "treinta y uno": 31,
}  # fmt: skip
ES_ORDINAL_WORDS: Final[dict[str, int]] = {"primero": 1, "1ro": 1, "primer": 1}
ES_MINUTES_AFTER_HOUR: Final[dict[str, int]] = {
    "y media": 30, "y cuarto": 15, "y diez": 10, "y cinco": 5, "y veinte": 20,
    "y veinticinco": 25, "y cuarenta": 40, "y cuarenta y cinco": 45, "menos cuarto": -15,
    "menos diez": -10, "menos cinco": -5, "menos veinte": -20, "y treinta": 30,
}  # fmt: skip
ES_OFFSET_INTRODUCERS: Final[frozenset[str]] = frozenset({
    "en", "dentro de", "de aqui a", "de hoy en",
})  # fmt: skip
ES_OFFSET_ANCHORS: Final[frozenset[str]] = frozenset({"despues de", "a partir de"})
ES_UNITS: Final[dict[str, Unit]] = {
    "minuto": "minute", "minutos": "minute", "hora": "hour", "horas": "hour",
    "dia": "day", "dias": "day", "semana": "week", "semanas": "week", "mes": "month",
    "meses": "month", "ano": "year", "anos": "year",
}  # fmt: skip
ES_HALF_UNITS: Final[frozenset[str]] = frozenset({"media"})
ES_HOLIDAYS: Final[dict[str, tuple[int, int]]] = {
    "nochebuena": (12, 24), "navidad": (12, 25), "dia de navidad": (12, 25),
    "nochevieja": (12, 31), "fin de ano": (12, 31), "ano nuevo": (1, 1),
    "dia de ano nuevo": (1, 1),
}  # fmt: skip
ES_VAGUE_PHRASES: Final[frozenset[str]] = frozenset({
    "la semana que viene", "la proxima semana", "la otra semana", "esta semana",
    "el fin de semana", "fin de semana", "este fin de semana", "el mes que viene",
    "el proximo mes", "este mes", "el ano que viene", "el proximo ano", "a finales de mes",
    "a fin de mes", "fin de mes", "a principios de", "a mediados de", "a finales de",
    "principios de", "mediados de", "finales de", "pronto",
})  # fmt: skip
ES_ALTERNATIVES: Final[frozenset[str]] = frozenset({"o", "entre", "u"})


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """The words of one language. English's are the module's dicts themselves (not copies), so
    they stay extensible by data."""

    months: dict[str, int]
    weekdays: dict[str, int]
    relative_days: dict[str, int]
    weekday_modifiers: dict[str, WeekdayModifier]
    weekday_suffixes: dict[str, WeekdaySuffix]
    named_times: dict[str, tuple[int, int]]
    meridiems: dict[str, Meridiem]
    parts_of_day: dict[str, PartOfDay]
    today_parts: dict[str, PartOfDay]
    hour_markers: frozenset[str]
    fillers: frozenset[str]
    ordinal_suffixes: frozenset[str]
    day_month_joiners: frozenset[str]
    day_markers: frozenset[str]
    hour_units: frozenset[str]
    number_words: dict[str, int]
    ordinal_words: dict[str, int]
    minutes_after_hour: dict[str, int]
    offset_introducers: frozenset[str]
    offset_anchors: frozenset[str]
    units: dict[str, Unit]
    half_units: frozenset[str]
    holidays: dict[str, tuple[int, int]]
    vague_phrases: frozenset[str]
    alternatives: frozenset[str]
    day_first: bool  # numeric dates are day/month (3/12: 3 December), else month/day


ENGLISH: Final = Vocabulary(
    MONTHS,
    WEEKDAYS,
    RELATIVE_DAYS,
    WEEKDAY_MODIFIERS,
    WEEKDAY_SUFFIXES,
    NAMED_TIMES,
    MERIDIEMS,
    PARTS_OF_DAY,
    TODAY_PARTS,
    HOUR_MARKERS,
    FILLERS,
    ORDINAL_SUFFIXES,
    DAY_MONTH_JOINERS,
    DAY_MARKERS,
    HOUR_UNITS,
    NUMBER_WORDS,
    ORDINAL_WORDS,
    MINUTES_AFTER_HOUR,
    OFFSET_INTRODUCERS,
    OFFSET_ANCHORS,
    UNITS,
    HALF_UNITS,
    HOLIDAYS,
    VAGUE_PHRASES,
    ALTERNATIVES,
    day_first=False,
)


def _spanish() -> Vocabulary:
    return Vocabulary(
        {**MONTHS, **ES_MONTHS},
        {**WEEKDAYS, **ES_WEEKDAYS},
        {**RELATIVE_DAYS, **ES_RELATIVE_DAYS},
        {**WEEKDAY_MODIFIERS, **ES_WEEKDAY_MODIFIERS},
        {**WEEKDAY_SUFFIXES, **ES_WEEKDAY_SUFFIXES},
        {**NAMED_TIMES, **ES_NAMED_TIMES},
        {**MERIDIEMS, **ES_MERIDIEMS},
        {**PARTS_OF_DAY, **ES_PARTS_OF_DAY},
        {**TODAY_PARTS, **ES_TODAY_PARTS},
        HOUR_MARKERS | ES_HOUR_MARKERS,
        FILLERS | ES_FILLERS,
        ORDINAL_SUFFIXES | ES_ORDINAL_SUFFIXES,
        DAY_MONTH_JOINERS | ES_DAY_MONTH_JOINERS,
        DAY_MARKERS | ES_DAY_MARKERS,
        HOUR_UNITS | ES_HOUR_UNITS,
        {**NUMBER_WORDS, **ES_NUMBER_WORDS},
        {**ORDINAL_WORDS, **ES_ORDINAL_WORDS},
        {**MINUTES_AFTER_HOUR, **ES_MINUTES_AFTER_HOUR},
        OFFSET_INTRODUCERS | ES_OFFSET_INTRODUCERS,
        OFFSET_ANCHORS | ES_OFFSET_ANCHORS,
        {**UNITS, **ES_UNITS},
        HALF_UNITS | ES_HALF_UNITS,
        {**HOLIDAYS, **ES_HOLIDAYS},
        VAGUE_PHRASES | ES_VAGUE_PHRASES,
        ALTERNATIVES | ES_ALTERNATIVES,
        day_first=True,
    )


VOCABULARIES: Final[dict[str, Vocabulary]] = {"en": ENGLISH, "es": _spanish()}
