"""Builds the bot, the dispatcher and the application objects. All wiring lives here."""

from __future__ import annotations

from dataclasses import dataclass

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.types import BotCommand
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from bot.content.store import Content
from bot.db.engine import create_engine, create_session_factory
from bot.delivery.notifier import BotNotifier
from bot.services.staff_alerts import StaffAlerts
from bot.telegram import errors
from bot.telegram.context import AppContext
from bot.telegram.fsm_storage import SqlStorage
from bot.telegram.handlers import (
    appointments,
    fallback,
    faq,
    forget,
    membership,
    safety,
    start,
)
from bot.telegram.handlers import (
    settings as settings_handlers,
)
from bot.telegram.middlewares import InflightTracker, UnitOfWork
from scheduler.clock import Clock, SystemClock


def create_bot(settings: Settings, session: AiohttpSession | None = None) -> Bot:
    if settings.bot_token is None:
        raise ValueError("BOT_TOKEN is not set")
    session = session or AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    return Bot(
        token=settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(
            parse_mode=ParseMode.HTML,
            link_preview_is_disabled=True,
        ),
    )


@dataclass
class Application:
    bot: Bot
    dispatcher: Dispatcher
    engine: AsyncEngine
    context: AppContext
    inflight: InflightTracker


def create_dispatcher(context: AppContext) -> tuple[Dispatcher, InflightTracker]:
    dp = Dispatcher(storage=SqlStorage(context.session_factory, context.clock), app=context)
    inflight = InflightTracker()
    # The tracker must wrap aiogram's own ErrorsMiddleware too, so an update counts as finished
    # only after its error answer was sent: put it first in the outer chain.
    builtin = list(dp.update.outer_middleware)
    for middleware in builtin:
        dp.update.outer_middleware.unregister(middleware)
    dp.update.outer_middleware(inflight)
    for middleware in builtin:
        dp.update.outer_middleware(middleware)
    dp.update.outer_middleware(UnitOfWork(context))
    # Order matters: the crisis screen first; free-text FAQ and the fallback last.
    dp.include_routers(
        errors.create_router(),
        safety.create_router(),
        start.create_router(),
        forget.create_router(),
        settings_handlers.create_router(),
        appointments.create_router(),
        faq.create_router(),
        membership.create_router(),
        fallback.create_router(),
    )
    return dp, inflight


def create_application(
    settings: Settings, *, clock: Clock | None = None, bot: Bot | None = None
) -> Application:
    content = Content(settings.messages_dir, settings.default_language)
    engine = create_engine(settings.database_url)
    bot = bot or create_bot(settings)
    clock = clock or SystemClock()
    context = AppContext(
        settings=settings,
        content=content,
        clock=clock,
        session_factory=create_session_factory(engine),
        staff_alerts=StaffAlerts(
            content, BotNotifier(bot), settings.staff_ids, settings.clinic_zone
        ),
    )
    dispatcher, inflight = create_dispatcher(context)
    return Application(bot, dispatcher, engine, context, inflight)


async def register_commands(bot: Bot, content: Content) -> None:
    """Publish the command list in every language the content has."""
    for lang in content.languages:
        commands = [BotCommand(command=c, description=d) for c, d in content.commands(lang)]
        if lang == content.default_language:
            await bot.set_my_commands(commands)
        else:
            await bot.set_my_commands(commands, language_code=lang)
