"""The words people use for time zones, as data: names ("eastern", "hora del centro"),
abbreviations ("PST"), regions the place lists do not name (Canadian provinces, Mexican states,
Spanish names of US states), and the everyday words that are never a place ("live", "hora").

Keys are folded as `bot.domain.zone_names.fold` folds: lower case, no accents, no punctuation.
A tuple of several zones is a question to the patient ("mountain": Denver, or Phoenix where
the clocks do not change)."""

from __future__ import annotations

from typing import Final

_NY, _CHI, _DEN, _PHX, _LA = (
    "America/New_York", "America/Chicago", "America/Denver", "America/Phoenix",
    "America/Los_Angeles",
)  # fmt: skip
_AK, _HI, _PR, _HFX = (
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Puerto_Rico",
    "America/Halifax",
)
_MX = "America/Mexico_City"

# Zone names and abbreviations, in English and in Spanish; a patient may use either (a typing
# slip is only corrected to a name of their own language).
ZONE_NAMES_EN: Final[dict[str, tuple[str, ...]]] = {
    "eastern": (_NY,), "eastern time": (_NY,), "east coast": (_NY,), "eastern standard": (_NY,),
    "eastern standard time": (_NY,), "eastern daylight time": (_NY,), "est": (_NY,),
    "edt": (_NY,), "et": (_NY,), "eastern time zone": (_NY,), "east": (_NY,),
    "central": (_CHI,), "central time": (_CHI,), "central standard": (_CHI,),
    "central standard time": (_CHI,), "central daylight time": (_CHI,), "cst": (_CHI,),
    "cdt": (_CHI,), "ct": (_CHI,), "central time zone": (_CHI,), "midwest": (_CHI,),
    "mountain": (_DEN, _PHX), "mountain time": (_DEN, _PHX), "mountain standard": (_DEN, _PHX),
    "mountain standard time": (_DEN, _PHX), "mst": (_DEN, _PHX), "mt": (_DEN, _PHX),
    "mountain daylight time": (_DEN,), "mdt": (_DEN,), "mountain time zone": (_DEN, _PHX),
    "pacific": (_LA,), "pacific time": (_LA,), "west coast": (_LA,), "pacific standard": (_LA,),
    "pacific standard time": (_LA,), "pacific daylight time": (_LA,), "pst": (_LA,),
    "pdt": (_LA,), "pt": (_LA,), "pacific time zone": (_LA,), "west": (_LA,),
    "alaska time": (_AK,), "akst": (_AK,), "akdt": (_AK,), "hawaii time": (_HI,),
    "hst": (_HI,), "hawaiian time": (_HI,), "atlantic": (_PR, _HFX),
    "atlantic time": (_PR, _HFX), "ast": (_PR, _HFX), "adt": (_HFX,),
    "utc": ("Etc/UTC",), "gmt": ("Europe/London", "Etc/GMT"), "zulu": ("Etc/UTC",),
    "bst": ("Europe/London",), "cet": ("Europe/Paris",), "cest": ("Europe/Paris",),
    "ist": ("Asia/Kolkata",), "jst": ("Asia/Tokyo",), "aest": ("Australia/Sydney",),
}  # fmt: skip
ZONE_NAMES_ES: Final[dict[str, tuple[str, ...]]] = {
    "hora del este": (_NY,), "horario del este": (_NY,), "zona este": (_NY,),
    "tiempo del este": (_NY,), "hora de la costa este": (_NY,), "costa este": (_NY,),
    "del este": (_NY,), "este": (_NY,), "hora este": (_NY,), "hora oriental": (_NY,),
    "hora del pacifico": (_LA,), "horario del pacifico": (_LA,), "hora pacifico": (_LA,),
    "pacifico": (_LA,), "costa oeste": (_LA,), "zona pacifico": (_LA,), "del pacifico": (_LA,),
    "hora del centro": (_CHI, _MX), "horario del centro": (_CHI, _MX), "hora central": (_CHI, _MX),
    "hora centro": (_CHI, _MX), "zona centro": (_CHI, _MX), "del centro": (_CHI, _MX),
    "centro": (_CHI, _MX), "hora de la montana": (_DEN, _PHX), "hora montana": (_DEN, _PHX),
    "montana": (_DEN, _PHX), "de la montana": (_DEN, _PHX),
    "hora de las montanas rocosas": (_DEN, _PHX), "hora del atlantico": (_PR, _HFX),
    "atlantico": (_PR, _HFX),
}  # fmt: skip
ZONE_NAMES: Final = {**ZONE_NAMES_EN, **ZONE_NAMES_ES}

# Regions the place lists leave out, and names as Spanish speakers write them.
REGIONS: Final[dict[str, tuple[str, ...]]] = {
    # Canada
    "ontario": ("America/Toronto",), "on": ("America/Toronto",), "quebec": ("America/Toronto",),
    "british columbia": ("America/Vancouver",), "bc": ("America/Vancouver",),
    "alberta": ("America/Edmonton",), "manitoba": ("America/Winnipeg",),
    "saskatchewan": ("America/Regina",), "nova scotia": ("America/Halifax",),
    "new brunswick": ("America/Moncton",), "newfoundland": ("America/St_Johns",),
    # Mexico
    "yucatan": ("America/Merida",), "quintana roo": ("America/Cancun",),
    "baja california": ("America/Tijuana",), "sonora": ("America/Hermosillo",),
    "nuevo leon": ("America/Monterrey",), "jalisco": (_MX,), "cdmx": (_MX,), "df": (_MX,),
    "distrito federal": (_MX,), "estado de mexico": (_MX,), "puebla": (_MX,),
    "sinaloa": ("America/Mazatlan",), "baja california sur": ("America/Mazatlan",),
    # US states in Spanish, and nicknames
    "nueva york": (_NY,), "nueva jersey": (_NY,), "carolina del norte": (_NY,),
    "carolina del sur": (_NY,), "pensilvania": (_NY,), "virginia occidental": (_NY,),
    "luisiana": (_CHI,), "misisipi": (_CHI,), "dakota del norte": (_CHI,),
    "dakota del sur": (_CHI,), "nuevo mexico": (_DEN,), "hawai": (_HI,), "tejas": (_CHI,),
    "cali": (_LA,), "socal": (_LA,), "norcal": (_LA,), "the bronx": (_NY,), "bronx": (_NY,),
    "el bronx": (_NY,), "manhattan": (_NY,), "long island": (_NY,), "jersey": (_NY,),
    "usa": (_NY, _CHI, _DEN, _LA),
    "estados unidos": (_NY, _CHI, _DEN, _LA), "united states": (_NY, _CHI, _DEN, _LA),
    "uk": ("Europe/London",), "england": ("Europe/London",), "inglaterra": ("Europe/London",),
    "fenix": (_PHX,), "la": (_LA,), "pr": (_PR,), "islas canarias": ("Atlantic/Canary",),
    "canarias": ("Atlantic/Canary",), "tenerife": ("Atlantic/Canary",),
    "gran canaria": ("Atlantic/Canary",), "rep dominicana": ("America/Santo_Domingo",),
    "dominicana": ("America/Santo_Domingo",), "republica dominicana": ("America/Santo_Domingo",),
}  # fmt: skip

# Everyday words that are no place on their own (some are the names of small towns: "Of").
STOPWORDS: Final[frozenset[str]] = frozenset(
    " ".join(
        (
            "i im me my mine we our us you your it its is are am was be been a an the of in",
            "on at to from near outside around close by for with and or but now then just",
            "currently right here there this that live living lives lived moved move moving",
            "stay staying based located same as like time times zone zones timezone area city",
            "town state country place think guess maybe probably not sure yes yeah no nope ok",
            "okay hello hi hey thanks thank please what where which idk know dont home house",
            "hospital clinic earth world planet tomorrow today pm am usually also too part",
            "side north south yo soy estoy vivo vive vivimos estamos somos de del la el los",
            "las en y o u que mi mis su tu aqui aca alli alla misma mismo igual hora horas",
            "horario zona tiempo pero ahora cerca desde casa hospital clinica tierra mundo no",
            "si se hola gracias entiendo donde cual creo ciudad estado pais lado parte norte",
            "sur manana hoy por favor bueno",
        )
    ).split()
)

# Said before the place, and meaning nothing: stripped before anything is looked up.
PREFIXES: Final[tuple[str, ...]] = (
    "hora de aqui de",
    "hora de aqui",
    "la misma que en",
    "la misma que",
    "la misma de",
    "same as in",
    "same as",
    "hora de",
    "horario de",
    "zona horaria de",
)
