"""Refusals (an appointment gone, a time that cannot be booked) are answered once, inside the
update's transaction: the press is acknowledged, nothing is logged as a failure, and what the
handler wrote before the refusal is kept."""

from __future__ import annotations

import logging

import pytest

from bot.telegram.callbacks import ApptCb
from tests.fake_telegram import updates
from tests.integration import dbcheck
from tests.integration.harness import Harness

PAT = 1001


async def booked(harness: Harness) -> int:
    await harness.consent(PAT)
    await harness.command(PAT, "appointment")
    await harness.send(PAT, "12/3 2:30pm")
    await harness.tap(PAT, "Confirm")
    [appt] = await dbcheck.appointments(harness, PAT)
    return appt.id


async def test_a_refusal_is_answered_not_logged_as_a_failure(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    appt = await booked(harness)
    await harness.press(PAT, ApptCb(action="cancel_yes", id=appt).pack())
    view = updates.callback_update(PAT, ApptCb(action="view", id=appt).pack())
    with caplog.at_level(logging.INFO):
        sent = await harness.feed(view)
    methods = [r.method.lower() for r in sent]
    assert methods == ["answercallbackquery", "sendmessage"]
    assert "can't find that appointment" in sent[1].params["text"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_what_was_written_before_a_refusal_is_kept(harness: Harness) -> None:
    """Changing a visit that was cancelled meanwhile: the offer is cleared (a write) and the
    patient told the visit was just cancelled; a second Confirm finds no offer any more."""
    appt = await booked(harness)
    await harness.press(PAT, ApptCb(action="change", id=appt).pack())
    await harness.send(PAT, "12/4 3pm")
    confirm = harness.button(PAT, "Confirm")
    await harness.press(PAT, ApptCb(action="cancel_yes", id=appt).pack())
    [gone] = await harness.press(PAT, confirm)
    assert "was just cancelled" in gone
    [again] = await harness.press(PAT, confirm)
    assert "expired" in again
