"""Questions and answers from templates; free text is matched to what it is about
(bot/domain/faq.py): a question of faq.toml, small talk (good news too), nerves, a request for
a new time, two close topics to choose from, or nothing known. A typed reply while the
day-after check-in is open is taken as an answer to it (bot/telegram/handlers/preparation.py).
A visit mentioned in passing ("my first infusion is next tuesday at 9:30") is offered to be
added, read back as the booking steps read a typed time back, with their Confirm and Change
buttons; one the patient says was moved ("they moved my appt to friday at 11") is offered as a
move of their visit (bot/telegram/handlers/appointments.py `move_mentioned`: the change path of
/appointment). A question asked in the same message is answered after the offer. A patient
telling they have done an item of their checklist ("my husband is driving me home") has it
ticked (bot/telegram/handlers/preparation.py `said_done`)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.content.catalogue import (
    AppointmentConfirm,
    AppointmentMoveMentioned,
    AppointmentMoveWhich,
    Button,
    ChatAck,
    ChatCommand,
    ChatGoodNews,
    ChatGreeting,
    ChatNervous,
    ChatThanks,
    FaqAnswer,
    FaqChoices,
    FaqMenu,
    FaqNoMatch,
)
from bot.db.models import Patient
from bot.domain.faq import SMALL_TALK, IntentKey
from bot.services.appointments import VisitTime
from bot.services.container import ServiceScope
from bot.services.offers import Offer, OfferKind
from bot.telegram.callbacks import FaqCb, MenuCb, MenuTarget
from bot.telegram.filters import PlainText
from bot.telegram.handlers.preparation import ask_new_time, checkin_typed, said_done
from bot.telegram.reply import Reply
from bot.telegram.states import Booking

_CHAT = {
    IntentKey.GREETING: ChatGreeting(),
    IntentKey.THANKS: ChatThanks(),
    IntentKey.ACK: ChatAck(),
    IntentKey.GOOD_NEWS: ChatGoodNews(),
}
_TOPIC_LABELS = {
    IntentKey.NERVOUS: Button.TOPIC_NERVOUS,
    IntentKey.RESCHEDULE: Button.TOPIC_RESCHEDULE,
}


def _topics(reply: Reply) -> InlineKeyboardMarkup:
    return reply.kb.faq((e.key, e.title) for e in reply.content.faq(reply.lang).entries)


async def faq_menu(event: Message | CallbackQuery, reply: Reply) -> None:
    reply.send(FaqMenu(), _topics(reply))


async def _answer(
    key: str,
    reply: Reply,
    patient: Patient | None,
    svc: ServiceScope,
    telegram_id: int,
) -> None:
    """Answer a topic: a question's text, or what the bot does for an intent."""
    entry = reply.content.faq(reply.lang).by_key(key)
    if entry is not None:
        # The values of the patient's next visit's type (none: the clinic's instructions).
        preparation = await svc.preparation.next_visit_values(patient)
        reply.send(
            FaqAnswer(template_name=entry.template, preparation=preparation),
            reply.kb.faq_answer(),
        )
    elif key in _CHAT:
        reply.send(_CHAT[IntentKey(key)], reply.kb.main_menu())
    elif key == IntentKey.NERVOUS:
        reply.send(ChatNervous(), reply.kb.faq_answer())
    elif key == IntentKey.RESCHEDULE:
        await ask_new_time(reply, patient, svc, telegram_id)
    else:
        reply.send(FaqNoMatch(suggested=False), reply.kb.faq_near(()))


async def faq_answer(
    callback: CallbackQuery,
    callback_data: FaqCb,
    reply: Reply,
    patient: Patient | None,
    svc: ServiceScope,
) -> None:
    await _answer(callback_data.key, reply, patient, svc, callback.from_user.id)


async def _offer_mentioned_visit(
    text: str, state: FSMContext, reply: Reply, patient: Patient, svc: ServiceScope
) -> bool:
    """A visit the patient spoke of in passing, offered to be added (see the module's
    docstring), or, when they said their visit was moved, to move it (several visits: which
    one); False when the text mentions none, or the patient has not agreed to storage."""
    if not patient.has_consented:
        return False
    mention = await svc.appointments.mentioned(patient, text, patient.language)
    if mention is None:
        return False
    found = mention.time
    # One visit said moved is held as the change of /appointment holds it (Change types the
    # new time of this visit); otherwise the time is offered as a new visit.
    moving = mention.moved[0] if len(mention.moved) == 1 else None
    if moving is None:
        offer = Offer.of_reading(OfferKind.BOOKING, found)
        replacing: dict[str, int | None] = {"replace_id": None, "replace_version": None}
    else:
        offer = Offer.of_reading(OfferKind.BOOKING, found, visit=moving.id, version=moving.version)
        replacing = {"replace_id": moving.id, "replace_version": moving.version}
    await state.set_data({**replacing, **offer.to_state()})
    await state.set_state(Booking.confirming)
    if not mention.moved:
        reply.send(
            AppointmentConfirm(
                when=found.local, changing=False, day_first=found.day_first, mentioned=True
            ),
            reply.kb.draft_confirm(offer.token),
        )
        return True
    # Shown in the patient's zone, whatever zone each visit was booked in.
    shown = [(visit, VisitTime(visit.starts_at, patient.timezone).local) for visit in mention.moved]
    if moving is not None:
        reply.send(
            AppointmentMoveMentioned(old=shown[0][1], when=found.local, day_first=found.day_first),
            reply.kb.move_mentioned(moving, offer.token),
        )
        return True
    reply.send(
        AppointmentMoveWhich(
            when=found.local, items=[old for _, old in shown], day_first=found.day_first
        ),
        reply.kb.move_which(shown, offer.token),
    )
    return True


_NOT_AFTER_AN_OFFER = SMALL_TALK | {IntentKey.RESCHEDULE}
"""What a message that mentioned a visit is not answered with after its offer: small talk,
or a request for a new time (the offer is the answer to that)."""


async def _answer_asked_too(
    message: Message, reply: Reply, patient: Patient, svc: ServiceScope
) -> None:
    """After the offer of a visit mentioned in passing, what the same message asked ("my
    first infusion is thursday at 10am and i have no idea what to expect"): the one answer
    the matcher gives, as a second message; nothing for two topics to choose from, no match,
    small talk or a request for a new time."""
    key = reply.content.faq(reply.lang).matcher.classify(message.text or "").answer
    if key is not None and key not in _NOT_AFTER_AN_OFFER:
        telegram_id = message.from_user.id if message.from_user else message.chat.id
        await _answer(key, reply, patient, svc, telegram_id)


async def free_text(
    message: Message,
    state: FSMContext,
    reply: Reply,
    patient: Patient | None,
    svc: ServiceScope,
    gently_answered: bool = False,
) -> None:
    """A typed message: the check-in, a visit mentioned in passing (and what the same message
    asks), an item of the checklist said done, a question. A message that
    got the gentle answer of the crisis screen (past ideation, bot/telegram/gate.py) and asks
    nothing the FAQ knows gets no "I couldn't match that" after it: the gentle answer was the
    reply to what the patient told."""
    if patient is not None and await checkin_typed(reply, patient, svc):
        return
    if patient is not None and await _offer_mentioned_visit(
        message.text or "", state, reply, patient, svc
    ):
        await _answer_asked_too(message, reply, patient, svc)
        return
    if patient is not None and await said_done(message.text or "", reply, patient, svc):
        return
    faq = reply.content.faq(reply.lang)
    text = message.text or ""
    verdict = faq.matcher.classify(text)
    telegram_id = message.from_user.id if message.from_user else message.chat.id
    if verdict.answer is not None:
        await _answer(verdict.answer, reply, patient, svc, telegram_id)
        return
    if verdict.choices:
        labels: list[tuple[str, str]] = []
        for key in verdict.choices:
            entry = faq.by_key(key)
            if entry is not None:
                labels.append((key, entry.title))
            elif key in _TOPIC_LABELS:
                labels.append(
                    (key, reply.content.button(_TOPIC_LABELS[IntentKey(key)], reply.lang))
                )
        reply.send(FaqChoices(), reply.kb.faq_choices(labels))
        return
    if gently_answered:
        return
    near = [(e.key, e.title) for key in faq.matcher.closest(text) if (e := faq.by_key(key))]
    reply.send(FaqNoMatch(suggested=bool(near)), reply.kb.faq_near(near))


def create_router() -> Router:
    """A fresh router each call: aiogram attaches a router to one dispatcher only."""
    r = Router(name="faq")
    r.message.register(faq_menu, Command(ChatCommand.FAQ, "questions"))
    r.callback_query.register(faq_menu, MenuCb.filter(F.to == MenuTarget.FAQ))
    r.callback_query.register(faq_answer, FaqCb.filter())
    r.message.register(free_text, StateFilter(None), PlainText())
    return r
