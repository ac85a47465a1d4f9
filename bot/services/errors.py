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


class NotAllowed(ServiceError):
    """The actor may not do this (`bot.services.staff.StaffService.require`). `reason`:
    ``not_staff``, ``role`` (staff, not admin), ``env_admin`` (an admin of STAFF_IDS cannot be
    changed through the bot) or ``self`` (nobody removes or changes themselves)."""

    def __init__(self, reason: str) -> None:
        super().__init__("not_allowed", reason=reason)
        self.reason = reason
