"""Starting and stopping the bot process."""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import Awaitable, Callable
from datetime import time

from aiogram.exceptions import TelegramAPIError, TelegramNetworkError

from bot.config import Settings
from bot.content.validate import validate_content
from bot.db.connection import wal_checkpoint
from bot.db.migrate import upgrade
from bot.delivery.alert_outbox import check_staff_ids
from bot.factory import (
    Application,
    create_application,
    register_commands,
    register_staff_menus,
)
from bot.services.retention import RetentionService
from bot.web.ops import OpsServerError, serve_ops

log = logging.getLogger(__name__)

RETENTION_JOB = "retention-nightly"
RETENTION_AT = time(3, 30)
"""When the retention job runs: a quiet hour, wall time in the clinic's zone."""


class StartupError(Exception):
    """A problem the operator must fix; printed as one line, without a traceback."""


async def prepare_database(app: Application) -> None:
    await upgrade(app.db_engine)
    log.info("database schema is up to date")


def freeze_startup_heap() -> None:
    """Exempt what is alive once the bot has started from the cyclic garbage collector.

    After start-up some hundred thousand objects (aiogram's models, SQLAlchemy, jinja, the
    content) live as long as the process, and every full collection walks them again, while
    the event loop stands still, every few seconds under load (bench/README.md, "Measurements
    behind the design"). They are collected once here and frozen (`gc.freeze`); what the bot
    creates afterwards is collected as usual."""
    gc.collect()
    gc.freeze()


def _startup_hook(app: Application) -> Callable[[], Awaitable[None]]:
    async def on_startup() -> None:
        # Started inside the running loop (AsyncIOScheduler binds to it); its first pass sends
        # what was missed while the bot was down and is still useful.
        app.wakeup.start()
        schedule_retention(app)
        # Its first pass sends staff alerts left from before (queued, or leased by a process
        # that died).
        await app.alerts.start()

    return on_startup


def schedule_retention(app: Application) -> None:
    """The nightly retention job (bot/services/retention.py) on the reminder engine's
    scheduler, at RETENTION_AT in the clinic's zone, by the application's clock."""
    context = app.context
    retention = RetentionService(
        context.session_factory,
        context.clock,
        days=context.settings.retention_days,
        checkpoint=lambda: wal_checkpoint(app.db_engine),
    )
    app.wakeup.every_night(
        RETENTION_JOB, retention.run, at=RETENTION_AT, zone=context.settings.clinic_zone
    )


def _shutdown_hook(app: Application, grace: float) -> Callable[[], Awaitable[None]]:
    async def on_shutdown() -> None:
        inflight = app.inflight
        if inflight.in_flight:
            log.info("waiting for %d update(s) in flight", inflight.in_flight)
        if not await inflight.wait_idle(grace):
            log.warning("%d update(s) still running after %.0fs", inflight.in_flight, grace)
        await app.wakeup.shutdown(grace)
        # After the updates and the reminder pass: one last pass sends what they queued.
        await app.alerts.stop(grace)

    return on_shutdown


async def run_polling(
    settings: Settings, app: Application | None = None, *, handle_signals: bool = True
) -> None:
    """Validate content, migrate, register commands, then poll until SIGTERM/SIGINT.

    On a stop signal aiogram stops fetching updates; the shutdown hook then waits (up to
    SHUTDOWN_GRACE_SECONDS) for handlers still running, and only then are the Telegram session
    and the database closed."""
    problems = validate_content(settings.messages_dir, settings.default_language)
    if problems:
        raise StartupError("content in MESSAGES_DIR is invalid:\n  " + "\n  ".join(problems))
    app = app or create_application(settings)
    try:
        await prepare_database(app)
        try:
            await register_commands(app.bot, app.context.content)
        except (TelegramNetworkError, TelegramAPIError) as exc:
            # Polling retries the connection by itself; the command list is not worth dying for.
            log.warning("could not register commands yet: %s", type(exc).__name__)
        # The team's menus in their own chats (the sender logs and skips what fails).
        await register_staff_menus(app)
        try:
            # One warning per STAFF_IDS entry that cannot be reached (nobody pressed Start).
            await check_staff_ids(app.bot, app.context.settings.staff_ids)
        except (TelegramNetworkError, TelegramAPIError) as exc:
            log.warning("could not check STAFF_IDS yet: %s", type(exc).__name__)
        freeze_startup_heap()
        app.dispatcher.startup.register(_startup_hook(app))
        app.dispatcher.shutdown.register(_shutdown_hook(app, settings.shutdown_grace_seconds))
        async with contextlib.AsyncExitStack() as stack:
            # /healthz and /metrics on their own port while the bot runs, when OPS_PORT says.
            try:
                await stack.enter_async_context(serve_ops(app))
            except OpsServerError as exc:
                raise StartupError(str(exc)) from None
            # No drop_pending_updates: updates that arrived while the bot was down are
            # answered.
            await app.dispatcher.start_polling(
                app.bot,
                polling_timeout=settings.polling_timeout,
                allowed_updates=app.dispatcher.resolve_used_update_types(),
                handle_signals=handle_signals,
                close_bot_session=True,
            )
    finally:
        await app.bot.session.close()
        await app.db_engine.dispose()
        gc.unfreeze()  # for a process that goes on after the bot (tests, an embedding host)
        log.info("stopped")
