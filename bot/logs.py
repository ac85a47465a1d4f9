"""Logging that keeps health data out of the logs.

Logs never hold message text, names, phone numbers, appointment times or Telegram ids, at any
level. Chats appear as :func:`chat_ref`, a keyed digest that tells one chat from another
within a process (enough to follow a failure) but cannot be turned back into an id. Database
drivers log every statement with its values at DEBUG/INFO, so their loggers are held at WARNING
whatever ``LOG_LEVEL`` says, and engines are built with ``hide_parameters`` so errors carry no
values.

Every record carries the tracing context of the task that wrote it (:class:`TraceFilter`):
``update_id`` while an update is handled (set by the outermost middleware, see
:func:`trace_update`) and ``reminder_id`` while reminder rows are rendered and sent (the
engine's ``scheduler.tracing.current_reminders``). ``LOG_FORMAT=json`` writes one JSON object
per line (:class:`JsonFormatter`); ``text`` one readable line.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

from scheduler.tracing import current_reminders

# Loggers that print statement values (SQLAlchemy's echo, aiosqlite's "executing ...", asyncpg)
# or chat ids and names (aiogram's event log) below WARNING.
QUIET_LOGGERS = (
    "sqlalchemy",
    "sqlalchemy.engine",
    "sqlalchemy.pool",
    "sqlalchemy.orm",
    "aiosqlite",
    "asyncpg",
    "aiogram.event",
)

LogFormat = Literal["text", "json"]

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(trace)s: %(message)s"

_KEY = secrets.token_bytes(16)

current_update: ContextVar[int | None] = ContextVar("current_update", default=None)


def chat_ref(chat_id: int | str | None) -> str:
    """A stand-in for a chat id in logs: stable within this process, not reversible."""
    if chat_id is None:
        return "chat#-"
    digest = hashlib.blake2b(str(chat_id).encode(), key=_KEY, digest_size=4).hexdigest()
    return f"chat#{digest}"


@contextmanager
def trace_update(update_id: int) -> Iterator[None]:
    """Every record written while the block runs (in this task and the tasks it starts)
    carries ``update_id``."""
    token = current_update.set(update_id)
    try:
        yield
    finally:
        current_update.reset(token)


class TraceFilter(logging.Filter):
    """Adds ``update_id``, ``reminder_id`` (None when not set) and ``trace`` (both as a short
    text for the text format, empty when neither is set) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        update_id = current_update.get()
        reminders = current_reminders.get()
        reminder_id: int | list[int] | None
        if not reminders:
            reminder_id = None
        elif len(reminders) == 1:
            reminder_id = reminders[0]
        else:
            reminder_id = list(reminders)
        record.update_id = update_id
        record.reminder_id = reminder_id
        parts = []
        if update_id is not None:
            parts.append(f"update={update_id}")
        if reminders:
            parts.append("reminder=" + ",".join(str(r) for r in reminders))
        record.trace = f" [{' '.join(parts)}]" if parts else ""
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, the tracing
    fields that are set, and the exception's type and traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in ("update_id", "reminder_id"):
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info and record.exc_info[0] is not None:
            entry["exc_type"] = record.exc_info[0].__name__
            entry["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def make_handler(log_format: LogFormat = "text", stream: TextIO | None = None) -> logging.Handler:
    """A stream handler (stderr by default) in the given format, with the tracing filter."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.addFilter(TraceFilter())
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    return handler


def quiet_sensitive_loggers() -> None:
    """Hold the loggers that would print values or ids at WARNING, at any LOG_LEVEL."""
    for name in QUIET_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET or logger.level < logging.WARNING:
            logger.setLevel(logging.WARNING)


def configure_logging(
    level: str,
    log_format: LogFormat = "text",
    stream: TextIO | None = None,
    *,
    force: bool = False,
) -> logging.Handler | None:
    """Send every record of the process (the root logger's) to one handler in `log_format`.

    As `logging.basicConfig`: a process whose root logger already has handlers (an embedding
    host, a test runner) is left as it is, unless `force` replaces them. The loggers that
    would print values are held at WARNING either way. Returns the handler installed."""
    quiet_sensitive_loggers()
    root = logging.getLogger()
    if root.handlers and not force:
        return None
    handler = make_handler(log_format, stream)
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return handler
