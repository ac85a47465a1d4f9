"""A message that both mentions a visit and asks something ("my first infusion is thursday at
10am and i have no idea what to expect") gets the visit's offer, then the answer to what it
asked as a second message: only one answer the matcher is sure of, not two to choose from,
no match, small talk or a request for a new time. The offer's buttons still work."""

from __future__ import annotations

import pytest

from bot.domain.faq import FaqMatcher, Verdict
from tests.fake_telegram import updates
from tests.integration import dbcheck
from tests.integration.harness import Harness, last_button, texts_to
from tests.integration.test_spanish import _consent_in_spanish, _from

PAT = 1001
# DEFAULT_NOW is Monday, November 23, 2026, 10:00 AM in New York: Thursday is November 26.
THURSDAY = "Thursday, November 26, 2026 at 10:00 AM EST"
OFFER = "It sounds like you have a visit on"


async def test_the_offer_then_the_answer_to_what_was_asked(harness: Harness) -> None:
    await harness.consent(PAT)
    offer, answer = await harness.send(
        PAT,
        # (With "im really nervous" before it, the nervous answer is as right, and the model
        # weighs the two differently from one training to the next.)
        "hi, my first infusion is thursday at 10am and i have no idea what to expect",
    )
    assert OFFER in offer and THURSDAY in offer
    assert "What happens during an infusion" in answer
    assert [label for label, _ in harness.buttons(PAT)] == ["More questions", "Main menu"]
    # The offer above the answer is still the one its Confirm takes.
    [saved] = await harness.press(PAT, last_button(harness.server, PAT, "Confirm"))
    assert f"Saved! Your appointment is on\n<b>{THURSDAY}</b>" in saved
    assert len(await dbcheck.appointments(harness, PAT)) == 1
    # A question put as a statement, on another day: the offer, then the answer.
    offer, answer = await harness.send(
        PAT, "my second infusion is friday at 10am and i'm wondering how long it takes"
    )
    assert OFFER in offer and "Friday, November 27, 2026 at 10:00 AM EST" in offer
    assert "How long" in answer


@pytest.mark.parametrize(
    "text",
    [
        "my first infusion is thursday at 10am",  # nothing asked (no match)
        "hi! my first infusion is thursday at 10am, thanks so much",  # small talk
        "my first infusion is thursday at 10am but i need to reschedule",  # the offer answers it
    ],
)
async def test_only_the_offer_when_nothing_else_is_answered(harness: Harness, text: str) -> None:
    await harness.consent(PAT)
    [offer] = await harness.send(PAT, text)
    assert OFFER in offer and THURSDAY in offer


async def test_two_topics_to_choose_from_are_not_offered_after_a_visit(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        FaqMatcher, "classify", lambda self, text: Verdict(choices=("how_long", "recovery"))
    )
    await harness.consent(PAT)
    [offer] = await harness.send(
        PAT, "my first infusion is thursday at 10am and i'm wondering how long it takes"
    )
    assert OFFER in offer


async def test_in_spanish_the_offer_then_the_answer(harness: Harness) -> None:
    await _consent_in_spanish(harness)
    sent = await harness.feed(
        _from(
            updates.message_update(
                PAT, "mi primera infusión es el jueves a las 10 y no sé cuánto dura"
            ),
            "es",
        )
    )
    offer, answer = texts_to(sent, PAT)
    assert "Parece que tiene una cita" in offer
    assert "jueves 26 de noviembre de 2026, a las 10:00 a. m. EST" in offer
    assert answer.startswith("<b>Cuánto dura una visita</b>")
    # Nerves told with the visit get the words for nerves after the offer.
    confirm = last_button(harness.server, PAT, "Confirmar")
    await harness.feed(_from(updates.callback_update(PAT, confirm), "es"))
    sent = await harness.feed(
        _from(
            updates.message_update(
                PAT,
                "estoy nerviosa, mi primera infusión es el viernes a las 10 y no sé qué esperar",
            ),
            "es",
        )
    )
    offer, answer = texts_to(sent, PAT)
    assert "Parece que tiene una cita" in offer and "viernes 27 de noviembre" in offer
    assert answer.startswith("Es muy normal sentir nervios")
