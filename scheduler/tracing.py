"""The reminder rows a task is working on, for log lines (the bot's logging filter reads it).

The engine sets :data:`current_reminders` while it renders and sends one batch (each batch runs
in a task of its own, so batches sent concurrently do not see each other's ids). Ids only:
nothing about the patient or the visit.
"""

from __future__ import annotations

from contextvars import ContextVar

current_reminders: ContextVar[tuple[int, ...]] = ContextVar("current_reminders", default=())
