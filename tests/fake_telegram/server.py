"""In-process fake Telegram Bot API server for integration tests.

The real :class:`aiogram.Bot` talks to it over HTTP on 127.0.0.1::

    async with FakeTelegramServer() as server:
        bot = Bot(server.token, session=AiohttpSession(api=server.api_server()))
        server.push_update(message_update(1001, "hi"))
        ...
        await server.wait_for("sendMessage")

Everything runs in the test's event loop (no threads).  Requests are decoded the
way Telegram would see them (aiogram sends urlencoded or multipart forms, with
non-string values JSON-encoded) and recorded as :class:`RecordedRequest`.

Real Telegram takes 100-1,000 ms to answer a bot; :meth:`FakeTelegramServer.set_latency`
delays answers the same way (``server.set_latency(0.3)``, or a jitter range
``server.set_latency((0.1, 1.0))``, or only some methods
``server.set_latency(0.3, "sendMessage")``).  Delayed requests wait concurrently.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import random
import re
import time
import types
import typing
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiogram.client.default import Default
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiohttp import web

from .updates import DEFAULT_BOT_USER, ensure_update_ids_above, next_update_id

__all__ = [
    "FAILURE_KINDS",
    "FakeServerSession",
    "FakeTelegramServer",
    "Latency",
    "RecordedRequest",
    "UploadedFile",
]

# --------------------------------------------------------------------------- records


@dataclass
class UploadedFile:
    """A file uploaded in a multipart request (``InputFile`` on the aiogram side)."""

    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class RecordedRequest:
    method: str
    """Method name as it appeared in the URL path (compare case-insensitively)."""
    params: dict[str, Any]
    """Decoded parameters: JSON-encoded fields parsed back, int ids as ints,
    uploaded files as :class:`UploadedFile` (``attach://`` references resolved)."""
    at: float
    """``time.monotonic()`` when the request arrived (before any :meth:`set_latency` delay)."""
    response_status: int = 0
    """HTTP status answered; 0 while a long poll is still pending, or for ``drop``."""
    response: dict[str, Any] | None = None
    """The JSON body answered (``None`` if no response was sent)."""
    content_type: str = ""
    """How the request was encoded (``application/json``, ``multipart/form-data``...)."""
    answered_at: float | None = None
    """``time.monotonic()`` when the answer went out (after any latency); ``None`` while
    pending, or if the connection was dropped without an answer."""

    def __str__(self) -> str:
        params = json.dumps(self.params, ensure_ascii=False, default=repr)
        if len(params) > 300:
            params = params[:297] + "..."
        return f"{self.method} -> {self.response_status} {params}"


# --------------------------------------------------------------------------- session


class _FastClose:
    """``close()`` without aiogram's 250 ms grace sleep.

    aiogram sleeps after closing to let SSL connections shut down; the fake server
    speaks plain HTTP on loopback, so the wait only slows tests down.
    """

    _session: Any

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


class FakeServerSession(_FastClose, AiohttpSession):
    """A plain :class:`AiohttpSession` whose ``close()`` skips the 250 ms grace sleep."""


# --------------------------------------------------------------------------- failures

FAILURE_KINDS: dict[str, tuple[int, str]] = {
    "retry_after": (429, "Too Many Requests: retry after {retry_after}"),
    "blocked": (403, "Forbidden: bot was blocked by the user"),
    "chat_not_found": (400, "Bad Request: chat not found"),
    "bad_request": (400, "Bad Request: injected failure"),
    "server_error": (500, "Internal Server Error"),
    "bad_gateway": (502, "Bad Gateway"),
    "unauthorized": (401, "Unauthorized"),
    "conflict": (
        409,
        "Conflict: terminated by other getUpdates request; "
        "make sure that only one bot instance is running",
    ),
    "drop": (0, ""),
}


@dataclass
class _Failure:
    kind: str
    remaining: int
    retry_after: int
    description: str | None


class _Answer(Exception):
    """Raised inside handlers to answer with an error payload."""

    def __init__(self, status: int, description: str, parameters: dict | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


class _Drop(Exception):
    """Close the connection without answering."""


Latency = float | tuple[float, float]
"""Seconds before answering: a fixed delay, or ``(low, high)`` drawn uniformly per call."""


def _check_latency(latency: Latency | list[float]) -> Latency:
    if isinstance(latency, tuple | list):
        low, high = (float(v) for v in latency)
        if not 0 <= low <= high:
            msg = f"latency range must satisfy 0 <= low <= high, got {latency!r}"
            raise ValueError(msg)
        return (low, high)
    value = float(latency)
    if value < 0:
        msg = f"latency must be >= 0, got {latency!r}"
        raise ValueError(msg)
    return value


# --------------------------------------------------------------------------- decoding


_JSON_STRING_FALLBACK = frozenset(
    {
        "text",
        "caption",
        "data",
        "query",
        "url",
        "description",
        "short_description",
        "name",
        "title",
        "question",
        "parse_mode",
        "callback_query_id",
        "inline_message_id",
        "business_connection_id",
        "message_effect_id",
        "emoji",
        "action",
        "secret_token",
        "language_code",
    }
)


def _union_args(annotation: Any) -> list[Any]:
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        result: list[Any] = []
        for arg in typing.get_args(annotation):
            result.extend(_union_args(arg))
        return result
    return [annotation]


def _field_kind(annotation: Any) -> str:
    """'str' (keep raw), 'int_or_str' (int if it looks like one) or 'json'."""
    args = [a for a in _union_args(annotation) if a is not type(None) and a is not Default]
    if str in args:
        return "int_or_str" if int in args else "str"
    return "json"


_METHOD_FIELDS: dict[str, dict[str, str]] | None = None


def _method_fields(method: str) -> dict[str, str] | None:
    global _METHOD_FIELDS
    if _METHOD_FIELDS is None:
        from aiogram import methods as aiogram_methods

        table: dict[str, dict[str, str]] = {}
        for obj in vars(aiogram_methods).values():
            api_name = getattr(obj, "__api_method__", None)
            if not (inspect.isclass(obj) and isinstance(api_name, str)):
                continue
            table[api_name.lower()] = {
                (info.alias or name): _field_kind(info.annotation)
                for name, info in obj.model_fields.items()
            }
        _METHOD_FIELDS = table
    return _METHOD_FIELDS.get(method.lower())


_INT_RE = re.compile(r"-?\d+")


def _decode_value(kind: str | None, key: str, value: str) -> Any:
    if kind == "str":
        return value
    if kind == "int_or_str":
        return int(value) if _INT_RE.fullmatch(value) else value
    if kind == "json":
        try:
            return json.loads(value)
        except ValueError:
            return value
    # Unknown method/field: best-effort heuristics.
    if key in _JSON_STRING_FALLBACK:
        return value
    if value[:1] in ("{", "[") or value in ("true", "false") or _INT_RE.fullmatch(value):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _resolve_attachments(value: Any, files: dict[str, UploadedFile], used: set[str]) -> Any:
    if isinstance(value, str) and value.startswith("attach://"):
        key = value.removeprefix("attach://")
        if key in files:
            used.add(key)
            return files[key]
        return value
    if isinstance(value, list):
        return [_resolve_attachments(v, files, used) for v in value]
    if isinstance(value, dict):
        return {k: _resolve_attachments(v, files, used) for k, v in value.items()}
    return value


# --------------------------------------------------------------------------- server

Handler = Callable[[dict[str, Any]], Any]

_MEDIA_METHODS = {
    "sendphoto": "photo",
    "senddocument": "document",
    "sendsticker": "sticker",
    "sendvoice": "voice",
    "sendaudio": "audio",
    "sendvideo": "video",
    "sendanimation": "animation",
    "sendvideonote": "video_note",
}

_TRUE_METHODS = frozenset(
    m.lower()
    for m in (
        "deleteMessage",
        "deleteMessages",
        "answerCallbackQuery",
        "answerInlineQuery",
        "answerPreCheckoutQuery",
        "answerShippingQuery",
        "setMyCommands",
        "deleteMyCommands",
        "setChatMenuButton",
        "setMyDescription",
        "setMyShortDescription",
        "setMyName",
        "setMyDefaultAdministratorRights",
        "setMessageReaction",
        "deleteWebhook",
        "setWebhook",
        "close",
        "logOut",
        "sendChatAction",
        "pinChatMessage",
        "unpinChatMessage",
        "unpinAllChatMessages",
        "leaveChat",
        "banChatMember",
        "unbanChatMember",
    )
)

_PATH_RE = re.compile(r"^/bot(?P<token>[^/]+)/(?P<method>[^/]+)/?$")
_FILE_PATH_RE = re.compile(r"^/file/bot(?P<token>[^/]+)/(?P<path>.+)$")


class FakeTelegramServer:
    """Fake Bot API: feeds updates through ``getUpdates``, records every request."""

    def __init__(
        self, *, token: str = "42:TEST", bot_user: dict | None = None, latency_seed: int = 0
    ) -> None:
        self.token = token
        self.bot_user: dict[str, Any] = dict(bot_user or DEFAULT_BOT_USER)
        self.requests: list[RecordedRequest] = []
        self.rate_limit: float | None = None
        """sendMessage messages/second (global, sliding 1 s window); above it -> 429."""
        self.webhook_url = ""
        self.errors: list[Exception] = []
        """Unexpected exceptions raised while handling requests (answered as 500)."""
        self.files: dict[str, bytes] = {}
        """file_id -> content served by getFile + the file download endpoint."""
        self.latency_exempt: set[str] = {"getupdates"}
        """Lower-case methods a blanket :meth:`set_latency` leaves alone (the long poll
        ``getUpdates`` waits on its own); naming a method explicitly still delays it."""

        self._updates: list[dict[str, Any]] = []  # queued, unconfirmed, sorted by id
        self._confirmed_below = 0  # ids < this were confirmed by an offset
        self._updates_changed = asyncio.Event()
        self._recorded = asyncio.Event()
        self._failures: dict[str, deque[_Failure]] = {}
        self._blocked_chats: set[int] = set()
        self._handlers: dict[str, Handler] = {}
        self._last_message_id: dict[Any, int] = {}
        self._messages: dict[tuple[Any, int], dict[str, Any]] = {}
        self._commands: dict[str, list[dict]] = {}
        self._menu_buttons: dict[str, dict] = {}
        self._send_times: deque[float] = deque()
        self._latency: Latency = 0.0
        self._method_latency: dict[str, Latency] = {}
        self._latency_random = random.Random(latency_seed)
        self._file_counter = 0
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        if self._runner is not None:
            msg = "FakeTelegramServer already started"
            raise RuntimeError(msg)
        self._closing = False
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        self._port = sockets[0].getsockname()[1]
        self._runner = runner

    async def stop(self) -> None:
        if self._runner is None:
            return
        self._closing = True
        self._wake_pollers()
        runner, self._runner = self._runner, None
        await runner.cleanup()

    async def __aenter__(self) -> FakeTelegramServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        if self._port is None:
            msg = "FakeTelegramServer is not started"
            raise RuntimeError(msg)
        return f"http://127.0.0.1:{self._port}"

    def api_server(self) -> TelegramAPIServer:
        return TelegramAPIServer.from_base(self.base_url)

    def session(
        self, base: type[AiohttpSession] = AiohttpSession, **kwargs: Any
    ) -> AiohttpSession:
        """An aiogram session pointed at this server (fast ``close()``); ``base`` is the
        session class to build it from (a subclass of aiogram's AiohttpSession)."""
        return self.session_at(self.base_url, base, **kwargs)

    @staticmethod
    def session_at(
        base_url: str, base: type[AiohttpSession] = AiohttpSession, **kwargs: Any
    ) -> AiohttpSession:
        """:meth:`session` for a fake server running elsewhere (the benchmarks' process)."""
        api = TelegramAPIServer.from_base(base_url)
        if base is AiohttpSession:
            return FakeServerSession(api=api, **kwargs)
        fast = type(f"Fast{base.__name__}", (_FastClose, base), {})
        return fast(api=api, **kwargs)

    # ------------------------------------------------------------------ inspection

    def calls(self, method: str) -> list[RecordedRequest]:
        wanted = method.lower()
        return [r for r in self.requests if r.method.lower() == wanted]

    def sent_messages(self, chat_id: int | None = None) -> list[RecordedRequest]:
        """Recorded ``sendMessage`` requests (optionally only to ``chat_id``)."""
        return [
            r
            for r in self.calls("sendMessage")
            if chat_id is None or r.params.get("chat_id") == chat_id
        ]

    def sent_texts(self, chat_id: int | None = None) -> list[str]:
        """Texts of successfully answered ``sendMessage`` requests."""
        return [
            r.params.get("text", "")
            for r in self.sent_messages(chat_id)
            if r.response_status == 200
        ]

    def clear_requests(self) -> None:
        self.requests.clear()

    async def wait_for(
        self,
        method: str,
        predicate: Callable[[RecordedRequest], bool] | None = None,
        *,
        count: int = 1,
        timeout: float = 5.0,
    ) -> list[RecordedRequest]:
        """Wait until ``count`` matching requests were recorded; return all matches."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            matches = [r for r in self.calls(method) if predicate is None or predicate(r)]
            if len(matches) >= count:
                return matches
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(self._timeout_report(method, count, len(matches), timeout))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._recorded.wait(), remaining)

    def _timeout_report(self, method: str, count: int, found: int, timeout: float) -> str:
        recent = self.requests[-25:]
        lines = [
            f"timed out after {timeout:.2f}s waiting for {count} x {method} "
            f"(found {found} matching); {len(self.requests)} requests recorded, last "
            f"{len(recent)}:"
        ]
        lines += [f"  {r}" for r in recent] or ["  <none>"]
        return "\n".join(lines)

    # ------------------------------------------------------------------ updates

    @property
    def pending_updates(self) -> int:
        """Updates queued and not yet confirmed by a ``getUpdates`` offset."""
        return len(self._updates)

    def push_update(self, update: dict) -> int:
        """Queue ``update`` (assigning ``update_id`` if missing); wake long polls."""
        [update_id] = self.push_updates([update])
        return update_id

    def push_updates(self, updates: Iterable[dict]) -> list[int]:
        """Queue several updates at once (sorted once, one wake-up); return their ids.

        An ``update_id`` already present is kept, otherwise one is assigned."""
        queued: list[dict[str, Any]] = []
        for original in updates:
            update = dict(original)
            if "update_id" in update:
                update_id = int(update["update_id"])
                if update_id < self._confirmed_below:
                    msg = (
                        f"update_id {update_id} is below the already confirmed offset "
                        f"{self._confirmed_below}; the bot would never see it (build the "
                        "update later or drop 'update_id' to let the server assign one)"
                    )
                    raise ValueError(msg)
                ensure_update_ids_above(update_id)
            else:
                update["update_id"] = next_update_id()
            queued.append(update)
        self._updates.extend(queued)
        self._updates.sort(key=lambda u: u["update_id"])
        self._wake_pollers()
        return [u["update_id"] for u in queued]

    def drop_pending_updates(self) -> None:
        if self._updates:
            self._confirmed_below = max(self._confirmed_below, self._updates[-1]["update_id"] + 1)
        self._updates.clear()

    def _wake_pollers(self) -> None:
        event, self._updates_changed = self._updates_changed, asyncio.Event()
        event.set()

    def _confirm(self, offset: int | None) -> None:
        if not offset:
            return
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            self._confirmed_below = max(self._confirmed_below, offset)
        else:  # negative: keep only the last -offset updates, forget the rest
            keep = self._updates[offset:]
            if len(keep) < len(self._updates):
                self._confirmed_below = max(self._confirmed_below, keep[0]["update_id"])
            self._updates = keep

    # ------------------------------------------------------------------ fault injection

    def fail_next(
        self,
        method: str,
        kind: str,
        *,
        times: int = 1,
        retry_after: int = 1,
        description: str | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail with ``kind``.

        Kinds: retry_after, blocked, chat_not_found, bad_request, server_error,
        bad_gateway, unauthorized, conflict, drop (close TCP without answering).
        """
        if kind not in FAILURE_KINDS:
            msg = f"unknown failure kind {kind!r}; expected one of {sorted(FAILURE_KINDS)}"
            raise ValueError(msg)
        if times < 1:
            msg = "times must be >= 1"
            raise ValueError(msg)
        self._failures.setdefault(method.lower(), deque()).append(
            _Failure(kind, times, retry_after, description)
        )

    def clear_failures(self) -> None:
        self._failures.clear()

    def block_chat(self, chat_id: int) -> None:
        """From now on every send* to ``chat_id`` answers 403 'bot was blocked'."""
        self._blocked_chats.add(chat_id)

    def unblock_chat(self, chat_id: int) -> None:
        self._blocked_chats.discard(chat_id)

    def set_latency(self, latency: Latency | list[float], *methods: str) -> None:
        """Delay answers by ``latency`` seconds (a ``(low, high)`` pair: uniform per call,
        from a generator seeded at construction, so runs repeat).

        Without ``methods``: every method except :attr:`latency_exempt` (``getUpdates``),
        replacing all earlier settings (``set_latency(0)`` clears everything). With
        ``methods``: only those, over the blanket setting (``0`` exempts them).

        The request is recorded on arrival, then waits; concurrent requests wait concurrently.
        """
        checked = _check_latency(latency)
        if not methods:
            self._latency = checked
            self._method_latency.clear()
            return
        for method in methods:
            self._method_latency[method.lower()] = checked

    def latency_for(self, method: str) -> Latency:
        """The latency setting that applies to ``method`` (0.0 if none)."""
        key = method.lower()
        if key in self._method_latency:
            return self._method_latency[key]
        if key in self.latency_exempt:
            return 0.0
        return self._latency

    def _draw_latency(self, method: str) -> float:
        latency = self.latency_for(method)
        if isinstance(latency, tuple):
            low, high = latency
            return self._latency_random.uniform(low, high)
        return latency

    def set_handler(self, method: str, handler: Handler) -> None:
        """Override a method: ``handler(params)`` (sync or async) returns the result.

        It may raise :class:`AssertionError` etc.; use :meth:`error` to answer an error.
        """
        self._handlers[method.lower()] = handler

    @staticmethod
    def error(status: int, description: str, parameters: dict | None = None) -> Exception:
        """Exception to raise from a :meth:`set_handler` handler to answer an error."""
        return _Answer(status, description, parameters)

    # ------------------------------------------------------------------ HTTP plumbing

    async def _read_params(self, request: web.Request) -> tuple[dict[str, Any], bool]:
        raw: dict[str, Any] = dict(request.query)
        typed = False
        if request.content_type == "application/json" and request.can_read_body:
            body = await request.json()
            if isinstance(body, dict):
                raw.update(body)
                typed = True
        elif request.can_read_body:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    raw[key] = UploadedFile(value.filename, value.content_type, value.file.read())
                else:
                    raw[key] = value
        return raw, typed

    def _decode(self, method: str, raw: dict[str, Any], typed: bool) -> dict[str, Any]:
        kinds = _method_fields(method) or {}
        params: dict[str, Any] = {}
        files = {k: v for k, v in raw.items() if isinstance(v, UploadedFile)}
        for key, value in raw.items():
            if isinstance(value, str) and not typed:
                params[key] = _decode_value(kinds.get(key), key, value)
            else:
                params[key] = value
        used: set[str] = set()
        params = {
            k: _resolve_attachments(v, files, used) if k not in files else v
            for k, v in params.items()
        }
        for key in used:
            params.pop(key, None)
        return params

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        file_match = _FILE_PATH_RE.match(request.path)
        if file_match:
            return self._serve_file(file_match["token"], file_match["path"])
        match = _PATH_RE.match(request.path)
        if not match:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        method = match["method"]
        raw, typed = await self._read_params(request)
        record = RecordedRequest(
            method=method,
            params=self._decode(method, raw, typed),
            at=time.monotonic(),
            content_type=request.content_type,
        )
        self.requests.append(record)
        self._notify()
        delay = self._draw_latency(method)
        if delay > 0:
            await asyncio.sleep(delay)
        try:
            if match["token"] != self.token:
                raise _Answer(401, "Unauthorized")
            result = await self._dispatch(method.lower(), record.params)
            payload: dict[str, Any] = {"ok": True, "result": result}
            status = 200
        except _Answer as answer:
            status = answer.status
            payload = {"ok": False, "error_code": status, "description": answer.description}
            if answer.parameters:
                payload["parameters"] = answer.parameters
        except _Drop:
            transport = request.transport
            if transport is not None:
                transport.abort()
            self._notify()
            # aiohttp treats a cancelled handler as "connection gone": no response,
            # no error log (an ordinary exception would be logged as a 500).
            raise asyncio.CancelledError from None
        except Exception as exc:
            # A bug in the fake or in a set_handler() callback: answer a JSON 500
            # (aiogram raises TelegramServerError) and keep the exception for tests.
            self.errors.append(exc)
            status = 500
            payload = {
                "ok": False,
                "error_code": 500,
                "description": f"Internal Server Error: fake server crashed: {exc!r}",
            }
        record.response_status = status
        record.response = payload
        record.answered_at = time.monotonic()
        self._notify()
        return web.json_response(payload, status=status)

    def _serve_file(self, token: str, path: str) -> web.StreamResponse:
        if token != self.token:
            return web.Response(status=401, text="Unauthorized")
        file_id = path.removeprefix("files/")
        if file_id not in self.files:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=self.files[file_id])

    def _notify(self) -> None:
        event, self._recorded = self._recorded, asyncio.Event()
        event.set()

    async def _dispatch(self, method: str, params: dict[str, Any]) -> Any:
        self._apply_injected_failure(method)
        if self._is_send(method) and self._chat_key(params.get("chat_id")) in self._blocked_chats:
            raise _Answer(403, "Forbidden: bot was blocked by the user")
        if method == "sendmessage":
            self._check_rate_limit()
        custom = self._handlers.get(method)
        if custom is not None:
            result = custom(params)
            if inspect.isawaitable(result):
                result = await typing.cast(Awaitable[Any], result)
            return result
        builtin = getattr(self, f"_m_{method}", None)
        if builtin is not None:
            result = builtin(params)
            if inspect.isawaitable(result):
                result = await result
            return result
        if method in _TRUE_METHODS:
            self._true_method_side_effects(method, params)
            return True
        if method.startswith("send"):
            return self._new_message(params.get("chat_id"), self._content(method, params))
        raise _Answer(404, "Not Found: method not found")

    def _apply_injected_failure(self, method: str) -> None:
        queue = self._failures.get(method)
        if not queue:
            return
        failure = queue[0]
        failure.remaining -= 1
        if failure.remaining <= 0:
            queue.popleft()
        if failure.kind == "drop":
            raise _Drop
        status, template = FAILURE_KINDS[failure.kind]
        description = failure.description or template.format(retry_after=failure.retry_after)
        parameters = {"retry_after": failure.retry_after} if failure.kind == "retry_after" else None
        raise _Answer(status, description, parameters)

    def _check_rate_limit(self) -> None:
        if self.rate_limit is None:
            return
        now = time.monotonic()
        while self._send_times and self._send_times[0] <= now - 1.0:
            self._send_times.popleft()
        if len(self._send_times) >= self.rate_limit:
            raise _Answer(429, "Too Many Requests: retry after 1", {"retry_after": 1})
        self._send_times.append(now)

    @staticmethod
    def _is_send(method: str) -> bool:
        return method.startswith("send") or method in ("copymessage", "forwardmessage")

    @staticmethod
    def _chat_key(chat_id: Any) -> Any:
        if isinstance(chat_id, str) and _INT_RE.fullmatch(chat_id):
            return int(chat_id)
        return chat_id

    # ------------------------------------------------------------------ message model

    def _chat(self, chat_id: Any) -> dict[str, Any]:
        if isinstance(chat_id, int):
            if chat_id > 0:
                return {"id": chat_id, "type": "private"}
            if chat_id <= -1_000_000_000_000:
                return {"id": chat_id, "type": "supergroup", "title": "Fake supergroup"}
            return {"id": chat_id, "type": "group", "title": "Fake group"}
        username = str(chat_id).lstrip("@")
        return {
            "id": -1_009_999_999_999,
            "type": "channel",
            "title": username,
            "username": username,
        }

    def _new_message(self, chat_id: Any, content: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat_key(chat_id)
        message_id = self._last_message_id.get(chat_id, 0) + 1
        self._last_message_id[chat_id] = message_id
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self._chat(chat_id),
            "from": dict(self.bot_user),
            **content,
        }
        self._messages[(chat_id, message_id)] = message
        return message

    def _fake_file(self, value: Any, prefix: str) -> dict[str, Any]:
        self._file_counter += 1
        if isinstance(value, str) and not value.startswith(("http://", "https://", "attach://")):
            file_id = value
        else:
            file_id = f"fake-{prefix}-{self._file_counter}"
            if isinstance(value, UploadedFile):
                self.files[file_id] = value.data
        return {"file_id": file_id, "file_unique_id": f"uniq-{file_id}"}

    def _content(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        content: dict[str, Any] = {}
        for key in ("text", "entities", "caption", "caption_entities"):
            if params.get(key) is not None:
                content[key] = params[key]
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            content["reply_markup"] = markup
        kind = _MEDIA_METHODS.get(method)
        if kind is not None:
            media = self._fake_file(params.get(kind), kind)
            duration = params.get("duration") or 1
            if kind == "photo":
                content["photo"] = [{**media, "width": 800, "height": 600}]
            elif kind == "sticker":
                content["sticker"] = {
                    **media,
                    "type": "regular",
                    "width": 512,
                    "height": 512,
                    "is_animated": False,
                    "is_video": False,
                }
            elif kind in ("voice", "audio"):
                content[kind] = {**media, "duration": duration}
            elif kind in ("video", "animation"):
                content[kind] = {**media, "width": 640, "height": 480, "duration": duration}
            elif kind == "video_note":
                content[kind] = {**media, "length": 240, "duration": duration}
            else:
                content[kind] = media
        elif method == "senddice":
            content["dice"] = {"emoji": params.get("emoji") or "🎲", "value": 1}
        elif method == "sendlocation":
            content["location"] = {
                "latitude": params.get("latitude", 0.0),
                "longitude": params.get("longitude", 0.0),
            }
        elif method == "sendcontact":
            content["contact"] = {
                "phone_number": params.get("phone_number", ""),
                "first_name": params.get("first_name", ""),
            }
        return content

    def _edited(self, params: dict[str, Any], changes: dict[str, Any]) -> Any:
        if params.get("inline_message_id"):
            return True
        chat_id = self._chat_key(params.get("chat_id"))
        message_id = params.get("message_id")
        message = dict(
            self._messages.get((chat_id, message_id))
            or {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": self._chat(chat_id),
                "from": dict(self.bot_user),
            }
        )
        for key, value in changes.items():
            if value is None:
                message.pop(key, None)
            else:
                message[key] = value
        message["edit_date"] = int(time.time())
        self._messages[(chat_id, message_id)] = message
        return message

    @staticmethod
    def _inline_markup(params: dict[str, Any]) -> dict | None:
        markup = params.get("reply_markup")
        return markup if isinstance(markup, dict) and "inline_keyboard" in markup else None

    # ------------------------------------------------------------------ builtin methods

    def _m_getme(self, params: dict[str, Any]) -> dict[str, Any]:
        return dict(self.bot_user)

    async def _m_getupdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        self._confirm(params.get("offset"))
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if self._updates or self._closing:
                return [dict(u) for u in self._updates[:limit]]
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._updates_changed.wait(), remaining)

    def _m_sendmessage(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("text"):
            raise _Answer(400, "Bad Request: message text is empty")
        return self._new_message(params.get("chat_id"), self._content("sendmessage", params))

    def _m_sendmediagroup(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        self._file_counter += 1
        group_id = f"fake-media-group-{self._file_counter}"
        messages = []
        for item in params.get("media") or []:
            kind = item.get("type", "photo")
            fake = self._content("send" + kind.replace("_", ""), {kind: item.get("media"), **item})
            fake.pop("text", None)
            if item.get("caption"):
                fake["caption"] = item["caption"]
            fake["media_group_id"] = group_id
            messages.append(self._new_message(params.get("chat_id"), fake))
        return messages

    def _m_copymessage(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._new_message(params.get("chat_id"), {})
        return {"message_id": message["message_id"]}

    def _m_forwardmessage(self, params: dict[str, Any]) -> dict[str, Any]:
        source = self._messages.get(
            (self._chat_key(params.get("from_chat_id")), params.get("message_id")), {}
        )
        content = {k: v for k, v in source.items() if k in ("text", "entities", "caption")}
        return self._new_message(params.get("chat_id"), content)

    def _m_editmessagetext(self, params: dict[str, Any]) -> Any:
        return self._edited(
            params,
            {
                "text": params.get("text"),
                "entities": params.get("entities"),
                "reply_markup": self._inline_markup(params),
            },
        )

    def _m_editmessagecaption(self, params: dict[str, Any]) -> Any:
        return self._edited(
            params,
            {
                "caption": params.get("caption"),
                "caption_entities": params.get("caption_entities"),
                "reply_markup": self._inline_markup(params),
            },
        )

    def _m_editmessagereplymarkup(self, params: dict[str, Any]) -> Any:
        return self._edited(params, {"reply_markup": self._inline_markup(params)})

    def _m_editmessagemedia(self, params: dict[str, Any]) -> Any:
        return self._edited(params, {"reply_markup": self._inline_markup(params)})

    @staticmethod
    def _commands_key(params: dict[str, Any]) -> str:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps([scope, params.get("language_code") or ""], sort_keys=True)

    def _true_method_side_effects(self, method: str, params: dict[str, Any]) -> None:
        if method == "setmycommands":
            self._commands[self._commands_key(params)] = list(params.get("commands") or [])
        elif method == "deletemycommands":
            self._commands.pop(self._commands_key(params), None)
        elif method == "setchatmenubutton":
            key = str(params.get("chat_id", ""))
            self._menu_buttons[key] = params.get("menu_button") or {"type": "default"}
        elif method in ("deletewebhook", "setwebhook"):
            self.webhook_url = params.get("url", "") if method == "setwebhook" else ""
            if params.get("drop_pending_updates"):
                self.drop_pending_updates()
        elif method in ("deletemessage", "deletemessages"):
            chat_id = self._chat_key(params.get("chat_id"))
            ids = params.get("message_ids") or [params.get("message_id")]
            for message_id in ids:
                self._messages.pop((chat_id, message_id), None)

    def _m_getmycommands(self, params: dict[str, Any]) -> list[dict]:
        return list(self._commands.get(self._commands_key(params), []))

    def _m_getchatmenubutton(self, params: dict[str, Any]) -> dict:
        key = str(params.get("chat_id", ""))
        return self._menu_buttons.get(key) or {"type": "default"}

    def _m_getwebhookinfo(self, params: dict[str, Any]) -> dict:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": self.pending_updates,
        }

    def _m_getfile(self, params: dict[str, Any]) -> dict:
        file_id = str(params.get("file_id"))
        self.files.setdefault(file_id, b"fake file content")
        return {
            "file_id": file_id,
            "file_unique_id": f"uniq-{file_id}",
            "file_size": len(self.files[file_id]),
            "file_path": f"files/{file_id}",
        }
