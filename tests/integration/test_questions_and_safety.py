"""FAQ answers and the crisis screen, which wins over every other route."""

from __future__ import annotations

import pytest

from bot.telegram.callbacks import FaqCb
from tests.fake_telegram import updates
from tests.integration.harness import STAFF_ID, Harness, texts_to

PAT = 1001


async def staff_alert(harness: Harness) -> str:
    """The latest alert to staff: sent from the outbox once the update's transaction committed."""
    sent = await harness.server.wait_for(
        "sendMessage", lambda r: r.params.get("chat_id") == STAFF_ID
    )
    return str(sent[-1].params["text"])


async def test_faq_menu_lists_every_prompt_and_answers_from_templates(harness: Harness) -> None:
    [menu] = await harness.command(PAT, "faq")
    assert "not medical advice" in menu
    topics = [t for t, d in harness.buttons(PAT) if d.startswith("f:")]
    assert len(topics) >= 10
    [answer] = await harness.tap(PAT, "during an infusion")
    assert "IV" in answer
    assert "40 minutes" in answer
    assert "oxygen" in answer


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("what should I expect?", "40 minutes"),
        ("how long is recovery", "30"),
        ("How will it feel?", "float"),
        ("What conditions do you treat?", "PTSD"),
        ("can I drive home afterwards", "drive"),
        ("what's your phone number", "203-914-1900"),
    ],
)
async def test_free_text_questions_are_matched(
    harness: Harness, question: str, expected: str
) -> None:
    [answer] = await harness.send(PAT, question)
    assert expected in answer


async def test_unmatched_text_gets_the_list_one_tap_away_and_phone_never_silence(
    harness: Harness,
) -> None:
    [reply] = await harness.send(PAT, "qwerty zxcv")
    assert "couldn't match" in reply and "203-914-1900" in reply
    assert "one of these" not in reply  # nothing near: no question offered
    assert [t for t, _ in harness.buttons(PAT)] == ["All questions"]
    await harness.tap(PAT, "All questions")
    assert len([d for _, d in harness.buttons(PAT) if d.startswith("f:")]) >= 10


@pytest.mark.parametrize(
    ("lang", "text", "near", "answer"),
    [
        ("en", "whats the cost of a new iphone", "Cost and insurance", "Cost and insurance"),
        ("es", "que me pongo para una boda", "Qué llevar y qué ponerme", "Ropa cómoda"),
    ],
)
async def test_unmatched_text_offers_the_nearest_questions_not_all(
    harness: Harness, lang: str, text: str, near: str, answer: str
) -> None:
    update = updates.message_update(PAT, text)
    update["message"]["from"] = updates.user(PAT, language_code=lang)
    [reply] = texts_to(await harness.feed(update), PAT)
    assert ("one of these" if lang == "en" else "alguna de estas") in reply
    labels = [t for t, _ in harness.buttons(PAT)]
    assert near in labels
    assert 2 <= len(labels) <= 4  # at most three questions, then the whole list
    assert labels[-1] == ("All questions" if lang == "en" else "Todas las preguntas")
    update = updates.callback_update(PAT, harness.button(PAT, near))
    update["callback_query"]["from"] = updates.user(PAT, language_code=lang)
    [shown] = texts_to(await harness.feed(update), PAT)
    assert answer in shown


async def test_unknown_faq_key_gets_the_list(harness: Harness) -> None:
    [reply] = await harness.press(PAT, FaqCb(key="nope").pack())
    assert "couldn't match" in reply


@pytest.mark.parametrize(
    "text",
    [
        "I want to kill myself",
        "i've been having SUICIDAL thoughts",
        "I think I took too many pills, overdose",
        "I have chest pain right now",
        "I can't breathe",
    ],
)
async def test_crisis_is_answered_at_once_and_staff_alerted(harness: Harness, text: str) -> None:
    # The name in the alert comes from Telegram at delivery; it is never stored.
    harness.server.set_handler("getChat", lambda p: updates.full_chat(p["chat_id"], "Pat"))
    sent = await harness.feed(updates.message_update(PAT, text))
    to_patient = [r for r in sent if r.params.get("chat_id") == PAT]
    assert "988" in to_patient[0].params["text"]
    assert "911" in to_patient[0].params["text"]
    assert "203-914-1900" in to_patient[0].params["text"]
    alert = await staff_alert(harness)
    requests = harness.server.requests
    to_staff = harness.server.sent_messages(STAFF_ID)[0]
    assert requests.index(to_patient[0]) < requests.index(to_staff)  # patient first
    assert str(PAT) in alert
    assert "Pat" in alert
    assert text.lower() not in alert.lower()  # never quotes the patient


async def test_crisis_wins_in_the_middle_of_booking(harness: Harness) -> None:
    await harness.consent(PAT)
    await harness.command(PAT, "appointment")
    [reply] = await harness.send(PAT, "honestly I want to end my life")
    assert "988" in reply
    alert = await staff_alert(harness)
    assert "#1" in alert


async def test_crisis_in_a_photo_caption_and_an_edit(harness: Harness) -> None:
    sent = await harness.feed(updates.photo_update(PAT, caption="thinking about suicide"))
    assert "988" in texts_to(sent, PAT)[0]
    sent = await harness.feed(updates.edited_message_update(PAT, "I want to die"))
    assert "988" in texts_to(sent, PAT)[0]


@pytest.mark.parametrize(
    "text",
    [
        "can ketamine help my depression?",
        "I have PTSD, is this treatment for me?",
        "how long does the pain relief last",
        "does it help chronic pain and migraines",
        "breathing exercises before the visit?",
    ],
)
async def test_mentions_of_conditions_are_not_crises(harness: Harness, text: str) -> None:
    [reply] = await harness.send(PAT, text)
    assert "Crisis Lifeline" not in reply
    assert "not alone" not in reply
    assert harness.server.sent_messages(STAFF_ID) == []


async def test_staff_alert_escapes_the_patients_name(harness: Harness) -> None:
    harness.server.set_handler(
        "getChat", lambda p: updates.full_chat(p["chat_id"], "<b>Eve</b> & co")
    )
    await harness.feed(updates.message_update(PAT, "I want to kill myself"))
    alert = await staff_alert(harness)
    assert "&lt;b&gt;Eve&lt;/b&gt; &amp; co" in alert


async def test_blocked_staff_does_not_stop_the_patients_answer(harness: Harness) -> None:
    harness.server.block_chat(STAFF_ID)
    sent = await harness.feed(updates.message_update(PAT, "I want to kill myself"))
    assert "988" in sent[0].params["text"]


async def test_past_ideation_gets_gentle_resources_then_the_answer_and_no_alert(
    harness: Harness,
) -> None:
    sent = await harness.feed(
        updates.message_update(PAT, "I was suicidal years ago, can I drive home afterwards?")
    )
    first, *rest = texts_to(sent, PAT)
    assert "988" in first
    assert "Thank you for telling me" in first
    assert "not alone" not in first  # not the crisis answer
    assert any("drive" in text for text in rest)  # then the usual answer
    assert harness.server.sent_messages(STAFF_ID) == []


async def test_past_ideation_told_without_a_question_gets_the_gentle_answer_alone(
    harness: Harness,
) -> None:
    """No "I couldn't match that" after a patient told of an attempt years ago."""
    sent = await harness.feed(
        updates.message_update(PAT, "back in 2019 i tried to end it, im in a much better place now")
    )
    [only] = texts_to(sent, PAT)
    assert "Thank you for telling me" in only
    assert harness.server.sent_messages(STAFF_ID) == []


async def test_spanish_crisis_is_answered_in_spanish_and_staff_alerted(harness: Harness) -> None:
    update = updates.message_update(PAT, "ya no quiero vivir")
    update["message"]["from"] = updates.user(PAT, language_code="es")
    sent = await harness.feed(update)
    answer = texts_to(sent, PAT)[0]
    assert "Usted es importante" in answer and "oprima 2" in answer
    await staff_alert(harness)


@pytest.mark.parametrize("language_code", ["en", "es"])
async def test_a_crisis_in_no_ones_words_is_answered_in_every_language(
    harness: Harness, language_code: str
) -> None:
    """Nothing in "kms kms kms 😵" tells its language: unsure, the crisis answer comes in
    each language, the patient's own first, in one message; and the team is alerted."""
    update = updates.message_update(PAT, "kms kms kms 😵")
    update["message"]["from"] = updates.user(PAT, language_code=language_code)
    [answer] = texts_to(await harness.feed(update), PAT)
    english, spanish = answer.index("You matter"), answer.index("Usted es importante")
    assert (english < spanish) == (language_code == "en")
    assert "———" in answer
    await staff_alert(harness)


@pytest.mark.parametrize(
    ("text", "poison_control"),
    [
        ("my 3 year old got into my pills and I think she ate some", True),
        ("mi nieto se comió unas pastillas mías", True),
        ("I took the whole bottle of my sleeping pills", True),
        ("I want to die", False),
        ("I have chest pain right now", False),
    ],
)
async def test_the_crisis_answer_names_poison_control_when_something_was_swallowed(
    harness: Harness, text: str, poison_control: bool
) -> None:
    # A child who got into the medicine needs Poison Control's number first of all; a message
    # about something else keeps the answer it had, without that line.
    sent = await harness.feed(updates.message_update(PAT, text))
    answer = texts_to(sent, PAT)[0]
    assert "911" in answer
    assert ("1-800-222-1222" in answer) is poison_control
    await staff_alert(harness)


async def _say(harness: Harness, lang: str, text: str) -> list[str]:
    """A message from a patient whose Telegram is set to `lang`."""
    update = updates.message_update(PAT, text)
    update["message"]["from"] = updates.user(PAT, language_code=lang)
    return texts_to(await harness.feed(update), PAT)


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("en", "my sister is giving me a ride home, is that ok?"),
        ("en", "my husband will drive me back after, is that fine?"),
        ("en", "can my friend pick me up?"),
        ("en", "my neighbor will take me home, is that ok?"),
        ("es", "mi hermana me lleva a casa, ¿está bien?"),
        ("es", "mi hermano me da un aventón a casa, ¿está bien?"),
        ("es", "¿puedo manejar después?"),
    ],
)
async def test_who_drives_the_patient_home_gets_the_ride_home_answer(
    harness: Harness, lang: str, text: str
) -> None:
    # Found trying it in chat: "my sister is giving me a ride home, is that ok?" got the
    # nearest questions instead of the answer.
    [answer] = await _say(harness, lang, text)
    assert ("drive you home" if lang == "en" else "llevarle a casa") in answer
    assert "203-914-1900" in answer


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("en", "the infusions helped, im in a better place now"),
        ("en", "feeling so much better since my last infusion"),
        ("es", "ya me siento mucho mejor gracias a las infusiones"),
        ("es", "me siento mucho mejor desde la última infusión"),
    ],
)
async def test_good_news_gets_a_warm_word_not_a_no_match(
    harness: Harness, lang: str, text: str
) -> None:
    [reply] = await _say(harness, lang, text)
    warm, no_match = {
        "en": ("good to hear", "couldn't match"),
        "es": ("Qué bueno saberlo", "no encontré"),
    }[lang]
    assert warm in reply and no_match not in reply
    assert "Con mucho gusto" not in reply  # "gracias a las infusiones" is no thank-you


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("en", "i don't feel any better after three infusions"),
        ("en", "when will i feel better?"),
        ("es", "no me siento mejor después de tres infusiones"),
    ],
)
async def test_no_better_or_a_question_is_not_taken_for_good_news(
    harness: Harness, lang: str, text: str
) -> None:
    replies = await _say(harness, lang, text)
    assert not any("good to hear" in r or "Qué bueno saberlo" in r for r in replies)


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("en", "i feel so much better now that i've decided to kill myself"),
        ("es", "me siento mucho mejor desde que decidí quitarme la vida"),
    ],
)
async def test_the_crisis_screen_still_comes_before_good_news(
    harness: Harness, lang: str, text: str
) -> None:
    replies = await _say(harness, lang, text)
    assert "988" in replies[0]
    assert not any("good to hear" in r or "Qué bueno saberlo" in r for r in replies)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # "manejar" is driving, but "manejar la ansiedad" is nerves
        ("¿cómo manejo la ansiedad antes del turno?", "sentir nervios"),
        ("no sé cómo manejar el estrés antes de la infusión", "sentir nervios"),
        # "turno" is an appointment, or a shift at work
        ("tengo turno en el trabajo esa mañana, ¿puedo cambiar la cita?", "cambiar o cancelar"),
        ("¿puedo cambiar mi turno para otro día?", "cambiar o cancelar"),
    ],
)
async def test_spanish_manejar_and_turno_get_the_answer_they_mean(
    harness: Harness, text: str, expected: str
) -> None:
    [answer] = await _say(harness, "es", text)
    assert expected in answer


async def test_a_question_in_the_other_language_is_answered_in_it(harness: Harness) -> None:
    """A patient whose Telegram is in English asks in Spanish: the answer, the "did you
    mean" topics and the answer to a topic tapped come in Spanish, as the crisis screen
    answers in the language of the message; the no-match answer too."""
    [answer] = await harness.send(PAT, "oye ¿puedo llevar mi cobija?")
    assert "Qué llevar y qué ponerse" in answer
    assert harness.buttons(PAT)[0][0] == "Más preguntas"
    [choose] = await harness.send(PAT, "oye ¿puedo manejar y comer después?")
    assert "What to bring" not in choose
    assert "Comer y beber antes de la visita" in [t for t, _ in harness.buttons(PAT)]
    [eating] = await harness.tap(PAT, "Comer y beber")
    assert "Comer y beber antes de la visita" in eating
    [nothing] = await harness.send(PAT, "¿y el partido de futbol de hoy?")
    assert "no encontré una respuesta" in nothing and "203-914-1900" in nothing


async def test_the_questions_under_an_answer_in_the_other_language_open_in_it(
    harness: Harness,
) -> None:
    """Under a Spanish answer to a patient whose Telegram is in English, "Más preguntas" (and
    "Todas las preguntas" under the no-match answer) open the questions in Spanish, and a
    topic tapped there is answered in Spanish; the list opened from a button sent before
    this, "m:faq", still opens, in the patient's language."""
    await harness.send(PAT, "oye ¿puedo llevar mi cobija?")
    [menu] = await harness.tap(PAT, "Más preguntas")
    assert "Preguntas sobre su visita" in menu
    labels = [t for t, _ in harness.buttons(PAT)]
    assert "Comer y beber antes de la visita" in labels
    assert "Eating and drinking before your visit" not in labels
    [eating] = await harness.tap(PAT, "Comer y beber")
    assert "Comer y beber antes de la visita" in eating
    [nothing] = await harness.send(PAT, "¿y el partido de futbol de hoy?")
    assert "no encontré una respuesta" in nothing
    [menu] = await harness.tap(PAT, "Todas las preguntas")
    assert "Preguntas sobre su visita" in menu
    [old] = await harness.press(PAT, "m:faq")
    assert "Questions about your visit" in old


@pytest.mark.parametrize(
    ("language_code", "text", "expected"),
    [
        # When unsure (a word that both speak, words of both languages), the patient's own.
        ("en", "can I bring my cobija por favor?", "What to bring and wear"),
        ("en", "no", "All right."),
        # A short question with one common word of its language, and words only that
        # language's questions know.
        ("en", "cuanto tiempo dura la infusion", "Cuánto dura una visita"),
        ("en", "duele?", "Sorry, I couldn't match"),  # one word: unsure, in English
        ("en", "what time is my cita", "Sorry, I couldn't match"),  # both: unsure
        # A question clearly in English from a phone in Spanish is answered in English.
        ("es", "what should I bring?", "What to bring and wear"),
        ("es", "how long does it take", "How long a visit takes"),
        ("es", "¿qué debo llevar?", "Qué llevar y qué ponerse"),
    ],
)
async def test_the_answer_keeps_the_patients_language_unless_the_question_is_clearly_in_another(
    harness: Harness, language_code: str, text: str, expected: str
) -> None:
    update = updates.message_update(PAT, text)
    update["message"]["from"] = updates.user(PAT, language_code=language_code)
    [answer] = texts_to(await harness.feed(update), PAT)
    assert expected in answer
