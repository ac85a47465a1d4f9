"""The aiogram session the bot talks to Telegram through: requests as JSON bodies.

aiogram's ``AiohttpSession`` sends every request as an HTML form, percent-encoding each
character of the text and of the keyboard's JSON in pure Python (``urllib.parse``): for a
600-character FAQ answer with its buttons that is more work than everything else the request
costs. The Bot API takes ``application/json`` bodies as well, so requests without files go
as JSON (C-encoded); requests that upload a file keep aiogram's multipart form.
"""

from __future__ import annotations

from typing import Any, cast

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import InputFile
from aiohttp import ClientError, ClientTimeout

_JSON = {"Content-Type": "application/json"}


def request_fields(
    session: BaseSession, bot: Bot, method: TelegramMethod[Any]
) -> tuple[dict[str, Any], dict[str, InputFile]]:
    """The request's fields as JSON values, and the files it uploads (by attach:// key)."""
    files: dict[str, Any] = {}
    payload: dict[str, Any] = {}
    for key, value in method.model_dump(warnings=False).items():
        prepared = session.prepare_value(value, bot=bot, files=files, _dumps_json=False)
        if prepared is None or prepared is False or prepared == "":
            continue  # as aiogram's form leaves out empty fields
        payload[key] = prepared
    return payload, files


class JsonSession(AiohttpSession):
    def json_payload(self, bot: Bot, method: TelegramMethod[Any]) -> dict[str, Any] | None:
        """The request's fields as JSON values; None when it uploads a file."""
        payload, files = request_fields(self, bot, method)
        return None if files else payload

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None
    ) -> TelegramType:
        payload = self.json_payload(bot, method)
        if payload is None:
            return await super().make_request(bot, method, timeout)
        session = await self.create_session()
        url = self.api.api_url(token=bot.token, method=method.__api_method__)
        try:
            async with session.post(
                url,
                data=self.json_dumps(payload),
                headers=_JSON,
                timeout=ClientTimeout(total=self.timeout if timeout is None else timeout),
            ) as resp:
                raw_result = await resp.text()
        except TimeoutError as e:
            raise TelegramNetworkError(method=method, message="Request timeout error") from e
        except ClientError as e:
            raise TelegramNetworkError(method=method, message=f"{type(e).__name__}: {e}") from e
        response = self.check_response(
            bot=bot, method=method, status_code=resp.status, content=raw_result
        )
        return cast(TelegramType, response.result)
