"""Alerts to the team name the visit as staff know it (the label they gave it and its time in
the clinic's zone), not only the patient's Telegram name; and a reminder text that fails for
one patient falls back to the shipped text, so the patient still gets a reminder and the team
is alerted once. Through the real dispatcher, engine and outbox."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from bot.db.content_versions import ContentVersionRepository
from bot.db.models import StaffAlert
from bot.domain.content_kinds import ContentKind
from tests.fake_telegram import updates
from tests.integration.harness import STAFF_ID, Harness
from tests.integration.test_staff_telegram import PAT, invite
from tests.integration.test_visit_changes import linked_patient

LABEL = "J.D. #4411"
VISIT = "Tuesday, November 24, 2026 at 10:00 AM EST"


async def staff_alerts(harness: Harness) -> list[str]:
    await harness.app.alerts.deliver_due()
    return harness.server.sent_texts(STAFF_ID)


async def linked(harness: Harness) -> int:
    appointment = await linked_patient(harness, zone="America/New_York")
    return appointment.id


async def test_a_crisis_alert_names_the_patients_visit(harness: Harness, monkeypatch) -> None:
    monkeypatch.setattr(
        "tests.integration.test_visit_changes.invite",
        lambda h: invite(h, label=LABEL),
    )
    await linked(harness)
    await harness.send(PAT, "I want to kill myself")
    [alert] = [t for t in await staff_alerts(harness) if "Crisis" in t]
    assert f"Crisis screen alert: {LABEL}" in alert
    assert f"Visit: <b>{LABEL}</b>, {VISIT}" in alert


async def test_a_reschedule_alert_names_the_visit(harness: Harness, monkeypatch) -> None:
    monkeypatch.setattr(
        "tests.integration.test_visit_changes.invite",
        lambda h: invite(h, label=LABEL),
    )
    await linked(harness)
    await harness.app.reminders.run_due()  # the catch-up, with "I need to reschedule"
    await harness.feed(updates.callback_update(PAT, harness.button(PAT, "reschedule")))
    [alert] = [t for t in await staff_alerts(harness) if "Reschedule" in t]
    assert f"Reschedule request: {LABEL}" in alert
    assert f"Visit: <b>{LABEL}</b>, {VISIT}" in alert


async def test_a_text_failing_for_one_visit_falls_back_and_alerts_once(
    harness: Harness, monkeypatch
) -> None:
    monkeypatch.setattr(
        "tests.integration.test_visit_changes.invite",
        lambda h: invite(h, label=LABEL),
    )
    await linked(harness)
    # Stored directly, as if an older version had let it through: fine on any day but the
    # 24th, the day of this visit.
    broken = "Soon {{ when | when }} {{ 1 // (when.day - 24) }}"
    async with harness.app.context.session_factory() as session:
        await ContentVersionRepository(session).add(
            kind=ContentKind.TEMPLATE,
            key="en/reminders/arrival",
            number=1,
            body=broken,
            author_telegram_id=STAFF_ID,
            created_at=harness.clock.now(),
            base_version_id=None,
        )
        await session.commit()
    harness.app.context.content.mark_stale()
    await harness.app.reminders.run_due()  # what was due at the link: the catch-up
    before = len(harness.server.sent_texts(PAT))
    harness.clock.set(datetime(2026, 11, 24, 13, 0, tzinfo=UTC))  # two hours before
    await harness.app.reminders.run_due()
    [arrival] = harness.server.sent_texts(PAT)[before:]
    assert "Soon" not in arrival and "10:00 AM" in arrival  # the shipped words
    alerts = [t for t in await staff_alerts(harness) if "did not work" in t]
    assert len(alerts) == 1
    assert "shipped with the bot went out instead" in alerts[0]
    assert f"<b>{LABEL}</b>, {VISIT}" in alerts[0]
    async with harness.app.context.session_factory() as session:
        rows = (
            await session.execute(select(StaffAlert).where(StaffAlert.kind == "template_failure"))
        ).scalars()
        assert [r.staff_chat_id for r in rows] == [STAFF_ID]
