"""Done, as a front-desk member would do it (issue 18): a Spanish-speaking admin finds the
eye-mask reminder by its title in Spanish, reads what the values mean, edits it over several
lines, previews, saves and rolls it back, reading clinic times and names; every screen reads
line by line. Through the real dispatcher and the fake Bot API."""

from __future__ import annotations

from typing import Any

from bot.telegram.callbacks import TextAction, TextCb
from tests.fake_telegram import updates
from tests.integration.harness import STAFF_ID, Harness, texts_to

LUCIA = 502
LUCIA_USER = {"id": LUCIA, "is_bot": False, "first_name": "Lucía", "last_name": "Pérez",
              "language_code": "es"}  # fmt: skip
NEW_SPANISH = (
    "{% if not catch_up %}\n<b>Su visita es mañana</b> 🌙\n{{ when | when }}\n\n{% endif %}\n"
    "Para su bolso:\n{% for item in checklist %}\n"
    '{{ "✅" if item.done else "⬜" }} {{ item.label }}\n{% endfor %}\n'
    "Lleve un antifaz suave.\nEsta noche, descanse temprano."
)


async def say(harness: Harness, text: str, **extra: Any) -> list[str]:
    update = updates.message_update(LUCIA, text, **{"from": LUCIA_USER, **extra})
    return texts_to(await harness.feed(update), LUCIA)


async def command(harness: Harness, text: str) -> list[str]:
    word = text.split()[0]
    entities = [{"type": "bot_command", "offset": 0, "length": len(word)}]
    return await say(harness, text, entities=entities)


async def tap(harness: Harness, label: str) -> list[str]:
    update = updates.callback_update(LUCIA, harness.button(LUCIA, label))
    update["callback_query"]["from"] = LUCIA_USER
    return texts_to(await harness.feed(update), LUCIA)


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


async def test_a_spanish_front_desk_member_edits_and_rolls_back_the_eye_mask_reminder(
    harness: Harness,
) -> None:
    await harness.command(STAFF_ID, "staff_add", f"{LUCIA} admin")
    [found] = await command(harness, "/texts antifaz")
    assert "Textos sobre «antifaz»" in found
    preview, view = await tap(harness, "la noche anterior (antifaz)")
    assert "Un antifaz puede hacer la sesión más tranquila" in preview
    assert "Antifaz en la bolsa" in preview  # the clinic's own checklist, in Spanish
    assert lines(view)[1:] == [
        "Llevar un antifaz, la lista y una noche tranquila.",
        "Idioma: 🇪🇸 Español",
        "Versión 0: el texto incluido con el bot.",
    ]
    ask, source = await tap(harness, "Editar")
    assert "«Recordatorio: la noche anterior (antifaz)»" in ask
    assert "la fecha y hora de la visita" in ask and "jueves 3 de diciembre de 2026" in ask
    assert "{{ when | when }}" in source
    # Cancel goes back to the text, as it was.
    back, _, view_again = await tap(harness, "Cancelar")
    assert "Cancelado" in back and "Versión 0" in view_again
    await tap(harness, "Editar")
    candidate, question = await say(harness, NEW_SPANISH)
    assert lines(candidate)[-2:] == ["Lleve un antifaz suave.", "Esta noche, descanse temprano."]
    assert "¿Guardarlo?" in question
    [saved] = await tap(harness, "Guardarlo")
    assert "la versión 1 de «Recordatorio: la noche anterior (antifaz)» está publicada" in saved
    [history] = await tap(harness, "Historial")
    # Clinic time (10:00 AM in New York, not 15:00 UTC), and the author's name.
    assert lines(history)[1] == (
        "• Versión 1 (publicada): lunes 23 de noviembre de 2026, a las 10:00 a. m. EST, "
        "por Lucía Pérez"
    )
    assert lines(history)[2] == "• Versión 0: el texto incluido con el bot"
    shown, offer = await tap(harness, "Versión 0")
    assert "Un antifaz puede hacer la sesión más tranquila" in shown
    assert "¿Restaurarla?" in offer
    [restored] = await tap(harness, "Restaurarla")
    assert "la versión 2 de" in restored
    [history] = await tap(harness, "Historial")
    assert "Versión 2 (publicada)" in history and "rollback to version 0" in history
    # The English admin reads the same history in English, with Lucía's name.
    spanish_eye_mask = TextCb(a=TextAction.HISTORY, k="t", l="es", n="reminders/evening_before")
    [english] = await harness.press(STAFF_ID, spanish_eye_mask.pack())
    assert "History of “Reminder: the evening before (eye mask)”" in english
    assert "by Lucía Pérez" in english and "10:00 AM EST" in english
    # /help lists the team's commands to a member, in their language.
    [_, team] = await command(harness, "/help")
    assert "/texts" in team and "/plan" in team and "Los pacientes nunca ven" in team
