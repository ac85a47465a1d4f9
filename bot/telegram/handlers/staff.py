"""The clinic team's commands: invites, the day's roster and the team itself.

Every handler calls a service that checks the sender's permission first (StaffService.require),
so a patient who types a team command or forges a team button meets NotAllowed: the refused
attempt is written to the audit log and bot/telegram/refusals.py answers exactly as to an
unknown command or a stale button. The other refusals (a time or label that cannot be used, a
day that cannot be read, a member who cannot be removed) are answered there too.

An invite is made in five steps held in the conversation state: the visit's time (read in the
clinic's zone, as patients' times are; a time that happens twice offers both), a label, the
kind of visit (a button each, the clinic's default first: each kind has its own plan), and a
confirmation whose button carries the offer's token, so a second tap (or one from an older
offer) makes no second invite. The link is sent once, as text and as a QR code: only its hash
is stored, never the code, in the conversation state neither.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.content.catalogue import (
    InviteAlreadyMade,
    InviteAmbiguous,
    InviteAsk,
    InviteConfirm,
    InviteCreated,
    InviteKindAsk,
    InviteLabelAsk,
    InviteQr,
    Roster,
    StaffAdded,
    StaffAddUsage,
    StaffCommand,
    StaffInviteCreated,
    StaffInviteUsage,
    StaffList,
    StaffRemoveConfirm,
    StaffRemoved,
)
from bot.domain.audit import Action, Actor, target
from bot.domain.staff import Permission, Role, allows
from bot.domain.visits import VisitType
from bot.services.appointments import Ambiguity, VisitTime
from bot.services.container import ServiceScope
from bot.services.offers import Offer, OfferExpired, OfferKind
from bot.services.qr import qr_png
from bot.services.roster import RosterDay
from bot.telegram.callbacks import (
    MAX_ID,
    InviteAction,
    InviteCb,
    RosterCb,
    StaffAction,
    StaffCb,
)
from bot.telegram.commands import staff_menu
from bot.telegram.filters import PlainText
from bot.telegram.identity import BotIdentity
from bot.telegram.reply import Reply
from bot.telegram.staff_names import remember_names
from bot.telegram.states import Inviting
from foundation.timemath import load_zone, to_local


# --- invites ---------------------------------------------------------------------------------
async def invite_start(
    event: Message | CallbackQuery,
    state: FSMContext,
    reply: Reply,
    actor: Actor,
    svc: ServiceScope,
) -> None:
    await svc.invites.require(actor)
    await state.set_state(Inviting.waiting_for_time)
    await state.set_data({})
    reply.send(InviteAsk(zone=svc.invites.default_zone, example=svc.invites.example()))


async def invite_time(
    message: Message, state: FSMContext, reply: Reply, actor: Actor, svc: ServiceScope
) -> None:
    reading = await svc.invites.read_time(actor, message.text or "", lang=reply.lang)
    if isinstance(reading, Ambiguity):
        offer = Offer.of_reading(OfferKind.INVITE, reading)
        await state.set_state(Inviting.picking)
        await state.set_data(offer.to_state())
        _ask_which(reply, reading, offer.token)
        return
    await _ask_label(state, reply, reading)


def _ask_which(reply: Reply, reading: Ambiguity, token: str) -> None:
    """The two readings of the time typed, to pick one."""
    earlier, later = reading.earlier.local, reading.later.local
    reply.send(
        InviteAmbiguous(
            earlier=earlier, later=later, ambiguity=reading.reason, tomorrow=reading.tomorrow
        ),
        reply.kb.invite_ambiguous(earlier, later, token),
    )


async def invite_week_typed(
    message: Message, state: FSMContext, reply: Reply, actor: Actor, svc: ServiceScope
) -> None:
    """Typed while the two weeks are buttons ("next week", "the 15th", "not sure"), read as
    a visit move's is (InviteService.week_typed, the permission checked on every path): the
    week it picks, as a tap on it would; not sure, or a question about them, shows the choice
    again; anything else is a new time."""
    try:
        offer = Offer.held(await state.get_data(), OfferKind.INVITE)
        earlier, later = offer.visit_time("earlier"), offer.visit_time("later")
    except OfferExpired:
        await invite_time(message, state, reply, actor, svc)
        return
    words = reply.content.which_week(reply.lang)
    typed = await svc.invites.week_typed(
        actor, message.text or "", earlier, later, words, reply.lang
    )
    if typed is None:
        await invite_time(message, state, reply, actor, svc)
    elif isinstance(typed, Ambiguity):
        _ask_which(reply, typed, offer.token)
    else:
        await _ask_label(state, reply, typed)


async def _ask_label(state: FSMContext, reply: Reply, proposal: VisitTime) -> None:
    await state.set_state(Inviting.waiting_for_label)
    await state.set_data(Offer.of_reading(OfferKind.INVITE, proposal).to_state())
    reply.send(InviteLabelAsk(when=proposal.local, next_year=proposal.next_year))


async def _checked(svc: ServiceScope, actor: Actor, proposal: VisitTime) -> VisitTime:
    """The time an offer holds, checked again (time has passed, and the sender may have
    left the team since)."""
    reading = await svc.invites.read_time(actor, proposal.starts_at, zone=proposal.zone)
    assert isinstance(reading, VisitTime)  # an instant is never ambiguous
    return reading


async def invite_label(
    message: Message, state: FSMContext, reply: Reply, actor: Actor, svc: ServiceScope
) -> None:
    held = Offer.held(await state.get_data(), OfferKind.INVITE)
    proposal = await _checked(svc, actor, held.visit_time())
    label = svc.invites.check_label(message.text or "")
    offer = Offer.of_reading(OfferKind.INVITE, proposal)
    await state.set_state(Inviting.choosing_kind)
    await state.set_data({**offer.to_state(), "label": label})
    reply.send(
        InviteKindAsk(when=proposal.local, label=label),
        reply.kb.invite_kinds(_kinds(reply), offer.token),
    )


def _type_name(reply: Reply, visit_type: str) -> str:
    return reply.content.visit_type_name(visit_type, reply.lang)


def _kinds(reply: Reply) -> list[tuple[str, str]]:
    """Every visit type and its name, the clinic's default first."""
    content = reply.content
    default = content.default_visit_type
    ordered = [default, *(kind for kind in content.visit_types if kind != default)]
    return [(kind.value, content.visit_type_name(kind, reply.lang)) for kind in ordered]


async def _chose_kind(
    state: FSMContext, reply: Reply, actor: Actor, svc: ServiceScope, offer: Offer, kind: str
) -> None:
    if kind not in set(VisitType):
        raise OfferExpired(OfferKind.INVITE)
    proposal = await _checked(svc, actor, offer.visit_time())
    data = await state.get_data()
    label = str(data.get("label", ""))
    await state.set_state(Inviting.confirming)
    await state.set_data({**offer.to_state(), "label": label, "kind": kind})
    reply.send(
        InviteConfirm(
            when=proposal.local, label=label, kind=reply.content.visit_type_name(kind, reply.lang)
        ),
        reply.kb.invite_confirm(offer.token),
    )


async def invite_button(
    callback: CallbackQuery,
    callback_data: InviteCb,
    state: FSMContext,
    reply: Reply,
    actor: Actor,
    svc: ServiceScope,
    identity: BotIdentity,
) -> None:
    await svc.invites.require(actor)  # a forged button from a patient ends here
    data = await state.get_data()
    if callback_data.action is InviteAction.CONFIRM and data.get("made") == callback_data.t:
        reply.send(InviteAlreadyMade())
        return
    offer = Offer.answered(data, OfferKind.INVITE, callback_data.t)
    current = await state.get_state()
    match callback_data.action:
        case InviteAction.CHANGE:
            await invite_start(callback, state, reply, actor, svc)
        case InviteAction.EARLIER if current == Inviting.picking.state:
            await _ask_label(state, reply, await _checked(svc, actor, offer.visit_time("earlier")))
        case InviteAction.LATER if current == Inviting.picking.state:
            await _ask_label(state, reply, await _checked(svc, actor, offer.visit_time("later")))
        case InviteAction.KIND if current in (
            Inviting.choosing_kind.state,
            Inviting.confirming.state,
        ):
            await _chose_kind(state, reply, actor, svc, offer, callback_data.k)
        case InviteAction.CONFIRM if current == Inviting.confirming.state:
            kind = str(data.get("kind", ""))
            if kind not in set(VisitType):
                raise OfferExpired(OfferKind.INVITE)
            label = str(data.get("label", ""))
            await _make(state, reply, actor, svc, identity, offer, label, VisitType(kind))
        case _:
            raise OfferExpired(OfferKind.INVITE)


async def _make(
    state: FSMContext,
    reply: Reply,
    actor: Actor,
    svc: ServiceScope,
    identity: BotIdentity,
    offer: Offer,
    label: str,
    kind: VisitType,
) -> None:
    proposal = await _checked(svc, actor, offer.visit_time())
    made = await svc.invites.create(
        actor,
        proposal.starts_at,
        label,
        bot_username=identity.username,  # learnt before the transaction: no request here
        zone=proposal.zone,
        request_key=offer.token,  # two taps racing on PostgreSQL: one invite, the other again
        visit_type=kind,
    )
    # Remember which offer was made (not the code), so a second tap is answered as made.
    await state.set_state(None)
    await state.set_data({"made": offer.token})
    zone = load_zone(made.zone)
    when = to_local(made.starts_at, zone)
    name = reply.content.visit_type_name(made.visit_type, reply.lang)
    reply.send(
        InviteCreated(
            link=made.link,
            when=when,
            label=label,
            expires=to_local(made.expires_at, zone),
            kind=name,
        )
    )
    reply.send_photo(
        qr_png(made.link), InviteQr(when=when, label=label, kind=name), filename="invite.png"
    )


# --- roster ----------------------------------------------------------------------------------
def _show(
    reply: Reply,
    day: RosterDay,
    role: Role | None,
    page: int = 0,
    message_id: int | None = None,
) -> None:
    """A page of the roster; with Move and Cancel under the visits the clinic made, for
    members who may change visits."""
    number, entries = day.page(page)
    changeable = [
        (e.appointment_id, e.local, e.label or "")
        for e in entries
        if e.changeable and e.appointment_id is not None
    ]
    if not allows(role, Permission.APPOINTMENTS):
        changeable = []
    html = reply.render(
        Roster(
            day=day.local_midnight,
            lines=[{**e.as_line(), "type_name": _type_name(reply, e.visit_type)} for e in entries],
            page=number,
            pages=day.pages,
        )
    )
    reply.edit_or_send(
        message_id,
        html,
        reply.kb.roster(day.day.isoformat(), number, day.pages, changeable),
    )


async def today(
    message: Message, reply: Reply, actor: Actor, svc: ServiceScope, staff_role: Role | None
) -> None:
    _show(reply, await svc.roster.day(actor, svc.roster.today()), staff_role)


async def tomorrow(
    message: Message, reply: Reply, actor: Actor, svc: ServiceScope, staff_role: Role | None
) -> None:
    _show(reply, await svc.roster.day(actor, svc.roster.today(1)), staff_role)


async def roster_day(
    message: Message,
    command: CommandObject,
    reply: Reply,
    actor: Actor,
    svc: ServiceScope,
    staff_role: Role | None,
) -> None:
    _show(reply, await svc.roster.day(actor, command.args or "", reply.lang), staff_role)


async def roster_page(
    callback: CallbackQuery,
    callback_data: RosterCb,
    reply: Reply,
    actor: Actor,
    svc: ServiceScope,
    staff_role: Role | None,
) -> None:
    day = await svc.roster.day(actor, callback_data.day)
    message = callback.message
    message_id = message.message_id if message is not None else None
    _show(reply, day, staff_role, callback_data.page, message_id)


# --- the team --------------------------------------------------------------------------------
async def team(
    event: Message | CallbackQuery,
    reply: Reply,
    actor: Actor,
    svc: ServiceScope,
    staff_role: Role | None,
) -> None:
    members = await svc.staff.members(actor)
    names = await svc.staff.names([m.telegram_id for m in members])
    can_manage = allows(staff_role, Permission.STAFF)
    removable = [
        (m.telegram_id, names[m.telegram_id])
        for m in members
        if can_manage and not m.from_settings and m.telegram_id != actor.telegram_id
    ]
    reply.send(
        StaffList(
            members=[
                {
                    "telegram_id": m.telegram_id,
                    "name": names[m.telegram_id],
                    "role": str(m.role),
                    "from_settings": m.from_settings,
                }
                for m in members
            ],
            can_manage=can_manage,
        ),
        reply.kb.staff_members(removable),
    )


def _parse_add(args: str | None) -> tuple[int, Role] | None:
    parts = (args or "").split()
    if not 1 <= len(parts) <= 2 or not parts[0].isascii() or not parts[0].isdigit():
        return None
    telegram_id = int(parts[0])
    role = parts[1].lower() if len(parts) == 2 else Role.STAFF.value
    if not 1 <= telegram_id <= MAX_ID or role not in set(Role):
        return None
    return telegram_id, Role(role)


async def team_add(
    message: Message, command: CommandObject, reply: Reply, actor: Actor, svc: ServiceScope
) -> None:
    parsed = _parse_add(command.args)
    if parsed is None:
        # Who may add is checked first: a patient learns nothing of how the command works.
        await svc.staff.require(
            actor, Permission.STAFF, action=Action.STAFF_ADD, target=target("staff", "new")
        )
        reply.send(StaffAddUsage())
        return
    telegram_id, role = parsed
    changed = await svc.staff.add(actor, telegram_id, role)
    reply.send(StaffAdded(telegram_id=telegram_id, role=str(role), changed=changed))
    if changed:
        reply.set_chat_menu(telegram_id, staff_menu(reply.content, role))


async def team_invite(
    message: Message,
    command: CommandObject,
    identity: BotIdentity,
    reply: Reply,
    actor: Actor,
    svc: ServiceScope,
) -> None:
    """``/staff_invite [staff|admin]``: a one-time link that adds whoever opens it."""
    role = (command.args or Role.STAFF.value).strip().lower()
    if role not in set(Role):
        # Who may invite is checked first: a patient learns nothing of how the command works.
        await svc.staff.require(
            actor, Permission.STAFF, action=Action.STAFF_INVITE, target=target("staff", "new")
        )
        reply.send(StaffInviteUsage())
        return
    made = await svc.staff.invite(actor, Role(role), bot_username=identity.username)
    zone = load_zone(svc.invites.default_zone)  # the clinic's
    reply.send(
        StaffInviteCreated(
            link=made.link, role=str(made.role), expires=to_local(made.expires_at, zone)
        )
    )


async def team_button(
    callback: CallbackQuery,
    callback_data: StaffCb,
    state: FSMContext,
    reply: Reply,
    actor: Actor,
    svc: ServiceScope,
    staff_role: Role | None,
) -> None:
    """Remove asks first; "Yes, remove" and "No, keep" answer that offer only (its token in
    the conversation state): a button of an older offer, or one pressed after the other,
    has expired."""
    member = callback_data.id
    # Who may remove is checked first: a patient forging a button learns nothing more.
    await svc.staff.require(
        actor, Permission.STAFF, action=Action.STAFF_REMOVE, target=target("staff", member)
    )
    if callback_data.action is StaffAction.REMOVE:
        offer = Offer(OfferKind.STAFF_REMOVE, member=member)
        await state.set_state(None)
        await state.set_data(offer.to_state())
        name = (await svc.staff.names([member]))[member]
        reply.send(
            StaffRemoveConfirm(telegram_id=member, name=name),
            reply.kb.staff_remove_confirm(member, offer.token),
        )
        return
    data = await state.get_data()
    answered = data.get("removed") == callback_data.t and data.get("member") == member
    if callback_data.action is StaffAction.REMOVE_YES and callback_data.t and answered:
        await svc.staff.remove(actor, member)  # a second tap: "not on the team" (NoSuchMember)
        return
    Offer.answered(data, OfferKind.STAFF_REMOVE, callback_data.t).about(member=member)
    if callback_data.action is StaffAction.REMOVE_YES:
        await svc.staff.remove(actor, member)
        await state.set_data({"removed": callback_data.t, "member": member})
        name = (await svc.staff.names([member]))[member]
        reply.send(StaffRemoved(telegram_id=member, name=name))
        reply.set_chat_menu(member, None)  # back to the patients' menu
    else:
        await state.set_data({})
        await team(callback, reply, actor, svc, staff_role)


def create_router() -> Router:
    """A fresh router each call: aiogram attaches a router to one dispatcher only."""
    r = Router(name="staff")
    r.message.register(invite_start, Command(StaffCommand.INVITE))
    r.message.register(invite_time, Inviting.waiting_for_time, PlainText())
    r.message.register(invite_week_typed, Inviting.picking, PlainText())
    r.message.register(invite_label, Inviting.waiting_for_label, PlainText())
    r.message.register(invite_label, Inviting.choosing_kind, PlainText())
    r.message.register(invite_label, Inviting.confirming, PlainText())
    r.callback_query.register(invite_button, InviteCb.filter())
    r.message.register(today, Command(StaffCommand.TODAY))
    r.message.register(tomorrow, Command(StaffCommand.TOMORROW))
    r.message.register(roster_day, Command(StaffCommand.ROSTER))
    r.callback_query.register(roster_page, RosterCb.filter())
    r.message.register(team, Command(StaffCommand.STAFF))
    r.message.register(team_add, Command(StaffCommand.STAFF_ADD))
    r.message.register(team_invite, Command(StaffCommand.STAFF_INVITE))
    r.callback_query.register(team_button, StaffCb.filter(F.action.in_(set(StaffAction))))
    return remember_names(r)
