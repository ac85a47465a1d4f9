"""/texts search (bot/services/text_names.py): a text is found by its own words."""

from __future__ import annotations

from pathlib import Path

from bot.content.store import Content
from bot.domain.content_kinds import ContentKind, button_key
from bot.services.content_editing import TextRef
from bot.services.text_names import search

ROOT = Path(__file__).resolve().parents[2]


def test_a_button_is_not_found_by_the_sample_value_in_its_title() -> None:
    content = Content(ROOT / "messages")
    buttons = [TextRef(ContentKind.BUTTON, button_key("en", key)) for key in content.buttons("en")]
    reminder = TextRef(ContentKind.TEMPLATE, "en/reminders/evening_before")
    found = search(content, [reminder, *buttons], "eye mask", "en")
    # The reminder and the checklist item's button; not "Remove {{ label }}" and the like,
    # whose titles show "Eye mask" as the sample of their value.
    assert found == [reminder, TextRef(ContentKind.BUTTON, button_key("en", "item_eye_mask"))]
