"""Staff change some words of a text ("eye mask -> eye mask or a soft scarf") without seeing
its template: through the real dispatcher and the fake Bot API, checked, previewed, confirmed
and versioned as a whole-text edit; a Save tapped twice saves once, a stale Save or "Change
all" changes nothing; the next reminder carries the new words."""

from __future__ import annotations

from sqlalchemy import select

from bot.db.models import AuditEntry, ContentVersion
from bot.telegram.callbacks import TextAction, TextCb
from tests.integration.harness import STAFF_ID, Harness
from tests.integration.test_reminders import book
from tests.integration.test_staff_content import (
    EYE_MASK,
    HISTORY_EYE_MASK,
    VIEW_EYE_MASK,
    count,
    evening_reminder,
)

STALE = "no longer active"
SCARF = "An eye mask or a soft scarf can make the session calmer"
WHAT_TO_BRING = TextCb(a=TextAction.VIEW, k="t", l="en", n="faq/what_to_bring").pack()


async def words(harness: Harness, view: str = VIEW_EYE_MASK) -> str:
    """Open a text and tap "Change some words": the question."""
    await harness.press(STAFF_ID, view)
    [ask] = await harness.tap(STAFF_ID, "Change some words")
    return ask


async def test_front_desk_changes_the_eye_mask_words_and_the_reminder_carries_them(
    harness: Harness,
) -> None:
    await book(harness)
    await harness.press(STAFF_ID, VIEW_EYE_MASK)
    labels = [label for label, _ in harness.buttons(STAFF_ID)]
    assert labels[:2] == ["✏️ Change some words", "✏️ Edit"]
    [ask] = await harness.tap(STAFF_ID, "Change some words")
    assert "eye mask -&gt; eye mask or a soft scarf" in ask and "two lines" in ask
    assert "{%" not in ask and "{{" not in ask
    preview, question = await harness.send(STAFF_ID, "eye mask -> eye mask or a soft scarf")
    assert SCARF in preview and "Thursday, December 3, 2026" in preview  # sample values
    assert "⬜ Eye mask packed" in preview  # the checklist's value, left alone
    assert "This is how patients would see" in question and "Save it?" in question
    assert "“eye mask” → “eye mask or a soft scarf”" in question
    save = harness.button(STAFF_ID, "Save")
    [saved] = await harness.press(STAFF_ID, save)
    assert "version 1 of “Reminder: the evening before (eye mask)” is live" in saved
    [again] = await harness.press(STAFF_ID, save)  # a double tap: one version
    assert "already live" in again
    assert await count(harness, ContentVersion) == 1
    async with harness.app.context.session_factory() as session:
        [version] = (await session.execute(select(ContentVersion))).scalars()
        [line] = (
            await session.execute(select(AuditEntry).where(AuditEntry.action == "content.edit"))
        ).scalars()
    assert version.key == f"en/{EYE_MASK}" and "{% for item in checklist %}" in version.body
    assert version.note == "“eye mask” → “eye mask or a soft scarf”"
    assert line.actor_telegram_id == STAFF_ID and "soft scarf" in (line.after or "")
    [history] = await harness.press(STAFF_ID, HISTORY_EYE_MASK)
    assert "Version 1 (live)" in history and "“eye mask” → “eye mask or a soft scarf”" in history
    assert SCARF in await evening_reminder(harness)


async def test_words_not_found_found_twice_or_with_braces_change_nothing(
    harness: Harness,
) -> None:
    await words(harness)
    [unread] = await harness.send(STAFF_ID, "eye mask")
    assert "couldn't tell" in unread
    [missing] = await harness.send(STAFF_ID, "eye mak or scarf -> scarf")
    assert "couldn't find “eye mak or scarf”" in missing
    assert "<code>An eye mask can make the session calmer" in missing
    [braces] = await harness.send(STAFF_ID, "eye mask -> {{ when }}")
    assert "can't hold" in braces and "✏️ Edit" in braces
    [bold] = await harness.send(STAFF_ID, "tomorrow 🌙 -> tomorrow ✨")
    assert "“tomorrow 🌙” is in" in bold and "bold, italics or a link" in bold
    assert "<code>tomorrow</code>\n<code>🌙</code>\n" in bold
    [value] = await harness.send(STAFF_ID, "Eye mask packed -> Scarf packed")
    assert "couldn't find" in value  # a checklist item is a value, not the text's words
    [twice] = await harness.send(STAFF_ID, "to -> too")
    assert "“to” is in" in twice and "2 times" in twice
    change_all = harness.button(STAFF_ID, "Change all 2")
    preview, question = await harness.press(STAFF_ID, change_all)
    assert "less too look at" in preview and "try too keep" in preview
    assert "(2 times)" in question
    assert await harness.press(STAFF_ID, change_all) == []  # a second tap: nothing more
    await harness.tap(STAFF_ID, "Cancel")
    assert await count(harness, ContentVersion) == 0


async def test_a_stale_save_changes_nothing_and_the_live_one_saves(harness: Harness) -> None:
    await words(harness)
    await harness.send(STAFF_ID, "eye mask -> sleep mask")
    old_save = harness.button(STAFF_ID, "Save")
    await harness.tap(STAFF_ID, "Cancel")
    [stale] = await harness.press(STAFF_ID, old_save)  # the offer was cancelled
    assert STALE in stale
    await words(harness)
    await harness.send(STAFF_ID, "eye mask -> sleep mask")
    first_save = harness.button(STAFF_ID, "Save")
    await words(harness)  # started again: the first offer is stale
    await harness.send(STAFF_ID, "eye mask -> eye mask or a soft scarf")
    live_save = harness.button(STAFF_ID, "Save")
    [stale] = await harness.press(STAFF_ID, first_save)
    assert STALE in stale
    assert await count(harness, ContentVersion) == 0
    [saved] = await harness.press(STAFF_ID, live_save)
    assert "version 1" in saved
    # A later change of words starts from the live version.
    await words(harness)
    await harness.send(STAFF_ID, "a soft scarf -> a soft scarf (any will do)")
    await harness.tap(STAFF_ID, "Save")
    async with harness.app.context.session_factory() as session:
        bodies = (await session.execute(select(ContentVersion.body))).scalars().all()
    assert any("a soft scarf (any will do) can make" in body for body in bodies)


async def test_a_faq_answer_changes_its_words_too_and_escapes_them(harness: Harness) -> None:
    await words(harness, WHAT_TO_BRING)
    preview, _ = await harness.send(
        STAFF_ID, "An eye mask if you like less light.\nAn eye mask & <soft> scarf."
    )
    assert "An eye mask &amp; &lt;soft&gt; scarf." in preview
    [saved] = await harness.tap(STAFF_ID, "Save")
    assert "version 1" in saved
    async with harness.app.context.session_factory() as session:
        [body] = (await session.execute(select(ContentVersion.body))).scalars()
    assert "• An eye mask &amp; &lt;soft&gt; scarf.\n" in body
    assert "{{ clinic.phone }}" in body
