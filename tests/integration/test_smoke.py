from tests.integration.harness import Harness


async def test_start_consent_and_book(harness: Harness) -> None:
    replies = await harness.command(1001, "start")
    assert "Welcome" in replies[0]
    replies = await harness.tap(1001, "agree")
    assert "all set" in replies[0]
    replies = await harness.command(1001, "appointment")
    assert "next infusion" in replies[0]
    replies = await harness.send(1001, "Dec 3 2:30 pm")
    assert "Thursday, December 3, 2026 at 2:30 PM EST" in replies[0], replies
    replies = await harness.tap(1001, "confirm")
    assert "Saved" in replies[0]
