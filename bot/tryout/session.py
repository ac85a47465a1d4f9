"""A stand-in for the Bot API inside the process: the real aiogram `Bot` talks to it through
this session, which answers the methods the bot calls from memory (no HTTP, no token) and
records what the bot said, for the terminal to show.

Answers go through aiogram's own `check_response`, so they are validated as Telegram's are.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any, cast

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import BufferedInputFile, FSInputFile, InputFile

from bot.telegram.session import request_fields
from bot.tryout.objects import private_chat_info

BOT_USER: dict[str, Any] = {
    "id": 4242,
    "is_bot": True,
    "first_name": "Infusion Companion",
    "username": "infusion_companion_tryout_bot",
}


@dataclass(frozen=True)
class Button:
    label: str
    data: str | None  # callback data; None for a link
    url: str | None = None


@dataclass(frozen=True)
class Shown:
    """A message the bot sent (or edited, `edited`) in a chat, or a photo (`picture`)."""

    chat_id: int
    message_id: int
    html: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    edited: bool = False
    picture: str | None = None  # where the picture was saved (or its name, if not saved)
    file: str | None = None  # where a document the bot sent was saved (or its name)
    reply_to: int | None = None  # the message of the chat this one answers


@dataclass(frozen=True)
class Notice:
    """The short notice of a button press (answerCallbackQuery with a text)."""

    text: str
    alert: bool


Event = Shown | Notice


@dataclass
class ChatUser:
    user_id: int
    first_name: str
    language_code: str


class TryoutSession(BaseSession):
    """Answers getMe, sendMessage, editMessageText, sendPhoto, sendDocument,
    answerCallbackQuery, getChat, getFile (and the download of a file the chat user sent),
    setMyCommands, deleteMyCommands, leaveChat and getUpdates; anything else is 404, as an
    unknown method is from Telegram."""

    def __init__(self, user: ChatUser, *, pictures: Path | None = None) -> None:
        super().__init__()
        self.user = user
        self.pictures = pictures  # where sent pictures are saved; None: not saved
        self.events: list[Event] = []
        # The command menus set, by (scope, language code).
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._message_ids: dict[int, itertools.count[int]] = {}
        # Files the chat user sent (`/file PATH` in the chat), by file_id.
        self.files: dict[str, bytes] = {}

    def next_message_id(self, chat_id: int) -> int:
        """Message ids are per chat, shared by both sides, as in Telegram."""
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def menu(self) -> str:
        """The chat user's command menu as Telegram would pick it: their chat's own, else the
        one for their language, else the default."""
        for scope in (
            (str(self.user.user_id), ""),
            ("default", self.user.language_code),
            ("default", ""),
        ):
            if scope in self.commands:
                return " ".join(f"/{c['command']}" for c in self.commands[scope])
        return ""

    def take_events(self) -> list[Event]:
        events, self.events = self.events, []
        return events

    async def close(self) -> None:
        return None

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        """A file the chat user sent, as the download of its ``file_path``."""
        file_id = url.rsplit("/", 1)[-1]
        data = self.files.get(file_id)
        if data is None:
            raise FileNotFoundError("no such file in the try-out chat")
        for start in range(0, len(data), chunk_size):
            yield data[start : start + chunk_size]

    def add_file(self, data: bytes) -> str:
        """Keep a file the chat user sends; its file_id."""
        file_id = f"tryout-file-{len(self.files) + 1}"
        self.files[file_id] = data
        return file_id

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None
    ) -> TelegramType:
        params, files = request_fields(self, bot, method)
        name = method.__api_method__.lower()
        answer = getattr(self, f"_{name}", None)
        if answer is None:
            status, body = HTTPStatus.NOT_FOUND, _error(404, "Not Found: method not found")
        else:
            status, body = HTTPStatus.OK, {"ok": True, "result": answer(params, files)}
        response = self.check_response(
            bot=bot, method=method, status_code=status, content=json.dumps(body)
        )
        return cast(TelegramType, response.result)

    # --- the methods ----------------------------------------------------------------------
    def _getme(self, params: dict[str, Any], files: dict[str, InputFile]) -> Any:
        return dict(BOT_USER)

    def _getupdates(self, params: dict[str, Any], files: dict[str, InputFile]) -> Any:
        return []  # updates are fed to the dispatcher directly

    def _sendmessage(self, params: dict[str, Any], files: dict[str, InputFile]) -> Any:
        message_id = self.next_message_id(params["chat_id"])
        reply_to = (params.get("reply_parameters") or {}).get("message_id")
        self.events.append(
            Shown(
                params["chat_id"], message_id, params["text"], _buttons(params), reply_to=reply_to
            )
        )
        return self._message(params, message_id, text=params["text"])

    def _getfile(self, params: dict[str, Any], files: dict[str, InputFile]) -> Any:
        file_id = str(params.get("file_id", ""))
        if file_id not in self.files:
            return None
        return {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "file_size": len(self.files[file_id]),
            "file_path": f"documents/{file_id}",
        }

    def _senddocument(self, params: dict[str, Any], files: dict[str, InputFile]) -> Any:
        message_id = self.next_message_id(params["chat_id"])
        upload = next(iter(files.values()), None)
        filename = (upload.filename if upload is not None else None) or "file"
        saved = self._save(upload, message_id, filename) if upload is not None else None
        caption = params.get("caption", "")
        self.events.append(
            Shown(params["chat_id"], message_id, caption, _buttons(params), file=saved or filename)
        )
        document = {"file_id": f"tryout-{message_id}", "file_unique_id": f"u-{message_id}"}
        return self._message(params, message_id, document=document, caption=caption)

    def _editmessagetext(self, params: dict[str, Any], files: dict[str, InputFile]) -> Any:
        if "message_id" not in params:
            return True  # an inline message: the bot sends none
        message_id = params["message_id"]
        self.events.append(
            Shown(params["chat_id"], message_id, params["text"], _buttons(params), edited=True)
        )
        return self._message(params, message_id, text=params["text"], edit_date=_now())

    def _sendphoto(self, params: dict[str, Any], files: dict[str, InputFile]) -> Any:
        message_id = self.next_message_id(params["chat_id"])
        upload = next(iter(files.values()), None)
        filename = (upload.filename if upload is not None else None) or "picture.png"
        picture = self._save(upload, message_id, filename) if upload is not None else None
        caption = params.get("caption", "")
        self.events.append(
            Shown(
                params["chat_id"],
                message_id,
                caption,
                _buttons(params),
                picture=picture or filename,
            )
        )
        photo = {"file_id": f"tryout-{message_id}", "file_unique_id": f"u-{message_id}"}
        return self._message(
            params, message_id, photo=[{**photo, "width": 512, "height": 512}], caption=caption
        )

    def _save(self, upload: InputFile, message_id: int, filename: str) -> str | None:
        """The picture (or document) as a file, to open; its path. What the bot makes is in
        memory."""
        if self.pictures is None:
            return None
        if isinstance(upload, BufferedInputFile):
            data = upload.data
        elif isinstance(upload, FSInputFile):
            data = Path(upload.path).read_bytes()
        else:
            return None
        self.pictures.mkdir(parents=True, exist_ok=True)
        target = self.pictures / f"{message_id}-{Path(filename).name}"
        target.write_bytes(data)
        return str(target)

    def _answercallbackquery(self, params: dict[str, Any], files: dict[str, InputFile]) -> Any:
        if params.get("text"):
            self.events.append(Notice(params["text"], bool(params.get("show_alert"))))
        return True

    def _setmycommands(self, params: dict[str, Any], files: dict[str, InputFile]) -> Any:
        self.commands[_scope(params)] = list(params.get("commands", []))
        return True

    def _deletemycommands(self, params: dict[str, Any], files: dict[str, InputFile]) -> Any:
        self.commands.pop(_scope(params), None)
        return True

    def _leavechat(self, params: dict[str, Any], files: dict[str, InputFile]) -> Any:
        return True

    def _getchat(self, params: dict[str, Any], files: dict[str, InputFile]) -> Any:
        chat_id = params["chat_id"]
        name = self.user.first_name if chat_id == self.user.user_id else f"Staff {chat_id}"
        return private_chat_info(chat_id, name)

    def _message(self, params: dict[str, Any], message_id: int, **content: Any) -> Any:
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            content["reply_markup"] = markup
        return {
            "message_id": message_id,
            "date": _now(),
            "chat": {"id": params["chat_id"], "type": "private"},
            "from": dict(BOT_USER),
            **content,
        }


def _now() -> int:
    return int(time.time())


def _error(code: int, description: str) -> dict[str, Any]:
    return {"ok": False, "error_code": code, "description": description}


def _scope(params: dict[str, Any]) -> tuple[str, str]:
    scope = params.get("scope") or {}
    where = str(scope.get("chat_id", scope.get("type", "default")))
    return where, str(params.get("language_code", ""))


def _buttons(params: dict[str, Any]) -> tuple[tuple[Button, ...], ...]:
    markup = params.get("reply_markup")
    if not isinstance(markup, dict):
        return ()
    return tuple(
        tuple(Button(b["text"], b.get("callback_data"), b.get("url")) for b in row)
        for row in markup.get("inline_keyboard", [])
    )
