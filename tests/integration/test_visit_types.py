"""Visit types, each with its own plan (issue 21), through the real dispatcher, the real
aiogram Bot and the fake Bot API: an invite made for an esketamine session gives the patient
that plan's reminders and none of the infusion's; editing the consultation plan re-plans
consultation visits only; a moved visit keeps its type; the FAQ answer about eating and
drinking prints the values of the patient's next visit's type; the infusion plan staff saved
before there were types (stored under key ``plan``) is still the infusion plan; and
``content check`` names the file and line of a broken type plan."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.db.content_versions import ContentVersionRepository
from bot.db.models import Appointment, AuditEntry, ContentVersion
from bot.domain.content_kinds import ContentKind
from bot.telegram.callbacks import ApptAction, ApptCb, FaqCb
from tests.integration import dbcheck
from tests.integration.harness import STAFF_ID, Harness
from tests.integration.test_reminders import book
from tests.integration.test_staff_telegram import NURSE, PAT, PAT2, add_nurse, invite

START = datetime(2026, 12, 3, 19, 30, tzinfo=UTC)  # Thursday 2:30 PM EST
ROOT = Path(__file__).resolve().parents[2]
PRIVATE = ("ketamine", "esketamine", "spravato", "infusion")
ESKETAMINE_STEPS = {"ride", "evening_before", "arrival", "follow_up"}
INFUSION_ONLY = {"playlist"}


async def linked(harness: Harness, user: int, kind: str, when: str = "12/3 2:30pm") -> Appointment:
    """The nurse invites `user` to a visit of `kind` (its button's words); they open the link
    and agree: their visit."""
    code = await invite(harness, when=when, label=f"P{user}", kind=kind)
    await harness.command(user, "start", code)
    [welcome] = await harness.tap(user, "agree")
    assert kind in welcome  # "the clinic has booked your visit (Esketamine session) for ..."
    [appointment] = await dbcheck.appointments(harness, user)
    return appointment


async def test_an_esketamine_invite_gets_the_esketamine_reminders_and_no_infusion_step(
    harness: Harness,
) -> None:
    await add_nurse(harness)
    appointment = await linked(harness, PAT, "Esketamine session")
    assert (appointment.visit_type, appointment.starts_at) == ("esketamine", START)
    planned = await dbcheck.reminders(harness, appointment.id)
    assert set(planned) == ESKETAMINE_STEPS
    assert not INFUSION_ONLY & set(planned)
    # The rows follow the esketamine plan's times: 3 hours before, not the infusion's 2.
    assert planned["arrival"].due_at == START - timedelta(hours=3)
    assert planned["follow_up"].due_at == datetime(2026, 12, 4, 15, 0, tzinfo=UTC)  # 10:00

    texts = []
    for key in ("ride", "evening_before", "arrival", "follow_up"):
        [text] = await harness.reminders_at(planned[key].due_at, PAT)
        texts.append(text)
    ride, evening, arrival, follow_up = texts
    assert "until the next day, after a restful night's sleep" in ride
    assert "at least <b>2 hours</b>" in ride  # the REMS monitoring time, from the plan
    assert "nothing to eat for <b>2 hours</b>" in evening
    assert "nothing to drink for the last <b>30 minutes</b>" in evening
    assert "Headphones or a book packed" in evening  # this type's checklist
    assert "nothing to eat for <b>2 hours</b>" in arrival and "no driving until tomorrow" in arrival
    assert "How are you feeling" in follow_up
    for text in texts:
        lowered = text.lower()
        assert "playlist" not in lowered and "eye mask" not in lowered
        assert not [word for word in PRIVATE if word in lowered], text  # lock screens
    # The patient's screens name the type in plain words.
    harness.clock.set(START - timedelta(days=1))
    [checklist] = await harness.command(PAT, "prepare")
    assert "(Esketamine session)" in checklist and "Rest of the day kept free" in checklist
    assert "Calm playlist" not in checklist
    [listing] = await harness.command(PAT, "appointment")
    assert "Esketamine session" in listing
    [detail] = await harness.press(PAT, ApptCb(action=ApptAction.VIEW, id=appointment.id).pack())
    assert "Esketamine session" in detail


async def test_the_eating_answer_uses_the_next_visit_types_values(harness: Harness) -> None:
    eating = FaqCb(key="eating_drinking").pack()
    [none_yet] = await harness.press(PAT2, eating)
    assert "will tell you what to do about eating" in none_yet  # no visit: the clinic's word
    await book(harness, PAT2)  # a self-booked visit: the clinic's default type, infusion
    [visit] = await dbcheck.appointments(harness, PAT2)
    assert visit.visit_type == "infusion"
    [infusion] = await harness.press(PAT2, eating)
    assert "will tell you what to do about eating" in infusion  # the clinic set no fasting
    await add_nurse(harness)
    await linked(harness, PAT, "Esketamine session", when="11/30 9am")
    [answer] = await harness.press(PAT, eating)
    assert "don't eat anything for <b>2 hours</b>" in answer
    assert "<b>30 minutes</b> before" in answer
    [typed] = await harness.send(PAT, "can I eat before my visit?")
    assert "<b>30 minutes</b> before" in typed


async def test_editing_the_consultation_plan_replans_consultation_visits_only(
    harness: Harness,
) -> None:
    await add_nurse(harness)
    consultation = await linked(harness, PAT, "First consultation")
    assert consultation.visit_type == "consultation"
    await book(harness, PAT2)  # an infusion at the same time
    [infusion] = await dbcheck.appointments(harness, PAT2)
    infusion_before = await dbcheck.reminders(harness, infusion.id)
    before = await dbcheck.reminders(harness, consultation.id)
    assert set(before) == {"paperwork", "medication_list", "questions", "arrival"}
    assert before["questions"].due_at == datetime(2026, 12, 3, 0, 0, tzinfo=UTC)  # 7 PM EST

    harness.clock.set(harness.clock.now() + timedelta(hours=1))  # a re-planned row shows it
    [timeline] = await harness.command(STAFF_ID, "plan")
    assert "Reminder plan: Infusion" in timeline
    [consultations] = await harness.tap(STAFF_ID, "First consultation")
    assert "Reminder plan: First consultation" in consultations
    assert "Consultation reminder: the evening before (questions)" in consultations
    [step] = await harness.tap(STAFF_ID, "the evening before (questions)")
    assert "(First consultation)" in step
    await harness.tap(STAFF_ID, "Time")
    [candidate] = await harness.send(STAFF_ID, "the day before at 6pm")
    assert "The plan after your change: First consultation" in candidate
    [saved] = await harness.tap(STAFF_ID, "Save")
    assert "version 1 of the plan “First consultation” is live" in saved
    assert "1 moved, 0 stopped, 0 added" in saved  # the consultation visit's row, no other

    after = await dbcheck.reminders(harness, consultation.id)
    assert after["questions"].due_at == datetime(2026, 12, 2, 23, 0, tzinfo=UTC)  # 6 PM EST
    assert {k: r.due_at for k, r in after.items() if k != "questions"} == {
        k: r.due_at for k, r in before.items() if k != "questions"
    }
    infusion_after = await dbcheck.reminders(harness, infusion.id)
    assert {k: (r.due_at, r.status, r.updated_at) for k, r in infusion_after.items()} == {
        k: (r.due_at, r.status, r.updated_at) for k, r in infusion_before.items()
    }
    async with harness.app.context.session_factory() as session:
        stored = (await session.execute(select(ContentVersion))).scalars().all()
        audit = (
            (
                await session.execute(
                    select(AuditEntry.target).where(AuditEntry.action == "plan.edit")
                )
            )
            .scalars()
            .all()
        )
    assert [(v.kind, v.key, v.number) for v in stored] == [("plan", "plan/consultation", 1)]
    assert audit == ["plan:plan/consultation"]
    content = harness.app.context.content
    assert content.plan_for("consultation").step("questions") is not None
    assert content.plan_for("infusion") == content.shipped().plan_for("infusion")


async def test_a_moved_visit_keeps_its_type(harness: Harness) -> None:
    await add_nurse(harness)
    appointment = await linked(harness, PAT, "Esketamine session", when="tomorrow 10am")
    # The clinic moves it from the roster, which names its type (and counts its checklist).
    [roster] = await harness.command(NURSE, "tomorrow")
    assert f"P{PAT} · Esketamine session" in roster and "checklist 0/3" in roster
    await harness.tap(NURSE, f"Move 10:00 AM P{PAT}")
    await harness.send(NURSE, "11/26 3pm")
    [moved] = await harness.tap(NURSE, "Move it")
    assert "Moved" in moved
    [visit] = await dbcheck.appointments(harness, PAT)
    assert (visit.id, visit.visit_type) == (appointment.id, "esketamine")
    new_start = datetime(2026, 11, 26, 20, 0, tzinfo=UTC)
    planned = await dbcheck.reminders(harness, visit.id)
    assert {k for k, r in planned.items() if r.status == "pending"} <= ESKETAMINE_STEPS
    assert planned["arrival"].due_at == new_start - timedelta(hours=3)
    # The patient moves it themselves: still an esketamine session.
    await harness.press(PAT, ApptCb(action=ApptAction.CHANGE, id=visit.id).pack())
    await harness.send(PAT, "11/27 11am")
    await harness.tap(PAT, "Confirm")
    [again] = await dbcheck.appointments(harness, PAT)
    assert again.starts_at == datetime(2026, 11, 27, 16, 0, tzinfo=UTC)
    assert (again.id, again.visit_type) == (appointment.id, "esketamine")
    planned = await dbcheck.reminders(harness, again.id)
    assert planned["arrival"].due_at == again.starts_at - timedelta(hours=3)
    assert not INFUSION_ONLY & set(planned)


async def test_an_infusion_plan_staff_saved_before_visit_types_is_still_the_infusion_plan(
    harness: Harness,
) -> None:
    """content_versions rows of kind ``plan`` key ``plan`` were the one plan: they are the
    infusion plan's versions now, and no other type's."""
    shipped = (ROOT / "messages" / "plans" / "infusion.toml").read_text(encoding="utf-8")
    edited = shipped.replace('at = "-1d@19:00"', 'at = "-1d@18:00"')
    assert edited != shipped
    async with harness.app.context.session_factory() as session, session.begin():
        await ContentVersionRepository(session).add(
            kind=ContentKind.PLAN,
            key="plan",
            number=1,
            body=edited,
            author_telegram_id=STAFF_ID,
            created_at=harness.clock.now(),
            base_version_id=None,
            note="at evening_before",
        )
    harness.app.context.content.mark_stale()
    await book(harness, PAT2)  # an infusion: the stored plan's time
    [infusion] = await dbcheck.appointments(harness, PAT2)
    rows = await dbcheck.reminders(harness, infusion.id)
    assert rows["evening_before"].due_at == datetime(2026, 12, 2, 23, 0, tzinfo=UTC)  # 6 PM
    await add_nurse(harness)
    esketamine = await linked(harness, PAT, "Esketamine session")
    rows = await dbcheck.reminders(harness, esketamine.id)
    assert rows["evening_before"].due_at == datetime(2026, 12, 3, 0, 0, tzinfo=UTC)  # 7 PM
    [timeline] = await harness.command(STAFF_ID, "plan")
    assert "Reminder plan: Infusion</b> (version 1)" in timeline
    assert "the day before at 6:00 PM" in timeline
    [history] = await harness.tap(STAFF_ID, "History")
    assert "Version 1 (live)" in history
    # The next edit of the infusion plan is version 2 of the same key.
    await harness.command(STAFF_ID, "plan")
    await harness.tap(STAFF_ID, "the evening before (eye mask)")
    await harness.tap(STAFF_ID, "Time")
    await harness.send(STAFF_ID, "the day before at 5pm")
    [saved] = await harness.tap(STAFF_ID, "Save")
    assert "version 2 of the plan “Infusion” is live" in saved and "1 moved" in saved
    async with harness.app.context.session_factory() as session:
        keys = (await session.execute(select(ContentVersion.key))).scalars().all()
    assert keys == ["plan", "plan"]


def test_content_check_names_the_file_and_line_of_a_broken_type_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    messages = tmp_path / "messages"
    shutil.copytree(ROOT / "messages", messages)
    monkeypatch.setenv("MESSAGES_DIR", str(messages))
    monkeypatch.chdir(tmp_path)
    plan = messages / "plans" / "esketamine.toml"
    text = plan.read_text(encoding="utf-8")
    broken = text.replace('at = "-3h"', 'at = "-3 hours"')
    plan.write_text(broken, encoding="utf-8")
    line = broken.splitlines().index('at = "-3 hours"') + 1
    assert main(["content", "check"]) == 1
    out = capsys.readouterr().out
    assert f"plans/esketamine.toml:{line}: step[3].at: '-3 hours' is not an offset" in out
    plan.write_text(text.replace("clear_liquids_minutes = 30", "clear_liquids_minutes = 300"))
    assert main(["content", "check"]) == 1
    out = capsys.readouterr().out
    assert "plans/esketamine.toml:" in out and "preparation.clear_liquids_minutes: 300" in out


async def test_a_visit_of_a_type_no_plan_is_for_never_stops_other_reminders(
    harness: Harness,
) -> None:
    """A row whose visit has a type no plan is for (written by hand, say) is closed, not sent
    by a guessed plan, and the engine's pass goes on with everyone else's."""
    from sqlalchemy import update

    await book(harness, PAT)
    await book(harness, PAT2)
    [odd] = await dbcheck.appointments(harness, PAT)
    async with harness.app.context.session_factory() as session:
        await session.execute(
            update(Appointment).where(Appointment.id == odd.id).values(visit_type="spa")
        )
        await session.commit()
    due = START - timedelta(days=3)
    harness.clock.set(due)
    await harness.app.reminders.run_due()
    assert [t for t in harness.server.sent_texts(PAT2) if "playlist" in t]
    assert not [t for t in harness.server.sent_texts(PAT) if "playlist" in t]
    rows = await dbcheck.reminders(harness, odd.id)
    assert (rows["playlist"].status, rows["playlist"].reason) == ("skipped", "step_removed")
