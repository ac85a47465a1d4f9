"""Read a time zone as people name it: a city ("dallas", "nueva york"), a region or country
("texas", "méxico", "uk"), a zone's name or abbreviation ("eastern", "PST", "hora del centro"),
an offset ("utc-5"), an IANA name, in a sentence ("i live in dallas", "vivo en miami") and
with typing slips ("chicgo", "los anjeles").

:func:`read_zone` answers with the zones it could mean, best first: one is a reading, several
are a question to the patient (buttons), none means "not understood". Each choice carries the
place that matched, for the read-back ("Dallas: Central Time, UTC-6").

The places are data made from GeoNames and Unicode CLDR by scripts/build_zone_places.py
(``zone_places.tsv``, ``zone_labels.tsv``, read once, on first use); the words people use for
zones are in :mod:`bot.domain.zone_words`. A name shared by several places gives the zones
where most of the people who bear it live, the clinic's own country (``home``) counting
three times: "portland" is Oregon, "san juan" Puerto Rico, "valencia" a question.
"""

from __future__ import annotations

import functools
import re
import unicodedata
import zoneinfo
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Final

from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.domain.zone_words import (
    PREFIXES,
    REGIONS,
    STOPWORDS,
    ZONE_NAMES,
    ZONE_NAMES_EN,
    ZONE_NAMES_ES,
)

__all__ = ["HOME_COUNTRIES", "ZoneChoice", "ZoneReading", "fold", "offset_label", "read_zone",
           "zone_label"]  # fmt: skip

HOME_COUNTRIES: Final = frozenset({"US", "PR", "VI", "GU"})
"""Where a US clinic's patients live: a name shared with a place there means that place first."""

_MAX_CHOICES: Final = 4
_HOME_WEIGHT: Final = 5
_NEAR_WEIGHT: Final = 2  # the rest of the Americas, and Spain
_OTHER_NAME_WEIGHT: Final = 0.1  # "Philadelphia" is also an old name of Amman
_SHARE: Final = 0.3  # a place is a choice when its people are this share of the first one's
_ZONE_CITY_PEOPLE: Final = 200_000  # a zone's own city ("Kyiv") counts as a big city
_MAX_CHARS: Final = 100
_MAX_WORDS: Final = 12


@dataclass(frozen=True, slots=True)
class ZoneChoice:
    zone: str  # IANA name
    place: str  # what the patient's words matched: "Dallas", "Eastern Time", "Texas"


@dataclass(frozen=True, slots=True)
class ZoneReading:
    choices: tuple[ZoneChoice, ...] = ()
    corrected: bool = False  # found by correcting a typing slip: worth a question

    @property
    def zone(self) -> str | None:
        """The one zone read, when there is no question to ask."""
        return self.choices[0].zone if len(self.choices) == 1 and not self.corrected else None


@dataclass(frozen=True, slots=True)
class _Place:
    name: str
    zone: str
    people: int
    country: str
    region: str
    kind: str  # c city, a its other name, s US state, S its code, n country, z a zone's city


def fold(text: str) -> str:
    """Lower case, no accents, no punctuation, single spaces: how names are looked up."""
    text = unicodedata.normalize("NFD", text.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = re.sub(r"[.'’]", "", text)
    return " ".join(re.sub(r"[^a-z0-9+\-]+", " ", text).split())


@functools.cache
def _places() -> dict[str, tuple[_Place, ...]]:
    known = zoneinfo.available_timezones()
    found: dict[str, list[_Place]] = defaultdict(list)
    text = resources.files("bot.domain").joinpath("zone_places.tsv").read_text("utf-8")
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, name, zone, people, country, region, kind = line.split("\t")
        if zone in known:  # an older tzdata may lack a new zone
            found[key].append(_Place(name, zone, int(people), country, region, kind))
    return {key: tuple(places) for key, places in found.items()}


@functools.cache
def _labels() -> dict[str, tuple[str, str, str, str]]:
    text = resources.files("bot.domain").joinpath("zone_labels.tsv").read_text("utf-8")
    rows = (line.split("\t") for line in text.splitlines() if line and not line.startswith("#"))
    return {
        zone: (city_en, city_es, meta_en, meta_es)
        for zone, city_en, city_es, meta_en, meta_es in rows
    }


@functools.cache
def _slip_targets(lang: str) -> tuple[str, ...]:
    """What a slip may be corrected to: zone names, regions, and the places big enough to be
    what someone meant rather than a small town one letter away."""
    places = (
        key
        for key, found in _places().items()
        if len(key) >= 5
        and any(
            p.kind in "snz"
            or (p.kind == "c" and p.people >= (40_000 if p.country in HOME_COUNTRIES else 100_000))
            for p in found
        )
    )
    names = ZONE_NAMES_ES if lang == "es" else ZONE_NAMES_EN
    return tuple(sorted({*places, *names, *(k for k in REGIONS if len(k) >= 5)}))


def zone_label(zone: str, lang: str) -> str:
    """How a zone is named to a patient: "Eastern Time (New York)", "Londres"."""
    label = _labels().get(zone)
    if label is None:
        return zone.rsplit("/", 1)[-1].replace("_", " ")
    city_en, city_es, meta_en, meta_es = label
    city, meta = (city_es, meta_es) if lang == "es" else (city_en, meta_en)
    return f"{meta} ({city})" if meta else city


def offset_label(zone: str, at: datetime) -> str:
    """The zone's offset from UTC at an instant: "UTC-5", "UTC+5:30", "UTC+0"."""
    offset = at.astimezone(zoneinfo.ZoneInfo(zone)).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


_OFFSET_RE: Final = re.compile(r"\b(?:utc|gmt)\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?\b")
_US_BY_OFFSET: Final = {
    -4: "America/Puerto_Rico", -5: "America/New_York", -6: "America/Chicago",
    -7: "America/Denver", -8: "America/Los_Angeles", -9: "America/Anchorage",
    -10: "Pacific/Honolulu",
}  # fmt: skip


def _by_offset(folded: str) -> ZoneReading | None:
    match = _OFFSET_RE.search(folded)
    if match is None:
        return None
    sign, hours, minutes = match.group(1), int(match.group(2)), match.group(3)
    if hours > 14 or minutes not in (None, "00"):
        return None
    signed = -hours if sign == "-" else hours
    fixed = "Etc/UTC" if hours == 0 else f"Etc/GMT{'+' if signed < 0 else '-'}{hours}"
    label = f"UTC{sign}{hours}"
    choices = [ZoneChoice(fixed, label)]
    if signed in _US_BY_OFFSET:  # utc-5 in the US is most likely Eastern Time, with its DST
        us = _US_BY_OFFSET[signed]
        choices.insert(0, ZoneChoice(us, zone_label(us, "en")))
    return ZoneReading(tuple(choices))


@dataclass(frozen=True, slots=True)
class _Match:
    start: int
    end: int
    places: tuple[_Place, ...]  # from the place lists
    zones: tuple[str, ...]  # from the zone words or regions
    label: str
    kind: str  # "zone" (a zone's name), "region", "place"


def _matches(words: list[str]) -> list[_Match]:
    places = _places()
    found: list[_Match] = []
    i = 0
    alone = len(words) == 1
    while i < len(words):
        for n in range(min(5, len(words) - i), 0, -1):
            phrase = " ".join(words[i : i + n])
            short = len(phrase) <= 2
            if n == 1 and phrase in STOPWORDS and not alone:
                continue
            if phrase in ZONE_NAMES and (not short or alone):
                found.append(_Match(i, i + n, (), ZONE_NAMES[phrase], phrase, "zone"))
            elif phrase in REGIONS and (not short or alone or _after_place(found, i)):
                found.append(_Match(i, i + n, (), REGIONS[phrase], phrase, "region"))
            elif phrase in places and (not short or alone or _after_place(found, i)):
                found.append(_Match(i, i + n, places[phrase], (), phrase, "place"))
            else:
                continue
            i += n
            break
        else:
            i += 1
    return found


def _after_place(found: list[_Match], i: int) -> bool:
    """A short code ("TX", "ON") names a region only right after a place: "austin tx"."""
    return bool(found) and found[-1].end == i and found[-1].kind == "place"


def _narrowed(place: _Match, region: _Match) -> tuple[_Place, ...]:
    """The places of `place` inside `region` ("paris texas", "london ontario")."""
    if region.kind == "region":
        return tuple(p for p in place.places if p.zone in region.zones)
    regions = {(p.country, p.region) for p in region.places if p.kind in "sS"}
    countries = {p.country for p in region.places if p.kind == "n"}
    return tuple(
        p for p in place.places if (p.country, p.region) in regions or p.country in countries
    )


def _choices(places: Iterable[_Place], home: Collection[str]) -> tuple[ZoneChoice, ...]:
    weight: dict[str, float] = defaultdict(float)
    name: dict[str, tuple[float, str]] = {}
    for p in places:
        people: float = max(p.people, _ZONE_CITY_PEOPLE) if p.kind == "z" else p.people
        if p.country in home:
            people *= _HOME_WEIGHT
        elif p.zone.startswith("America/") or p.country == "ES":
            people *= _NEAR_WEIGHT
        if p.kind == "a":
            people *= _OTHER_NAME_WEIGHT
        weight[p.zone] += people
        if p.zone not in name or name[p.zone][0] < people:
            name[p.zone] = (people, p.name)
    if not weight:
        return ()
    ranked = sorted(weight, key=lambda zone: -weight[zone])
    top = weight[ranked[0]]
    kept: list[str] = []
    for zone in ranked:
        if weight[zone] < top * _SHARE or len(kept) == _MAX_CHOICES:
            break
        if not any(_same_clocks(zone, other) for other in kept):
            kept.append(zone)
    return tuple(ZoneChoice(zone, name[zone][1]) for zone in kept)


# Two zones whose clocks agree in winter and in summer are one answer for a patient (the
# zones of Argentina, America/Detroit and America/New_York).
_SEASONS: Final = (datetime(2026, 1, 15, 12, tzinfo=UTC), datetime(2026, 7, 15, 12, tzinfo=UTC))


@functools.cache
def _same_clocks(one: str, other: str) -> bool:
    a, b = zoneinfo.ZoneInfo(one), zoneinfo.ZoneInfo(other)
    return all(t.astimezone(a).utcoffset() == t.astimezone(b).utcoffset() for t in _SEASONS)


def _reading(match: _Match, home: Collection[str], lang: str) -> tuple[ZoneChoice, ...]:
    if match.kind == "place":
        return _choices(match.places, home)
    if match.kind == "region":
        return tuple(ZoneChoice(zone, match.label.title()) for zone in match.zones)
    return tuple(ZoneChoice(zone, zone_label(zone, lang)) for zone in match.zones)


def _strip_prefixes(folded: str) -> str:
    for prefix in PREFIXES:
        if folded.startswith(prefix + " "):
            return folded[len(prefix) + 1 :]
    return folded


def read_zone(text: str, lang: str = "en", home: Collection[str] = HOME_COUNTRIES) -> ZoneReading:
    """The zones `text` may name, best first; an empty reading when it names none."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    stripped = text.strip()
    if not stripped or len(stripped) > _MAX_CHARS:
        return ZoneReading()
    if "/" in stripped:  # an IANA name: "America/New_York"
        names = {name.casefold(): name for name in zoneinfo.available_timezones()}
        zone = names.get(stripped.casefold())
        if zone is not None:
            return ZoneReading((ZoneChoice(zone, zone_label(zone, lang)),))
    folded = fold(stripped)
    offset = _by_offset(folded)
    if offset is not None:
        return offset
    words = _strip_prefixes(folded).split()[:_MAX_WORDS]
    if not words:
        return ZoneReading()
    found = _matches(words)
    zone_names = [m for m in found if m.kind == "zone"]
    if zone_names:
        return ZoneReading(_reading(zone_names[0], home, lang))
    exact = _exact(found, home, lang)
    covered = {i for m in found for i in range(m.start, m.end)}
    loose = [i for i, w in enumerate(words) if i not in covered and w not in STOPWORDS]
    if exact and not loose:
        return ZoneReading(exact)
    # Words left over ("nueba york" found "york"): a longer name within a slip wins.
    longest = max((m.end - m.start for m in found), default=0)
    corrected = _corrected(words, home, lang, min_words=longest + 1 if exact else 1)
    return corrected if corrected.choices else ZoneReading(exact)


def _exact(found: list[_Match], home: Collection[str], lang: str) -> tuple[ZoneChoice, ...]:
    """The last place named ("from texas, but I live in denver"), narrowed by a region
    right after it ("paris texas")."""
    for index in range(len(found) - 1, -1, -1):
        match = found[index]
        after = found[index + 1] if index + 1 < len(found) else None
        if after is not None and after.start == match.end and match.kind == "place":
            narrowed = _narrowed(match, after)
            if narrowed:
                return _choices(narrowed, home)
        before = found[index - 1] if index > 0 else None
        if before is not None and before.end == match.start and before.kind == "place":
            continue  # a region qualifying the place before it ("phoenix arizona")
        return _reading(match, home, lang)
    return ()


def _corrected(
    words: list[str], home: Collection[str], lang: str, min_words: int = 1
) -> ZoneReading:
    """The closest name of `min_words` words or more within a typing slip or two, if any."""
    best: tuple[int, list[str]] | None = None
    for n in range(3, min_words - 1, -1):
        for i in range(len(words) - n + 1):
            chunk = words[i : i + n]
            if all(w in STOPWORDS for w in chunk):
                continue
            phrase = " ".join(chunk)
            if len(phrase) < 6 or phrase.isdigit():
                continue
            limit = 1 if len(phrase) < 8 else 2
            found = process.extract(
                phrase, _slip_targets(lang), scorer=OSA.distance, score_cutoff=limit, limit=5
            )
            if not found:
                continue
            distance = found[0][1]
            names = [name for name, d, _ in found if d == distance]
            if best is None or distance < best[0]:
                best = (distance, names)
    if best is None:
        return ZoneReading()
    places: list[_Place] = []
    for name in best[1]:
        if name in ZONE_NAMES or name in REGIONS:
            zones = ZONE_NAMES.get(name) or REGIONS[name]
            label = zone_label(zones[0], lang) if name in ZONE_NAMES else name.title()
            places.extend(_Place(label, zone, _NAMED_PEOPLE, "", "", "w") for zone in zones)
        else:
            places.extend(_places()[name])
    return ZoneReading(_choices(places, home), corrected=True)


# A zone's name ("central") against a place one slip away: the name wins.
_NAMED_PEOPLE: Final = 50_000_000
