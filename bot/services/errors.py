"""Errors services raise for the Telegram layer to turn into kind answers."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """A refusal with a `code` that names the template fragment explaining it."""

    def __init__(self, code: str, **details: Any) -> None:
        super().__init__(code)
        self.code = code
        self.details = details


class NotFound(ServiceError):
    def __init__(self) -> None:
        super().__init__("not_found")


class ConsentRequired(ServiceError):
    def __init__(self) -> None:
        super().__init__("consent_required")
