"""How a patient speaks of a visit in passing, outside the booking steps (the service that
reads it is `AppointmentService.mentioned`): that a visit was moved ("they moved my appt to
friday at 11", "me cambiaron la cita al viernes a las 11"), that it was moved, said without
the new time ("they moved it", "me cambiaron la cita": `says_was_moved`, read by
`AppointmentService.moved_without_time`), a visit named by its place in a series alone ("my
first one is next thursday around 2"), and whether a "?" asks a question ("can I eat before
my visit at 10?") or hedges a statement ("my first one is thursday around 2? not totally
sure"). Pure: the date and time themselves are read by when_parser.py."""

from __future__ import annotations

import re
import unicodedata
from typing import Final

_NOUNS: Final[dict[str, str]] = {
    "en": r"appointments?|appts?|apts?|visits?|infusions?|sessions?|treatments?|"
    r"consult(?:ation)?s?|bookings?|spravato",
    "es": r"citas?|consultas?|infusion(?:es)?|sesion(?:es)?|tratamientos?|visitas?|turnos?",
}

# A verb of moving a visit, in every form people use: "they moved", "it got rescheduled",
# "i had to change", "pushed it back", "brought forward"; "cambiaron", "me la movieron",
# "la pasaron", "reprogramé", "han cambiado".
_MOVE: Final[dict[str, str]] = {
    "en": r"\b(?:mov(?:e|es|ed|ing)|re-?schedul(?:e|es|ed|ing)|chang(?:e|es|ed|ing)|"
    r"switch(?:es|ed|ing)?|shift(?:s|ed|ing)?|postpon(?:e|es|ed|ing)|bump(?:s|ed|ing)?|"
    r"push(?:es|ed|ing)?(?:\s+\S+){0,3}?\s+(?:back|out|to|till?|until)|"
    r"(?:bring|brings|brought|bringing)(?:\s+\S+){0,3}?\s+(?:forward|up|earlier))\b",
    "es": r"\b(?:cambi\w*|movi\w*|muev\w*|mover\w*|pas(?:e|aste|o|amos|aron|an|a|aran|ara|"
    r"aba|aban)|reprogram\w*|repro\w*|pospu?s\w*|pospon\w*|aplaz\w*|posterg\w*|adelant\w*|"
    r"atras\w*|recorr\w*)\b",
}

# A move already made, said without its new time ("they moved it", "my appointment got
# moved", "me cambiaron la cita"): past forms only, since "i need to move my appointment",
# "can we push it back", "quiero cambiar la cita" ask for a new time (the FAQ's reschedule
# answer) rather than tell of one.
_MOVED: Final[dict[str, str]] = {
    "en": r"(?:mov|re-?schedul|chang|switch|shift|postpon|bump|rearrang|rebook)ed"
    r"|pushed(?:\s+\S+){0,2}?\s+(?:back|out|up)|brought(?:\s+\S+){0,2}?\s+(?:forward|up)",
    "es": r"cambi(?:aron|o|e|aste|amos|ado|ada)|movi(?:eron|o|ste|mos|do|da)?"
    r"|pasaron|reprogram(?:aron|o|e|ado|ada)|pospus(?:ieron|o|e)|pospuest[ao]"
    r"|aplaz(?:aron|o|e|ado|ada)|posterg(?:aron|o|e|ado|ada)|adelant(?:aron|o|ado|ada)"
    r"|atras(?:aron|o|ado|ada)|recorr(?:ieron|io|ido|ida)",
}
# How the visit goes with the verb: "moved my appt", "moved it", "my appointment got moved",
# "it was rescheduled", "my appointment changed"; "me cambiaron la cita", "me la cambiaron",
# "cambiaron mi cita", "mi cita fue cambiada", "la cita cambió". {V}: a form of _MOVED,
# {N}: a visit's noun.
_MOVED_SHAPES: Final[dict[str, tuple[str, ...]]] = {
    "en": (
        r"\b(?:{V})\s+(?:(?:my|the|our|his|her|your|this|that|next|first|\S+'s)\s+)?"
        r"(?:\S+\s+)?(?:{N})\b",
        r"\b(?:{V})\s+(?:it|mine|them)\b",
        r"\b(?:{N}|it|mine)(?:\s+\S+){0,3}?\s+(?:(?:got|get|gets|was|were|has|have|had|been|"
        r"is|are|just|already|now|all|also)\s+){0,3}(?:{V})\b",
    ),
    "es": (
        r"\b(?:{V})\s+(?:(?:mi|la|el|su|nuestra|las|los|mis)\s+)?(?:{N})\b",
        r"\b(?:me|nos|le|les|se)?\s*l[ao]s?\s+(?:(?:han|ha|he|hemos)\s+)?(?:{V})\b",
        r"\b(?:{N})(?:\s+\S+){0,3}?\s+(?:(?:fue|ha|han|sido|ya|la|lo|se|me)\s+){0,3}(?:{V})\b",
    ),
}
# A request, a wish or a condition before the verb ("i want my appointment changed", "need
# to have it moved", "if they moved it"): not a move made.
_NOT_DONE: Final[dict[str, str]] = {
    "en": r"\b(?:want|wanna|need|needs|like|have\s+to|has\s+to|gotta|can|could|would|will|"
    r"should|may|might|must|please|let|lets|let's|going\s+to|gonna|if|whether|hope|hoping|"
    r"maybe)\b(?:\s+\S+){0,4}\s*$",
    "es": r"\b(?:quiero|quisiera|necesito|puedo|puede|pueden|podria|podrian|si|ojala|"
    r"tal\s+vez|quizas?)\b(?:\s+\S+){0,4}\s*$",
}
# What opens a question even without its "?" ("did they move my appointment").
_ASKING_OPENERS: Final[dict[str, str]] = {
    "en": r"(?:can|could|do|does|did|is|are|was|were|will|would|should|has|have|had|what|"
    r"whats|what's|when|where|why|who|how|which)\b",
    "es": r"(?:cuando|donde|por\s+que|cual|puedo|puede|pueden|podria|debo|hay)\b",
}


# "it was moved", "moved it", "me la cambiaron": the visit referred to without its noun.
_PRONOUN: Final[dict[str, str]] = {
    "en": r"\b(?:it|mine)\b",
    "es": r"\b(?:me|nos|le|les|se)\s+l[ao]s?\b|\bl[ao]s?\s+(?=\S+\b)",
}

_NEGATION: Final[dict[str, str]] = {
    "en": r"\b(?:not|never|didn't|didnt|don't|dont|haven't|havent|hasn't|hasnt|won't|wont|"
    r"wasn't|wasnt|isn't|isnt|can't|cant|cannot)\s+(?:\S+\s+){0,2}?",
    "es": r"\bno\s+(?:(?:me|nos|le|les|se|la|lo|las|los|han|ha|he|hemos|fue|van|voy|a|"
    r"pude|puedo|quiero)\s+){0,3}",
}

# A visit named by its place in a series: "my first one", "the next one", "mi primera",
# "la próxima".
_ORDER_ONE: Final[dict[str, str]] = {
    "en": r"\b(?:my|the)\s+(?:very\s+)?(?:first|1st|next|second|2nd|third|3rd|last|final)"
    r"\s+one\b",
    "es": r"\b(?:mi|la|el)\s+(?:primera?|1a|1ra|proxima?|siguiente|segunda?|tercera?|"
    r"ultima?)\s+(?:es|sera|va|queda|seria|cae|fue)\b",
}

# What opens a question: "can I...", "when is...", "¿...", "qué...".
_QUESTION_OPENERS: Final[dict[str, str]] = {
    "en": r"(?:can|could|do|does|did|is|are|am|was|were|will|would|should|shall|may|might|"
    r"must|have|has|had|what|whats|what's|when|where|wheres|why|who|whom|whose|how|hows|"
    r"which|any|anything|isn't|isnt|aren't|arent|don't|dont|doesn't|doesnt|won't|wont|"
    r"cant|can't|right|ok|okay|or)\b",
    "es": r"(?:que|cuando|donde|como|cual|cuales|quien|quienes|cuanto|cuanta|cuantos|"
    r"cuantas|puedo|puede|pueden|podria|debo|debe|tengo|tiene|hay|necesito)\b",
}
_FILLERS: Final = r"(?:(?:so|and|but|ok|okay|oh|hey|hi|um|uh|also|pero|y|bueno|oye|hola)\W+)*"


def _fold(text: str) -> str:
    """Lower case without accents ("cambió" is "cambio"), apostrophes kept."""
    text = text.replace("’", "'").lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _lang(lang: str) -> str:
    return "es" if lang == "es" else "en"


def says_moved(text: str, lang: str = "en") -> bool:
    """Whether `text` says a visit was (or is being) moved: a verb of moving, not negated,
    about a visit named by its noun or a pronoun ("they moved my appt", "it got pushed back",
    "me cambiaron la cita", "me la pasaron")."""
    lang = _lang(lang)
    folded = _fold(text)
    verb = re.compile(_MOVE[lang])
    negated = re.compile(_NEGATION[lang] + r"$")
    for match in verb.finditer(folded):
        if negated.search(folded[: match.start()]):
            continue
        window = folded[max(0, match.start() - 40) : match.end() + 40]
        if re.search(rf"\b(?:{_NOUNS[lang]})\b", window) or re.search(_PRONOUN[lang], window):
            return True
    return False


def says_was_moved(text: str, lang: str = "en") -> bool:
    """Whether `text` tells that a visit has been moved, as a statement ("they moved it", "my
    appointment got moved", "the clinic changed my appointment", "me cambiaron la cita"): a
    past form of a verb of moving with the visit as its object or subject, not negated, not
    wished, asked or supposed ("i need to move my appointment", "can they change it?", "if
    they moved it ..."). Whether it also says the new time is read elsewhere."""
    lang = _lang(lang)
    if asks(text, lang) or "?" in text:
        return False
    folded = _fold(text)
    if re.match(_FILLERS + _ASKING_OPENERS[lang], folded.lstrip(" .!,")):
        return False
    negated = re.compile(_NEGATION[lang] + r"$")
    not_done = re.compile(_NOT_DONE[lang])
    for shape in _MOVED_SHAPES[lang]:
        pattern = shape.replace("{V}", _MOVED[lang]).replace("{N}", _NOUNS[lang])
        for match in re.finditer(pattern, folded):
            before = folded[: match.start()]
            said = folded[: match.end()]
            if negated.search(before) or not_done.search(before):
                continue
            if re.search(_NEGATION[lang] + r"(?:\S+\s+){0,3}?$", said[: _verb_start(said, lang)]):
                continue
            return True
    return False


def _verb_start(said: str, lang: str) -> int:
    """Where the last verb of moving in `said` starts (a negation may stand between the visit
    and it: "my appointment wasn't moved")."""
    found = [m.start() for m in re.finditer(rf"\b(?:{_MOVED[lang]})\b", said)]
    return found[-1] if found else len(said)


def names_visit(text: str, lang: str = "en") -> bool:
    """Whether `text` names a visit by its noun ("appointment", "cita")."""
    return re.search(rf"\b(?:{_NOUNS[_lang(lang)]})\b", _fold(text)) is not None


def names_one_in_order(text: str, lang: str = "en") -> bool:
    """Whether `text` names something by its place in a series alone ("my first one is",
    "la próxima es"): a visit, when the patient has none yet or the text names visits."""
    return re.search(_ORDER_ONE[_lang(lang)], _fold(text)) is not None


def asks(text: str, lang: str = "en") -> bool:
    """Whether `text` asks a question: an inverted "¿", or a "?" closing a clause that opens
    as a question does ("can i eat before my visit tomorrow at 10?", "..., right?"). A "?"
    after a statement ("my first one is thursday around 2? not sure") only hedges it."""
    if "¿" in text:
        return True
    if "?" not in text:
        return False
    folded = _fold(text)
    opener = re.compile(_FILLERS + _QUESTION_OPENERS[_lang(lang)])
    for clause in re.findall(r"[^.!?;,\n]*\?", folded):
        words = clause.strip(" ?\t")
        if not words or opener.match(words):
            return True
    return False
