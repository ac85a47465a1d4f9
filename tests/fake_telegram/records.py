"""What the fake Bot API server records of each request it received."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


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
    """``time.monotonic()`` when the request arrived (before any latency)."""
    content_type: str
    """How the request was encoded (``application/json``, ``multipart/form-data``...)."""
    response_status: int = 0
    """HTTP status answered; 0 while a long poll is still pending, or for ``drop``."""
    response: dict[str, Any] | None = None
    """The JSON body answered (``None`` if no response was sent)."""
    answered_at: float | None = None
    """``time.monotonic()`` when the answer went out (after any latency); ``None`` while
    pending, or if the connection was dropped without an answer."""

    def __str__(self) -> str:
        params = json.dumps(self.params, ensure_ascii=False, default=repr)
        if len(params) > 300:
            params = params[:297] + "..."
        return f"{self.method} -> {self.response_status} {params}"
