"""Every team button is bound to the offer that showed it, as the patients' are: an old
"Yes, remove" after "No, keep", or an old "Move it" after another member moved the visit,
answers that it expired and changes nothing (nobody removed, no visit moved back, no second
notice to the patient)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.db.staff import StaffRepository
from bot.services.patient_notices import VISIT_MOVED
from tests.integration import dbcheck
from tests.integration.harness import STAFF_ID, Harness
from tests.integration.test_staff_telegram import NURSE, PAT, STALE, add_nurse
from tests.integration.test_visit_changes import NEW, linked_patient, open_move, outbox

LATER = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)  # Friday 3:00 PM EST


async def active(harness: Harness, telegram_id: int) -> bool:
    async with harness.app.context.session_factory() as session:
        return await StaffRepository(session).active_role(telegram_id) is not None


async def test_an_old_yes_remove_after_no_keep_has_expired(harness: Harness) -> None:
    await add_nurse(harness)
    await harness.command(STAFF_ID, "staff")
    await harness.tap(STAFF_ID, "Remove")
    yes = harness.button(STAFF_ID, "Yes")
    await harness.tap(STAFF_ID, "No")
    [answer] = await harness.press(STAFF_ID, yes)
    assert STALE in answer
    assert await active(harness, NURSE)


async def test_a_yes_remove_of_an_older_offer_has_expired(harness: Harness) -> None:
    await add_nurse(harness)
    await harness.command(STAFF_ID, "staff")
    await harness.tap(STAFF_ID, "Remove")
    old_yes = harness.button(STAFF_ID, "Yes")
    await harness.command(STAFF_ID, "staff")
    await harness.tap(STAFF_ID, "Remove")
    new_yes = harness.button(STAFF_ID, "Yes")
    [answer] = await harness.press(STAFF_ID, old_yes)
    assert STALE in answer and await active(harness, NURSE)
    [removed] = await harness.press(STAFF_ID, new_yes)
    assert "no longer on the team" in removed and not await active(harness, NURSE)
    [again] = await harness.press(STAFF_ID, new_yes)
    assert "not on the team" in again  # a second tap of the same offer: removed once


async def test_an_old_move_it_after_another_member_moved_the_visit_has_expired(
    harness: Harness,
) -> None:
    await linked_patient(harness)
    confirm = await open_move(harness)
    [moved] = await harness.press(NURSE, confirm)
    assert "Moved" in moved
    # An admin moves it again, to Friday.
    await harness.command(STAFF_ID, "roster", "11/26")
    await harness.tap(STAFF_ID, "Move")
    await harness.send(STAFF_ID, "11/27 3pm")
    await harness.tap(STAFF_ID, "Move it")
    [visit] = await dbcheck.appointments(harness, PAT)
    assert visit.starts_at == LATER
    # The nurse's old "Move it" (to Thursday) again: expired, nothing moves back.
    [answer] = await harness.press(NURSE, confirm)
    assert "expired" in answer or "Nothing was changed" in answer
    [visit] = await dbcheck.appointments(harness, PAT)
    assert visit.starts_at == LATER
    assert len(await outbox(harness, VISIT_MOVED)) == 2


async def test_a_move_offer_made_before_another_member_moved_the_visit_has_expired(
    harness: Harness,
) -> None:
    await linked_patient(harness)
    confirm = await open_move(harness)  # the nurse is shown Tuesday -> Thursday
    await harness.command(STAFF_ID, "tomorrow")
    await harness.tap(STAFF_ID, "Move")
    await harness.send(STAFF_ID, "11/27 3pm")
    await harness.tap(STAFF_ID, "Move it")
    [answer] = await harness.press(NURSE, confirm)
    assert "expired" in answer or "Nothing was changed" in answer
    [visit] = await dbcheck.appointments(harness, PAT)
    assert visit.starts_at == LATER and visit.starts_at != NEW
    assert len(await outbox(harness, VISIT_MOVED)) == 1
