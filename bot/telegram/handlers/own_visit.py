"""A patient asking when their own visit is ("what time is my appointment?", "when is my
infusion?", "is my visit still on thursday?", "¿a qué hora es mi cita?", "¿cuándo me toca?"),
read by bot/domain/visit_asked.py with the words of ``messages/<lang>/visit_asked.toml``:
answered from their visits, the list /appointment shows (each in the zone it was booked in,
a button each to change or cancel it), or, with none saved, a line saying so with a button to
add one and the clinic's phone. Free text (bot/telegram/handlers/faq.py) asks this after the
visit mentions and the checklist, before the FAQ; in the language the question is written in,
as the FAQ answers.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.content.catalogue import AppointmentAskedNone, AppointmentList
from bot.db.models import Appointment, Patient
from bot.services.container import ServiceScope
from bot.telegram.reply import Reply

__all__ = ["answer_own_visit", "asks_own_visit", "send_visit_list"]


def send_visit_list(reply: Reply, items: Sequence[Appointment]) -> None:
    """The patient's upcoming visits (none: "no upcoming appointments yet"), each with its
    type in plain words, and a button each; Add and the main menu."""
    kinds = [reply.content.visit_type_name(a.visit_type, reply.lang) for a in items]
    reply.send(
        AppointmentList(items=[a.local_start for a in items], kinds=kinds),
        reply.kb.appointments(items),
    )


def asks_own_visit(text: str, reply: Reply) -> bool:
    """Whether `text` asks when the patient's visit is, in the language it is answered in or
    any other of the bot's ("¿cuándo me toca?" from a phone in English, unsure of its
    language by the FAQ's words)."""
    content = reply.content
    langs = (reply.lang, *(lang for lang in content.languages if lang != reply.lang))
    return any(content.visit_asked(lang).asked(text) for lang in langs)


async def answer_own_visit(
    text: str, reply: Reply, patient: Patient | None, svc: ServiceScope
) -> bool:
    """Answer "when is my visit?" from the patient's visits (see the module docstring); False
    when the text asks no such thing. A patient who has not agreed to storage has no visit
    saved: they get the line with the button to add one (which asks their consent first)."""
    if not asks_own_visit(text, reply):
        return False
    items = (
        await svc.appointments.upcoming(patient)
        if patient is not None and patient.has_consented
        else ()
    )
    if items:
        send_visit_list(reply, items)
    else:
        reply.send(AppointmentAskedNone(), reply.kb.add_visit())
    return True
