"""Welcome, consent, the main menu and help; and invite links (``/start <code>``).

An invite link is redeemed only once the patient has agreed: the clinic's consent text stays
the gate. Until then the code rides on the "I agree" button (nothing is stored), and it
is redeemed right after "I agree", or dropped with "No, thanks". Whatever makes a link unusable
(unknown, used, expired, refused by the booking rules), the patient hears only that it can't
be used and that the clinic can make a new one; after several such links in an hour, that they
should wait (bot/services/redemptions.py: guesses are audited, counted and throttled)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.content.catalogue import (
    ChatCommand,
    ConsentDeclined,
    ConsentThanks,
    Help,
    InviteLinked,
    InviteTooManyTries,
    InviteUnusable,
    Menu,
    NeedConsent,
    StaffHelp,
    StaffJoined,
    Welcome,
    WelcomeBack,
)
from bot.content.catalogue import Message as Text
from bot.db.models import Patient
from bot.domain.staff import Role
from bot.services.container import ServiceScope
from bot.services.invites import AlreadyUsed, Linked, TooManyTries
from bot.services.staff import TEAM_LINK_PREFIX, AlreadyOnTeam, Joined
from bot.telegram.callbacks import ConsentCb, InviteConsentCb, MenuCb, MenuTarget
from bot.telegram.commands import staff_menu, team_commands
from bot.telegram.reply import Reply


async def start(
    event: Message | CallbackQuery, state: FSMContext, reply: Reply, patient: Patient | None
) -> None:
    await state.clear()
    if patient is not None and patient.has_consented:
        reply.send(WelcomeBack(), reply.kb.main_menu())
        return
    reply.send(Welcome(), reply.kb.consent())


async def start_with_code(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    reply: Reply,
    patient: Patient | None,
    svc: ServiceScope,
) -> None:
    code = command.args or ""
    await state.clear()
    if code.startswith(TEAM_LINK_PREFIX) and message.from_user is not None:
        await _join_team(reply, svc, code, message.from_user.id, patient)
        return
    if patient is not None and patient.has_consented:
        await _redeem(reply, svc, patient, code, WelcomeBack())
        return
    if not svc.invites.looks_like_code(code):
        reply.send(InviteUnusable(already_linked=False))
        code = ""
    # Nothing is stored before consent: the code rides on the "I agree" button.
    reply.send(Welcome(), reply.kb.consent(invite=code))


async def _join_team(
    reply: Reply, svc: ServiceScope, code: str, telegram_id: int, patient: Patient | None
) -> None:
    """A team member's link: they join with its role and get the team's command menu (team
    members are not patients: no consent is asked)."""
    result = await svc.staff.join(code, telegram_id)
    if isinstance(result, Joined | AlreadyOnTeam):
        reply.send(StaffJoined(role=str(result.role), already=isinstance(result, AlreadyOnTeam)))
        reply.set_chat_menu(telegram_id, staff_menu(reply.content, result.role))
        return
    if isinstance(result, TooManyTries):
        reply.send(InviteTooManyTries())
    else:
        reply.send(InviteUnusable(already_linked=False))
    if patient is not None and patient.has_consented:
        reply.send(WelcomeBack(), reply.kb.main_menu())
    else:
        reply.send(Welcome(), reply.kb.consent())


async def _redeem(
    reply: Reply, svc: ServiceScope, patient: Patient, code: str, otherwise: Text
) -> None:
    """Redeem the code and say how it went; `otherwise` is the normal answer, sent after the
    kind one when the link cannot be used."""
    result = await svc.invites.redeem(code, patient)
    if isinstance(result, Linked):
        kind = reply.content.visit_type_name(result.visit_type, reply.lang)
        reply.send(InviteLinked(when=result.local, kind=kind), reply.kb.main_menu())
        return
    if isinstance(result, TooManyTries):
        reply.send(InviteTooManyTries())
    else:
        mine = isinstance(result, AlreadyUsed) and result.by_this_patient
        reply.send(InviteUnusable(already_linked=mine))
    reply.send(otherwise, reply.kb.main_menu())


async def consent_answer(
    callback: CallbackQuery,
    callback_data: ConsentCb | InviteConsentCb,
    reply: Reply,
    svc: ServiceScope,
) -> None:
    if isinstance(callback_data, ConsentCb) and not callback_data.agree:
        reply.send(ConsentDeclined(), reply.kb.start_over())
        return
    # Idempotent: a second tap (or one racing the first) finds the account and says the same.
    patient = await svc.patients.consent(
        telegram_id=callback.from_user.id, chat_id=callback.from_user.id, language=reply.lang
    )
    if isinstance(callback_data, InviteConsentCb):
        await _redeem(reply, svc, patient, callback_data.code, ConsentThanks())
        return
    reply.send(ConsentThanks(), reply.kb.main_menu())


async def menu(
    event: Message | CallbackQuery, state: FSMContext, reply: Reply, patient: Patient | None
) -> None:
    await state.clear()
    if patient is None or not patient.has_consented:
        reply.send(NeedConsent(), reply.kb.start_over())
        return
    reply.send(Menu(), reply.kb.main_menu())


async def help_(
    event: Message | CallbackQuery, reply: Reply, staff_role: Role | None = None
) -> None:
    """The patients' help; a team member also gets the team's commands their role allows."""
    help_text = Help(
        commands=[{"command": c, "description": d} for c, d in reply.content.commands(reply.lang)]
    )
    if staff_role is None:
        reply.send(help_text, reply.kb.home())
        return
    reply.send(help_text)
    commands = team_commands(reply.content, staff_role, reply.lang)
    reply.send(
        StaffHelp(commands=[{"command": c, "description": d} for c, d in commands]),
        reply.kb.home(),
    )


def create_router() -> Router:
    """A fresh router each call: aiogram attaches a router to one dispatcher only."""
    r = Router(name="start")
    r.message.register(start_with_code, CommandStart(deep_link=True))
    r.message.register(start, CommandStart())
    r.callback_query.register(start, MenuCb.filter(F.to == MenuTarget.START))
    r.callback_query.register(consent_answer, ConsentCb.filter())
    r.callback_query.register(consent_answer, InviteConsentCb.filter())
    r.message.register(menu, Command("menu"))
    r.callback_query.register(menu, MenuCb.filter(F.to == MenuTarget.HOME))
    r.message.register(help_, Command(ChatCommand.HELP))
    r.callback_query.register(help_, MenuCb.filter(F.to == MenuTarget.HELP))
    return r
