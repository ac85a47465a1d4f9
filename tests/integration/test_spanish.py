"""A patient whose Telegram speaks Spanish is answered in Spanish from /start on: the language
is read from Telegram once, stored on the patient, and changed in /settings."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.fake_telegram import updates
from tests.integration import dbcheck
from tests.integration.harness import Harness, texts_to
from tests.integration.test_reminders import PAT, START, rows, run_at


def _from(update: dict[str, Any], language_code: str) -> dict[str, Any]:
    """The update as sent by a user whose Telegram is set to `language_code`."""
    body = update.get("message") or update["callback_query"]
    body["from"]["language_code"] = language_code
    return update


async def _consent_in_spanish(harness: Harness) -> tuple[str, str]:
    """/start and "Sí, estoy de acuerdo" from a Telegram in Mexican Spanish."""
    [welcome] = texts_to(
        await harness.feed(_from(updates.command_update(PAT, "start"), "es-MX")), PAT
    )
    agree = harness.button(PAT, "de acuerdo")
    [thanks] = texts_to(await harness.feed(_from(updates.callback_update(PAT, agree), "es")), PAT)
    return welcome, thanks


async def test_a_spanish_patient_is_welcomed_and_served_in_spanish(harness: Harness) -> None:
    welcome, thanks = await _consent_in_spanish(harness)
    assert "Le damos la bienvenida" in welcome and "No soy un médico" in welcome
    assert "oprima 2" in welcome and "AYUDA" in welcome  # 988 in Spanish
    assert "Gracias" in thanks
    menu = [label for label, _ in harness.buttons(PAT)]
    assert menu == ["🗓 Mis citas", "🎧 Prepararme", "❓ Preguntas", "⚙️ Ajustes"]
    stored = await dbcheck.patient(harness, PAT)
    assert stored is not None and stored.language == "es"
    # Later updates carry Telegram's "en": the stored language wins.
    [again] = await harness.command(PAT, "start")
    assert "¿Qué desea hacer?" in again
    [faq] = await harness.send(PAT, "¿cuánto dura la recuperación?")
    assert "Después de la infusión" in faq


async def test_booking_and_reminders_are_in_spanish(harness: Harness) -> None:
    await _consent_in_spanish(harness)
    [ask] = await harness.command(PAT, "appointment")
    assert "¿Cuándo es su próxima infusión?" in ask
    assert "mañana a las 10" in ask
    assert "hora oriental (Nueva York), UTC-5" in ask
    assert "jue 26 nov, 2:30 p. m." in ask  # an example three days ahead, never a past date
    [missing] = await harness.send(PAT, "3 de diciembre")
    assert "¿A qué hora es su cita ese día?" in missing
    [confirm] = await harness.send(PAT, "a las 2:30 de la tarde")  # the half answer completed
    assert "jueves 3 de diciembre de 2026, a las 2:30 p. m. EST" in confirm
    [saved] = await harness.tap(PAT, "Confirmar")
    assert "¡Guardada!" in saved
    planned = await rows(harness)
    assert planned["ride"].due_at == START - timedelta(days=2)
    [playlist] = await run_at(harness, planned["playlist"].due_at)
    assert "sin letra" in playlist
    [ride] = await run_at(harness, planned["ride"].due_at)
    assert "Se acerca su visita" in ride and "jueves 3 de diciembre" in ride
    assert [label for label, _ in harness.buttons(PAT)] == [
        "Hecho ✅",
        "Recordármelo más tarde",
        "Ahí estaré",
        "Necesito cambiar la cita",
    ]
    for text in (playlist, ride):  # reminders show on lock screens
        assert not any(word in text.lower() for word in ("ketamina", "infusión", "depresión"))


async def test_a_compact_time_is_read_in_spanish(harness: Harness) -> None:
    # "jueves 1630" as written on a card from the clinic: Thursday at 16:30, read back.
    await _consent_in_spanish(harness)
    await harness.command(PAT, "appointment")
    [confirm] = await harness.send(PAT, "jueves 1630")
    assert "jueves 26 de noviembre de 2026, a las 4:30 p. m. EST" in confirm
    [saved] = await harness.tap(PAT, "Confirmar")
    assert "¡Guardada!" in saved


async def test_next_weekday_in_spanish_says_manana_and_reads_a_typed_week(
    harness: Harness,
) -> None:
    """ "next tuesday" (Spanish reads English words too) on a Monday: this week's Tuesday is
    "(mañana)"; "no sé" keeps the two dates with a line to check with the clinic; "la
    semana que viene" picks next week's."""
    await _consent_in_spanish(harness)
    await harness.command(PAT, "appointment")
    [choice] = await harness.send(PAT, "next tuesday 10am")
    assert "martes 24 de noviembre de 2026, a las 10:00 a. m. EST</b> (mañana)" in choice
    assert "martes 1 de diciembre de 2026, a las 10:00 a. m. EST</b> (la semana que viene)" in (
        choice
    )
    [unsure] = await harness.send(PAT, "no sé")
    assert "Si tiene dudas de qué semana es, consulte con" in unsure
    assert len(harness.buttons(PAT)) == 3  # the two dates and Change
    [saved] = await harness.send(PAT, "la semana que viene")
    assert "¡Guardada!" in saved and "martes 1 de diciembre" in saved


async def test_el_proximo_jueves_offers_both_weeks_as_next_thursday_does(
    harness: Harness,
) -> None:
    """ "el próximo jueves" said on a Monday: this week's Thursday or next week's, asked with a
    button each, as "next thursday" is; a tap books the one chosen."""
    await _consent_in_spanish(harness)
    await harness.command(PAT, "appointment")
    [choice] = await harness.send(PAT, "el próximo jueves a las 10")
    assert "jueves 26 de noviembre de 2026, a las 10:00 a. m. EST" in choice
    assert "jueves 3 de diciembre de 2026, a las 10:00 a. m. EST</b> (la semana que viene)" in (
        choice
    )
    assert len(harness.buttons(PAT)) == 3  # the two dates and Change
    [saved] = await harness.tap(PAT, "3 dic")
    assert "¡Guardada!" in saved and "jueves 3 de diciembre" in saved


async def test_settings_switch_the_language(harness: Harness) -> None:
    await _consent_in_spanish(harness)
    [settings] = await harness.command(PAT, "settings")
    assert "<b>Idioma:</b> español" in settings
    [english] = await harness.tap(PAT, "English")
    assert "<b>Language:</b> English" in english  # the answer already in the new language
    assert any(label == "🇪🇸 Español" for label, _ in harness.buttons(PAT))
    stored = await dbcheck.patient(harness, PAT)
    assert stored is not None and stored.language == "en"
    [menu] = await harness.command(PAT, "start")
    assert "Welcome back" in menu
    await harness.command(PAT, "settings")
    [back] = await harness.tap(PAT, "Español")
    assert "Idioma:" in back
    [menu] = await harness.command(PAT, "start")
    assert "¿Qué desea hacer?" in menu


async def test_a_language_the_bot_does_not_have_is_refused(harness: Harness) -> None:
    await harness.consent(PAT)
    [reply] = await harness.press(PAT, "lg:fr")
    assert "no longer active" in reply
    stored = await dbcheck.patient(harness, PAT)
    assert stored is not None and stored.language == "en"


async def test_done_means_a_spanish_patient_books_asks_and_is_kept_safe(harness: Harness) -> None:
    # The issue's own words: "jueves 3 de la tarde", a question typed without accents and
    # with a slip, and "quiero morir" answered at once with 988 in Spanish.
    await _consent_in_spanish(harness)
    await harness.command(PAT, "appointment")
    [confirm] = await harness.send(PAT, "jueves 3 de la tarde")
    assert "jueves 26 de noviembre de 2026, a las 3:00 p. m. EST" in confirm
    [saved] = await harness.tap(PAT, "Confirmar")
    assert "¡Guardada!" in saved
    [faq] = await harness.send(PAT, "cuanto dura la recuperasion")
    assert "Después de la infusión" in faq
    # The crisis screen answers before reading the database: in the language of the patient's
    # Telegram, which for a Spanish speaker is Spanish.
    update = _from(updates.message_update(PAT, "quiero morir"), "es")
    crisis = texts_to(await harness.feed(update), PAT)[0]
    assert "988" in crisis and "oprima 2" in crisis and "AYUDA" in crisis
