"""The crisis screen, tested against the real lexicon in messages/en/safety.toml.

POSITIVE phrases must trigger the crisis answer; NEGATIVE phrases must not. Each list was
reviewed by hand: when you edit safety.toml, add the message that prompted the change here.
"""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path

import pytest

from bot.content.schemas import SafetyLexicon, crisis_detector
from bot.content.store import Content
from bot.domain.safety import CrisisDetector, CrisisMatch, Proximity
from bot.domain.text_normalization import normalize
from foundation.data_file import validate_file
from tests.unit.screen_timing import LINEAR, growth

MESSAGES_DIR = Path(__file__).resolve().parents[2] / "messages"
SAFETY_TOML = MESSAGES_DIR / "en" / "safety.toml"


@pytest.fixture(scope="module")
def lexicon() -> dict:
    with SAFETY_TOML.open("rb") as fh:
        return tomllib.load(fh)


@pytest.fixture(scope="module")
def detector(lexicon: dict) -> CrisisDetector:
    return crisis_detector([SafetyLexicon.model_validate(lexicon)])


POSITIVE = [
    # suicide
    "I want to die",
    "i just want to die honestly",
    "I WANT TO DIE",
    "i wanna die",
    "I’ve been thinking about suicide",
    "I feel suicidal tonight",
    "Suicidal thoughts again, can ketamine help?",
    "I'm going to kill myself",
    "honestly thinking of killing myself",
    "kms",
    "lol kms this week is too much",
    "i want to unalive myself",
    "thinking about unaliving",
    "I want to end my life",
    "I just want to end it all",
    "I’ve decided to take my own life",
    "everyone would be better off without me",
    "I’d be better off dead",
    "I wish I was dead",
    "I don't want to be here anymore",
    "I don’t want to be here anymore",
    "i dont want to be here anymore",
    "I dont want to live like this",
    "there's no reason to live",
    "I have nothing to live for",
    "I can't go on like this",
    "I hope I don't wake up tomorrow",
    # self harm
    "I hurt myself last night",
    "I keep cutting myself",
    "I started cutting again",
    "self harm",
    "I've been self-harming",
    "Self-Harm urges are back",
    "I want to harm myself",
    "I took too many pills",
    # medical emergency
    "I have chest pain",
    "my chest hurts a lot after the infusion",
    "sharp pain in my chest",
    "I can't breathe",
    "I can’t breathe!!",
    "i cant breath",
    "I cannot breathe properly",
    "having trouble breathing",
    "difficulty breathing since this morning",
    "my wife is short of breath",
    "I think I overdosed",
    "I think I OD'd on my meds",
    "i OD’d",
    "he is overdosing",
    "my husband passed out in the car",
    "I fainted at home",
    "I feel like I'm about to pass out",
    "she's having a seizure",
    "I think I'm having a stroke",
    "his face is drooping and speech is slurred",
    "I think I'm having a heart attack",
    "should I call 911?",
    "he won't wake up",
    # harm to others
    "I want to hurt someone",
    "I'm scared I'll hurt somebody",
    "I want to kill him",
    "I’ve been having homicidal thoughts",
    # abuse / immediate danger
    "I'm not safe at home",
    "I am not safe right now",
    "my partner is threatening to kill me",
    "he hits me when he drinks",
    "I'm being abused",
    "I’m in danger",
    "he won't let me leave the house",
    # embedded in a long message
    (
        "Hi, just confirming my appointment on Thursday at 10. Also I wanted to say "
        "that lately I don't want to be alive and I don't know who to tell."
    ),
    # evasions: invisible (format) characters inside words
    "I want to k\u200bill myself",  # zero-width space
    "sui\u00adcide",  # soft hyphen
    "I feel sui\u2060cidal tonight",  # word joiner
    "I want to e\u200cnd my li\u200dfe",  # ZWNJ, ZWJ
    "I wa\ufeffnt to die",  # BOM
    "I can't bre\u00adathe",
    "I think I over\u2063dosed",  # invisible separator
    "s\u200be\u200bl\u200bf h\u200ba\u200br\u200bm",
    "I'm going to k\u180eill myself",  # Mongolian vowel separator
    "I want to hu\u2066rt someone",  # left-to-right isolate
    "I want to d\ufe0fie",  # variation selector
    "I keep cutting my\U000e0020self",  # tag space
    # evasions: Cyrillic and Greek lookalike letters
    "I want to k\u0456ll mys\u0435lf",  # Cyrillic і, е
    "\u0455u\u0456\u0441\u0456d\u0435",  # ѕuісіdе
    "I feel \u0455uicidal",
    "i w\u0430nt t\u03bf di\u0435",  # Cyrillic а, Greek ο, Cyrillic е
    "I WANT TO \u039a\u0399LL MYS\u0395LF",  # Greek Κ, Ι, Ε
    "\u041a\u041c\u0405",  # КМЅ
    "I think I \u043ev\u0435rd\u043es\u0435d",
    "I \u0441\u0430n't br\u0435\u0430th\u0435",
    "h\u0435 hits m\u0435 when he drinks",
    "\u0399'm n\u03bft safe at home",  # Greek Ι, ο
    "i want to u\u03b7alive myself",  # Greek η looks like n
    "I'm in d\u0430ng\u0435r",
    # evasions: numbers, number words and leet
    "i want 2 die",
    "gonna k1ll myself",
    "ki11 myself",
    "I'm going to k111 myself",
    "su1c1de",
    "$uicidal thoughts again",
    "i w4nt t0 d13",
    "I c4nt bre4the",
    "I t00k 2 many pills",
    "i'm not s@fe at home",
    "we r in danger",
    "i'm 5c4red 4 my life",
    "I think I 0verdosed",
    "$elf h@rm",
    "I want 2 kill him",
    "I'm going to 3nd my l1fe",
    # evasions: combined
    "i w\u200b\u0430nt 2 d1e",
]

NEGATIVE = [
    "Can ketamine help my depression?",
    "I have PTSD, is this for me?",
    "How long does the pain relief last?",
    "will I feel like I'm dying? no just kidding, will I feel floaty",
    "I'm dying to know how long it takes",
    "my chest is fine",
    "Is it safe if I have asthma?",
    "Can I do breathing exercises before the visit?",
    "my playlist is killing it",
    "Does it help with anxiety?",
    "I have chronic pain from fibromyalgia",
    "I get migraines a few times a month",
    "My depression has been bad this winter",
    "what should I expect?",
    "How long is recovery?",
    "can I drive home after?",
    "I can't go on Tuesday, can I reschedule?",
    "my boss is going to kill me if I'm late",
    "What happens if I feel sick during the infusion?",
    "Can you overdose on ketamine?",
    "Is there a risk of overdose during the infusion?",
    "I have a chest cold, should I still come in?",
    "my chest of drawers fell over lol",
    "breathing feels easier after meditation",
    "Will I pass out during the infusion?",
    "I felt odd after the last one",
    "this traffic is killing me",
    "Beats me why the app crashed",
    "he hit me up yesterday about the ride",
    "I stroke my cat to relax",
    "I feel so much better, thank you!",
    "the music hits me differently now",
    "I'm killing time in the waiting room",
    "skills for coping with stress?",
    "what conditions do you treat",
    # ordinary text with digits, number words, other scripts, emoji and format characters
    "I took 2 pills of tylenol, is that ok before the infusion?",
    "I have 2 dogs and 1 cat",
    "Is 4 sessions enough for my migraines?",
    "my appointment is at 10am on the 2nd",
    "Can I take vitamin B12 and 5-HTP before my session?",
    "I'm on 50mg of sertraline",
    "r u open on Saturday? can u text me the address",
    "I had 1 odd reaction last time",
    "call me at 555-0100 after 5pm",
    "COVID19 booster 2 weeks ago, is that ok?",
    "I'm 4ever grateful 4 ur help",
    "my boss is going 2 kill me if I'm late",
    "this traffic is k1lling me",
    "I'm dying 2 know how it feels",
    "Здравствуйте, у меня мигрень, можно записаться?",
    "Ευχαριστώ πολύ για τη βοήθεια",
    "s\u043e much better today, thank you!",  # Cyrillic о
    "thank\u200byou so much \u2764\ufe0f see you 2morrow",
    "\U0001f468\u200d\U0001f469\u200d\U0001f467 can my family come with me?",
    "I'd like to re\u00adschedule to the 3rd \U0001f64f",
    "",
    "   ",
]


@pytest.mark.parametrize("text", POSITIVE)
def test_positive_phrases_trigger(detector: CrisisDetector, text: str) -> None:
    assert detector.check(text) is not None, f"should trigger: {text!r}"


@pytest.mark.parametrize("text", NEGATIVE)
def test_negative_phrases_do_not_trigger(detector: CrisisDetector, text: str) -> None:
    assert detector.check(text) is None, f"should not trigger: {text!r}"


def test_lists_are_big_enough() -> None:
    assert len(POSITIVE) >= 40
    assert len([t for t in NEGATIVE if t.strip()]) >= 30


def test_none_is_no_match(detector: CrisisDetector) -> None:
    assert detector.check(None) is None


def test_lexicon_has_required_categories(detector: CrisisDetector) -> None:
    assert {
        "active_ideation",
        "passive_ideation",
        "plan_intent",
        "preparatory",
        "burden",
        "hopelessness",
        "overdose",
        "other_in_danger",
        "past_ideation",
        "self_harm",
        "medical_emergency",
        "harm_to_others",
        "abuse_danger",
    } <= detector.categories


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("I want to die", "passive_ideation"),
        ("I want to kill myself", "active_ideation"),
        ("I’ve been self-harming", "self_harm"),
        ("I can't breathe", "medical_emergency"),
        ("I want to hurt someone", "harm_to_others"),
        ("I'm not safe at home", "abuse_danger"),
    ],
)
def test_category_is_reported(detector: CrisisDetector, text: str, category: str) -> None:
    assert detector.check(text) == CrisisMatch(category)


def test_exclusion_does_not_hide_other_phrases(detector: CrisisDetector) -> None:
    assert detector.check("can you overdose on ketamine?") is None
    assert detector.check("can you overdose on ketamine? I think I overdosed") is not None
    assert detector.check("can you overdose? also I want to die") is not None


def test_no_bare_everyday_words_in_lexicon(lexicon: dict) -> None:
    banned = {"die", "dying", "dead", "kill", "hurt", "pain", "chest", "breathing", "odd"}
    phrases = {normalize(p) for c in lexicon["category"] for p in c["phrases"]}
    assert not phrases & banned


def test_long_input_costs_in_proportion(detector: CrisisDetector) -> None:
    """Telegram's longest message (4,096 characters) costs about four times a quarter of it."""
    text = ("my chest is fine and the breathing exercises help with my depression " * 80)[:4096]
    ratio = growth(detector.check, text[:1024], text)
    assert ratio < LINEAR, f"4x the text took {ratio:.1f}x the time"
    assert detector.check(text + " I want to die") is not None


# --- normalization -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Can’t BREATHE!!", "cant breathe"),
        ("self-harm", "self harm"),
        ("self_harm", "self harm"),
        ("  lots\tof   space\n", "lots of space"),
        ("ＦＵＬＬＷＩＤＴＨ", "fullwidth"),
        ("“quoted”", "quoted"),
        ("I OD'd", "i odd"),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


# --- the detector itself ------------------------------------------------------------------


def test_whole_words_only() -> None:
    detector = CrisisDetector({"x": ["kill myself"]})
    assert detector.check("I could kill myself") == CrisisMatch("x")
    assert detector.check("skill myselfie") is None


def test_wildcard_matches_word_stems_only() -> None:
    detector = CrisisDetector({"x": ["self harm*"]})
    for text in ("self harm", "self-harming", "Self harmed again"):
        assert detector.check(text) == CrisisMatch("x"), text
    assert detector.check("self harbour") is None
    assert detector.check("myself harm") is None


def test_phrases_are_not_regex() -> None:
    detector = CrisisDetector({"x": ["a.b (c)"]})
    assert detector.check("a b c") == CrisisMatch("x")  # punctuation is normalized away
    assert detector.check("axb c") is None


def test_longest_phrase_at_same_start_decides_category() -> None:
    detector = CrisisDetector({"short": ["cant"], "long": ["cant breathe"]})
    assert detector.check("I can't breathe") == CrisisMatch("long")
    assert detector.check("I can't sleep") == CrisisMatch("short")


def test_exclusion_only_covers_contained_match() -> None:
    detector = CrisisDetector({"x": ["overdose", "help me"]}, exclusions=["risk of overdose"])
    assert detector.check("what is the risk of overdose") is None
    assert detector.check("risk of overdose help me") == CrisisMatch("x")
    assert detector.check("overdose risk of overdose") == CrisisMatch("x")


@pytest.mark.parametrize(
    ("categories", "exclusions", "message"),
    [
        ({}, (), "at least one crisis category"),
        ({"x": []}, (), "phrases must not be empty"),
        ({"x": [""]}, (), "empty after normalization"),
        ({"x": ["   "]}, (), "empty after normalization"),
        ({"x": ["!!!"]}, (), "empty after normalization"),
        ({"x": [42]}, (), "must be a string"),
        ({"x": "kill myself"}, (), "must be a list"),
        ({"Bad Key": ["a b"]}, (), "snake_case"),
        ({"x": ["*"]}, (), "empty after normalization"),
        ({"x": ["ki*ll"]}, (), "only allowed once, at the end of a word"),
        ({"x": ["kill**"]}, (), "only allowed once, at the end of a word"),
        ({"x": ["ab*"]}, (), "at least 3 letters"),
        ({"x": ["a" * 201]}, (), "longer than"),
        ({"x": ["same"], "y": ["same"]}, (), "also listed under category 'x'"),
        ({"x": ["overdose"]}, ["breathing exercises"], "does not contain any crisis phrase"),
        ({"x": ["overdose"]}, ["Overdose!"], "same as a crisis phrase"),
        ({"x": ["overdose"]}, [""], r"exclusions\[0\]: phrase"),
    ],
)
def test_invalid_lexicon_is_rejected(categories: dict, exclusions: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CrisisDetector(categories, exclusions)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, r"safety.toml: category: missing \(required\)"),
        ({"category": []}, "safety.toml: category: needs at least 1, has 0"),
        ({"category": ["x"]}, r"category\[1\]: expected a table, got 'x'"),
        ({"category": [{"phrases": ["a"]}]}, r"category\[1\]\.key: missing"),
        ({"category": [{"key": "Bad Key", "phrases": ["a"]}]}, r"category\[1\]\.key: String"),
        ({"category": [{"key": "x"}]}, r"category\[1\]\.phrases: missing"),
        ({"category": [{"key": "x", "phrases": "a"}]}, r"category\[1\]\.phrases: expected a list"),
        ({"category": [{"key": "x", "phrases": []}]}, r"category\[1\]\.phrases: needs at least 1"),
        (
            {"category": [{"key": "x", "phrase": ["a"]}]},
            r"category\[1\]\.phrase: unknown field \(did you mean 'phrases'\?\)",
        ),
        (
            {"category": [{"key": "x", "phrases": ["a"]}, {"key": "x", "phrases": ["b"]}]},
            r"category\[2\]\.key: 'x' is used by more than one category",
        ),
        (
            {"category": [{"key": "x", "phrases": ["a"], "description": 1}]},
            r"category\[1\]\.description: expected text",
        ),
        ({"category": [{"key": "x", "phrases": ["a"]}], "extra": 1}, "extra: unknown setting"),
        (
            {"category": [{"key": "x", "phrases": ["a"]}], "exclusions": []},
            "exclusions: expected a table",
        ),
        (
            {"category": [{"key": "x", "phrases": ["a"]}], "exclusions": {"phrases": "a b"}},
            r"exclusions\.phrases: expected a list",
        ),
        (
            {"category": [{"key": "x", "phrases": ["a"]}], "exclusions": {"list": []}},
            r"exclusions\.list: unknown field",
        ),
        (
            {"category": [{"key": "x", "phrases": ["ok", ""]}]},
            r"category\[1\]\.phrases\[2\]: phrase '' is empty after normalization",
        ),
        (
            {"category": [{"key": "x", "phrases": ["ki*ll"]}]},
            r"category\[1\]\.phrases\[1\]: phrase 'ki\*ll': '\*' is only allowed once",
        ),
        (
            {"category": [{"key": "x", "phrases": ["same"]}, {"key": "y", "phrases": ["same"]}]},
            "also listed under category 'x'",
        ),
    ],
)
def test_invalid_toml_structure_is_rejected(data: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_file(SafetyLexicon, data, "safety.toml")


def test_an_exclusion_without_a_crisis_phrase_is_refused_when_the_detector_is_built() -> None:
    # It needs the compiled lexicon, so the file check leaves it to the build.
    lexicon = SafetyLexicon.model_validate(
        {
            "category": [{"key": "x", "phrases": ["overdose"]}],
            "exclusions": {"phrases": ["breathing exercises"]},
        }
    )
    with pytest.raises(ValueError, match="does not contain any crisis phrase"):
        crisis_detector({"en": lexicon})


def test_lexicon_file_accepts_minimal_structure() -> None:
    lexicon = SafetyLexicon.model_validate(
        {
            "category": [{"key": "x", "phrases": ["overdose"], "description": "d"}],
            "exclusions": {"phrases": ["can you overdose"]},
        }
    )
    detector = crisis_detector([lexicon])
    assert detector.check("I overdosed?") is None  # "overdosed" is not "overdose"
    assert detector.check("overdose") == CrisisMatch("x")
    assert detector.check("can you overdose") is None


# --- proximity patterns, accents, quiet categories -----------------------------------------


def test_proximity_pattern_matches_within_its_window_only() -> None:
    detector = CrisisDetector(
        {"x": ["zzz"]}, patterns={"x": [Proximity(("took", "swallow*"), ("pills",), 2)]}
    )
    assert detector.check("I took all my pills") == CrisisMatch("x")
    assert detector.check("swallowed my pills") == CrisisMatch("x")
    assert detector.check("took one two three pills") is None  # three words between
    assert detector.check("pills took") is None  # order matters
    assert detector.check("mistook the pills") is None  # whole words


def test_proximity_pattern_is_linear_on_hostile_input(detector: CrisisDetector) -> None:
    """A word that begins a proximity phrase, repeated (no backtracking blow-up)."""
    ratio = growth(detector.check, ("took " * 500) + "x", ("took " * 2000) + "x")
    assert ratio < LINEAR, f"4x the text took {ratio:.1f}x the time"


def test_accents_are_folded_on_both_sides() -> None:
    detector = CrisisDetector({"x": ["daño", "corazon"]})
    assert detector.check("me hago dano") == CrisisMatch("x")
    assert detector.check("CORAZÓN") == CrisisMatch("x")


def test_quiet_category_covers_and_does_not_alert() -> None:
    detector = CrisisDetector(
        {"now": ["suicidal", "want to die"], "past": ["was suicidal"]}, quiet=["past"]
    )
    assert detector.check("I was suicidal years ago") == CrisisMatch("past", alert_staff=False)
    assert detector.check("I was suicidal, now I want to die") == CrisisMatch("now")
    assert detector.check("I am suicidal") == CrisisMatch("now")
    assert detector.quiet == {"past"}


# Round 8 of issue 16: what the new concepts must read, and the everyday senses of their words
# (found trying the bot as a patient and by the Spanish round's own checks).
ROUND_8_CRISIS = [
    "my 4 yr old chewed through the blister pack and some are missing",
    "my grandson put my pain patch in his mouth",
    "i feel like dead weight on everyones shoulders",
    "i cant see any future for myself at all",
    "made my funeral arrangements already, paid in full",
    "mi nieto estuvo jugando con mi pastillero y ahora esta muy dormido y flojito",
    "sin mi sus vidas serian mas faciles, eso es un hecho",
    "me inyecte mas de lo normal y me siento muy rara",
]
ROUND_8_ORDINARY = [
    "my kids will be fine without me for the afternoon right?",
    "im at the end of my rope with this insurance company",
    "i have been cutting back on coffee like the nurse said",
    "can i bring a snack for after?",
    "just trying to picture it before i go",
    "ate way too much pizza",
    "how long do i have to hang around before i can go?",
    "cancelen mi cita por favor",
    "cuanto tiempo me tengo que quedar antes de irme?",
    "tengo migrañas y nada me funciona, soy candidata?",
    "me pasé con la sal en la sopa",
    "no puedo respirar de tanto reirme con este video",
    "ya me pegó el sueño",
]


@functools.cache
def bot_screen() -> CrisisDetector:
    """The screen as the bot runs it: every language's lexicon and the learned layer."""
    return Content(MESSAGES_DIR).crisis_detector


@pytest.mark.parametrize("text", ROUND_8_CRISIS)
def test_round_8_concepts_are_read(text: str) -> None:
    assert bot_screen().check(text) is not None


@pytest.mark.parametrize("text", ROUND_8_ORDINARY)
def test_round_8_everyday_senses_stay_ordinary(text: str) -> None:
    assert bot_screen().check(text) is None


# Spanish round 9 of issue 16 (concepts from dev11's misses, in other words than its lines):
# each concept in another person, tense or region, and the everyday senses of its words.
ROUND_9_ES_CRISIS = [
    "todas las noches le rezo a diosito que ya no me deje despertar",
    "estoy harta de seguir viva, de verdad",
    "si el doctor me dijera que es algo terminal creo que sentiría alivio",
    "solo estoy esperando a que mi cuerpo se apague",
    "les haríamos un favor a todos desapareciendo, eso pienso de mí",
    "lo más justo sería que yo ya no existiera",
    "sin mí mis hijos podrían vivir tranquilos",
    "ningún tratamiento me va a devolver las ganas de vivir",
    "ya dejé por escrito cómo quiero mi velorio",
    "tengo la escopeta de mi papá y la voy a usar el viernes",
    "vos sabés que anoche me castigué con la correa",
    "me volví a cortar y no para de sangrar",
    "estoy encerrada con la cuchilla, aún no lo he hecho",
    "me tragué los ansiolíticos de todo el mes",
    "me tomé las pastillas que venía juntando",
    "sudando frío y con presión en el pecho desde hace rato",
    "mi tía googleó formas de envenenarse",
    "la encontré con la soga en el cuarto",
    "a veces pienso en asfixiar a mi bebé y me da terror",
    "mañana me presento al trabajo de mi exjefe con el arma",
    "mi marido me amenazó que si hablo me parte la cara",
    "mi papá le pega a mi hermanita con el cinturón",
    "mi padrastro le pega a mi mamá",
    "me di cabezazos contra la pared hasta sacarme sangre",
    "uso suéter para que no vean los moretones",
    "se me está paralizando la mitad de la cara",
    "mi hermano se tomó el insecticida",
    "oigo una voz que me ordena hacerme daño",
    "ya volvieron las ideas de muerte",
    "dejé de tomar el ansiolítico y los estoy guardando",
    "no me fío de mí misma esta noche",
    "tengo miedo de hacer alguna tontería",
    "díganle a mi mamá que la amo",
    "regalé mis cosas, también toda mi colección",
    "me siento aliviada ahora que ya lo decidí",
    "su padrastro la manosea cuando no hay nadie",
    "me he vuelto a hacer cortes esta noche",
    "mi hermano se ha tomado todas sus pastillas",
    "me he chutado todo lo que me quedaba",
    "mi pareja me ha abofeteado delante de los críos",
    "dice que me mata si lo denuncio",
    "esta noche me ahorcaré en el trastero",
    "me piro de este mundo, ya está",
    "estoy hasta la coronilla de seguir viviendo",
    "mi primo me mandó un video de sus cortadas",
    "mi tía dejó de ponerse la insulina para dejarse morir",
    "me bebí medio frasco de rivotril",
    "tengo un revólver y sé dónde duerme",
    "mi esposo presenta ideas de muerte desde el lunes",
    "me están llegando pensamientos suicidas",
    "ya me quiero ir con mi esposo que se murió",
]
ROUND_9_ES_ORDINARY = [
    "le pido a dios no despertar tarde mañana, tengo cita temprano",
    # A known false alarm of the learned layer in round 9 (it read "me sigue a todos lados" as
    # a stalker is told of); the model of round 10 no longer flags it.
    "mi sobrino me sigue a todos lados, es mi sombra",
    "me encantaría desaparecer del mapa un par de días en la playa",
    "en el cuestionario marqué que no cuando preguntaba si tengo ideas suicidas",
    "les tengo pavor, bueno, le tengo miedo a las agujas",
    "me da miedo morirme en la infusión, ¿es seguro?",
    "¿se puede mezclar alcohol con las pastillas que me dieron?",
    "mi terapeuta y yo estamos haciendo un plan de seguridad con la psicóloga",
    "mi primo estuvo internado por una sobredosis hace años",
    "de bebé me dio una convulsión por fiebre",
    "me dan ganas de ahogar al bebé a besos",
    "casi le pego a mi hija con la puerta del carro",
    "voy a ir a la casa de mi tío con la escopeta para cazar",
    "el corazón me late rapidísimo, me mareo de la emoción",
    "lo justo sería que yo no estuviera en el turno de noche",
    "me corté cocinando y creo que necesito puntos",
    "se me entumió la boca con la anestesia del dentista",
    "mi ex me sigue en instagram",
    "me siento en paz desde que tomé la decisión de empezar las infusiones",
    "ya elegí el método de pago para la sesión",
    "es la última vez que les escribo por lo del reembolso",
    "no me siento segura conmigo misma al manejar de noche",
    "me he vuelto a cortar el flequillo yo sola",
    "me mataré trabajando este mes para pagar el piso",
    "mi hija me ha pegado el resfriado",
    "mi marido me ha empujado a pedir la cita, menos mal",
    "estoy harta de vivir en este piso tan pequeño",
    "mi hijo me mandó fotos de sus cortes de pelo",
    "me comí la mitad de la caja de galletas",
    "la nota de la doctora dice que niega ideas de muerte",
    "¿la ketamina le sirve a gente que tiene ideación suicida?",
]


@pytest.mark.parametrize("text", ROUND_9_ES_CRISIS)
def test_round_9_spanish_concepts_are_read(text: str) -> None:
    match = bot_screen().check(text)
    assert match is not None and match.alert_staff


@pytest.mark.parametrize("text", ROUND_9_ES_ORDINARY)
def test_round_9_spanish_everyday_senses_stay_ordinary(text: str) -> None:
    assert bot_screen().check(text) is None


# Round 9 of issue 16 (English): concepts written from dev11's misses, in other words than its
# lines, and the everyday senses of the same words, which must stay ordinary.
ROUND_9_CRISIS = [
    "honestly i just want to finish my life, nothing helps",
    "the voices keep telling me to end it",
    "been thinking about jumping again tonight",
    "some nights id like to fall asleep and never come back",
    "being dead sounds like a relief honestly",
    "part of me hopes my heart just stops in my sleep",
    "ive picked the bridge already",
    "does my life insurance still pay out if its suicide",
    "i had all my sleeping pills lined up on the desk",
    "practiced with the cord last night",
    "washed everything so no one has to clean up my mess after",
    "i used a piece of glass on my arm",
    "30 sertraline gone, feel sick",
    "a handful of tablets 20 minutes ago",
    "his blood sugar is 2.1 and hes not making sense",
    "my dad with alzheimers went missing and its dark",
    "my toddler is in the bath face down",
    "my brother took a pill at the club and now hes convulsing",
    "i almost smacked my son properly last night",
    "i could put my fist through his face",
    "he goes through my phone and i get hit if he finds them",
    "my stepdad hits my mum every night",
    "i doubt ill be around much longer",
    "i keep having thoughts of smothering my baby",
    "my mum hasnt answered in two days and she was very low",
    "i have thoughts of harming others",
    "my daughter is being groomed online by an older man",
]
ROUND_9_PAST = [
    "the old me would have wanted to die after that, im fine now",
    "my notes say one attempt in 2015, all fine now",
]
ROUND_9_ORDINARY = [
    "im disappointed i woke up late and missed the bus",
    "i hope my heart stops racing before the infusion",
    "i know which bridge you mean, the one by the station",
    "my pills are lined up in the organiser for the week",
    "ive made my peace with everything that happened with my ex",
    "we cleaned up so nobody has to deal with a mess after the party",
    "got a knife ready to carve the turkey",
    # The learned layer of rounds 10 and 11 read "beats my mum ... every night" as abuse is
    # told (a strict xfail until round 12, whose model, with thirty more writers, does not).
    "my dad beats my mum at chess every night",
    "i dont think ill be here much longer at this job, moving to leeds",
    "rash not anaphylaxis when i had penicillin",
    "im giving a talk on self-harm at school, any leaflets?",
    "it was just odd to be asked that",
    "wrote my will today because we bought a house",
    "my sister survived an overdose years back, now she volunteers",
    "we went to the bridge and sat there watching the sunset",
    "ive practised with the belt at the gym for deadlifts",
    "my sugar is 2 teaspoons in tea",
    "i tried once in 2019 to quit smoking",
    "my dog is being groomed tomorrow",
    "i tied a scarf around my neck because its cold",
]


# Round 10 (dev15: indirect and figurative speech, slang, faith, second-language English,
# fragments): the concepts in other words than the corpus's.
ROUND_10_CRISIS = [
    "some days i just want to clock out permanently",
    "honestly i want to end me, not the pain, me",
    "thinking of pulling the plug on myself this week",
    "i want to take myself home to the lord before he calls me",
    "gonna eat my pistol when the house is empty",
    "i wish i could log out of life",
    "would be fine with not existing anymore tbh",
    "i wish i had never been born",
    "i want to sleep and never open my eyes again",
    "hoping the anaesthetic keeps me under forever",
    "praying i dont come out of the next one",
    "i keep hoping for a fatal accident on my way to work",
    "god should take me now, im done down here",
    "me being dead would give my kids their lives back",
    "they would get over losing me in a month",
    "my life insurance is worth more than i am",
    "honestly no point continuing with any of this",
    "nothing left to fight for after the divorce",
    "my plan is the overpass near work",
    "been practising the knot every night",
    "rang my brother to say i love you and goodbye",
    "the razor is calling me again",
    "put a lighter to my arm to feel something",
    "reopened my cuts last night",
    "got the blade out, havent started yet",
    "emptied my oxycodone into my hand and swallowed",
    "chewed my fentanyl patch an hour ago",
    "drank the whole bottle of nyquil",
    "my dad is bleeding from his ear after he fell",
    "my inhaler isnt helping and my lips look blue",
    "her speech is slurred and she cant lift her left arm",
    "my brother locked himself in the garage with a rope",
    "my son drove off with my rifle after we argued",
    "my friend said he took all his pills and now his phone is off",
    "i could smother him in his sleep and nobody would know",
    "i want to run him over with the car",
    "going to school tomorrow with my dads gun",
    "the voices say to hurt my baby",
    "he put a tracker on my car, i cant shake him",
    "he keeps saying hell burn the house down with me in it",
    "my carer wont give me my meds unless i pay her",
    "if i go to the police hell make sure i dont make it home",
]
ROUND_10_PAST = [
    "a friend talked me down from the ledge back in college",
    "only scars now, stopped cutting at 17",
]
ROUND_10_ORDINARY = [
    "my grandfather is in hospice and ready to go home to the lord",
    "i want to disappear under a blanket this weekend lol",
    "im going to unalive the printer if it jams again",
    "my aunt says she will die of embarrassment at my wedding",
    "reading a memoir about a suicide attempt and recovery for book club",
    "goodbye forever old phone, hello new one",
    "my scars are from surgery, the form asks about self-harm",
    "writing letters to my grandkids for their birthdays",
    "i used to feel like a burden, now i dont",
    "had hives all over once after penicillin",
    "i lined my pills up in the organiser for the week",
    "checking out of the hotel before my infusion",
    "my lawyer said its time to update my will",
    "i died so many times in that game and im still going",
]


@pytest.mark.parametrize("text", ROUND_9_CRISIS + ROUND_10_CRISIS)
def test_round_9_and_10_concepts_are_read(text: str) -> None:
    match = bot_screen().check(text)
    assert match is not None and match.alert_staff


@pytest.mark.parametrize("text", ROUND_9_PAST + ROUND_10_PAST)
def test_round_9_and_10_past_ideation_gets_the_gentle_answer(text: str) -> None:
    assert bot_screen().check(text) == CrisisMatch(
        "past_ideation", alert_staff=False, languages=("en",)
    )


@pytest.mark.parametrize("text", [*ROUND_9_ORDINARY, *ROUND_10_ORDINARY])
def test_round_9_and_10_everyday_senses_stay_ordinary(text: str) -> None:
    assert bot_screen().check(text) is None


# Found trying the bot as a patient (round 9): an attempt told as history gets the gentle
# answer; the same history followed by the wish to do it again is a crisis; feeling better
# is not history of anything.
@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("back in 2019 i tried to end it but im in a much better place now", "past_ideation"),
        ("years ago i tried to kill myself and tonight i want to try again", "plan_intent"),
        ("i attempted in 2015 and i think ill try again this weekend", "plan_intent"),
        ("en 2018 intenté quitarme la vida, hoy estoy bien", "past_ideation"),
        ("hace años me quise matar y este finde quiero intentarlo otra vez", "plan_intent"),
    ],
)
def test_history_and_history_again(text: str, category: str) -> None:
    match = bot_screen().check(text)
    assert match is not None and match.category == category
    assert match.alert_staff == (category != "past_ideation")


@pytest.mark.parametrize(
    "text",
    [
        "the infusions helped, im in a better place now",
        "im not in that place anymore, thanks for asking",
        "the payment failed, can i try again tomorrow?",
        "no me salió el pago, ¿puedo volver a intentarlo mañana?",
    ],
)
def test_feeling_better_and_trying_again_are_ordinary(text: str) -> None:
    assert bot_screen().check(text) is None


# History does not cover what follows a word of the present ("now", "tonight", "ahora"):
# "i made a plan last year and now i want to kill myself" got the gentle answer alone, the
# history phrase "{past} ... {i} ... {ideation}" covering the whole message (found in round 10).
@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("i made a plan last year and now i want to kill myself", "active_ideation"),
        ("i cut myself as a teenager and lately i want to cut again", "self_harm"),
        ("hace dos años intenté matarme y ahora quiero morirme", "active_ideation"),
        ("el año pasado hice un plan y esta noche quiero matarme", "active_ideation"),
        ("years ago i wanted to die, now im fine", "past_ideation"),
        ("now i can talk about when i tried to kill myself in 2019", "past_ideation"),
        ("i was suicidal in 2015 but today im doing great", "past_ideation"),
        ("hace años quise morir, ahora estoy bien", "past_ideation"),
    ],
)
def test_history_does_not_cover_what_follows_the_present(text: str, category: str) -> None:
    match = bot_screen().check(text)
    assert match is not None and match.category == category
    assert match.alert_staff == (category != "past_ideation")


def test_without_present_words_history_covers_the_whole_message() -> None:
    lexicon = {
        "category": [
            {"key": "active_ideation", "phrases": ["want to die"]},
            {
                "key": "past_ideation",
                "alert_staff": False,
                "phrases": ["years ago ... want to die"],
            },
        ]
    }
    text = "years ago now i want to die"
    plain = crisis_detector([SafetyLexicon.model_validate(lexicon)])
    assert plain.check(text) == CrisisMatch("past_ideation", alert_staff=False)
    present = crisis_detector([SafetyLexicon.model_validate({**lexicon, "present_words": ["now"]})])
    match = present.check(text)
    assert match is not None and match.category == "active_ideation" and match.alert_staff


# "its time" was a crisis phrase on its own (round 4): "its time for my infusion" got the crisis
# answer and the team an alert. It counts when it is (almost) the whole message.
@pytest.mark.parametrize(
    ("text", "crisis"),
    [
        ("its time for my infusion", False),
        ("it's time to book my next appointment", False),
        ("my lawyer said it's time to update my will", False),
        ("its time", True),
        ("ok its time", True),
        ("Gun's loaded. Just sitting with it till it's time.", True),
    ],
)
def test_its_time_counts_alone(text: str, crisis: bool) -> None:
    match = bot_screen().check(text)
    assert (match is not None and match.alert_staff) == crisis
