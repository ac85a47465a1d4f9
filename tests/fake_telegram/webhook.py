"""Telegram's side of a webhook: pushed updates POSTed to the bot instead of handed out by
``getUpdates``.

The bot registers its webhook with ``setWebhook`` (recorded by the server as a
:class:`WebhookConfig`); :class:`WebhookDelivery` then POSTs each pushed update, as JSON, with
the ``X-Telegram-Bot-Api-Secret-Token`` header of that registration, to its targets. Several
targets stand for a load balancer in front of several replicas: each attempt goes to the next
target in turn (round-robin). As Telegram does, an update is delivered again until a target
answers 2xx: a non-2xx answer, a refused or dropped connection or a timeout sends it to the
next target at once, and after a full round of failures it waits a little before the next.

Updates of one chat are delivered one at a time, in the order pushed (the next only once the
previous was acknowledged); other chats go ahead concurrently, up to the registration's
``max_connections`` (Telegram's default 40).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
DEFAULT_MAX_CONNECTIONS = 40


@dataclass(frozen=True)
class WebhookConfig:
    """What a ``setWebhook`` call registered."""

    url: str
    secret_token: str | None
    max_connections: int
    allowed_updates: list[str] | None

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> WebhookConfig:
        allowed = params.get("allowed_updates")
        return cls(
            url=str(params["url"]),
            secret_token=params.get("secret_token") or None,
            max_connections=int(params.get("max_connections") or DEFAULT_MAX_CONNECTIONS),
            allowed_updates=list(allowed) if allowed is not None else None,
        )


@dataclass
class DeliveryAttempt:
    """One POST of one update to one target."""

    update_id: int
    target: str
    at: float
    """``time.monotonic()`` when the POST started."""
    status: int
    """The HTTP status answered; 0 when no answer came (refused, dropped, timed out)."""
    error: str | None = None
    """Why no answer came (the exception's class name)."""
    answered_at: float | None = None

    @property
    def acknowledged(self) -> bool:
        return 200 <= self.status < 300


def chat_of(update: dict[str, Any]) -> int | None:
    """The chat an update belongs to (its user, for a button press), or None."""
    for key, inner in update.items():
        if key == "update_id" or not isinstance(inner, dict):
            continue
        if key == "callback_query":
            message = inner.get("message") or {}
            chat = (message.get("chat") or {}).get("id")
            return int(chat) if chat is not None else int(inner["from"]["id"])
        chat = (inner.get("chat") or {}).get("id")
        if chat is not None:
            return int(chat)
        sender = (inner.get("from") or {}).get("id")
        return int(sender) if sender is not None else None
    return None


class WebhookDelivery:
    """Delivers pushed updates to ``targets`` (see the module's doc). ``config`` returns the
    current registration, or None while there is none (nothing is delivered until there is)."""

    def __init__(
        self,
        targets: Sequence[str],
        config: Callable[[], WebhookConfig | None],
        *,
        timeout: float = 60.0,
        backoff: float = 0.1,
        max_backoff: float = 2.0,
    ) -> None:
        self.targets = list(targets)
        self._config = config
        self.timeout = timeout
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.attempts: list[DeliveryAttempt] = []
        self.acknowledged: dict[int, str] = {}
        """update_id -> the target that acknowledged it."""
        self.replies: list[tuple[int, str]] = []
        """(update_id, body) of 2xx answers that carried a Bot API call (a webhook may answer
        with one method call): the fake does not run them, so a test can see the bot relied on
        it."""
        self.pushed = 0
        self._outstanding: set[int] = set()
        self._queues: dict[Hashable, deque[dict[str, Any]]] = {}
        self._ready: deque[Hashable] = deque()
        self._busy: set[Hashable] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._turn = itertools.count()
        self._loose = itertools.count()
        self._changed = asyncio.Event()
        self._registered = asyncio.Event()
        self._http: aiohttp.ClientSession | None = None
        self._pump: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        if self._pump is not None:
            msg = "WebhookDelivery already started"
            raise RuntimeError(msg)
        self._http = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.timeout),
            connector=aiohttp.TCPConnector(limit=0),
        )
        self._pump = asyncio.create_task(self._run())

    async def stop(self) -> None:
        pump, self._pump = self._pump, None
        tasks = [*([pump] if pump is not None else []), *self._tasks]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._http is not None:
            await self._http.close()
            self._http = None

    def webhook_changed(self) -> None:
        """The registration changed (the server calls this on setWebhook/deleteWebhook)."""
        if self._config() is not None:
            self._registered.set()
        else:
            self._registered.clear()
        self._notify()

    # ------------------------------------------------------------------ updates

    def push(self, updates: Iterable[dict[str, Any]]) -> None:
        """Queue updates (each with its ``update_id``) for delivery."""
        for update in updates:
            chat = chat_of(update)
            key: Hashable = chat if chat is not None else ("update", next(self._loose))
            queue = self._queues.setdefault(key, deque())
            queue.append(update)
            self.pushed += 1
            self._outstanding.add(int(update["update_id"]))
            if key not in self._busy and len(queue) == 1:
                self._ready.append(key)
        self._notify()

    def drop_pending(self) -> int:
        """Forget the updates not handed to a target yet (``drop_pending_updates``)."""
        return len(self.take_pending())

    def take_pending(self) -> list[dict[str, Any]]:
        """Take back the updates not handed to a target yet (the webhook was deleted: they
        wait for ``getUpdates`` again), in push order."""
        taken: list[dict[str, Any]] = []
        for key, queue in list(self._queues.items()):
            taken.extend(queue)
            self._outstanding.difference_update(u["update_id"] for u in queue)
            queue.clear()
            if key not in self._busy:
                del self._queues[key]
        self._ready.clear()
        self._notify()
        return sorted(taken, key=lambda u: int(u["update_id"]))

    @property
    def pending(self) -> int:
        """Pushed updates not acknowledged yet (nor dropped)."""
        return len(self._outstanding)

    async def wait_acknowledged(self, timeout: float) -> None:
        """Wait until every pushed update was acknowledged by a target."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.pending:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(self._report(timeout))
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    def _report(self, timeout: float) -> str:
        failed = [a for a in self.attempts if not a.acknowledged][-10:]
        lines = [
            f"{self.pending} of {self.pushed} pushed updates not acknowledged within "
            f"{timeout:.1f}s; webhook {'registered' if self._config() else 'NOT registered'}; "
            f"{len(self.attempts)} attempts, last failures:"
        ]
        lines += [f"  {a}" for a in failed] or ["  <none>"]
        return "\n".join(lines)

    # ------------------------------------------------------------------ delivering

    def _notify(self) -> None:
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    async def _run(self) -> None:
        while True:
            await self._registered.wait()
            config = self._config()
            limit = config.max_connections if config is not None else DEFAULT_MAX_CONNECTIONS
            while self._ready and len(self._tasks) < limit:
                key = self._ready.popleft()
                update = self._queues[key].popleft()
                self._busy.add(key)
                task = asyncio.create_task(self._deliver(key, update))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            await self._changed.wait()

    async def _deliver(self, key: Hashable, update: dict[str, Any]) -> None:
        failures = 0
        body = json.dumps(update, ensure_ascii=False).encode()
        try:
            while True:
                await self._registered.wait()
                target = self.targets[next(self._turn) % len(self.targets)]
                attempt = await self._post(target, update["update_id"], body)
                self.attempts.append(attempt)
                if attempt.acknowledged:
                    self.acknowledged[attempt.update_id] = target
                    self._outstanding.discard(attempt.update_id)
                    return
                failures += 1
                if failures % len(self.targets) == 0:
                    rounds = failures // len(self.targets)
                    await asyncio.sleep(min(self.backoff * 2 ** (rounds - 1), self.max_backoff))
        finally:
            self._busy.discard(key)
            queue = self._queues.get(key)
            if queue:
                self._ready.append(key)
            elif queue is not None:
                del self._queues[key]
            self._notify()

    async def _post(self, target: str, update_id: int, body: bytes) -> DeliveryAttempt:
        assert self._http is not None
        config = self._config()
        headers = {"Content-Type": "application/json"}
        if config is not None and config.secret_token is not None:
            headers[SECRET_HEADER] = config.secret_token
        attempt = DeliveryAttempt(update_id, target, time.monotonic(), 0)
        try:
            async with self._http.post(target, data=body, headers=headers) as response:
                attempt.status = response.status
                answer = (await response.read()).decode(errors="replace").strip()
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            attempt.error = type(exc).__name__
            return attempt
        attempt.answered_at = time.monotonic()
        if attempt.acknowledged and answer not in ("", "{}", "null"):
            self.replies.append((update_id, answer[:500]))
        return attempt
