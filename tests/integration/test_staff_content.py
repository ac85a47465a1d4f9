"""Staff edit what the bot says, live and versioned: through the real dispatcher and the fake
Bot API; reminders sent by the engine carry the new words."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.cli import main
from bot.content.store import Content
from bot.content.validate import check_text, validate_content
from bot.db.content_versions import ContentVersionRepository
from bot.db.models import AuditEntry, ContentVersion, Reminder, StaffMember
from bot.domain.content_kinds import ContentKind
from bot.telegram.callbacks import TextAction, TextCb
from bot.telegram.handlers.staff_content import jinja_as_typed
from tests.integration.harness import STAFF_ID, Harness
from tests.integration.test_reminders import PAT, book, run_at

EYE_MASK = "reminders/evening_before"
NEW_WORDS = "Pack a soft eye mask tonight"
VIEW_EYE_MASK = TextCb(a=TextAction.VIEW, k="t", l="en", n=EYE_MASK).pack()
EDIT_EYE_MASK = TextCb(a=TextAction.EDIT, k="t", l="en", n=EYE_MASK).pack()
HISTORY_EYE_MASK = TextCb(a=TextAction.HISTORY, k="t", l="en", n=EYE_MASK).pack()
NEW_TEMPLATE = (
    "{% if not catch_up %}<b>Tomorrow</b>\n{{ when | when }}\n\n{% endif %}"
    + NEW_WORDS
    + ", and sleep well."
)


async def evening_reminder(harness: Harness) -> str:
    due = (await _rows(harness))["evening_before"]
    [text] = await run_at(harness, due)
    return text


async def _rows(harness: Harness) -> dict[str, datetime]:
    async with harness.app.context.session_factory() as session:
        result = await session.execute(select(Reminder.step_key, Reminder.due_at))
        return {key: due for key, due in result.all()}


async def count(harness: Harness, model: type) -> int:
    async with harness.app.context.session_factory() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def edit(harness: Harness, staff: int, text: str, **extra: object) -> list[str]:
    """Open the eye-mask reminder, tap Edit, send `text`; what the bot answered to it."""
    await harness.press(staff, VIEW_EYE_MASK)
    await harness.press(staff, EDIT_EYE_MASK)
    return await harness.send(staff, text, **extra)


async def test_admin_edits_the_eye_mask_reminder_and_the_next_reminder_carries_it(
    harness: Harness,
) -> None:
    await book(harness)
    [areas] = await harness.command(STAFF_ID, "texts")
    assert "Texts" in areas
    [listing] = await harness.tap(STAFF_ID, "Reminders")
    # English and Spanish texts: English first.
    # The texts of one language (the member's), each by its title, reminders in send order.
    assert "Reminders and checklist" in listing and "page 1 of 3" in listing
    preview, caption = await harness.tap(STAFF_ID, "the evening before (eye mask)")
    assert "eye mask can make the session calmer" in preview
    assert "Version 0" in caption and "Language: 🇺🇸 English" in caption
    ask, source = await harness.tap(STAFF_ID, "Edit")
    assert "{{ when }}" in ask and "{{ when | when }}" in source
    candidate, question = await harness.send(STAFF_ID, NEW_TEMPLATE)
    assert NEW_WORDS in candidate and "Thursday, December 3, 2026" in candidate
    assert "Save it?" in question
    save = harness.button(STAFF_ID, "Save")
    [saved] = await harness.press(STAFF_ID, save)
    assert "version 1 of “Reminder: the evening before (eye mask)” is live" in saved
    [again] = await harness.press(STAFF_ID, save)  # a double tap: one version
    assert "already live" in again
    assert await count(harness, ContentVersion) == 1
    text = await evening_reminder(harness)
    assert NEW_WORDS in text and "calmer" not in text
    async with harness.app.context.session_factory() as session:
        [line] = (
            await session.execute(select(AuditEntry).where(AuditEntry.action == "content.edit"))
        ).scalars()
    assert line.actor_telegram_id == STAFF_ID and NEW_WORDS in (line.after or "")
    assert "calmer" in (line.before or "")


async def test_formatting_entities_become_telegram_html(harness: Harness) -> None:
    text = "Bring an eye mask {{ when | when }} <soft>"
    entities = [{"type": "bold", "offset": 6, "length": 11}]
    candidate, _ = await edit(harness, STAFF_ID, text, entities=entities)
    assert "Bring <b>an eye mask</b>" in candidate and "&lt;soft&gt;" in candidate
    assert (
        jinja_as_typed("{% if a &lt; b %}&lt;x&gt;{% endif %}")
        == "{% if a < b %}&lt;x&gt;{% endif %}"
    )


async def test_broken_edits_are_refused_with_the_reason_and_the_old_words_go_out(
    harness: Harness,
) -> None:
    await book(harness)
    [unknown] = await edit(harness, STAFF_ID, "Hello\n{{ patient_name }}")
    assert "line 2: unknown variable patient_name" in unknown
    [unclosed] = await harness.send(STAFF_ID, "Bring an eye mask {% if catch_up %}")
    assert "line 1:" in unclosed and "endif" in unclosed
    [too_long] = await harness.send(STAFF_ID, "Eye mask. " * 500)
    assert "over Telegram&#39;s 4096" in too_long
    [private] = await harness.send(STAFF_ID, "Your ketamine infusion is tomorrow")
    assert "lock screens" in private
    # Tags typed as text reach patients as text; markup comes only from Telegram's formatting
    # (always balanced). Other surfaces hand the validator HTML, which it checks.
    [typed_tag, _] = await harness.send(STAFF_ID, "<b>Bring an eye mask")
    assert "&lt;b&gt;Bring an eye mask" in typed_tag
    content = harness.app.context.content
    unclosed = "x\n<b>Bring an eye mask"
    [unbalanced] = check_text(content, ContentKind.TEMPLATE, f"en/{EYE_MASK}", unclosed)
    assert (unbalanced.line, unbalanced.message) == (2, "unclosed tags: b")
    assert await count(harness, ContentVersion) == 0
    assert "eye mask can make the session calmer" in await evening_reminder(harness)


async def test_rollback_restores_the_shipped_words(harness: Harness) -> None:
    await book(harness)
    await edit(harness, STAFF_ID, NEW_TEMPLATE)
    await harness.tap(STAFF_ID, "Save")
    [history] = await harness.press(STAFF_ID, HISTORY_EYE_MASK)
    assert "Version 1 (live)" in history and "Version 0: the text shipped" in history
    # A version is shown as patients would get it before it is restored.
    shown, offer = await harness.tap(STAFF_ID, "Version 0")
    assert "eye mask can make the session calmer" in shown and "Restore it?" in offer
    [restored] = await harness.tap(STAFF_ID, "Restore it")
    assert "version 2 of" in restored and "is live" in restored
    assert "eye mask can make the session calmer" in await evening_reminder(harness)
    [history] = await harness.press(STAFF_ID, HISTORY_EYE_MASK)
    assert "Version 2 (live)" in history and "rollback to version 0" in history


async def test_two_staff_editing_the_same_text_the_second_is_told_it_changed(
    harness: Harness,
) -> None:
    other_admin = 9002
    async with harness.app.context.session_factory() as session:
        session.add(
            StaffMember(
                telegram_id=other_admin,
                role="admin",
                added_by=STAFF_ID,
                added_at=harness.clock.now(),
            )
        )
        await session.commit()
    await edit(harness, STAFF_ID, NEW_TEMPLATE)
    await edit(harness, other_admin, NEW_TEMPLATE.replace(NEW_WORDS, "Rest well"))
    await harness.tap(STAFF_ID, "Save")
    live, changed = await harness.tap(other_admin, "Save")
    assert NEW_WORDS in live
    assert "changed" in changed and "meanwhile" in changed and "version 1" in changed
    assert await count(harness, ContentVersion) == 1


async def test_non_staff_texts_is_an_unknown_command(harness: Harness) -> None:
    await harness.consent(PAT)
    [answer] = await harness.command(PAT, "texts")
    assert "I don't know that command" in answer
    [stale] = await harness.press(PAT, EDIT_EYE_MASK)
    assert "no longer active" in stale
    assert await count(harness, ContentVersion) == 0
    # Both attempts are in the audit log, refused, with nothing changed.
    async with harness.app.context.session_factory() as session:
        refused = (
            await session.execute(
                select(AuditEntry.outcome).where(AuditEntry.actor_telegram_id == PAT)
            )
        ).scalars()
        assert list(refused) == ["refused", "refused"]


async def test_forged_text_names_are_stale(harness: Harness) -> None:
    forged = TextCb(a=TextAction.VIEW, k="t", l="en", n="../../etc/passwd").pack()
    [stale] = await harness.press(STAFF_ID, forged)
    assert "no longer active" in stale


async def test_a_second_process_sees_the_edit_after_refresh(harness: Harness) -> None:
    settings = harness.settings
    second = Content(settings.messages_dir, settings.default_language)
    await edit(harness, STAFF_ID, NEW_TEMPLATE)
    await harness.tap(STAFF_ID, "Save")
    async with harness.app.context.session_factory() as session:
        assert await second.refresh(ContentVersionRepository(session))
    assert NEW_WORDS in second.source(EYE_MASK, "en")


async def test_export_then_check_round_trip(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await edit(harness, STAFF_ID, NEW_TEMPLATE)
    await harness.tap(STAFF_ID, "Save")
    monkeypatch.setenv("DATABASE_URL", harness.settings.database_url)
    monkeypatch.setenv("MESSAGES_DIR", str(harness.settings.messages_dir))
    out = tmp_path / "export"
    assert await asyncio.to_thread(main, ["content", "export", str(out)]) == 0
    assert NEW_WORDS in (out / "en" / f"{EYE_MASK}.html.j2").read_text(encoding="utf-8")
    assert validate_content(out) == []
    assert main(["content", "check", str(out)]) == 0
    (out / "en" / "menu.html.j2").write_text("{{ nope }}", encoding="utf-8")
    assert main(["content", "check", str(out)]) == 1
