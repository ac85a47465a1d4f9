"""Welcome, consent and the main menu, through the real dispatcher and the fake Bot API."""

from __future__ import annotations

from tests.integration import dbcheck
from tests.integration.harness import Harness

PAT = 1001


async def test_start_explains_and_asks_consent_before_storing(harness: Harness) -> None:
    [welcome] = await harness.command(PAT, "start")
    assert "Ki Ketamine" in welcome
    assert "not a doctor" in welcome
    assert "911" in welcome
    assert "988" in welcome
    assert "/forget" in welcome
    labels = [text for text, _ in harness.buttons(PAT)]
    assert labels == ["Yes, I agree", "No, thanks"]
    assert await dbcheck.count(harness, dbcheck.Patient) == 0


async def test_consent_creates_the_account_and_shows_the_menu(harness: Harness) -> None:
    await harness.command(PAT, "start")
    [thanks] = await harness.tap(PAT, "agree")
    assert "all set" in thanks
    labels = [text for text, _ in harness.buttons(PAT)]
    assert any("appointments" in label for label in labels)
    assert any("Prepare" in label for label in labels)
    assert any("Questions" in label for label in labels)
    assert any("Settings" in label for label in labels)
    stored = await dbcheck.patient(harness, PAT)
    assert stored is not None
    assert stored.consented_at == harness.clock.now()
    assert stored.timezone == "America/New_York"
    [again] = await harness.command(PAT, "start")
    assert "Welcome back" in again


async def test_declining_stores_nothing_and_features_explain_why(harness: Harness) -> None:
    await harness.command(PAT, "start")
    [declined] = await harness.tap(PAT, "No, thanks")
    assert "haven't stored anything" in declined
    assert await dbcheck.count(harness, dbcheck.Patient) == 0
    [reply] = await harness.command(PAT, "appointment")
    assert "need your OK" in reply
    [reply] = await harness.command(PAT, "settings")
    assert "need your OK" in reply
    # general questions still work without consent
    [reply] = await harness.send(PAT, "what should I expect?")
    assert "40 minutes" in reply
    assert await dbcheck.count(harness, dbcheck.Patient) == 0
    assert await dbcheck.count(harness, dbcheck.ConversationState) == 0


async def test_help_lists_commands(harness: Harness) -> None:
    """Every command of the menu Telegram shows (commands.toml), none left out of /help."""
    [reply] = await harness.command(PAT, "help")
    published = harness.app.context.content.commands("en")
    assert len(published) >= 9
    for command, description in published:
        assert f"/{command}: {description}" in reply


async def test_prepare_menu_gives_the_plan(harness: Harness) -> None:
    await harness.consent(PAT)
    [reply] = await harness.tap(PAT, "Prepare")
    assert "playlist" in reply
    assert "headphones" in reply
    assert "eye mask" in reply.lower()
    assert "drive" in reply
