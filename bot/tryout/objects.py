"""Telegram objects as the Bot API sends them (plain dicts, nothing imported), for the try-out
session and the tests' fake server alike."""

from __future__ import annotations

from typing import Any


def private_chat_info(chat_id: int, first_name: str) -> dict[str, Any]:
    """A getChat answer (ChatFullInfo) for a private chat."""
    return {
        "id": chat_id,
        "type": "private",
        "first_name": first_name,
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": {
            "unlimited_gifts": True,
            "limited_gifts": True,
            "unique_gifts": True,
            "premium_subscription": True,
            "gifts_from_channels": True,
        },
    }
