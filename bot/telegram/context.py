"""The application as the update pipeline sees it: the services, and the one way to Telegram."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.delivery.sender import Sender
from bot.services.container import Services


@dataclass(frozen=True)
class AppContext(Services):
    """Long-lived application objects, built once in the factory: what services are made of
    (bot/services/container.py), which every surface shares, and the sender."""

    # The one way to Telegram: replies (after commit), reminders and alerts.
    sender: Sender = field(kw_only=True)
