"""Starting and stopping the bot process."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import logging
import signal
from collections.abc import Awaitable, Callable
from datetime import time

from aiogram.webhook.aiohttp_server import setup_application
from aiohttp import web

from bot.config import Settings
from bot.content.validate import validate_content
from bot.db.connection import wal_checkpoint
from bot.db.migrate import upgrade
from bot.delivery.outbox import check_staff_ids
from bot.factory import (
    Application,
    SetupError,
    create_application,
    register_commands,
    register_staff_menus,
)
from bot.services.retention import RetentionService
from bot.telegram.telegram_health import WEBHOOK_CHECK_SECONDS
from bot.web.app import WebServerError, build_web_app, serve_api_while_polling
from bot.web.ops import OpsServerError, serve_ops
from bot.web.webhook import WebhookRefused, check_webhook, set_webhook

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
        # The same for the signed events to the clinic's systems.
        await app.events.start()

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
        await app.events.stop(grace)

    return on_shutdown


def _check_content(settings: Settings) -> None:
    problems = validate_content(settings.messages_dir, settings.default_language)
    if problems:
        raise StartupError("content in MESSAGES_DIR is invalid:\n  " + "\n  ".join(problems))


def _create(settings: Settings) -> Application:
    try:
        return create_application(settings)
    except SetupError as exc:
        raise StartupError(str(exc)) from None


async def _probe(what: str, step: Awaitable[object]) -> None:
    """A start-up check that must not stop the start: whatever it meets (Telegram
    unreachable, an error, an answer the bot cannot read: a self-hosted Bot API server of
    another version, a proxy's error page), one line naming what could not be verified, and
    the start goes on. The exception's class only: its text may quote an answer."""
    try:
        await step
    except Exception as exc:
        log.warning("start-up: could not verify %s (%s); going on", what, type(exc).__name__)


async def _start_up(app: Application) -> None:
    """What both modes do before the first update: migrate, publish the command menus, check
    STAFF_IDS, learn the bot's username. Only the database stops the start; the checks of
    Telegram say in one line what they could not verify (the modes retry Telegram by
    themselves)."""
    await prepare_database(app)
    # Polling retries the connection by itself; the command list is not worth dying for.
    menus = register_commands(app.bot, app.context.content)
    await _probe("the command menus (setMyCommands)", menus)
    # The team's menus in their own chats (the sender logs and skips what fails).
    await _probe("the team's command menus", register_staff_menus(app))
    # One warning per STAFF_IDS entry that cannot be reached (nobody pressed Start).
    await _probe("STAFF_IDS", check_staff_ids(app.bot, app.context.settings.staff_ids))
    # The bot's username, for the deep links handlers make (they never ask Telegram).
    await _probe("the bot's username (getMe)", app.identity.learn(app.bot))


async def _close(app: Application) -> None:
    await app.bot.session.close()
    await app.db_engine.dispose()
    if app.redis is not None:
        # Last: the updates in flight and the final alert pass used it (state, send limits).
        await app.redis.aclose()
    gc.unfreeze()  # for a process that goes on after the bot (tests, an embedding host)
    log.info("stopped")


async def _leave_webhook_mode(app: Application) -> None:
    """Polling after webhook mode: Telegram refuses getUpdates while a webhook is set, so a
    webhook left from before is removed (its waiting updates kept), and the log says so."""

    async def leave() -> None:
        info = await app.bot.get_webhook_info()
        if info.url:
            log.warning("a webhook was set; removing it, as this process polls")
            await app.bot.delete_webhook(drop_pending_updates=False)

    await _probe("that no webhook is set (getWebhookInfo)", leave())


async def _start_ops(stack: contextlib.AsyncExitStack, app: Application) -> None:
    """/healthz and /metrics on their own port while the bot runs, when OPS_PORT says (off by
    default when polling, 9101 in webhook mode)."""
    try:
        await stack.enter_async_context(serve_ops(app))
    except OpsServerError as exc:
        raise StartupError(str(exc)) from None


async def _start_api(stack: contextlib.AsyncExitStack, app: Application) -> None:
    """Polling mode: the HTTP API on WEB_HOST:WEB_PORT while the bot runs, when API_ENABLED
    (webhook mode serves it with the webhook)."""
    try:
        await stack.enter_async_context(serve_api_while_polling(app))
    except WebServerError as exc:
        raise StartupError(str(exc)) from None


async def run_polling(
    settings: Settings, app: Application | None = None, *, handle_signals: bool = True
) -> None:
    """Validate content, migrate, register commands, then poll until SIGTERM/SIGINT.

    On a stop signal aiogram stops fetching updates; the shutdown hook then waits (up to
    SHUTDOWN_GRACE_SECONDS) for handlers still running, and only then are the Telegram session
    and the database closed."""
    _check_content(settings)
    app = app or _create(settings)
    try:
        await _start_up(app)
        await _leave_webhook_mode(app)
        freeze_startup_heap()
        app.dispatcher.startup.register(_startup_hook(app))
        app.dispatcher.shutdown.register(_shutdown_hook(app, settings.shutdown_grace_seconds))
        async with contextlib.AsyncExitStack() as stack:
            await _start_ops(stack, app)
            await _start_api(stack, app)
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
        await _close(app)


WEBHOOK_RETRY_SECONDS = 30.0
"""How often setWebhook is tried again when Telegram could not be reached at start-up."""


async def _keep_setting_webhook(app: Application) -> None:
    while True:
        await asyncio.sleep(WEBHOOK_RETRY_SECONDS)
        try:
            if await set_webhook(app):
                return
        except WebhookRefused as exc:
            log.error("Telegram refused WEBHOOK_URL: %s", exc)
            return
        log.warning("could not set the webhook yet; trying again in %.0fs", WEBHOOK_RETRY_SECONDS)


async def _watch_webhook(app: Application) -> None:
    """Ask Telegram for the webhook now and every WEBHOOK_CHECK_SECONDS (/healthz: whether it
    still is WEBHOOK_URL, and a Bot API call that succeeds while no update comes)."""
    while True:
        try:
            await check_webhook(app)
        except Exception as exc:  # the next check is a minute away; the class only
            log.warning("could not ask Telegram for the webhook (%s)", type(exc).__name__)
        await asyncio.sleep(WEBHOOK_CHECK_SECONDS)


async def run_webhook(
    settings: Settings,
    app: Application | None = None,
    *,
    handle_signals: bool = True,
    stop: asyncio.Event | None = None,
) -> None:
    """Webhook mode: the same start-up as polling, then Telegram's updates arrive over HTTP
    (bot/web: WEB_HOST:WEB_PORT, WEBHOOK_PATH) until SIGTERM/SIGINT (or ``stop``).

    Telegram is told the address once the server listens (setWebhook, the same from every
    replica). On a stop signal the server stops accepting, the shutdown hook waits (up to
    SHUTDOWN_GRACE_SECONDS) for the updates in flight, whose answers still reach Telegram,
    then the reminder engine and the alert outbox stop and everything is closed. The webhook
    stays set: the other replicas go on serving it."""
    _check_content(settings)
    app = app or _create(settings)
    stop = stop or asyncio.Event()
    signals = (signal.SIGTERM, signal.SIGINT) if handle_signals else ()
    try:
        await _start_up(app)
        grace = settings.shutdown_grace_seconds
        app.dispatcher.startup.register(_startup_hook(app))
        app.dispatcher.shutdown.register(_shutdown_hook(app, grace))
        async with contextlib.AsyncExitStack() as stack:
            await _start_ops(stack, app)
            await _serve_webhook(settings, app, stop, signals)
    except WebhookRefused as exc:
        raise StartupError(f"Telegram refused WEBHOOK_URL: {exc}") from None
    except OSError as exc:
        if exc.errno in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL):
            raise StartupError(
                f"cannot listen on {settings.web_host}:{settings.web_port}: {exc.strerror}"
            ) from None
        raise
    finally:
        await _close(app)


async def _serve_webhook(
    settings: Settings, app: Application, stop: asyncio.Event, signals: tuple[signal.Signals, ...]
) -> None:
    """The web application until ``stop``: listen, tell Telegram, wait, shut down gracefully."""
    loop = asyncio.get_running_loop()
    grace = settings.shutdown_grace_seconds
    web_app = build_web_app(app)
    # aiogram's own wiring of the dispatcher's start-up and shutdown into aiohttp's.
    setup_application(web_app, app.dispatcher, bot=app.bot)
    # Past the grace the shutdown hook gave up waiting: requests still open are cut.
    runner = web.AppRunner(
        web_app, handle_signals=False, access_log=None, shutdown_timeout=grace + 1.0
    )
    await runner.setup()  # the dispatcher's start-up: reminder engine, alert outbox
    retry: asyncio.Task[None] | None = None
    watch: asyncio.Task[None] | None = None
    try:
        site = web.TCPSite(runner, settings.web_host, settings.web_port)
        await site.start()
        for signum in signals:
            loop.add_signal_handler(signum, stop.set)
        log.info(
            "listening on %s:%d, webhook path %s",
            settings.web_host,
            settings.web_port,
            settings.webhook_path,
        )
        if not await set_webhook(app):
            log.warning(
                "could not set the webhook yet; trying again in %.0fs", WEBHOOK_RETRY_SECONDS
            )
            retry = asyncio.create_task(_keep_setting_webhook(app))
        watch = asyncio.create_task(_watch_webhook(app))
        freeze_startup_heap()
        await stop.wait()
        log.info("stopping: no new updates; waiting for those in flight")
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)
        for task in (retry, watch):
            if task is not None:
                task.cancel()
        await runner.cleanup()
