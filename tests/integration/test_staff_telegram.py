"""The clinic team on Telegram, through the real dispatcher and the fake Bot API: the team's
menus, invites (link and QR code), redeeming them, the roster, and patients refused every
team command and button as if it did not exist (with an audit line)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.db.audit import AuditRepository
from bot.db.models import (
    ChecklistTick,
    ConversationState,
    Invite,
    Reminder,
    StaffInvite,
    StaffMember,
)
from bot.domain.invite_codes import code_hash, new_code
from bot.telegram.callbacks import (
    InviteAction,
    InviteCb,
    RosterCb,
    StaffAction,
    StaffCb,
)
from tests.fake_telegram import updates
from tests.fake_telegram.server import RecordedRequest, UploadedFile
from tests.integration import dbcheck
from tests.integration.harness import STAFF_ID, Harness, texts_to

NURSE = 501
PAT, PAT2 = 1001, 1002
LINK = re.compile(r"https://t\.me/companion_test_bot\?start=([A-Za-z0-9_-]+)")
UNKNOWN = "I don't know that command"
ACCESS_ENDED = "your staff access has ended"
STALE = "no longer active"
UNUSABLE = "this link can't be used"


def chat_scope(request: RecordedRequest) -> Any:
    return (request.params.get("scope") or {}).get("chat_id")


async def add_nurse(harness: Harness) -> None:
    [added] = await harness.command(STAFF_ID, "staff_add", f"{NURSE} staff")
    assert f"{NURSE}" in added
    assert "now staff" in added


async def invite(
    harness: Harness, when: str = "tomorrow 10am", label: str = "J.D.", kind: str = "Infusion"
) -> str:
    """The nurse makes an invite for a visit of `kind` (its button's words); the code of its
    link."""
    [ask] = await harness.command(NURSE, "invite")
    assert "When is the visit" in ask
    [label_ask] = await harness.send(NURSE, when)
    assert "label" in label_ask
    [kind_ask] = await harness.send(NURSE, label)
    assert label in kind_ask and "What kind of visit" in kind_ask
    [confirm] = await harness.tap(NURSE, kind)
    assert label in confirm and kind in confirm
    sent = await harness.feed(updates.callback_update(NURSE, harness.button(NURSE, "Make the")))
    [created] = [r.params["text"] for r in sent if r.method.lower() == "sendmessage"]
    match = LINK.search(created)
    assert match is not None, created
    [photo] = [r for r in sent if r.method.lower() == "sendphoto"]
    assert photo.params["chat_id"] == NURSE
    assert isinstance(photo.params["photo"], UploadedFile)
    assert photo.params["photo"].data.startswith(b"\x89PNG")
    return match.group(1)


async def audit_lines(harness: Harness) -> list[Any]:
    async with harness.app.context.session_factory() as session:
        return list(reversed(await AuditRepository(session).recent(limit=500)))


async def test_an_admin_adds_a_member_who_gets_the_team_menu_and_removes_them(
    harness: Harness,
) -> None:
    await add_nurse(harness)
    [menu] = [r for r in harness.server.calls("setMyCommands") if chat_scope(r) == NURSE]
    assert menu.params["scope"]["type"] == "chat"
    commands = [c["command"] for c in menu.params["commands"]]
    assert {"invite", "today", "tomorrow", "roster", "staff", "start"} <= set(commands)
    assert "staff_add" not in commands  # staff, not admin
    # The patients' list never carries the team's commands.
    assert not harness.server.calls("setMyCommands") or all(
        "invite" not in [c["command"] for c in r.params["commands"]]
        for r in harness.server.calls("setMyCommands")
        if chat_scope(r) is None
    )
    [team] = await harness.command(STAFF_ID, "staff")
    # Members by name (as Telegram gave it when they last used a team command), with the id.
    assert f"(<code>{NURSE}</code>): staff" in team
    assert f"(<code>{STAFF_ID}</code>): admin" in team
    [confirm] = await harness.tap(STAFF_ID, f"Remove {NURSE}")
    assert "Remove" in confirm
    yes = harness.button(STAFF_ID, "Yes, remove")
    [removed] = await harness.press(STAFF_ID, yes)
    assert "no longer on the team" in removed
    [deleted] = harness.server.calls("deleteMyCommands")
    assert chat_scope(deleted) == NURSE
    [again] = await harness.press(STAFF_ID, yes)  # a second tap
    assert "not on the team" in again
    [unknown] = await harness.command(NURSE, "today")
    assert UNKNOWN in unknown


async def test_team_refusals_are_explained(harness: Harness) -> None:
    await harness.press(STAFF_ID, StaffCb(action=StaffAction.REMOVE, id=STAFF_ID).pack())
    [self_remove] = await harness.tap(STAFF_ID, "Yes")
    assert "configuration" in self_remove  # an admin of STAFF_IDS
    await add_nurse(harness)
    [not_admin] = await harness.command(NURSE, "staff_add", "777 staff")
    assert "Only admins" in not_admin
    [usage] = await harness.command(STAFF_ID, "staff_add", "someone admin")
    assert "/staff_add 123456789 staff" in usage


async def test_staff_invite_a_patient_who_consents_and_is_linked(harness: Harness) -> None:
    await add_nurse(harness)
    code = await invite(harness)
    # The patient opens the link: nothing is stored before they agree.
    [welcome] = await harness.command(PAT, "start", code)
    assert "Do you agree" in welcome
    assert await dbcheck.patient(harness, PAT) is None
    assert await dbcheck.count(harness, ConversationState, user_id=PAT) == 0
    [linked] = await harness.tap(PAT, "agree")
    assert "Tuesday, November 24, 2026 at 10:00 AM EST" in linked
    assert "Start by adding" not in linked
    [appointment] = await dbcheck.appointments(harness, PAT)
    assert await dbcheck.count(harness, Reminder, appointment_id=appointment.id) > 0
    # The same link again, by them and by someone else.
    [mine, _back] = await harness.command(PAT, "start", code)
    assert "already opened this link" in mine
    await harness.consent(PAT2)
    [theirs, _menu] = await harness.command(PAT2, "start", code)
    assert UNUSABLE in theirs
    assert await dbcheck.appointments(harness, PAT2) == []

    # The roster shows the label and the checklist progress.
    async with harness.app.context.session_factory() as session:
        session.add(
            ChecklistTick(appointment_id=appointment.id, item="ride", done_at=harness.clock.now())
        )
        await session.commit()
    total = len(harness.app.context.content.plan.checklist)
    [roster] = await harness.command(NURSE, "tomorrow")
    assert "Tuesday, November 24, 2026" in roster
    assert "<b>10:00 AM</b> J.D. · Infusion" in roster
    assert f"checklist 1/{total}" in roster
    assert "no answer yet" in roster
    [same] = await harness.command(NURSE, "roster", "2026-11-24")
    assert same == roster
    [today] = await harness.command(NURSE, "today")
    assert "No visits" in today
    [bad] = await harness.command(NURSE, "roster", "banana")
    assert "couldn't read that as a day" in bad


async def test_a_double_tap_on_confirm_makes_one_invite(harness: Harness) -> None:
    await add_nurse(harness)
    await harness.command(NURSE, "invite")
    await harness.send(NURSE, "tomorrow 10am")
    await harness.send(NURSE, "#4471")
    await harness.tap(NURSE, "Infusion")
    confirm = harness.button(NURSE, "Make the")
    sent = await harness.feed_many(
        [updates.callback_update(NURSE, confirm), updates.callback_update(NURSE, confirm)]
    )
    assert len([r for r in sent if r.method.lower() == "sendphoto"]) == 1
    texts = [r.params["text"] for r in sent if r.method.lower() == "sendmessage"]
    assert sum(1 for t in texts if LINK.search(t)) == 1
    assert any("already made" in t for t in texts)
    assert await dbcheck.count(harness, Invite) == 1
    [later] = await harness.press(NURSE, confirm)
    assert "already made" in later


async def test_an_ambiguous_time_offers_both_readings(harness: Harness) -> None:
    await add_nurse(harness)
    await harness.command(NURSE, "invite")
    [question] = await harness.send(NURSE, "2027-11-07 1:30am")
    assert "happens twice" in question
    buttons = harness.buttons(NURSE)
    assert len(buttons) == 3
    [label_ask] = await harness.press(NURSE, buttons[1][1])  # the later one
    assert "1:30 AM EST" in label_ask
    [kind_ask] = await harness.send(NURSE, "AB")
    assert "1:30 AM EST" in kind_ask
    [confirm] = await harness.tap(NURSE, "First consultation")
    assert "1:30 AM EST" in confirm and "First consultation" in confirm
    [stale] = await harness.press(NURSE, buttons[0][1])  # the offer is over
    assert "expired" in stale


async def test_next_weekday_in_this_week_offers_both_weeks(harness: Harness) -> None:
    """Staff typing "next tuesday 10am" on a Monday get the same choice as a patient."""
    await add_nurse(harness)
    await harness.command(NURSE, "invite")
    [question] = await harness.send(NURSE, "next tuesday 10am")
    assert "do you mean this week's or next week's?" in question
    assert "<b>Tuesday, November 24, 2026 at 10:00 AM EST</b> (tomorrow)" in question
    assert "Tuesday, December 1, 2026 at 10:00 AM EST</b> (next week)" in question
    buttons = harness.buttons(NURSE)
    assert [text for text, _ in buttons][:2] == ["Tue Nov 24, 10:00 AM", "Tue Dec 1, 10:00 AM"]
    [label_ask] = await harness.press(NURSE, buttons[1][1])
    assert "December 1, 2026 at 10:00 AM EST" in label_ask
    [stale] = await harness.press(NURSE, buttons[0][1])  # the choice is over
    assert "expired" in stale


async def test_the_week_typed_instead_of_tapped_is_read_as_a_patients(harness: Harness) -> None:
    """Typed while the two weeks are buttons: a question shows the choice again, "next week"
    picks it as the tap would, and a new time is read as one."""
    await add_nurse(harness)
    await harness.command(NURSE, "invite")
    await harness.send(NURSE, "next tuesday 10am")
    [again] = await harness.send(NURSE, "is it next week?")
    assert "do you mean this week's or next week's?" in again
    assert "(tomorrow)" in again
    assert [t for t, _ in harness.buttons(NURSE)][:2] == [
        "Tue Nov 24, 10:00 AM",
        "Tue Dec 1, 10:00 AM",
    ]
    [label_ask] = await harness.send(NURSE, "next week")
    assert "December 1, 2026 at 10:00 AM EST" in label_ask
    await harness.command(NURSE, "invite")
    await harness.send(NURSE, "next tuesday 10am")
    [label_ask] = await harness.send(NURSE, "wed 930")  # another time altogether
    assert "Wednesday, November 25, 2026 at 9:30 AM EST" in label_ask


async def test_a_member_removed_while_the_two_weeks_are_offered_is_refused(
    harness: Harness,
) -> None:
    """The two weeks of an invite are offered, then an admin removes the member: what they
    type next is refused, with an audit line, as a visit move's is
    (VisitChangeService.week_typed), and they are told their staff access has ended; the
    conversation is over, so what they type after is read as anyone's. Before, a question
    about the weeks ("is it next week?") showed the choice again, with its buttons, to
    someone no longer on the team."""
    await add_nurse(harness)
    await harness.command(NURSE, "invite")
    await harness.send(NURSE, "next tuesday 10am")
    await harness.press(STAFF_ID, StaffCb(action=StaffAction.REMOVE, id=NURSE).pack())
    [removed] = await harness.tap(STAFF_ID, "Yes, remove")
    assert "no longer on the team" in removed
    refused_before = len(await audit_lines(harness))
    for number, typed in enumerate(("is it next week?", "not sure", "next week", "wed 930")):
        [reply] = await harness.send(NURSE, typed)
        assert (ACCESS_ENDED in reply) == (number == 0), typed
        assert UNKNOWN not in reply
        assert "this week's or next week's" not in reply
        assert not [t for t, _ in harness.buttons(NURSE) if "Tue" in t], typed
    refused = [
        line
        for line in (await audit_lines(harness))[refused_before:]
        if line.actor_telegram_id == NURSE
    ]
    assert [(line.action, line.outcome) for line in refused] == [("invite.create", "refused")]
    assert await dbcheck.count(harness, Invite) == 0


async def test_a_member_removed_in_the_middle_of_an_invite_is_told_their_access_ended(
    harness: Harness,
) -> None:
    """/invite waits for a time, an admin removes the member: their next text gets a kind
    word that their staff access has ended (not "I don't know that command"), in their
    language, and the conversation is cleared; a button of an invite they were confirming
    gets the same."""
    await add_nurse(harness)
    await harness.command(NURSE, "invite")
    await harness.press(STAFF_ID, StaffCb(action=StaffAction.REMOVE, id=NURSE).pack())
    await harness.tap(STAFF_ID, "Yes, remove")
    [ended] = await harness.send(NURSE, "tomorrow 10am")
    assert ACCESS_ENDED in ended and "Ki Ketamine" in ended and "admins" in ended
    assert UNKNOWN not in ended
    assert await dbcheck.fsm_state(harness, NURSE) is None
    # Added again, half through another invite, removed at the confirmation: the tap too.
    await add_nurse(harness)
    await harness.command(NURSE, "invite")
    await harness.send(NURSE, "tomorrow 10am")
    await harness.send(NURSE, "J.D.")
    await harness.tap(NURSE, "Infusion")
    make = harness.button(NURSE, "Make the")
    await harness.press(STAFF_ID, StaffCb(action=StaffAction.REMOVE, id=NURSE).pack())
    await harness.tap(STAFF_ID, "Yes, remove")
    [tapped] = await harness.press(NURSE, make)
    assert ACCESS_ENDED in tapped and STALE not in tapped
    assert await dbcheck.count(harness, Invite) == 0
    # In Spanish for a member whose Telegram speaks it.
    await add_nurse(harness)
    await harness.command(NURSE, "invite")
    await harness.press(STAFF_ID, StaffCb(action=StaffAction.REMOVE, id=NURSE).pack())
    await harness.tap(STAFF_ID, "Yes, remove")
    update = updates.message_update(NURSE, "mañana 10am")
    update["message"]["from"]["language_code"] = "es"
    [spanish] = texts_to(await harness.feed(update), NURSE)
    assert "Ya no forma parte del equipo" in spanish


async def test_a_spanish_speaking_member_types_the_forms_the_refusal_offers(
    harness: Harness,
) -> None:
    """Staff whose Telegram speaks Spanish are read in Spanish: "mañana 930" and "el jueves
    16:30", which the Spanish refusal offers as forms to type, are times (they were refused,
    read as English)."""

    def spanish(update: dict[str, Any]) -> dict[str, Any]:
        update["message"]["from"]["language_code"] = "es"
        return update

    async def say(text: str) -> str:
        sent = await harness.feed(spanish(updates.message_update(STAFF_ID, text)))
        return "\n".join(texts_to(sent, STAFF_ID))

    for typed, when in (("mañana 930", "24 de noviembre"), ("el jueves 16:30", "26 de noviembre")):
        await harness.feed(spanish(updates.command_update(STAFF_ID, "invite")))
        label_ask = await say(typed)
        assert when in label_ask and "no pude entender" not in label_ask
    await harness.feed(spanish(updates.command_update(STAFF_ID, "invite")))
    refused = await say("cuando pueda")
    assert "no pude entender" in refused and "<code>mañana 930</code>" in refused


async def test_a_spanish_speaking_member_asks_for_a_roster_in_spanish(harness: Harness) -> None:
    """/roster reads the day in the member's language, as /invite reads a time: "jueves",
    "el jueves", "mañana", "pasado mañana" and "26/11" (day first) for a member whose Telegram
    speaks Spanish, English words still read ("thursday"). Before, "jueves" was refused as
    "No pude entender eso como un día", even as the Spanish refusal offered "/roster
    thursday"."""
    await add_nurse(harness)
    await invite(harness, "thu 10am")

    async def roster(day: str) -> str:
        update = updates.command_update(NURSE, "roster", day)
        update["message"]["from"]["language_code"] = "es"
        [reply] = texts_to(await harness.feed(update), NURSE)
        return reply

    for typed in ("jueves", "el jueves", "26/11", "thursday", "el 26 de noviembre"):
        shown = await roster(typed)
        assert "jueves 26 de noviembre de 2026" in shown, typed
        assert "J.D." in shown, typed
    assert "martes 24 de noviembre" in await roster("mañana")
    assert "miércoles 25 de noviembre" in await roster("pasado mañana")
    refused = await roster("cuando sea")
    assert "No pude entender eso como un día" in refused
    assert "<code>/roster jueves</code>" in refused
    [english] = await harness.command(NURSE, "roster", "thursday")
    assert "Thursday, November 26, 2026" in english and "J.D." in english
    [not_english] = await harness.command(NURSE, "roster", "jueves")  # read as English
    assert "couldn't read that as a day" in not_english


async def test_a_compact_time_is_read_as_with_the_colon(harness: Harness) -> None:
    # Staff type "wed 930" as they write it on the schedule: Wednesday at 9:30 AM, clinic time.
    await add_nurse(harness)
    await harness.command(NURSE, "invite")
    [label_ask] = await harness.send(NURSE, "wed 930")
    assert "Wednesday, November 25, 2026 at 9:30 AM EST" in label_ask
    await harness.send(NURSE, "J.D.")
    [confirm] = await harness.tap(NURSE, "Infusion")
    assert "Wednesday, November 25, 2026 at 9:30 AM EST" in confirm


async def test_every_form_a_refusal_offers_is_read(harness: Harness) -> None:
    # What the refusal offers as forms to type, typed back: each one is read, none refused.
    await add_nurse(harness)
    await harness.command(NURSE, "invite")
    [refused] = await harness.send(NURSE, "whenever suits")
    assert "couldn't read that" in refused
    examples = re.findall(r"<code>(.*?)</code>", refused)
    assert "wed 930" in examples and len(examples) >= 2
    for example in examples:
        await harness.command(NURSE, "invite")
        [label_ask] = await harness.send(NURSE, example)
        assert "Visit on" in label_ask and "label" in label_ask, (example, label_ask)


MONDAY_DECEMBER_7 = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)  # 10:00 AM in the clinic
_REFUSED = {  # typed to get each refusal that offers examples: past, too far, half, unreadable
    "en": ("2026-12-01 10:00", "2028-06-01 10:00", "thursday", "3pm", "whenever suits"),
    "es": ("2026-12-01 10:00", "2028-06-01 10:00", "el jueves", "3pm", "cuando pueda"),
}
_FIXED = {  # the examples the prompts offered before, whatever the day
    *("2026-12-03 10:00", "2026-12-03 14:30", "9/12 a las 3 de la tarde"),
    *("12/3 2:30pm", "Dec 3 2:30 pm", "12/9 2:30pm", "/roster 2026-12-03", "/roster 12/3"),
}
_WORDS = {  # what answers an example read: the label question, the move's confirmation, a day
    "en": ("Now a short label", "To: <b>", "Visits on"),
    "es": ("Ahora una etiqueta corta", "A: <b>", "Visitas del"),
}


@pytest.mark.parametrize("lang", ["en", "es"])
async def test_every_example_a_staff_prompt_offers_is_ahead_and_read(
    harness: Harness, lang: str
) -> None:
    """On Monday, December 7 (as a colleague found it), every example the team's prompts and
    refusals offer (/invite's, a visit move's, /roster's), typed back, is read: none is in
    the past. Before, the Spanish ones offered "2026-12-03 10:00", and /roster
    "/roster 2026-12-03", refused as past or read as next year's; the English "12/3 2:30pm"
    and "Dec 3 2:30 pm" were read as December 3, 2027."""
    harness.clock.set(MONDAY_DECEMBER_7)
    await add_nurse(harness)
    await harness.command(PAT, "start", await invite(harness))  # tomorrow, December 8
    await harness.tap(PAT, "agree")
    label_asked, move_offered, roster_shown = _WORDS[lang]

    async def feed(update: dict[str, Any]) -> list[str]:
        (update.get("message") or update["callback_query"])["from"]["language_code"] = lang
        return texts_to(await harness.feed(update), NURSE)

    async def say(text: str) -> str:
        if text.startswith("/"):
            name, _, args = text[1:].partition(" ")
            return "\n".join(await feed(updates.command_update(NURSE, name, args)))
        return "\n".join(await feed(updates.message_update(NURSE, text)))

    async def offered(*prompts: str) -> set[str]:
        examples = {e for p in prompts for e in re.findall(r"<code>(.*?)</code>", p)}
        assert examples and not examples & _FIXED
        return examples

    async def move() -> str:
        await say("/tomorrow")
        [ask] = await feed(updates.callback_update(NURSE, harness.button(NURSE, "Move")))
        return ask

    # /invite
    prompts = [await say("/invite")]
    prompts += [await say(typed) for typed in _REFUSED[lang]]
    for example in await offered(*prompts):
        await say("/invite")
        assert label_asked in await say(example), example
    # A visit's move
    prompts = [await move()]
    prompts += [await say(typed) for typed in _REFUSED[lang]]
    await move()
    for example in await offered(*prompts):
        assert move_offered in await say(example), example
    # /roster
    examples = await offered(await say("/roster"), await say("/roster banana?"))
    assert len(examples) == 2
    for example in examples:
        assert roster_shown in await say(example), example


async def test_a_moves_example_is_never_the_visits_own_time(harness: Harness) -> None:
    """A visit at the very time the examples name (three days ahead at 2:30 PM, as the
    invite's question offered it): its move's question and refusals offer the day after,
    not the visit's own time (typed back, "nothing changed")."""
    harness.clock.set(MONDAY_DECEMBER_7)
    await add_nurse(harness)
    await harness.command(PAT, "start", await invite(harness, "12/10 2:30pm"))
    await harness.tap(PAT, "agree")
    await harness.command(NURSE, "roster", "12/10")
    [ask] = await harness.tap(NURSE, "Move")
    assert "Now: <b>Thursday, December 10, 2026 at 2:30 PM EST</b>" in ask
    assert "<code>12/11 2:30pm</code>" in ask
    [half] = await harness.send(NURSE, "thursday")  # a refusal's example too
    assert "<code>Fri Dec 11, 2:30 PM</code>" in half
    [far] = await harness.send(NURSE, "2028-06-01 10:00")
    assert "<code>12/11 2:30pm</code>" in far


async def test_bad_times_and_labels_are_explained(harness: Harness) -> None:
    await add_nurse(harness)
    await harness.command(NURSE, "invite")
    [past] = await harness.send(NURSE, "2026-11-20 10:00")
    assert "already passed" in past
    [far] = await harness.send(NURSE, "2028-01-05 10:00")
    assert "more than a year" in far
    await harness.send(NURSE, "tomorrow 10am")
    [long] = await harness.send(NURSE, "x" * 40)
    assert "too long" in long
    [control] = await harness.send(NURSE, "A\u200bB")
    assert "characters I can't keep" in control
    assert await dbcheck.count(harness, Invite) == 0


async def test_a_question_at_the_label_step_is_answered_not_saved(harness: Harness) -> None:
    """ "what's a label?" typed where the label is asked is a question: the member is told
    what the label is for (and that a label cannot end with "?") and asked again; the label
    sent next is the one kept. In Spanish for a member whose Telegram speaks it."""
    await add_nurse(harness)
    await harness.command(NURSE, "invite")
    await harness.send(NURSE, "tomorrow 10am")
    [what] = await harness.send(NURSE, "what's a label?")
    assert "short note for the team only" in what and "question mark" in what
    assert "What kind of visit" not in what
    [kind_ask] = await harness.send(NURSE, "J.D.")
    assert "J.D." in kind_ask and "What kind of visit" in kind_ask
    assert "what's a label" not in kind_ask

    def spanish(update: dict[str, Any]) -> dict[str, Any]:
        update["message"]["from"]["language_code"] = "es"
        return update

    await harness.feed(spanish(updates.command_update(NURSE, "invite")))
    await harness.feed(spanish(updates.message_update(NURSE, "mañana 10am")))
    sent = await harness.feed(spanish(updates.message_update(NURSE, "¿qué pongo aquí")))
    [aqui] = texts_to(sent, NURSE)
    assert "nota corta solo para el equipo" in aqui and "signos de interrogación" in aqui
    [tipo] = texts_to(await harness.feed(spanish(updates.message_update(NURSE, "#4471"))), NURSE)
    assert "#4471" in tipo and "qué pongo" not in tipo
    assert await dbcheck.count(harness, Invite) == 0


async def test_a_date_that_just_passed_is_read_a_year_ahead_and_said_so(harness: Harness) -> None:
    """ "12/3 10am" typed by the front desk on December 7 is next year's December 3, and the
    read-back says so, as a patient's does; in Spanish for a member whose Telegram speaks it
    ("3/12", day first)."""
    harness.clock.set(datetime(2026, 12, 7, 14, 0, tzinfo=UTC))
    await add_nurse(harness)
    await harness.command(NURSE, "invite")
    [label_ask] = await harness.send(NURSE, "12/3 10am")
    assert "December 3, 2027" in label_ask
    assert "That date has just passed" in label_ask and "/invite" in label_ask
    await harness.command(NURSE, "invite")
    [ahead] = await harness.send(NURSE, "12/9 10am")
    assert "December 9, 2026" in ahead and "just passed" not in ahead
    update = updates.command_update(NURSE, "invite")
    update["message"]["from"]["language_code"] = "es"
    await harness.feed(update)
    update = updates.message_update(NURSE, "3/12 10am")
    update["message"]["from"]["language_code"] = "es"
    [spanish] = texts_to(await harness.feed(update), NURSE)
    assert "3 de diciembre de 2027" in spanish and "Esa fecha acaba de pasar" in spanish


async def test_forged_expired_and_used_codes_get_the_kind_message(harness: Harness) -> None:
    await add_nurse(harness)
    code = await invite(harness)
    await harness.consent(PAT)
    [forged, _menu] = await harness.command(PAT, "start", new_code())
    assert UNUSABLE in forged
    [junk, _welcome] = await harness.command(PAT2, "start", "not a code!")
    assert UNUSABLE in junk
    harness.clock.advance(timedelta(days=2))  # the visit has begun: the link is over
    [expired, _menu] = await harness.command(PAT, "start", code)
    assert UNUSABLE in expired
    assert await dbcheck.appointments(harness, PAT) == []


@pytest.mark.parametrize("consented", [True, False])
async def test_patients_are_refused_every_team_command_and_button(
    harness: Harness, consented: bool
) -> None:
    if consented:
        await harness.consent(PAT)
    for command, args in [
        ("invite", ""),
        ("today", ""),
        ("tomorrow", ""),
        ("roster", "2026-11-24"),
        ("roster", "banana"),
        ("staff", ""),
        ("staff_add", f"{PAT} admin"),
        ("staff_add", "nonsense"),
    ]:
        [reply] = await harness.command(PAT, command, args)
        assert UNKNOWN in reply, command
    for data in [
        InviteCb(action=InviteAction.CONFIRM, t="x").pack(),
        RosterCb(day="2026-11-24", page=0).pack(),
        StaffCb(action=StaffAction.REMOVE_YES, id=STAFF_ID).pack(),
        StaffCb(action=StaffAction.REMOVE, id=NURSE).pack(),
    ]:
        [reply] = await harness.press(PAT, data)
        assert STALE in reply, data
    refused = [line for line in await audit_lines(harness) if line.actor_telegram_id == PAT]
    assert len(refused) == 12
    assert {line.outcome for line in refused} == {"refused"}
    assert all(line.after == {"reason": "not_staff"} for line in refused)
    assert await dbcheck.count(harness, Invite) == 0
    assert not [r for r in harness.server.calls("setMyCommands") if chat_scope(r) == PAT]


async def test_a_long_roster_pages(harness: Harness) -> None:
    starts = harness.clock.now() + timedelta(days=1)
    async with harness.app.context.session_factory() as session:
        for n in range(12):
            session.add(
                Invite(
                    code_hash=code_hash(f"code{n}"),
                    label=f"P{n:02d}",
                    starts_at=starts + timedelta(minutes=15 * n),
                    timezone="America/New_York",
                    created_by=STAFF_ID,
                    created_at=harness.clock.now(),
                    expires_at=starts,
                )
            )
        await session.commit()
    [first] = await harness.command(STAFF_ID, "tomorrow")
    assert "page 1 of 2" in first
    assert "P09" in first
    assert "P10" not in first
    assert [t for t, _ in harness.buttons(STAFF_ID)] == ["Next ▶"]
    sent = await harness.feed(updates.callback_update(STAFF_ID, harness.button(STAFF_ID, "Next")))
    [edit] = [r for r in sent if r.method.lower() == "editmessagetext"]
    assert "page 2 of 2" in edit.params["text"]
    assert "P11" in edit.params["text"]


async def test_start_up_gives_the_team_their_menus(harness: Harness) -> None:
    from bot.factory import register_staff_menus

    await add_nurse(harness)
    before = len(harness.server.calls("setMyCommands"))
    assert await register_staff_menus(harness.app) == 2
    menus = harness.server.calls("setMyCommands")[before:]
    assert {chat_scope(r) for r in menus} == {STAFF_ID, NURSE}
    admin = next(r for r in menus if chat_scope(r) == STAFF_ID)
    assert "staff_add" in [c["command"] for c in admin.params["commands"]]


async def test_invites_hold_only_the_hash(harness: Harness) -> None:
    await add_nurse(harness)
    code = await invite(harness)
    async with harness.app.context.session_factory() as session:
        [row] = (await session.execute(select(Invite))).scalars()
    assert row.code_hash == code_hash(code)
    assert await dbcheck.count(harness, dbcheck.ConversationState) <= 1
    async with harness.app.context.session_factory() as session:
        states = (await session.execute(select(dbcheck.ConversationState))).scalars()
        assert all(code not in s.data for s in states)


TEAM_LINK = re.compile(r"https://t\.me/companion_test_bot\?start=(team-[A-Za-z0-9_-]+)")


async def team_link(harness: Harness, role: str = "staff") -> str:
    [made] = await harness.command(STAFF_ID, "staff_invite", role)
    match = TEAM_LINK.search(made)
    assert match is not None, made
    return match.group(1)


async def test_an_admin_invites_a_team_member_by_a_one_time_link(harness: Harness) -> None:
    payload = await team_link(harness)
    # Only the hash of the code is stored.
    async with harness.app.context.session_factory() as session:
        [stored] = (await session.execute(select(StaffInvite.code_hash))).scalars()
    assert stored == code_hash(payload.removeprefix("team-"))
    [joined] = await harness.command(NURSE, "start", payload)
    assert "now staff" in joined
    # No consent asked and nothing stored as a patient: team members are not patients.
    assert await dbcheck.patient(harness, NURSE) is None
    [menu] = [r for r in harness.server.calls("setMyCommands") if chat_scope(r) == NURSE]
    commands = [c["command"] for c in menu.params["commands"]]
    assert "today" in commands and "staff_invite" not in commands  # staff, not admin
    [roster] = await harness.command(NURSE, "today")
    assert "No visits" in roster
    # The link works once: the next person to open it gets the normal start.
    [unusable, welcome] = await harness.command(PAT, "start", payload)
    assert UNUSABLE in unusable
    assert "Do you agree" in welcome
    [again] = await harness.command(NURSE, "start", payload)
    assert "already on the clinic team" in again
    lines = await audit_lines(harness)
    assert [(x.action, x.outcome) for x in lines if x.action.startswith("staff.")][-3:] == [
        ("staff.invite", "done"),
        ("staff.join", "done"),
        ("staff.join", "refused"),  # the used link opened again: a failure, counted
    ]
    assert lines[-1].actor_telegram_id == PAT
    assert lines[-1].after == {"reason": "used_or_expired"}


async def test_team_links_refused_to_staff_forged_and_expired(harness: Harness) -> None:
    await add_nurse(harness)
    [refused] = await harness.command(NURSE, "staff_invite")
    assert TEAM_LINK.search(refused) is None  # staff cannot invite to the team
    [usage] = await harness.command(STAFF_ID, "staff_invite", "boss")
    assert "/staff_invite admin" in usage
    [forged, _welcome] = await harness.command(PAT, "start", "team-" + new_code())
    assert UNUSABLE in forged
    payload = await team_link(harness, "admin")
    harness.clock.advance(timedelta(days=8))
    [expired, _welcome] = await harness.command(PAT2, "start", payload)
    assert UNUSABLE in expired
    assert await dbcheck.count(harness, StaffMember, telegram_id=PAT2) == 0


async def test_someone_guessing_invite_links_is_slowed_down_audited_and_counted(
    harness: Harness,
) -> None:
    """The issue's 300 guesses from one person, in small: after five links that cannot be
    used, the next ones are not looked at; /metrics and the audit log show it."""
    await harness.consent(PAT)
    answers = [
        text
        for _ in range(12)
        for text in await harness.command(PAT, "start", new_code())
        if "link" in text
    ]
    assert sum(UNUSABLE in t for t in answers) == 5
    assert sum("try again in an hour" in t for t in answers) == 7
    metrics = {
        sample.labels["outcome"]: sample.value
        for family in harness.app.metrics.registry.collect()
        if family.name == "companion_invite_redemptions"
        for sample in family.samples
        if sample.name.endswith("_total") and sample.labels["kind"] == "patient"
    }
    assert metrics == {"unknown": 5, "throttled": 7}
    refused = [a for a in await audit_lines(harness) if a.action == "invite.redeem"]
    assert [(a.actor_telegram_id, a.after) for a in refused] == [
        *[(PAT, {"reason": "unknown"})] * 5,
        (PAT, {"reason": "throttled"}),
    ]
    # Someone else opening a real link is not held back.
    await add_nurse(harness)
    code = await invite(harness)
    await harness.command(PAT2, "start", code)
    [linked] = await harness.tap(PAT2, "agree")
    assert "Tuesday, November 24" in linked
