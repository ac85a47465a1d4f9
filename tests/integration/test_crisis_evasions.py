"""Crisis messages written to slip past the screen, and in another language than the phone's,
through the real dispatcher: each is caught, the crisis answer is the first reply, in the
language the message was written in, and the clinic team is alerted."""

from __future__ import annotations

import pytest

from tests.fake_telegram import updates
from tests.integration.harness import STAFF_ID, Harness, texts_to

PAT = 1001
ENGLISH = "You matter, and you are not alone"
SPANISH = "Usted es importante"


async def first_reply(harness: Harness, text: str, language_code: str = "en") -> str:
    update = updates.message_update(PAT, text)
    update["message"]["from"] = updates.user(PAT, language_code=language_code)
    return texts_to(await harness.feed(update), PAT)[0]


async def staff_alerted(harness: Harness) -> None:
    await harness.server.wait_for("sendMessage", lambda r: r.params.get("chat_id") == STAFF_ID)


@pytest.mark.parametrize(
    "text",
    [
        # letters spaced or split by punctuation, words run together
        "k i l l myself",
        "i want to k.i.l.l myself",
        "sui cide",
        "s-u-i-c-i-d-e",
        "#killmyself",
        "#iwanttodie",
        # a letter starred out
        "thinking about k*lling myself tonight",
        # lookalike letters beyond Cyrillic and Greek
        "\u1d0b\u026a\u029f\u029f \u1d0d\u028f\ua731\u1d07\u029f\ua730",  # small capitals
        "\u24da\u24d8\u24db\u24db \u24dc\u24e8\u24e2\u24d4\u24db\u24d5",  # circled letters
        "\U0001f13a\U0001f138\U0001f13b\U0001f13b \U0001f13c\U0001f148\U0001f142\U0001f134"
        "\U0001f13b\U0001f135",  # squared letters
        "\u13e6\u13a5\u13de\u13de myself",  # Cherokee
        "i want to kiII myseIf",  # capital I for l
        "i want to k\u0456ll mys\u0435lf",  # Cyrillic
        # emoji standing for the act, in context
        "i just want to \U0001f480",
        "im going to \U0001f52a myself tonight",
        # slang and euphemism
        "thinking about sewerslide again",
        "i want to unalive myself",
        "I'm going to end it tonight",
        # English and Spanish in one sentence
        "I want to morir",
    ],
)
async def test_evasions_get_the_crisis_answer_first(harness: Harness, text: str) -> None:
    reply = await first_reply(harness, text)
    assert "988" in reply
    assert ENGLISH in reply or SPANISH in reply
    await staff_alerted(harness)


@pytest.mark.parametrize(
    "text",
    ["q u i e r o  m o r i r", "me quiero m@tar", "quiero \U0001f480", "ya no quiero vivir"],
)
async def test_spanish_evasions_are_answered_in_spanish(harness: Harness, text: str) -> None:
    reply = await first_reply(harness, text)
    assert SPANISH in reply and "oprima 2" in reply
    await staff_alerted(harness)


async def test_a_spanish_message_from_an_english_phone_is_answered_in_spanish(
    harness: Harness,
) -> None:
    reply = await first_reply(harness, "ya no quiero vivir, todos estarian mejor sin mi", "en")
    assert SPANISH in reply and ENGLISH not in reply
    await staff_alerted(harness)


async def test_an_english_message_from_a_spanish_phone_is_answered_in_english(
    harness: Harness,
) -> None:
    reply = await first_reply(harness, "i have been saving up my pills for when i decide", "es")
    assert ENGLISH in reply and SPANISH not in reply
    await staff_alerted(harness)


async def test_a_mixed_message_is_answered_in_both_the_phones_language_first(
    harness: Harness,
) -> None:
    reply = await first_reply(harness, "I want to morir", "es")
    assert reply.index(SPANISH) < reply.index(ENGLISH)
    reply = await first_reply(harness, "I want to morir", "en")
    assert reply.index(ENGLISH) < reply.index(SPANISH)


async def test_past_ideation_in_spanish_gets_the_gentle_answer_in_spanish(
    harness: Harness,
) -> None:
    update = updates.message_update(PAT, "intente suicidarme hace años, puedo manejar despues?")
    sent = texts_to(await harness.feed(update), PAT)
    assert "Gracias por contármelo" in sent[0]
    assert harness.server.sent_messages(STAFF_ID) == []


@pytest.mark.parametrize(
    "text",
    [
        "im literally dead \U0001f480\U0001f480 that meme",
        "my boss is going to kill me if i'm late",
        "me muero de hambre, puedo comer antes de la infusion?",
        "can you overdose on ketamine at the clinic?",
        "does ketamine help with suicidal thoughts?",
        "i had a seizure once in 2008, none since",
    ],
)
async def test_idioms_and_questions_stay_ordinary(harness: Harness, text: str) -> None:
    update = updates.message_update(PAT, text)
    sent = texts_to(await harness.feed(update), PAT)
    assert not any("988" in t and (ENGLISH in t or SPANISH in t) for t in sent)
    assert harness.server.sent_messages(STAFF_ID) == []
