"""Builders for Telegram ``Update`` dicts, valid for aiogram's pydantic models.

Every builder returns a complete update (including ``update_id``) so that
``aiogram.types.Update.model_validate(builder(...))`` works directly.  Update ids
come from a process-wide monotonic counter shared with
:class:`tests.fake_telegram.server.FakeTelegramServer`, so updates built here and
ids auto-assigned by the server never collide or go backwards.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

from bot.tryout.objects import private_chat_info

__all__ = [
    "DEFAULT_BOT_USER",
    "callback_update",
    "chat",
    "chat_member",
    "command_update",
    "edited_message_update",
    "ensure_update_ids_above",
    "message_update",
    "my_chat_member_update",
    "next_update_id",
    "photo_update",
    "sticker_update",
    "user",
    "voice_update",
]

DEFAULT_BOT_USER: dict[str, Any] = {
    "id": 42,
    "is_bot": True,
    "first_name": "Companion",
    "username": "companion_test_bot",
}


class _UpdateIdCounter:
    """Monotonic id source; ``bump`` keeps it above explicitly chosen ids."""

    def __init__(self, start: int = 1) -> None:
        self._next = start

    def next(self) -> int:
        value = self._next
        self._next += 1
        return value

    def bump(self, at_least: int) -> None:
        if at_least > self._next:
            self._next = at_least


_update_ids = _UpdateIdCounter()
_message_ids = itertools.count(1)
_callback_ids = itertools.count(1)
_file_ids = itertools.count(1)


def next_update_id() -> int:
    """Return a fresh, process-wide monotonically increasing update id."""
    return _update_ids.next()


def ensure_update_ids_above(update_id: int) -> None:
    """Make sure :func:`next_update_id` never returns ``update_id`` or less."""
    _update_ids.bump(update_id + 1)


def _now() -> int:
    return int(time.time())


def _file(prefix: str) -> dict[str, Any]:
    n = next(_file_ids)
    return {"file_id": f"{prefix}-file-{n}", "file_unique_id": f"{prefix}-uniq-{n}"}


def user(user_id: int = 1001, first_name: str = "Pat", language_code: str = "en") -> dict:
    """A (non-bot) Telegram ``User`` dict."""
    return {
        "id": user_id,
        "is_bot": False,
        "first_name": first_name,
        "language_code": language_code,
    }


def chat(chat_id: int, *, first_name: str = "Pat") -> dict:
    """A ``Chat`` dict: private for positive ids, (super)group for negative ids."""
    if chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": first_name}
    if chat_id <= -1_000_000_000_000:
        return {"id": chat_id, "type": "supergroup", "title": "Test supergroup"}
    return {"id": chat_id, "type": "group", "title": "Test group"}


def _message(
    user_id: int,
    text: str | None,
    *,
    chat_id: int | None,
    message_id: int | None,
    date: int | None,
    extra: dict[str, Any],
) -> dict:
    sender = user(user_id)
    message: dict[str, Any] = {
        "message_id": message_id if message_id is not None else next(_message_ids),
        "date": date if date is not None else _now(),
        "chat": chat(chat_id if chat_id is not None else user_id, first_name=sender["first_name"]),
        "from": sender,
    }
    if text is not None:
        message["text"] = text
    message.update(extra)
    return message


def message_update(
    user_id: int,
    text: str | None = None,
    *,
    chat_id: int | None = None,
    message_id: int | None = None,
    date: int | None = None,
    **extra: Any,
) -> dict:
    """A ``message`` update from ``user_id`` (private chat unless ``chat_id`` given).

    ``extra`` is merged into the message dict (``sticker=...``, ``photo=[...]``,
    ``voice=...``, ``entities=[...]``, ``reply_to_message=...``...).
    """
    return {
        "update_id": next_update_id(),
        "message": _message(
            user_id, text, chat_id=chat_id, message_id=message_id, date=date, extra=extra
        ),
    }


def command_update(user_id: int, command: str, args: str = "") -> dict:
    """``/command args`` message with a proper ``bot_command`` entity."""
    command_text = "/" + command.lstrip("/")
    text = f"{command_text} {args}" if args else command_text
    return message_update(
        user_id,
        text,
        entities=[{"type": "bot_command", "offset": 0, "length": len(command_text)}],
    )


def callback_update(
    user_id: int,
    data: str,
    *,
    message_id: int = 1,
    message_text: str = "x",
    chat_id: int | None = None,
    **message_extra: Any,
) -> dict:
    """A ``callback_query`` update for an inline button on a bot message; ``message_extra``
    is merged into that message (``reply_to_message=...``)."""
    target_chat = chat_id if chat_id is not None else user_id
    return {
        "update_id": next_update_id(),
        "callback_query": {
            "id": f"cbq-{next(_callback_ids)}",
            "from": user(user_id),
            "chat_instance": f"ci-{target_chat}",
            "data": data,
            "message": {
                "message_id": message_id,
                "date": _now(),
                "chat": chat(target_chat),
                "from": dict(DEFAULT_BOT_USER),
                "text": message_text,
                **message_extra,
            },
        },
    }


def edited_message_update(user_id: int, text: str, *, message_id: int | None = None) -> dict:
    """An ``edited_message`` update."""
    message = _message(
        user_id, text, chat_id=None, message_id=message_id, date=_now() - 60, extra={}
    )
    message["edit_date"] = _now()
    return {"update_id": next_update_id(), "edited_message": message}


def chat_member(status: str, member: dict) -> dict:
    """A ``ChatMember`` dict of the given status with every required field."""
    base: dict[str, Any] = {"status": status, "user": member}
    if status == "kicked":
        base["until_date"] = 0
    elif status == "creator":
        base["is_anonymous"] = False
    elif status == "administrator":
        base.update(
            {
                "can_be_edited": False,
                "is_anonymous": False,
                "can_manage_chat": True,
                "can_delete_messages": False,
                "can_manage_video_chats": False,
                "can_restrict_members": False,
                "can_promote_members": False,
                "can_change_info": False,
                "can_invite_users": False,
                "can_post_stories": False,
                "can_edit_stories": False,
                "can_delete_stories": False,
                "can_send_welcome_messages": False,
            }
        )
    elif status == "restricted":
        base.update(
            {
                "is_member": True,
                "until_date": 0,
                **{
                    flag: False
                    for flag in (
                        "can_send_messages",
                        "can_send_audios",
                        "can_send_documents",
                        "can_send_photos",
                        "can_send_videos",
                        "can_send_video_notes",
                        "can_send_voice_notes",
                        "can_send_polls",
                        "can_send_other_messages",
                        "can_add_web_page_previews",
                        "can_react_to_messages",
                        "can_edit_tag",
                        "can_change_info",
                        "can_invite_users",
                        "can_pin_messages",
                        "can_manage_topics",
                    )
                },
            }
        )
    elif status not in ("member", "left"):
        msg = f"unknown chat member status {status!r}"
        raise ValueError(msg)
    return base


def my_chat_member_update(
    user_id: int,
    *,
    new_status: str = "kicked",
    old_status: str = "member",
    bot_user: dict | None = None,
) -> dict:
    """The bot's own membership changed in the private chat with ``user_id``.

    ``new_status="kicked"`` is what Telegram sends when the user blocks the bot;
    ``new_status="member", old_status="kicked"`` when they unblock it.
    """
    bot = dict(bot_user or DEFAULT_BOT_USER)
    return {
        "update_id": next_update_id(),
        "my_chat_member": {
            "chat": chat(user_id),
            "from": user(user_id),
            "date": _now(),
            "old_chat_member": chat_member(old_status, bot),
            "new_chat_member": chat_member(new_status, bot),
        },
    }


def sticker_update(user_id: int, *, emoji: str = "👍") -> dict:
    """A message carrying a sticker (no text)."""
    sticker = {
        **_file("sticker"),
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
        "emoji": emoji,
    }
    return message_update(user_id, sticker=sticker)


def photo_update(user_id: int, *, caption: str | None = None) -> dict:
    """A message carrying a photo (two sizes), optionally captioned."""
    small, large = _file("photo"), _file("photo")
    extra: dict[str, Any] = {
        "photo": [
            {**small, "width": 90, "height": 90, "file_size": 1024},
            {**large, "width": 800, "height": 800, "file_size": 65536},
        ]
    }
    if caption is not None:
        extra["caption"] = caption
    return message_update(user_id, **extra)


def voice_update(user_id: int, *, duration: int = 3) -> dict:
    """A message carrying a voice note."""
    voice = {**_file("voice"), "duration": duration, "mime_type": "audio/ogg"}
    return message_update(user_id, voice=voice)


def full_chat(chat_id: int, first_name: str, last_name: str | None = None) -> dict:
    """A ``getChat`` answer (``ChatFullInfo``) for a private chat: a handler for
    ``server.set_handler("getChat", ...)``, e.g. to give staff alerts the patient's name."""
    info = private_chat_info(chat_id, first_name)
    if last_name:
        info["last_name"] = last_name
    return info
