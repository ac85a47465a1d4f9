"""The one way the bot sends messages on its own initiative (reminders, staff alerts).

:class:`Sender` respects Telegram's limits (a global messages/second rate, a minimum interval
per chat, ``retry_after`` pauses that hold back *every* caller) and classifies failures into
a :class:`~scheduler.records.SendOutcome` the caller can act on (the reminder engine's own
type: this is its sender).  It never logs or reports the message text.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from aiogram import Bot
from aiogram.exceptions import (
    AiogramError,
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import SendDocument, SendMessage, SendPhoto, TelegramMethod
from aiogram.types import InlineKeyboardMarkup

from bot.config import SEND_RATE
from bot.delivery.rate_limit import Limiter, SharedRate
from bot.logs import chat_ref
from bot.metrics import Metrics
from scheduler.records import SendOutcome, SendResult

__all__ = ["MAX_RETRY_AFTER_PAUSES", "CallResult", "Sender"]

T = TypeVar("T")

log = logging.getLogger(__name__)

_MESSAGES = (SendMessage, SendPhoto, SendDocument)
"""The answers that put a message into a chat: Telegram's ~30 a second counts these (edits,
button acknowledgements and command menus are not messages)."""

MAX_RETRY_AFTER_PAUSES = 5
"""``retry_after`` answers retried in place per message before giving up with RETRY."""

# Errors that may heal if the same request is tried again a little later.
_TRANSIENT = (TelegramServerError, TelegramNetworkError, ClientDecodeError, TimeoutError)

# 400 descriptions that mean "this chat cannot be reached", not "our request was wrong".
_UNREACHABLE_MARKERS = (
    "chat not found",
    "user is deactivated",
    "bot was kicked",
    "peer_id_invalid",
    "user not found",
)


@dataclass(frozen=True)
class CallResult(Generic[T]):
    """What became of one answer to an update (:meth:`Sender.answer`)."""

    outcome: SendOutcome
    value: T | None = None
    error: str | None = None
    description: str = ""
    """Telegram's description for BAD_REQUEST (lower case), so callers can tell "message is
    not modified" from other 400s; never the message text."""
    retry_in: float | None = None
    """For RETRY: suggested seconds before the caller tries again."""


class Sender:
    """Rate-limited, failure-classifying ``sendMessage`` shared by all concurrent callers.

    * ``rate``: global messages/second (``0``/``None`` = unlimited); grants are FIFO and at
      least ``1 / rate`` s apart.
    * ``per_chat_interval``: minimum seconds between the starts of two requests to the same
      chat (``0`` = off).  Sends to one chat keep their order; other chats are not held up.
    * ``shared``: the global rate and the pauses shared with the other replicas (Redis);
      unset, they are this process's alone.
    * ``TelegramRetryAfter``: pauses *all* sending for ``retry_after`` (at most
      ``max_retry_after``) and retries the message, up to 5 times per message.
    * 5xx, network errors, timeouts: up to ``attempts`` tries with exponential backoff
      ``backoff_base * 2**k`` (at most ``backoff_max``), then RETRY.
    """

    def __init__(
        self,
        bot: Bot,
        *,
        rate: float | None = SEND_RATE,
        per_chat_interval: float = 1.0,
        attempts: int = 3,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        max_retry_after: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        metrics: Metrics | None = None,
        shared: SharedRate | None = None,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be >= 1")
        self.bot = bot
        self.attempts = attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_retry_after = max_retry_after
        self._clock = clock
        self._sleep = sleep
        self.metrics = metrics
        self._limiter = Limiter(
            rate=rate,
            per_chat_interval=per_chat_interval or 0.0,
            clock=clock,
            sleep=sleep,
            shared=shared,
        )
        self._logged_errors: set[type[BaseException]] = set()
        self.stats: dict[str, int] = {
            "sent": 0,
            "blocked": 0,
            "bad_request": 0,
            "retry": 0,
            "retry_after_pauses": 0,
            "transient_errors": 0,
        }

    @property
    def paused_until(self) -> float:
        """Monotonic time until which all sending is paused (0 if not paused)."""
        until = self._limiter.rate.paused_until
        return until if until > self._clock() else 0.0

    @property
    def limiter(self) -> Limiter:
        return self._limiter

    async def send(
        self,
        chat_id: int,
        text: str,
        *,
        reply_markup: InlineKeyboardMarkup | None = None,
        disable_notification: bool = False,
        protect_content: bool = False,
    ) -> SendResult:
        """Send one message (the bot's default parse mode applies) and classify the result."""
        options: dict[str, Any] = {}
        if reply_markup is not None:
            options["reply_markup"] = reply_markup
        # Only pass flags that were asked for, so the bot's defaults keep applying otherwise.
        if disable_notification:
            options["disable_notification"] = True
        if protect_content:
            options["protect_content"] = True
        return await self._send(chat_id, text, options)

    async def answer(self, method: TelegramMethod[T]) -> CallResult[T]:
        """Answer an update: a reply, an edit, a picture (an upload), a command menu or a
        button acknowledgement.

        A message among the answers (a reply, a picture) takes a slot of ``rate`` ahead of the
        queue: it does not wait behind a reminder burst (only for the next free slot, shared
        by the replicas, a few tens of ms), and the reminders yield, so answers and reminders
        together stay at ``rate``, under Telegram's cap. Other answers (button
        acknowledgements, edits, command menus) are not messages and take no slot. A
        ``retry_after`` pause holds every answer back like every send, and a 429 one meets
        pauses all sending. Failures are classified as for :meth:`send`, logged without the
        text, and never raised."""

        # A message's text or a picture's caption: kept out of the logged error descriptions.
        text = getattr(method, "text", None) or getattr(method, "caption", None)
        is_message = isinstance(method, _MESSAGES)
        result = await self._call(
            method,
            "answer",
            getattr(method, "chat_id", None),
            text or "",
            self._limiter.acquire_first if is_message else self._limiter.wait_unpaused,
        )
        self._count("answer", result.outcome)
        return result

    # ------------------------------------------------------------------ internals

    async def _send(self, chat_id: int, text: str, options: dict[str, Any]) -> SendResult:
        method = SendMessage(chat_id=chat_id, text=text, **options)
        async with self._limiter.chat(chat_id) as turn:
            called = await self._call(method, "send", chat_id, text, turn.start)
        message = called.value
        result = SendResult(
            called.outcome,
            message_id=message.message_id if message is not None else None,
            error=called.error,
            retry_in=called.retry_in,
        )
        self.stats[result.outcome.value] += 1
        self._count("send", result.outcome)
        return result

    def _count(self, kind: str, outcome: SendOutcome) -> None:
        if self.metrics is not None:
            self.metrics.telegram_result(kind, outcome.value)

    async def _request(self, method: TelegramMethod[T], kind: str) -> T:
        """One Bot API call, timed for the metrics."""
        started = self._clock()
        try:
            return await self.bot(method)
        finally:
            if self.metrics is not None:
                self.metrics.telegram_call(kind, self._clock() - started)

    async def _call(
        self,
        method: TelegramMethod[T],
        kind: str,
        chat_id: int | str | None,
        text: str,
        before_each_try: Callable[[], Awaitable[None]],
    ) -> CallResult[T]:
        """Call the Bot API until the outcome is known; the one place failures are classified.

        ``before_each_try`` waits for the right to send (the rate limiter's turn, or only the
        end of a ``retry_after`` pause). ``kind`` ("send", "answer") starts each log line."""
        where = chat_ref(chat_id)
        failures = 0  # transient failures (5xx, network, timeout)
        pauses = 0  # retry_after answers
        while True:
            await before_each_try()
            try:
                value = await self._request(method, kind)
            except TelegramRetryAfter as exc:
                pauses += 1
                self.stats["retry_after_pauses"] += 1
                if self.metrics is not None:
                    self.metrics.flood_wait()
                wait = min(max(float(exc.retry_after), 0.0), self.max_retry_after)
                await self._limiter.pause(wait)
                if pauses > MAX_RETRY_AFTER_PAUSES:
                    log.warning(
                        "%s to chat %s: flood control persisted after %d pauses; giving up",
                        kind,
                        where,
                        MAX_RETRY_AFTER_PAUSES,
                    )
                    return CallResult(
                        SendOutcome.RETRY,
                        error=self._describe(exc, text),
                        retry_in=float(exc.retry_after),
                    )
                log.warning(
                    "%s to chat %s: flood control, pausing all sends for %.1fs", kind, where, wait
                )
            except TelegramForbiddenError as exc:
                log.info("%s to chat %s: blocked (%s)", kind, where, type(exc).__name__)
                return CallResult(SendOutcome.BLOCKED, error=self._describe(exc, text))
            except TelegramBadRequest as exc:
                error = self._describe(exc, text)
                description = str(exc.message or "").lower()
                if any(marker in description for marker in _UNREACHABLE_MARKERS):
                    log.info("%s to chat %s: unreachable (%s)", kind, where, type(exc).__name__)
                    return CallResult(SendOutcome.BLOCKED, error=error, description=description)
                # An edit that changes nothing is not a problem worth a warning.
                level = logging.DEBUG if "not modified" in description else logging.WARNING
                log.log(level, "%s to chat %s: bad request: %s", kind, where, error)
                return CallResult(SendOutcome.BAD_REQUEST, error=error, description=description)
            except TelegramEntityTooLarge as exc:  # a TelegramNetworkError, but won't heal
                error = self._describe(exc, text)
                log.warning("%s to chat %s: bad request: %s", kind, where, error)
                return CallResult(SendOutcome.BAD_REQUEST, error=error)
            except _TRANSIENT as exc:
                failures += 1
                self.stats["transient_errors"] += 1
                delay = min(self.backoff_base * 2 ** (failures - 1), self.backoff_max)
                if failures >= self.attempts:
                    error = self._describe(exc, text)
                    log.warning(
                        "%s to chat %s: giving up after %d attempts: %s",
                        kind,
                        where,
                        failures,
                        error,
                    )
                    return CallResult(SendOutcome.RETRY, error=error, retry_in=delay)
                log.info(
                    "%s to chat %s: attempt %d failed (%s); retrying in %.2fs",
                    kind,
                    where,
                    failures,
                    type(exc).__name__,
                    delay,
                )
                await self._sleep(delay)
            except TelegramAPIError as exc:  # unauthorized, conflict, not found, migrated...
                error = self._describe(exc, text)
                level = logging.WARNING if type(exc) in self._logged_errors else logging.ERROR
                self._logged_errors.add(type(exc))
                log.log(level, "%s to chat %s: unexpected Telegram error: %s", kind, where, error)
                return CallResult(SendOutcome.RETRY, error=error, retry_in=self.backoff_max)
            else:
                log.debug("%s to chat %s: sent", kind, where)
                return CallResult(SendOutcome.SENT, value=value)

    def _describe(self, exc: BaseException, text: str) -> str:
        """Class name + Telegram's description, scrubbed of the text and the bot token."""
        if isinstance(exc, AiogramError):
            detail = str(getattr(exc, "message", "") or "")  # not str(exc): may carry payloads
        else:
            detail = str(exc)
        error = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
        token = getattr(self.bot, "token", "")
        if token:
            error = error.replace(token, "<token>")
        if len(text.strip()) >= 6 and text in error:
            error = error.replace(text, "<message text>")
        return error
