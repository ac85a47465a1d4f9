"""In-process fake Telegram Bot API server for integration tests.

The real :class:`aiogram.Bot` talks to it over HTTP on 127.0.0.1::

    async with FakeTelegramServer() as server:
        bot = Bot(server.token, session=server.session())
        server.push_update(message_update(1001, "hi"))
        ...
        await server.wait_for("sendMessage")

Everything runs in the test's event loop (no threads). Every request is recorded as a
:class:`RecordedRequest`, its parameters decoded as Telegram reads them (``decoding.py``).

It answers the Bot API methods the bot and its tests call (``_answer``); any other method
is answered 404 as Telegram answers an unknown one, so a test notices a new call. A test can
answer a method itself (:meth:`FakeTelegramServer.set_handler`), make calls fail
(:meth:`~FakeTelegramServer.fail_next`, :meth:`~FakeTelegramServer.block_chat`,
:attr:`~FakeTelegramServer.rate_limit`: Telegram's flood control across every caller) and
delay every answer as real Telegram does (:meth:`~FakeTelegramServer.set_latency`).

Webhooks: ``setWebhook`` is recorded (:attr:`~FakeTelegramServer.webhook`; ``getUpdates`` then
answers 409 as Telegram does), and after :meth:`~FakeTelegramServer.deliver_webhooks` pushed
updates are POSTed to the bot (``webhook.py``: round-robin over several replicas, delivered
again until one acknowledges) instead of waiting for ``getUpdates``.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections.abc import Callable, Iterable
from typing import Any

from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiohttp import web

from .decoding import read_params
from .faults import SEND_LIKE_METHODS, ApiError, DroppedConnection, InjectedFailures, SendWindow
from .records import RecordedRequest, UploadedFile
from .update_queue import UpdateQueue
from .updates import DEFAULT_BOT_USER, ensure_update_ids_above, next_update_id
from .webhook import WebhookConfig, WebhookDelivery

__all__ = [
    "FakeServerSession",
    "FakeTelegramServer",
    "RecordedRequest",
    "UploadedFile",
]

Handler = Callable[[dict[str, Any]], Any]
"""Answers a method: takes the decoded parameters, returns the ``result`` (or an awaitable
of it)."""


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


class FakeTelegramServer:
    """Fake Bot API: feeds updates through ``getUpdates``, records every request."""

    def __init__(self, *, token: str = "42:TEST", bot_user: dict | None = None) -> None:
        self.token = token
        self.bot_user: dict[str, Any] = dict(bot_user or DEFAULT_BOT_USER)
        self.requests: list[RecordedRequest] = []
        self.rate_limit: float | None = None
        """Messages a second (every send-like method, all chats and callers, over the last
        second); above it a 429 with :attr:`rate_limit_retry_after`."""
        self.rate_limit_retry_after = 1
        self.webhook: dict[str, Any] = {}
        """What the last setWebhook asked (url, secret_token, allowed_updates, ...); empty
        when none is set (never, or deleteWebhook)."""
        self.errors: list[Exception] = []
        """Exceptions raised while answering (a bug in the fake or in a handler; answered 500)."""
        self.latency_exempt: set[str] = {"getupdates"}
        """Lower-case methods :meth:`set_latency` leaves alone (the long poll waits anyway)."""

        self._updates = UpdateQueue()
        self._failures = InjectedFailures()
        self._send_window = SendWindow()
        self._blocked_chats: set[int] = set()
        self._handlers: dict[str, Handler] = {}
        self._latency = 0.0
        self._last_message_id: dict[int, int] = {}
        self._recorded = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._delivery: WebhookDelivery | None = None
        self.files: dict[str, bytes] = {}
        """Files users sent (:meth:`add_file`), by file_id: getFile and the download serve them."""

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        if self._runner is not None:
            msg = "FakeTelegramServer already started"
            raise RuntimeError(msg)
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        self._port = sockets[0].getsockname()[1]
        self._runner = runner

    async def stop(self) -> None:
        if self._runner is None:
            return
        if self._delivery is not None:
            await self._delivery.stop()
        self._updates.close()
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

    def session(self, base: type[AiohttpSession] = AiohttpSession, **kwargs: Any) -> AiohttpSession:
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

    def accepted_sends(self) -> list[RecordedRequest]:
        """Send-like requests answered 200, in arrival order (their ``at`` is the arrival)."""
        return [
            r
            for r in self.requests
            if r.response_status == 200 and r.method.lower() in SEND_LIKE_METHODS
        ]

    @property
    def flood_refusals(self) -> int:
        """429s answered by :attr:`rate_limit` since the start (or the last :meth:`reset`)."""
        return self._send_window.refused

    def reset(self) -> None:
        """Forget the recorded requests, the message ids given and the rate limit's window
        (the benchmarks' mark between measurements)."""
        self.requests.clear()
        self._last_message_id.clear()
        self._send_window.clear()

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

    def push_update(self, update: dict) -> int:
        """Queue ``update`` (assigning ``update_id`` if missing); wake long polls, or deliver
        it to the webhook (:meth:`deliver_webhooks`)."""
        [update_id] = self.push_updates([update])
        return update_id

    def push_updates(self, updates: Iterable[dict]) -> list[int]:
        """Queue several updates at once (one wake-up); return their ids. An ``update_id``
        already present is kept, otherwise one is assigned. While a webhook is registered
        and delivered to (:meth:`deliver_webhooks`) they go to it, else to ``getUpdates``."""
        if self._delivery is None or not self.webhook:
            return self._updates.push(updates)
        queued = []
        for original in updates:
            update = dict(original)
            if "update_id" in update:
                ensure_update_ids_above(int(update["update_id"]))
            else:
                update["update_id"] = next_update_id()
            queued.append(update)
        self._delivery.push(queued)
        return [u["update_id"] for u in queued]

    # ------------------------------------------------------------------ webhooks

    async def deliver_webhooks(
        self, targets: Iterable[str] | None = None, **options: Any
    ) -> WebhookDelivery:
        """From now on, while the bot has a webhook registered (``setWebhook``), pushed updates
        are POSTed to ``targets`` (default: the URL the bot registered) instead of waiting
        for ``getUpdates``; the updates waiting when it registers go there too, and those not
        delivered yet when it deletes it wait for ``getUpdates`` again, as Telegram keeps
        them. ``options`` are :class:`WebhookDelivery`'s (timeout, backoff, max_backoff)."""
        if self._delivery is not None:
            msg = "webhook delivery already started"
            raise RuntimeError(msg)
        chosen = list(targets) if targets is not None else []
        if not chosen:
            if self.webhook_config is None:
                msg = "no targets given and no webhook registered yet"
                raise RuntimeError(msg)
            chosen = [self.webhook_config.url]
        delivery = WebhookDelivery(chosen, lambda: self.webhook_config, **options)
        await delivery.start()
        delivery.webhook_changed()
        self._delivery = delivery
        if self.webhook:
            delivery.push(self._updates.take_pending())
        return delivery

    @property
    def delivery(self) -> WebhookDelivery:
        if self._delivery is None:
            msg = "webhook delivery is not started (deliver_webhooks)"
            raise RuntimeError(msg)
        return self._delivery

    async def wait_delivered(self, timeout: float = 30.0) -> None:
        """Wait until every update pushed for webhook delivery was acknowledged."""
        await self.delivery.wait_acknowledged(timeout)

    @property
    def webhook_config(self) -> WebhookConfig | None:
        """The registration of the last ``setWebhook`` (None: none, or deleted)."""
        return WebhookConfig.from_params(self.webhook) if self.webhook else None

    def _set_webhook(self, params: dict[str, Any]) -> bool:
        if not params.get("url"):
            return self._delete_webhook(params)
        if not str(params["url"]).startswith(("https://", "http://127.0.0.1")):
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided")
        self.webhook = dict(params)
        if params.get("drop_pending_updates"):
            self._drop_pending()
        if self._delivery is not None:
            self._delivery.push(self._updates.take_pending())
            self._delivery.webhook_changed()
        return True

    def _delete_webhook(self, params: dict[str, Any]) -> bool:
        self.webhook = {}
        if params.get("drop_pending_updates"):
            self._drop_pending()
        if self._delivery is not None:
            self._updates.push(self._delivery.take_pending())
            self._delivery.webhook_changed()
        return True

    def _drop_pending(self) -> None:
        self._updates.drop_pending()
        if self._delivery is not None:
            self._delivery.drop_pending()

    def _webhook_info(self) -> dict[str, Any]:
        hook = self.webhook_config
        pending = self._delivery.pending if self._delivery is not None else 0
        info: dict[str, Any] = {
            "url": hook.url if hook is not None else "",
            "has_custom_certificate": False,
            "pending_update_count": pending + self._updates.pending,
        }
        if hook is not None:
            info["max_connections"] = hook.max_connections
            if hook.allowed_updates is not None:
                info["allowed_updates"] = hook.allowed_updates
        return info

    # ------------------------------------------------------------------ behaviour

    def fail_next(
        self,
        method: str,
        kind: str,
        *,
        times: int = 1,
        retry_after: int = 1,
        description: str | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail with ``kind`` (a key of
        ``faults.FAILURE_KINDS``; ``drop`` closes the connection without answering)."""
        self._failures.add(method, kind, times, retry_after, description)

    def block_chat(self, chat_id: int) -> None:
        """From now on every send* to ``chat_id`` answers 403 'bot was blocked'."""
        self._blocked_chats.add(chat_id)

    def unblock_chat(self, chat_id: int) -> None:
        self._blocked_chats.discard(chat_id)

    def set_latency(self, seconds: float) -> None:
        """Delay every answer but those of :attr:`latency_exempt` by ``seconds`` (0: none).

        The request is recorded on arrival, then waits; concurrent requests wait concurrently.
        """
        if seconds < 0:
            msg = f"latency must be >= 0, got {seconds!r}"
            raise ValueError(msg)
        self._latency = float(seconds)

    def set_handler(self, method: str, handler: Handler) -> None:
        """Answer ``method`` with ``handler(params)``, after injected failures, blocked chats
        and the rate limit. It may raise :meth:`error` to answer an error."""
        self._handlers[method.lower()] = handler

    @staticmethod
    def error(status: int, description: str) -> Exception:
        """Exception to raise from a :meth:`set_handler` handler to answer an error."""
        return ApiError(status, description)

    # ------------------------------------------------------------------ HTTP

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        record = RecordedRequest(
            method=method,
            params=await read_params(request, method),
            at=time.monotonic(),
            content_type=request.content_type,
        )
        self.requests.append(record)
        self._notify()
        if self._latency > 0 and method.lower() not in self.latency_exempt:
            await asyncio.sleep(self._latency)
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            result = await self._answer(method.lower(), record.params)
            status, payload = 200, {"ok": True, "result": result}
        except ApiError as error:
            status, payload = error.status, error.payload()
        except DroppedConnection:
            if request.transport is not None:
                request.transport.abort()
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

    def add_file(
        self, data: bytes, file_name: str = "visits.csv", mime_type: str = "text/csv"
    ) -> dict[str, Any]:
        """A file a user sends: the ``document`` of their message (getFile finds it)."""
        file_id = f"user-file-{len(self.files) + 1}"
        self.files[file_id] = data
        return {
            "file_id": file_id,
            "file_unique_id": f"uniq-{file_id}",
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": len(data),
        }

    async def _download(self, request: web.Request) -> web.StreamResponse:
        """``GET /file/bot<token>/<file_path>``, as Telegram serves files."""
        record = RecordedRequest(
            method="downloadFile", params={"path": request.match_info["path"]},
            at=time.monotonic(), content_type="",
        )  # fmt: skip
        self.requests.append(record)
        data = self.files.get(request.match_info["path"].removeprefix("documents/"))
        if request.match_info["token"] != self.token or data is None:
            record.response_status = 404
            self._notify()
            return web.Response(status=404, text="Not Found")
        record.response_status = 200
        self._notify()
        return web.Response(body=data, content_type="application/octet-stream")

    def _notify(self) -> None:
        event, self._recorded = self._recorded, asyncio.Event()
        event.set()

    # ------------------------------------------------------------------ Bot API methods

    async def _answer(self, method: str, params: dict[str, Any]) -> Any:
        self._failures.raise_next(method)
        if method.startswith("send") and params.get("chat_id") in self._blocked_chats:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if method in SEND_LIKE_METHODS and self.rate_limit is not None:
            self._send_window.admit(self.rate_limit, time.monotonic(), self.rate_limit_retry_after)
        handler = self._handlers.get(method)
        if handler is not None:
            result = handler(params)
            return await result if inspect.isawaitable(result) else result
        if method == "getupdates":
            if self.webhook:
                raise ApiError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first",
                )
            limit = min(max(int(params.get("limit") or 100), 1), 100)
            timeout = max(float(params.get("timeout") or 0), 0.0)
            return await self._updates.get(params.get("offset"), limit, timeout)
        if method == "getme":
            return dict(self.bot_user)
        if method == "getfile":
            file_id = str(params.get("file_id", ""))
            if file_id not in self.files:
                raise ApiError(400, "Bad Request: invalid file_id")
            return {
                "file_id": file_id,
                "file_unique_id": f"uniq-{file_id}",
                "file_size": len(self.files[file_id]),
                "file_path": f"documents/{file_id}",
            }
        if method == "sendmessage":
            return self._message(params, **self._text(params))
        if method == "senddocument":
            caption = {"caption": params["caption"]} if params.get("caption") else {}
            return self._message(params, document=self._document(params["document"]), **caption)
        if method == "sendphoto":
            caption = {"caption": params["caption"]} if params.get("caption") else {}
            photo = {**self._document(params["photo"]), "width": 512, "height": 512}
            return self._message(params, photo=[photo], **caption)
        if method == "editmessagetext":
            return self._message(params, **self._text(params), edit_date=int(time.time()))
        if method in ("answercallbackquery", "setmycommands", "deletemycommands", "leavechat"):
            return True
        if method == "setwebhook":
            return self._set_webhook(params)
        if method == "deletewebhook":
            return self._delete_webhook(params)
        if method == "getwebhookinfo":
            return self._webhook_info()
        raise ApiError(404, "Not Found: method not found")

    def _message(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        """The Message a send or an edit answers: a new id in its chat, or the edited one."""
        chat_id = params["chat_id"]
        message_id = params.get("message_id")
        if message_id is None:
            message_id = self._last_message_id.get(chat_id, 0) + 1
            self._last_message_id[chat_id] = message_id
        chat = (
            {"id": chat_id, "type": "private"}
            if chat_id > 0
            else {"id": chat_id, "type": "group", "title": "Fake group"}
        )
        return {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": chat,
            "from": dict(self.bot_user),
            **content,
        }

    @staticmethod
    def _text(params: dict[str, Any]) -> dict[str, Any]:
        """A message's text, its entities and an inline keyboard, as sent."""
        content = {k: params[k] for k in ("text", "entities") if params.get(k) is not None}
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            content["reply_markup"] = markup
        return content

    def _document(self, document: Any) -> dict[str, Any]:
        file_id = document if isinstance(document, str) else f"fake-document-{len(self.requests)}"
        return {"file_id": file_id, "file_unique_id": f"uniq-{file_id}"}
