"""Logging that keeps health data out of the logs.

Logs never hold message text, names, appointment times or Telegram ids, at any level. Chats
appear as :func:`chat_ref`, a keyed digest that tells one chat from another within a process
(enough to follow a failure) but cannot be turned back into an id. Database drivers log every
statement with its values at DEBUG/INFO, so their loggers are held at WARNING whatever
``LOG_LEVEL`` says, and engines are built with ``hide_parameters`` so errors carry no values.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import sys

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

_KEY = secrets.token_bytes(16)


def chat_ref(chat_id: int | str | None) -> str:
    """A stand-in for a chat id in logs: stable within this process, not reversible."""
    if chat_id is None:
        return "chat#-"
    digest = hashlib.blake2b(str(chat_id).encode(), key=_KEY, digest_size=4).hexdigest()
    return f"chat#{digest}"


def quiet_sensitive_loggers() -> None:
    """Hold the loggers that would print values or ids at WARNING, at any LOG_LEVEL."""
    for name in QUIET_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET or logger.level < logging.WARNING:
            logger.setLevel(logging.WARNING)


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    quiet_sensitive_loggers()
