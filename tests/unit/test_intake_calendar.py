"""bot.intake.calendar: an .ics file per visit that keeps the lock-screen rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from icalendar import Calendar

from bot.intake.calendar import (
    PRIVATE_WORDS,
    LockScreenViolation,
    VisitEvent,
    visit_calendar,
    visit_uid,
)

NOW = datetime(2027, 5, 1, 12, 0, tzinfo=UTC)
START = datetime(2027, 5, 3, 9, 30, tzinfo=timezone(timedelta(hours=-4)))
EVENT = VisitEvent(
    source="acme",
    external_id="A-100",
    start=START,
    title="Appointment at the clinic",
    description="Please arrive 15 minutes early. Questions: 203-914-1900.",
    location="123 Main Street, Stamford, CT 06901",
    alarm_before=timedelta(hours=2),
)
MEDICAL = ("ketamine", "ketamina", "infusion", "infusión", "esketamine", "depression", "ptsd",
           "suicide", "anxiety", "psychiatry", "therapy", "treatment")  # fmt: skip


def build(event: VisitEvent = EVENT, **kwargs: object) -> bytes:
    return visit_calendar(event, now=NOW, domain="clinic.example", **kwargs)  # type: ignore[arg-type]


def parsed(data: bytes) -> Calendar:
    return Calendar.from_ical(data)


def test_the_file_has_the_visit_in_utc() -> None:
    data = build()
    assert b"DTSTART:20270503T133000Z" in data and b"DTEND:20270503T153000Z" in data
    [event] = parsed(data).walk("VEVENT")
    assert event["SUMMARY"] == "Appointment at the clinic"
    assert event["LOCATION"] == "123 Main Street, Stamford, CT 06901"
    assert event["UID"] == visit_uid("acme", "A-100", "clinic.example")
    assert str(event["CLASS"]) == "PRIVATE" and str(event["STATUS"]) == "CONFIRMED"
    assert event.decoded("DTSTAMP") == NOW
    [alarm] = event.walk("VALARM")
    assert alarm.decoded("TRIGGER") == timedelta(hours=-2)
    assert alarm["DESCRIPTION"] == "Appointment at the clinic"
    assert data.startswith(b"BEGIN:VCALENDAR\r\n") and b"VERSION:2.0" in data


def test_nothing_medical_or_identifying_is_in_the_file() -> None:
    text = build().decode("utf-8").casefold()
    for word in MEDICAL:
        assert word not in text, word
    assert "a-100" not in text  # the UID is derived, not the appointment id


@pytest.mark.parametrize("field", ["title", "description", "location"])
@pytest.mark.parametrize(
    "text", ["Ki Ketamine", "your <b>ket</b>amine visit", "INFUSIÓN", "k e t a m i n e"]
)
def test_a_private_word_anywhere_refuses_the_file(field: str, text: str) -> None:
    event = VisitEvent(**{**EVENT.__dict__, field: text})
    with pytest.raises(LockScreenViolation) as caught:
        build(event)
    assert caught.value.field == field


def test_the_clinics_own_private_words_count_too() -> None:
    with pytest.raises(LockScreenViolation, match="Stamford"):
        build(private_words=["Stamford"])


def test_the_uid_is_stable_and_a_move_raises_the_sequence() -> None:
    moved = VisitEvent(**{**EVENT.__dict__, "start": START + timedelta(days=1), "sequence": 1})
    first, second = (parsed(build(e)).walk("VEVENT")[0] for e in (EVENT, moved))
    assert first["UID"] == second["UID"] and second["SEQUENCE"] == 1
    assert visit_uid("acme", "A-101", "d") != visit_uid("acme", "A-100", "d")
    assert visit_uid("acme", "A-100", "d") != visit_uid("other", "A-100", "d")


def test_a_cancellation_has_no_alarm() -> None:
    cancelled = VisitEvent(**{**EVENT.__dict__, "cancelled": True})
    [event] = parsed(build(cancelled)).walk("VEVENT")
    assert str(event["STATUS"]) == "CANCELLED" and not event.walk("VALARM")


def test_without_an_end_the_visit_lasts_two_hours_and_bad_times_are_refused() -> None:
    no_alarm = VisitEvent(**{**EVENT.__dict__, "alarm_before": None, "description": ""})
    [event] = parsed(build(no_alarm)).walk("VEVENT")
    assert event.decoded("DTEND") - event.decoded("DTSTART") == timedelta(hours=2)
    assert "DESCRIPTION" not in event and not event.walk("VALARM")
    with pytest.raises(ValueError, match="end after"):
        build(VisitEvent(**{**EVENT.__dict__, "end": START}))
    with pytest.raises(TypeError, match="aware"):
        build(VisitEvent(**{**EVENT.__dict__, "start": datetime(2027, 5, 3, 9, 30)}))
    with pytest.raises(ValueError, match="alarm"):
        build(VisitEvent(**{**EVENT.__dict__, "alarm_before": timedelta(0)}))


def test_the_base_list_names_the_treatment() -> None:
    assert {"ketamine", "infusion", "ketamina"} <= set(PRIVATE_WORDS)
