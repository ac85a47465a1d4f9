"""The "Add to calendar" button end to end: the real aiogram Bot against the fake Bot API, the
.ics read back with icalendar (the local start in the patient's zone, neutral texts, the
clinic's address, the UID's domain), a double tap, a stale button, Spanish, a moved visit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import update

from bot.db.models import IntakeVisit, Patient
from bot.intake.calendar import PRIVATE_WORDS
from bot.telegram.callbacks import ApptAction, ApptCb
from tests.conftest import DEFAULT_NOW
from tests.fake_telegram import updates
from tests.fake_telegram.records import UploadedFile
from tests.fake_telegram.server import FakeTelegramServer, RecordedRequest
from tests.integration import dbcheck
from tests.integration.harness import Harness, last_button, start_harness

PAT = 1001
LA = ZoneInfo("America/Los_Angeles")


@pytest.fixture
async def cal(telegram: FakeTelegramServer, tmp_path: Path) -> AsyncIterator[Harness]:
    async with start_harness(
        telegram, tmp_path, now=DEFAULT_NOW, calendar_domain="example-clinic.org"
    ) as harness:
        yield harness


async def book(h: Harness, *, zone: str | None = None, lang: str = "en") -> None:
    """A patient (in `zone`) books "12/3 2:30pm" and sees it saved."""
    start = updates.command_update(PAT, "start")
    start["message"]["from"]["language_code"] = lang  # the language Telegram is set to
    await h.feed(start)
    agree = updates.callback_update(PAT, h.button(PAT, "agree" if lang == "en" else "acuerdo"))
    agree["callback_query"]["from"]["language_code"] = lang
    await h.feed(agree)
    if zone is not None:
        async with h.app.context.session_factory() as session:
            await session.execute(update(Patient).values(timezone=zone))
            await session.commit()
    await h.command(PAT, "appointment")
    await h.send(PAT, "12/3 2:30pm")
    await h.tap(PAT, "Confirm" if lang == "en" else "Confirmar")


def documents(h: Harness) -> list[RecordedRequest]:
    return [r for r in h.server.calls("sendDocument") if r.params.get("chat_id") == PAT]


def read_ics(request: RecordedRequest) -> Calendar:
    upload = request.params["document"]
    assert isinstance(upload, UploadedFile)
    assert upload.filename == "visit.ics"
    return Calendar.from_ical(upload.data)


def event_of(calendar: Calendar) -> dict[str, object]:
    [event] = calendar.walk("VEVENT")
    return {
        "summary": str(event["SUMMARY"]),
        "description": str(event["DESCRIPTION"]),
        "location": str(event["LOCATION"]),
        "start": event.decoded("DTSTART"),
        "end": event.decoded("DTEND"),
        "uid": str(event["UID"]),
        "sequence": event.decoded("SEQUENCE"),
    }


async def test_the_saved_visit_offers_a_calendar_file_in_the_patients_zone(cal: Harness) -> None:
    await book(cal, zone="America/Los_Angeles")
    saved = cal.last_message(PAT).params["text"]
    assert "Saved!" in saved and "2:30 PM PST" in saved
    labels = [t for t, _ in cal.buttons(PAT)]
    assert labels[0] == "📅 Add to calendar"
    sent = await cal.feed(updates.callback_update(PAT, cal.button(PAT, "Add to calendar")))
    [document] = [r for r in sent if r.method.lower() == "senddocument"]
    assert document.response_status == 200
    assert "Friday" not in document.params["caption"]
    assert "Thursday, December 3, 2026 at 2:30 PM PST" in document.params["caption"]
    event = event_of(read_ics(document))
    start = event["start"]
    assert isinstance(start, datetime)
    assert start == datetime(2026, 12, 3, 22, 30, tzinfo=UTC)
    local = start.astimezone(LA)
    assert (local.hour, local.minute, local.tzname()) == (14, 30, "PST")
    assert event["end"] == start + timedelta(hours=2)
    assert event["summary"] == "Appointment at the clinic"
    assert "203-914-1900" in str(event["description"])
    assert event["location"] == "Stamford, Connecticut"  # no street address set: the town
    assert str(event["uid"]).endswith("@example-clinic.org")
    assert event["sequence"] == 0
    shown = " ".join(str(event[k]) for k in ("summary", "description", "location")).lower()
    assert not any(word in shown for word in PRIVATE_WORDS)
    assert "ki ketamine" not in shown


async def test_a_double_tap_gets_a_note_not_a_second_file(cal: Harness) -> None:
    await book(cal)
    button = cal.button(PAT, "Add to calendar")
    await cal.press(PAT, button)
    second = await cal.feed(updates.callback_update(PAT, button))
    assert [r.method.lower() for r in second] == ["answercallbackquery"]
    assert second[0].params.get("text") == "The calendar file is just above."
    assert len(documents(cal)) == 1
    # A minute later it is a new request: a new file.
    cal.clock.advance(timedelta(minutes=2))
    await cal.press(PAT, button)
    assert len(documents(cal)) == 2


async def test_the_detail_screen_has_the_button_and_a_moved_visit_gets_a_new_sequence(
    cal: Harness,
) -> None:
    await book(cal)
    await cal.press(PAT, cal.button(PAT, "Add to calendar"))
    first = event_of(read_ics(documents(cal)[-1]))
    # The patient moves the visit to 3:30 PM, then opens it.
    [appointment] = await dbcheck.appointments(cal, PAT)
    await cal.press(PAT, ApptCb(action=ApptAction.CHANGE, id=appointment.id).pack())
    await cal.send(PAT, "12/3 3:30pm")
    await cal.tap(PAT, "Confirm")
    await cal.press(PAT, ApptCb(action=ApptAction.VIEW, id=appointment.id).pack())
    labels = [t for t, _ in cal.buttons(PAT)]
    assert labels == [
        "Change time",
        "Cancel visit",
        "📅 Add to calendar",
        "Back to my appointments",
    ]
    await cal.tap(PAT, "Add to calendar")  # within a minute, but the visit changed: a file
    moved = event_of(read_ics(documents(cal)[-1]))
    assert moved["uid"] == first["uid"]  # the same event, replaced in the calendar app
    assert moved["sequence"] == 1
    assert moved["start"] == datetime(2026, 12, 3, 20, 30, tzinfo=UTC)


async def test_a_visit_from_the_clinics_schedule_lasts_as_the_schedule_says(
    cal: Harness,
) -> None:
    """A visit the schedule gave an end (45 minutes) is that long in the file, and stays that
    long when the patient moves it; the default length is only for visits without one."""
    await book(cal)
    [appointment] = await dbcheck.appointments(cal, PAT)
    async with cal.app.context.session_factory() as session:
        session.add(
            IntakeVisit(
                source="acme",
                external_id="A-1001",
                patient_key="0" * 64,
                starts_at=appointment.starts_at,
                ends_at=appointment.starts_at + timedelta(minutes=45),
                timezone=appointment.timezone,
                visit_type="infusion",
                status="booked",
                appointment_id=appointment.id,
                created_at=DEFAULT_NOW,
                updated_at=DEFAULT_NOW,
            )
        )
        await session.commit()
    await cal.press(PAT, cal.button(PAT, "Add to calendar"))
    event = event_of(read_ics(documents(cal)[-1]))
    assert event["end"] == appointment.starts_at + timedelta(minutes=45)
    await cal.press(PAT, ApptCb(action=ApptAction.CHANGE, id=appointment.id).pack())
    await cal.send(PAT, "12/3 3:30pm")
    await cal.tap(PAT, "Confirm")
    await cal.tap(PAT, "Add to calendar")
    moved = event_of(read_ics(documents(cal)[-1]))
    assert moved["start"] == appointment.starts_at + timedelta(hours=1)
    assert moved["end"] == appointment.starts_at + timedelta(hours=1, minutes=45)


async def test_a_stale_button_is_answered_kindly(cal: Harness) -> None:
    await book(cal)
    button = last_button(cal.server, PAT, "Add to calendar")
    [appointment] = await dbcheck.appointments(cal, PAT)
    await cal.press(PAT, ApptCb(action=ApptAction.CANCEL, id=appointment.id).pack())
    await cal.tap(PAT, "Yes, cancel it")
    [reply] = await cal.press(PAT, button)
    assert "can't find that appointment any more" in reply
    assert documents(cal) == []
    # A forged id finds nothing either.
    [forged] = await cal.press(PAT, ApptCb(action=ApptAction.CALENDAR, id=999).pack())
    assert "can't find that appointment" in forged


async def test_the_file_speaks_the_patients_language(cal: Harness) -> None:
    await book(cal, lang="es")
    [label, *_] = [t for t, _ in cal.buttons(PAT)]
    assert label == "📅 Añadir al calendario"
    await cal.tap(PAT, "Añadir al calendario")
    [document] = documents(cal)
    assert "Aquí tiene su visita" in document.params["caption"]
    event = event_of(read_ics(document))
    assert event["summary"] == "Cita en la clínica"
    assert "llame al 203-914-1900" in str(event["description"])
    start = event["start"]
    assert isinstance(start, datetime)
    assert start.astimezone(ZoneInfo("America/New_York")).hour == 14
