"""Questions and answers from templates; free text is matched to what it is about
(bot/domain/faq.py): a question of faq.toml, small talk (good news too), nerves, a request for
a new time, two close topics to choose from, or nothing known. A typed reply while the
day-after check-in is open is taken as an answer to it (bot/telegram/handlers/preparation.py).
A visit mentioned in passing ("my first infusion is next tuesday at 9:30", "they moved my appt
to friday at 11", "they moved it") is answered before the FAQ is asked (bot/telegram/handlers/
mentions.py): offered to be added, or as a move of the patient's visit, its new time asked when
it was not said. A question asked in the same message as a visit offered is answered after the
offer. A patient telling they have done an item of their checklist ("my husband is driving me
home") has it ticked (bot/telegram/handlers/preparation.py `said_done`). A patient asking when
their own visit is ("what time is my appointment?", "¿cuándo me toca?") is answered from their
visits, or told none is saved (bot/telegram/handlers/own_visit.py), before the FAQ. A
question clearly written in another of the bot's languages than the patient's is answered in
it, by the words only that language knows (bot/domain/question_language.py), and so are the
topics tapped under that answer and the questions its "More questions" opens; when unsure,
the patient's language."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.content.catalogue import (
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
from bot.services.container import ServiceScope
from bot.telegram.callbacks import FaqCb, FaqInCb, FaqMenuInCb, MenuCb, MenuTarget
from bot.telegram.filters import PlainText
from bot.telegram.handlers.mentions import ask_moved_visit, offer_mentioned_visit
from bot.telegram.handlers.own_visit import answer_own_visit
from bot.telegram.handlers.preparation import ask_new_time, checkin_typed, said_done
from bot.telegram.reply import Reply

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


async def faq_menu_in(callback: CallbackQuery, callback_data: FaqMenuInCb, reply: Reply) -> None:
    """ "More questions" under an answer in the language its question was written in: the
    questions in that language, their topics answered in it too."""
    reply.answer_in(callback_data.lang)
    await faq_menu(callback, reply)


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
    callback_data: FaqCb | FaqInCb,
    reply: Reply,
    patient: Patient | None,
    svc: ServiceScope,
) -> None:
    """A topic tapped; under an answer in the language its question was written in
    (`FaqInCb`), answered in that language too."""
    if isinstance(callback_data, FaqInCb):
        reply.answer_in(callback_data.lang)
    await _answer(callback_data.key, reply, patient, svc, callback.from_user.id)


def _in_its_language(text: str, reply: Reply) -> None:
    """Answer a question in the language it is clearly written in, when that is another of
    the bot's than the patient's ("cuanto tiempo dura la infusion" from a phone in English),
    by the words only that language's FAQ and common words know
    (bot/domain/question_language.py); when unsure, in the patient's."""
    reply.answer_in(reply.content.question_languages().written_in(text))


_NOT_AFTER_AN_OFFER = SMALL_TALK | {IntentKey.RESCHEDULE}
"""What a message that mentioned a visit is not answered with after its offer: small talk,
or a request for a new time (the offer is the answer to that)."""


async def _answer_asked_too(
    text: str, reply: Reply, patient: Patient, svc: ServiceScope, telegram_id: int
) -> None:
    """After the offer of a visit mentioned in passing, what the same message asked ("my
    first infusion is thursday at 10am and i have no idea what to expect"): the one answer
    the matcher gives, as a second message; nothing for two topics to choose from, no match,
    small talk or a request for a new time."""
    key = reply.content.faq(reply.lang).matcher.classify(text).answer
    if key is not None and key not in _NOT_AFTER_AN_OFFER:
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
    asks), an item of the checklist said done, a question about when the patient's own visit
    is (answered from their visits), a question. A message that
    got the gentle answer of the crisis screen (past ideation, bot/telegram/gate.py) and asks
    nothing the FAQ knows gets no "I couldn't match that" after it: the gentle answer was the
    reply to what the patient told."""
    text = message.text or ""
    telegram_id = message.from_user.id if message.from_user else message.chat.id
    if patient is not None and await checkin_typed(reply, patient, svc):
        return
    if patient is not None and await offer_mentioned_visit(text, state, reply, patient, svc):
        await _answer_asked_too(text, reply, patient, svc, telegram_id)
        return
    if patient is not None and await ask_moved_visit(text, state, reply, patient, svc):
        return
    if patient is not None and await said_done(text, reply, patient, svc):
        return
    _in_its_language(text, reply)
    if await answer_own_visit(text, reply, patient, svc):
        return
    faq = reply.content.faq(reply.lang)
    verdict = faq.matcher.classify(text)
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
    r.callback_query.register(faq_menu_in, FaqMenuInCb.filter())
    r.callback_query.register(faq_answer, FaqCb.filter())
    r.callback_query.register(faq_answer, FaqInCb.filter())
    r.message.register(free_text, StateFilter(None), PlainText())
    return r
