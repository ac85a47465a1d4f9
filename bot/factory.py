"""Builds the bot, the dispatcher and the application objects. All wiring lives here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.dispatcher.middlewares.error import ErrorsMiddleware
from aiogram.enums import ParseMode
from aiogram.methods import SetMyCommands
from aiogram.types import BotCommandScopeChat
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from bot.content.store import Content
from bot.db.connection import create_engine, create_session_factory
from bot.db.patients import Repository
from bot.db.reminder_store import SqlReminderStore
from bot.db.staff import StaffRepository
from bot.delivery.intake_events import EventDelivery, Webhook
from bot.delivery.outbox import AlertDelivery
from bot.delivery.sender import Sender
from bot.domain.staff import Role
from bot.metrics import Metrics
from bot.services.intake_events import IntakeEvents
from bot.services.patient_notices import PATIENT_NOTICES, PatientNotices
from bot.services.staff_alerts import StaffAlerts
from bot.telegram import errors, refusals
from bot.telegram.commands import patient_menu, staff_menu
from bot.telegram.context import AppContext
from bot.telegram.documents import StaffDocuments
from bot.telegram.fsm_storage import AfterCommitStorage, SqlStorage
from bot.telegram.gate import UpdateGate
from bot.telegram.handlers import (
    api_tokens,
    appointments,
    fallback,
    faq,
    forget,
    membership,
    preparation,
    staff,
    staff_content,
    staff_faq,
    staff_intake,
    staff_plan,
    start,
    visits,
)
from bot.telegram.handlers import (
    settings as settings_handlers,
)
from bot.telegram.identity import BotIdentity
from bot.telegram.middlewares import (
    AnswerCallbackAfterCommit,
    InflightTracker,
    UnitOfWork,
    run_after_commit,
)
from bot.telegram.reminder_view import ReminderView
from bot.telegram.session import JsonSession
from bot.telegram.telegram_health import RecordSuccess, TelegramHealth
from foundation.clock import Clock, SystemClock
from scheduler.engine import ReminderEngine
from scheduler.records import ReminderBatch, SendOutcome
from scheduler.wakeup import Wakeup

if TYPE_CHECKING:
    from redis.asyncio import Redis

# Conversation state in Redis expires this long after its last change: a booking left half
# done is picked up within days, and nothing a patient typed stays for good (in the database
# a conversation row lasts until it ends or the patient uses /forget).
CONVERSATION_TTL = timedelta(days=7)
# Redis answers in a millisecond; a second without an answer means it is away (the send
# limits then fall back to the process's own, bot/delivery/shared_rate.py).
REDIS_TIMEOUT_SECONDS = 1.0


class SetupError(Exception):
    """The installation cannot do what the settings ask (a missing optional package)."""


def create_bot(settings: Settings, session: BaseSession | None = None) -> Bot:
    if settings.bot_token is None:
        raise ValueError("BOT_TOKEN is not set")
    session = session or JsonSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
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
    db_engine: AsyncEngine  # SQLAlchemy's; the reminder engine is `reminders`
    context: AppContext
    inflight: InflightTracker
    sender: Sender
    reminders: ReminderEngine
    wakeup: Wakeup
    alerts: AlertDelivery
    # Signed events to the clinic's systems (INTAKE_WEBHOOKS), sent in the background.
    events: EventDelivery
    # This application's Prometheus registry (served by bot/web/ops.py).
    metrics: Metrics = field(default_factory=Metrics)
    # With REDIS_URL: the one client of the conversation state and the send limits, closed
    # last (bot/runtime.py).
    redis: Redis | None = None
    # When a Bot API call last succeeded, and what Telegram says of the webhook (/healthz).
    telegram: TelegramHealth = field(default_factory=lambda: TelegramHealth(SystemClock()))
    # The bot's username (deep links), learnt at start-up or before the first update needing it.
    identity: BotIdentity = field(default_factory=BotIdentity)


def connect_redis(settings: Settings) -> Redis | None:
    """The Redis client of REDIS_URL (None without it). Connects on first use."""
    if settings.redis_url is None:
        return None
    try:
        from redis.asyncio import Redis
        from redis.backoff import ExponentialBackoff
        from redis.retry import Retry
    except ImportError as exc:
        raise SetupError(
            "REDIS_URL is set but the redis package is not installed: "
            "pip install 'infusion-companion[redis]'"
        ) from exc
    client: Redis = Redis.from_url(
        settings.redis_url.get_secret_value().strip(),
        socket_timeout=REDIS_TIMEOUT_SECONDS,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        health_check_interval=30,
        # A dropped connection is tried again at once, once; then the caller hears of it.
        retry=Retry(ExponentialBackoff(cap=0.2, base=0.02), retries=1),
    )
    return client


def create_storage(context: AppContext, redis: Redis | None) -> SqlStorage | AfterCommitStorage:
    """Conversation state: in the database, or in Redis (aiogram's RedisStorage, written after
    the update's commit) when REDIS_URL is set."""
    if redis is None:
        return SqlStorage(context.session_factory, context.clock)
    from aiogram.fsm.storage.base import DefaultKeyBuilder
    from aiogram.fsm.storage.redis import RedisStorage

    ttl = int(CONVERSATION_TTL.total_seconds())
    builder = DefaultKeyBuilder(prefix=f"{context.settings.redis_prefix}:fsm", with_destiny=True)
    return AfterCommitStorage(RedisStorage(redis, key_builder=builder, state_ttl=ttl, data_ttl=ttl))


def create_dispatcher(
    context: AppContext,
    metrics: Metrics | None = None,
    storage: SqlStorage | AfterCommitStorage | None = None,
    identity: BotIdentity | None = None,
) -> tuple[Dispatcher, InflightTracker]:
    """The update pipeline, outer middlewares in this order (see bot/telegram/middlewares.py):
    in-flight count, aiogram's errors and user context, the update gate (unknown types, the
    crisis screen, groups and channels: before any database access), the bot's username asked
    of Telegram if it is not known yet (bot/telegram/identity.py), the unit of work (one
    transaction, reply after commit), aiogram's FSM context, which so reads inside that
    transaction, and the answers to refusals (bot/telegram/refusals.py), given inside it too.
    Button presses are acknowledged by the Reply after the commit (AnswerCallbackAfterCommit);
    failed updates by the errors router, outside the unit of work."""
    storage = storage or SqlStorage(context.session_factory, context.clock)
    identity = identity or BotIdentity()
    dp = Dispatcher(storage=storage, app=context, identity=identity)
    inflight = InflightTracker(metrics)
    fsm = dp.fsm
    builtin = [m for m in dp.update.outer_middleware if m is not fsm]
    for middleware in list(dp.update.outer_middleware):
        dp.update.outer_middleware.unregister(middleware)
    # The tracker wraps aiogram's ErrorsMiddleware too, so an update counts as finished only
    # after its error answer was sent.
    dp.update.outer_middleware(inflight)
    for middleware in builtin:
        dp.update.outer_middleware(middleware)
    dp.update.outer_middleware(UpdateGate(context, fsm))
    dp.update.outer_middleware(identity)
    # A CSV a team member sends (and the import's buttons): fetched before the transaction.
    dp.update.outer_middleware(StaffDocuments(context))
    dp.update.outer_middleware(UnitOfWork(context, fsm, storage))
    dp.update.outer_middleware(fsm)
    dp.update.outer_middleware(ErrorsMiddleware(refusals.create_router()))
    dp.callback_query.middleware(AnswerCallbackAfterCommit())
    # Order matters. The FAQ router comes first: free text outside any conversation state
    # (the commonest update) is its own, and then no command filter is tried on it; its
    # handlers match nothing the other routers want (commands, text in a conversation state,
    # their buttons). The staff router checks the sender's role in every handler (a refusal
    # answers as the fallback would, and is written to the audit log). The fallback is last.
    dp.include_routers(
        errors.create_router(),
        faq.create_router(),
        start.create_router(),
        forget.create_router(),
        settings_handlers.create_router(),
        appointments.create_router(),
        preparation.create_router(),
        staff.create_router(),
        staff_intake.create_router(),
        visits.create_router(),
        membership.create_router(),
        staff_content.create_router(),
        staff_faq.create_router(),
        staff_plan.create_router(),
        api_tokens.create_router(),
        fallback.create_router(),
    )
    return dp, inflight


def create_application(
    settings: Settings, *, clock: Clock | None = None, bot: Bot | None = None
) -> Application:
    content = Content(settings.messages_dir, settings.default_language)
    # Compiled now (a second or more, once per process), so the first patient in crisis does
    # not wait for it.
    _ = content.crisis_detector
    db_engine = create_engine(settings.database_url)
    bot = bot or create_bot(settings)
    clock = clock or SystemClock()
    session_factory = create_session_factory(db_engine)
    metrics = Metrics()
    redis = connect_redis(settings)
    shared_rate = None
    if redis is not None:
        from bot.delivery.shared_rate import RedisSharedRate

        # Telegram's limits are per bot: the bot's id in the keys.
        shared_rate = RedisSharedRate(
            redis,
            rate=settings.send_rate,
            key_prefix=f"{settings.redis_prefix}:{bot.id}",
            metrics=metrics,
        )
    sender = Sender(
        bot,
        rate=settings.send_rate,
        per_chat_interval=settings.send_chat_interval,
        metrics=metrics,
        shared=shared_rate,
    )
    webhooks = {
        source: Webhook(hook.url, hook.secret.get_secret_value())
        for source, hook in settings.intake_webhooks.items()
    }
    events = EventDelivery(
        session_factory,
        webhooks,
        clock,
        metrics=metrics,
        max_attempts=settings.intake_webhook_attempts,
        timeout=settings.intake_webhook_timeout_seconds,
    )
    intake_events = IntakeEvents(
        webhooks, clock, kick=events.kick, schedule=settings.intake_patient_key is not None
    )
    alerts = AlertDelivery(
        session_factory,
        sender,
        bot,
        content,
        settings.clinic_zone,
        clock,
        unreachable=intake_events,
        # A notice out lets the reminders it held go now (`wakeup` is made below; this runs
        # only once the application does).
        notices_out=lambda: wakeup.wake_at(clock.now()),
    )
    staff_alerts = StaffAlerts(settings.staff_ids, clock, kick=alerts.kick)

    async def template_failed(batch: ReminderBatch, error: str, *, fell_back: bool = False) -> None:
        # Called during a reminder pass, outside any unit of work: its own short transaction.
        async with session_factory() as session:
            repo = Repository(session)
            await staff_alerts.template_failure(
                repo,
                [s.key for s in batch.steps],
                error,
                appointment_id=batch.appointment.id,
                fell_back=fell_back,
            )
            await session.commit()
        await run_after_commit(repo.after_commit)

    reminders = ReminderEngine(
        store=SqlReminderStore(
            session_factory,
            after_claim=content.refresh,
            unreachable=intake_events,
            notices=PATIENT_NOTICES,  # a notice to the patient goes before their reminders
        ),
        plan=content.plan_for,
        render=ReminderView(content),
        sender=sender,
        clock=clock,
        on_template_failure=template_failed,
        observer=metrics,
        batch_size=settings.reminder_batch,
        lease=timedelta(seconds=settings.reminder_lease_seconds),
        # The first claim's size; then the engine's own pace (its share when replicas share it).
        rate=settings.send_rate,
        concurrency=settings.reminder_concurrency,
    )
    wakeup = Wakeup(
        reminders, housekeeping=timedelta(seconds=settings.housekeeping_seconds), clock=clock
    )
    context = AppContext(
        settings=settings,
        content=content,
        clock=clock,
        session_factory=session_factory,
        staff_alerts=staff_alerts,
        patient_notices=PatientNotices(clock, kick=alerts.kick),
        wake=wakeup.wake_at,
        metrics=metrics,
        intake_events=intake_events,
        sender=sender,
    )
    identity = BotIdentity()
    dispatcher, inflight = create_dispatcher(
        context, metrics, create_storage(context, redis), identity
    )
    telegram = TelegramHealth(clock)
    bot.session.middleware(RecordSuccess(telegram))
    return Application(
        bot,
        dispatcher,
        db_engine,
        context,
        inflight,
        sender,
        reminders,
        wakeup,
        alerts=alerts,
        events=events,
        metrics=metrics,
        redis=redis,
        telegram=telegram,
        identity=identity,
    )


async def register_commands(bot: Bot, content: Content) -> None:
    """Publish the command list in every language the content has: the commands the bot
    answers (ChatCommand), with each language's descriptions."""
    for lang in content.languages:
        commands = patient_menu(content, lang)
        if lang == content.default_language:
            await bot.set_my_commands(commands)
        else:
            await bot.set_my_commands(commands, language_code=lang)


async def register_staff_menus(app: Application) -> int:
    """Give every admin of STAFF_IDS and every active member the team's menu in their own
    chat (read in a short transaction, sent after it). A chat Telegram refuses (someone who
    never pressed Start) is logged by the sender and skipped. The number of menus set."""
    context = app.context
    async with context.session_factory() as session:
        members = await StaffRepository(session).active()
        team = {m.telegram_id: Role(m.role) for m in members}
    team.update(dict.fromkeys(context.settings.staff_ids, Role.ADMIN))
    done = 0
    for telegram_id, role in team.items():
        menu = staff_menu(context.content, role)
        scope = BotCommandScopeChat(chat_id=telegram_id)
        result = await app.sender.answer(SetMyCommands(commands=menu, scope=scope))
        done += result.outcome is SendOutcome.SENT
    return done
