"""The crisis screen and staff editing: what an admin sends as a new text while editing is
content for patients, not a message from a person in crisis; their ordinary messages stay
screened."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.db.models import StaffAlert
from bot.telegram.callbacks import TextAction, TextCb
from tests.integration.harness import STAFF_ID, Harness

WELCOME = TextCb(a=TextAction.VIEW, k="t", l="en", n="welcome").pack()
EDIT_WELCOME = TextCb(a=TextAction.EDIT, k="t", l="en", n="welcome").pack()
ABOUT_SUICIDE = "Welcome. If you ever think about killing yourself, call or text 988 at once."


async def crisis_alerts(harness: Harness) -> int:
    async with harness.app.context.session_factory() as session:
        query = select(func.count()).select_from(StaffAlert).where(StaffAlert.kind == "crisis")
        return int((await session.execute(query)).scalar_one())


async def test_a_new_text_sent_while_editing_is_content(harness: Harness) -> None:
    await harness.press(STAFF_ID, WELCOME)
    await harness.press(STAFF_ID, EDIT_WELCOME)
    preview, question = await harness.send(STAFF_ID, ABOUT_SUICIDE)
    assert "killing yourself" in preview and "Save it?" in question
    assert "988" in preview and await crisis_alerts(harness) == 0


async def test_a_staff_members_own_messages_are_screened(harness: Harness) -> None:
    [answer, *_] = await harness.send(STAFF_ID, "I want to kill myself")
    assert "988" in answer
    assert await crisis_alerts(harness) == 1
    # After an edit was saved or cancelled, the member is no longer editing: screened again.
    await harness.press(STAFF_ID, WELCOME)
    await harness.press(STAFF_ID, EDIT_WELCOME)
    await harness.send(STAFF_ID, ABOUT_SUICIDE)
    await harness.tap(STAFF_ID, "Cancel")
    [again, *_] = await harness.send(STAFF_ID, "I want to kill myself tonight")
    assert "988" in again
