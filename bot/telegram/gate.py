"""The update gate: what is decided before any database access, in one outer middleware.

An update of a type this aiogram does not know is skipped quietly. The crisis screen reads the
text of the update alone and answers from the content in memory, then records the staff alert
in its own short transaction: a patient in crisis is answered even when the database is slow,
locked or busy with someone else's flood. The answer is in the language the message was
written in (the screen says which; in each of them when it was several, the patient's own
Telegram language first), whatever the patient's Telegram language. A mention of suicidal
thoughts in the past gets
gentle resources instead, no staff alert, and the update goes on to its usual answer. In a
group or a channel the bot says that it works in private chats only and leaves; a button
pressed there is acknowledged with the same note.

One exception to the screen: a staff member who is editing what the bot says (a text, a FAQ
question, a reminder step) sends words meant for patients, which may well speak of suicide;
those are content, not a person in crisis. Only when the screen matched, the gate reads the
sender's conversation state and role (a short read, at most PROBE_SECONDS; if it fails or is
slow the message is screened as any other), and lets such a message on to the editing flow.
Everything else a staff member writes is screened.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.fsm.middleware import FSMContextMiddleware
from aiogram.types import Chat, ChatMemberUpdated, Message, TelegramObject, Update, User
from aiogram.types.update import UpdateTypeLookupError

from bot.content.catalogue import Button, Crisis, CrisisPast, PrivateOnly
from bot.content.catalogue import Message as ContentMessage
from bot.db.alert_visits import AlertVisitRepository
from bot.db.patients import Repository
from bot.db.staff import StaffRepository
from bot.domain.safety import POISONING, CrisisMatch
from bot.domain.staff import Permission, Role, allows
from bot.metrics import mark_update
from bot.services.alert_visits import visit_for_alert
from bot.telegram.context import AppContext
from bot.telegram.middlewares import Handler, run_after_commit
from bot.telegram.reply import Reply
from bot.telegram.states import PlanDraft, QuestionEditing, TextEditing

log = logging.getLogger(__name__)

_GONE = frozenset({"kicked", "left"})
LANGUAGE_SEPARATOR = "\n\n———\n\n"
"""Between the crisis answer's languages, when a message was written in more than one."""
RECORD_ATTEMPTS = 4
"""Tries to queue a crisis alert (0.5, 1 and 2 s apart) before it is logged as lost."""
PROBE_SECONDS = 0.5
"""How long the gate waits to learn whether a matched message is a staff edit."""
EDITING_STATES = frozenset(
    {
        TextEditing.waiting_for_text.state,
        TextEditing.waiting_for_words.state,
        QuestionEditing.waiting_for_title.state,
        QuestionEditing.waiting_for_keywords.state,
        QuestionEditing.waiting_for_answer.state,
        PlanDraft.waiting_for_value.state,
    }
)
"""The conversation states in which what a staff member sends is text for patients."""
GENTLY_ANSWERED = "gently_answered"
"""The handler's argument that says the message already got the gentle answer (past
ideation): a step waiting for an answer (a date) says nothing of not understanding it, and
keeps waiting."""


def _screened(event: Update) -> Message | None:
    """The message the crisis screen reads: any text or caption, in any kind of chat."""
    return event.message or event.edited_message or event.channel_post or event.edited_channel_post


class UpdateGate(BaseMiddleware):
    def __init__(self, app: AppContext, fsm: FSMContextMiddleware | None = None) -> None:
        """`fsm` reads conversation states (without it, every message is screened)."""
        self.app = app
        self.fsm = fsm

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        try:
            event.event_type  # noqa: B018  (raises for types aiogram does not know)
        except UpdateTypeLookupError:
            log.debug("update %s of an unknown type skipped", event.update_id)
            mark_update("skipped")
            return UNHANDLED
        if await self._crisis(event, data):
            mark_update("crisis")
            return None
        if await self._outside_private_chats(event, data):
            mark_update("group")
            return None
        return await handler(event, data)

    def _reply(self, data: dict[str, Any], **where: Any) -> Reply:
        user: User | None = data.get("event_from_user")
        lang = self.app.content.language_for(user.language_code if user else None)
        return Reply(self.app.content, lang, **where)

    # --- the crisis screen ----------------------------------------------------------------
    async def _crisis(self, event: Update, data: dict[str, Any]) -> bool:
        message = _screened(event)
        if message is None:
            return False
        app = self.app
        match = app.content.crisis_detector.check(message.text or message.caption)
        if match is None:
            return False
        if event.message is not None and await self._staff_writing_content(data):
            log.info("update %s: crisis screen matched a staff edit; not screened", event.update_id)
            return False
        reply = self._reply(data, chat_id=message.chat.id)
        langs = self._answer_languages(match, reply.lang)
        reply.use_language(langs[0])
        if not match.alert_staff:
            # Past ideation: gentle resources first, then the update goes on to its answer.
            log.info(
                "update %s: crisis screen, resources only (category=%s)",
                event.update_id,
                match.category,
            )
            reply.send_html(self._in_each(CrisisPast(), langs))
            await reply.flush(app.sender)
            data[GENTLY_ANSWERED] = True
            return False
        log.warning(
            "update %s: crisis screen matched (category=%s)", event.update_id, match.category
        )
        answer = Crisis(
            staff_notified=bool(app.staff_alerts.staff_ids),
            poisoning=match.category in POISONING,
        )
        reply.send_html(self._in_each(answer, langs))
        if message.chat.type != "private":
            reply.send(PrivateOnly())
            reply.leave_chat()
        await reply.flush(app.sender)
        user: User | None = data.get("event_from_user")
        if user is not None and not user.is_bot:
            await self._record_crisis(event.update_id, user.id)
        return True

    async def _staff_writing_content(self, data: dict[str, Any]) -> bool:
        """The sender is a staff member who may edit content and is sending a text to
        publish (see the module's doc); False when that cannot be known in time."""
        user: User | None = data.get("event_from_user")
        chat: Chat | None = data.get("event_chat")
        if self.fsm is None or user is None or chat is None or chat.type != "private":
            return False
        try:
            return await asyncio.wait_for(self._editing(user.id, data), PROBE_SECONDS)
        except Exception as exc:  # a slow or failing read: screened, as any message
            log.warning("crisis screen: the editing state was not read (%s)", type(exc).__name__)
            return False

    async def _editing(self, telegram_id: int, data: dict[str, Any]) -> bool:
        assert self.fsm is not None
        conversation = self.fsm.resolve_event_context(data["bot"], data)
        if conversation is None:
            return False
        if await self.fsm.storage.get_state(conversation.key) not in EDITING_STATES:
            return False
        role: Role | None = Role.ADMIN if telegram_id in self.app.settings.staff_ids else None
        if role is None:
            async with self.app.session_factory() as session:
                stored = await StaffRepository(session).active_role(telegram_id)
            role = Role(stored) if stored is not None else None
        return allows(role, Permission.CONTENT) or allows(role, Permission.PLAN)

    def _answer_languages(self, match: CrisisMatch, patient_lang: str) -> list[str]:
        """The languages of the crisis answer: those the message was written in (the
        patient's own first when it is one of them), else the patient's."""
        known = self.app.content.languages
        langs = [lang for lang in match.languages if lang in known]
        if patient_lang in langs:
            langs.remove(patient_lang)
            langs.insert(0, patient_lang)
        return langs or [patient_lang]

    def _in_each(self, message: ContentMessage, langs: list[str]) -> str:
        """``message`` rendered in each language, one after the other, in one message (one
        notification); a line between them."""
        content = self.app.content
        return LANGUAGE_SEPARATOR.join(content.render_message(message, lang) for lang in langs)

    async def _record_crisis(self, update_id: int, telegram_id: int) -> None:
        """Queue the staff alert; a database locked by another process is tried again a few
        times (the patient already has their answer, so only the alert waits)."""
        app = self.app
        for attempt in range(RECORD_ATTEMPTS):
            try:
                async with app.session_factory() as session:
                    repo = Repository(session)
                    patient_id = await repo.patient_id_by_telegram_id(telegram_id)
                    visits = AlertVisitRepository(session)
                    visit = await visit_for_alert(visits, patient_id, app.clock.now())
                    await app.staff_alerts.crisis(
                        repo, telegram_id=telegram_id, patient_id=patient_id, appointment_id=visit
                    )
                    await session.commit()
                await run_after_commit(repo.after_commit)
                return
            except Exception as exc:
                if attempt + 1 < RECORD_ATTEMPTS:
                    await asyncio.sleep(0.5 * 2**attempt)
                    continue
                # Said loudly: a person in crisis whose alert could not be queued.
                log.error("update %s: crisis alert not queued: %s", update_id, type(exc).__name__)

    # --- private chats only ---------------------------------------------------------------
    async def _outside_private_chats(self, event: Update, data: dict[str, Any]) -> bool:
        if event.callback_query is not None:
            query = event.callback_query
            if query.message is not None and query.message.chat.type == "private":
                return False
            reply = self._reply(data, chat_id=None, callback_id=query.id)
            notice = self.app.content.button(Button.NOTICE_PRIVATE_ONLY, reply.lang)
            reply.callback_answer.text = notice
            await reply.flush(self.app.sender)
            return True
        chat: Chat | None = data.get("event_chat")
        if chat is None or chat.type == "private":
            return False
        if self._should_explain(event):
            reply = self._reply(data, chat_id=chat.id)
            reply.send(PrivateOnly())
            reply.leave_chat()
            await reply.flush(self.app.sender)
        return True

    @staticmethod
    def _should_explain(event: Update) -> bool:
        """Messages and being added explain and leave; being removed needs no answer."""
        if event.my_chat_member is not None:
            member: ChatMemberUpdated = event.my_chat_member
            return member.new_chat_member.status not in _GONE
        return (event.message or event.channel_post) is not None
