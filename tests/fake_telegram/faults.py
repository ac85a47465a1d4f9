"""The failures the fake Bot API server answers on purpose.

:class:`InjectedFailures` holds what ``fail_next`` asked for, per method; :class:`SendWindow`
is Telegram's flood control (a 429 above a number of messages a second, across every caller).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

FAILURE_KINDS: dict[str, tuple[int, str]] = {
    "retry_after": (429, "Too Many Requests: retry after {retry_after}"),
    "blocked": (403, "Forbidden: bot was blocked by the user"),
    "chat_not_found": (400, "Bad Request: chat not found"),
    "bad_request": (400, "Bad Request: injected failure"),
    "server_error": (500, "Internal Server Error"),
    "bad_gateway": (502, "Bad Gateway"),
    "unauthorized": (401, "Unauthorized"),
    "drop": (0, ""),
}
"""kind -> (HTTP status, description); ``drop`` closes the connection without an answer."""

SEND_LIKE_METHODS = frozenset(
    {
        "sendmessage",
        "sendphoto",
        "senddocument",
        "sendvideo",
        "sendanimation",
        "sendaudio",
        "sendvoice",
        "sendvideonote",
        "sendsticker",
        "sendmediagroup",
        "sendlocation",
        "sendvenue",
        "sendcontact",
        "sendpoll",
        "senddice",
        "copymessage",
        "forwardmessage",
    }
)
"""Lower-case methods that put a message into a chat: what Telegram's ~30 a second counts
(edits, callback answers and chat actions are not messages)."""


class ApiError(Exception):
    """Answer the request with a Bot API error (``"ok": false``)."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


class DroppedConnection(Exception):
    """Close the connection without answering."""


@dataclass
class _Failure:
    kind: str
    remaining: int
    retry_after: int
    description: str | None


class InjectedFailures:
    """Failures queued per lower-case method name, each for its next ``times`` calls."""

    def __init__(self) -> None:
        self._queues: dict[str, deque[_Failure]] = {}

    def add(
        self, method: str, kind: str, times: int, retry_after: int, description: str | None
    ) -> None:
        if kind not in FAILURE_KINDS:
            msg = f"unknown failure kind {kind!r}; expected one of {sorted(FAILURE_KINDS)}"
            raise ValueError(msg)
        if times < 1:
            msg = "times must be >= 1"
            raise ValueError(msg)
        queue = self._queues.setdefault(method.lower(), deque())
        queue.append(_Failure(kind, times, retry_after, description))

    def raise_next(self, method: str) -> None:
        """Raise the failure queued for this call of ``method``, if there is one."""
        queue = self._queues.get(method)
        if not queue:
            return
        failure = queue[0]
        failure.remaining -= 1
        if failure.remaining <= 0:
            queue.popleft()
        if failure.kind == "drop":
            raise DroppedConnection
        status, template = FAILURE_KINDS[failure.kind]
        description = failure.description or template.format(retry_after=failure.retry_after)
        retry_after = failure.retry_after if failure.kind == "retry_after" else None
        raise ApiError(status, description, retry_after)


class SendWindow:
    """Accepted message times over the last second, against a limit a second (a sliding
    window: the ``limit``-th send after any instant is the last one that second)."""

    def __init__(self) -> None:
        self._times: deque[float] = deque()
        self.refused = 0
        """429s answered since the last :meth:`clear`."""

    def admit(self, limit: float, now: float, retry_after: int = 1) -> None:
        """Count a send at ``now``, or raise Telegram's 429 (``retry_after`` seconds) when the
        last second already had ``limit``."""
        while self._times and self._times[0] <= now - 1.0:
            self._times.popleft()
        if len(self._times) >= limit:
            self.refused += 1
            raise ApiError(
                429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after
            )
        self._times.append(now)

    def clear(self) -> None:
        self._times.clear()
        self.refused = 0
