"""One Bozor process: what it holds (Runtime) and how it runs and stops (serve)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import logging
from dataclasses import dataclass, field

import uvicorn
from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramAPIError, TelegramRetryAfter, TelegramUnauthorizedError
from redis.asyncio import Redis
from sqlalchemy import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bozor import migrate
from bozor.api.app import create_app
from bozor.bot import create_dispatcher
from bozor.bot.common import register_commands
from bozor.bot.lanes import PRIORITY_CONNECTIONS, Lanes, LaneSessions
from bozor.botidentity import service as identity_service
from bozor.botidentity.link import TRANSIENT, TelegramLink, describe
from bozor.broadcasts.sender import BroadcastSender
from bozor.db import SQLITE_POOL_SIZE, create_engine, session_scope
from bozor.events.broker import BrokerPublisher
from bozor.features import broadcast_segments, enabled_features, outbox_renderers
from bozor.observability import metrics as metrics_module
from bozor.observability.bot import TelegramCallMetrics
from bozor.observability.metrics import Metrics
from bozor.outbox.wake import OutboxWake, create_wake
from bozor.outbox.worker import OutboxWorker
from bozor.pacing import Pacer, create_pacer
from bozor.referrals.clicks import ClickBuffer
from bozor.referrals.hooks import load_object
from bozor.settings import Settings, SettingsError
from bozor.telegram import ResilientRequests, create_bot, single_attempt
from bozor.updates import jobs as updates_jobs
from bozor.users import service as users_service
from bozor.webhooks.worker import WebhookWorker

log = logging.getLogger(__name__)

SHUTDOWN_GRACE = 5.0  # seconds in-flight updates get to finish

# What a process runs: `bozor run` all three; `bozor bot`, `bozor api`, `bozor worker` one each.
# "bot" receives updates (polling, or webhooks on the HTTP server), "api" serves the REST API,
# "worker" runs background work (the outbox, webhook deliveries, scheduled jobs).
ALL_ROLES = frozenset({"bot", "api", "worker"})
CHANNEL_SETTINGS = ("lottery_channel", "classifieds_channel")  # an id, or an @username


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    redis: Redis | None
    bot: Bot
    dispatcher: Dispatcher
    outbox: OutboxWorker
    webhooks: WebhookWorker
    clicks: ClickBuffer
    resilience: ResilientRequests
    metrics: Metrics
    broker: BrokerPublisher | None
    pacer: Pacer
    broadcasts: BroadcastSender
    wake: OutboxWake
    telegram: TelegramLink
    lanes: Lanes
    priority_engine: AsyncEngine | None  # the priority lane's connections (see bot.lanes)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    polling: asyncio.Task[None] | None = None  # stopped first at shutdown (see serve)

    @classmethod
    def create(cls, settings: Settings) -> Runtime:
        engine = create_engine(
            settings.database_url,
            echo=settings.database_echo,
            pool_size=settings.database_pool_size,
        )
        # Money updates get connections of their own (not for an in-memory SQLite database,
        # which a second pool would not see).
        priority_engine = (
            None
            if ":memory:" in settings.database_url
            else create_engine(
                settings.database_url,
                echo=settings.database_echo,
                pool_size=PRIORITY_CONNECTIONS,
                sqlite_pool_size=PRIORITY_CONNECTIONS,
            )
        )
        session_factory = LaneSessions(engine, priority_engine)
        redis = Redis.from_url(settings.redis_url) if settings.redis_url else None

        async def record_blocked(telegram_id: int) -> None:
            async with session_scope(session_factory) as session:
                await users_service.mark_blocked(session=session, telegram_id=telegram_id)

        # One timeline of send slots for the outbox and the broadcasts (and every instance,
        # with Redis); its gate is the one the request middleware closes on a 429.
        pacer = create_pacer(
            settings.telegram_rate,
            settings.outbox_chat_interval,
            redis,
            prefix=settings.redis_prefix,
            is_channel=lambda chat_id: chat_id in _channel_ids(settings),
        )
        # Every message goes through the pacer: handlers' replies take their slot here, the
        # outbox and broadcasts reserve theirs before sending.
        resilience = ResilientRequests(
            pacer.gate,
            on_blocked=record_blocked,
            pacer=pacer,
            retry_for=settings.telegram_retry_for,
            chat_burst=settings.telegram_chat_burst,
        )
        metrics = Metrics()
        bot = create_bot(settings, resilience)
        bot.session.middleware(TelegramCallMetrics(metrics))  # inner: sees every attempt
        telegram = TelegramLink(bot, session_factory, max_retry=settings.telegram_retry_max)
        bot.session.middleware(telegram)  # inner too: every attempt tells whether Telegram is up
        dispatcher = create_dispatcher(
            settings, session_factory=session_factory, redis=redis, metrics=metrics
        )
        # Every commit through this factory that queued a message wakes the outbox worker.
        wake = create_wake(settings.database_url, redis, settings.redis_prefix)
        wake.attach(session_factory)
        outbox = OutboxWorker(
            bot,
            session_factory,
            outbox_renderers(settings),
            interval=settings.outbox_interval,
            per_chat_interval=settings.outbox_chat_interval,
            pacer=pacer,
            wake=wake.event,
        )
        # Webhooks are not chat messages: a quarter of a second later is soon enough, and an
        # idle sweep costs two queries.
        webhooks = WebhookWorker(
            settings, session_factory, interval=max(settings.outbox_interval, 0.25)
        )
        return cls(
            settings,
            engine,
            session_factory,
            redis,
            bot,
            dispatcher,
            outbox,
            webhooks,
            ClickBuffer(session_factory),
            resilience,
            metrics,
            BrokerPublisher(
                settings.amqp_url.get_secret_value(),
                settings.amqp_exchange,
                session_factory,
                interval=max(settings.outbox_interval, 0.25),
            )
            if settings.amqp_url is not None
            else None,
            pacer,
            BroadcastSender(bot, session_factory, pacer, settings, broadcast_segments(settings)),
            wake,
            telegram,
            lanes=Lanes(
                dispatcher,
                bot,
                concurrency=settings.update_concurrency or 2 * _pooled(settings),
                backlog=settings.update_backlog,
            ),
            priority_engine=priority_engine,
        )

    @property
    def webhook_secret(self) -> str:
        """The secret Telegram echoes in each webhook call; stable across instances."""
        if self.settings.webhook_secret is not None:
            return self.settings.webhook_secret.get_secret_value()
        token = self.settings.bot_token.get_secret_value() if self.settings.bot_token else ""
        return hashlib.sha256(f"bozor-webhook:{token}".encode()).hexdigest()

    async def close(self) -> None:
        await self.resilience.drain()
        await self.bot.session.close()
        await self.dispatcher.storage.close()
        if self.redis is not None:
            await self.redis.aclose()
        await self.engine.dispose()
        if self.priority_engine is not None:
            await self.priority_engine.dispose()


def _channel_ids(settings: Settings) -> set[int]:
    """The channels Bozor posts to (ids once resolved at start-up): paced as channels, not as
    groups."""
    names = (
        settings.lottery_channel,
        settings.classifieds_channel,
        settings.referral_required_channel,
    )
    return {int(name) for name in names if name and name.lstrip("-").isdigit()}


async def serve(
    settings: Settings,
    *,
    stop: asyncio.Event,
    ready: asyncio.Event | None = None,
    roles: frozenset[str] = ALL_ROLES,
) -> None:
    """Run the given roles until `stop` is set: the bot (polling or webhook), the HTTP server
    (API and webhook endpoint) and the background workers."""
    runtime = Runtime.create(settings)
    metrics_module.current.set(runtime.metrics)  # the tasks started below inherit it
    bot_role = "bot" in roles
    try:
        telegram_up = await _check_connections(runtime, roles)
        # The worker listens for the other instances' commits; the other roles tell it theirs.
        runtime.tasks.append(
            asyncio.create_task(
                runtime.wake.run(stop, listen="worker" in roles), name="outbox-wake"
            )
        )
        server: uvicorn.Server | None = None
        # A worker alone serves the operations endpoints (/healthz, /readyz, /metrics) too.
        if "api" in roles or "worker" in roles or (bot_role and settings.webhook_url):
            server = uvicorn.Server(
                uvicorn.Config(
                    create_app(runtime, api="api" in roles, webhook=bot_role),
                    host=settings.http_host,
                    port=settings.http_port,
                    log_level="warning",
                    lifespan="off",
                    proxy_headers=bool(settings.trusted_proxies),
                    forwarded_allow_ips=settings.trusted_proxies or None,
                )
            )
            runtime.tasks.append(asyncio.create_task(server.serve(), name="http"))
            runtime.tasks.append(asyncio.create_task(runtime.clicks.run(stop), name="clicks"))
        if "worker" in roles:
            runtime.tasks.append(asyncio.create_task(runtime.outbox.run(stop), name="outbox"))
            runtime.tasks.append(asyncio.create_task(runtime.webhooks.run(stop), name="webhooks"))
            runtime.tasks.append(
                asyncio.create_task(
                    updates_jobs.run(runtime.session_factory, stop), name="processed-updates"
                )
            )
            runtime.tasks.append(
                asyncio.create_task(runtime.broadcasts.run(stop), name="broadcasts")
            )
            if runtime.broker is not None:
                runtime.tasks.append(asyncio.create_task(runtime.broker.run(stop), name="broker"))
            for feature in enabled_features(settings):
                if feature.jobs is not None:
                    runtime.tasks.append(
                        asyncio.create_task(
                            feature.jobs(runtime, stop),
                            name=f"{feature.name}-jobs",
                        )
                    )
        # The Telegram side: at once when Telegram answered, else once it does.
        if not (telegram_up and await _telegram_side(runtime, roles, starting=True)):
            runtime.tasks.append(
                asyncio.create_task(_telegram_side_when_up(runtime, roles, stop), name="telegram")
            )
        runtime.tasks.append(asyncio.create_task(runtime.telegram.run(stop), name="bot-identity"))
        # Start-up built a large, long-lived object graph (aiogram's ~1,000 pydantic types);
        # freezing it keeps every later full collection from walking it again.
        gc.collect()
        gc.freeze()
        if ready is not None:
            ready.set()
        await stop.wait()
        log.info("stopping")
        if server is not None:
            server.should_exit = True
        if (polling := runtime.polling) is not None:
            polling.cancel()  # what it had not taken stays in Telegram's queue
            [ended] = await asyncio.gather(polling, return_exceptions=True)
            if not isinstance(ended, asyncio.CancelledError | None):
                log.error("polling failed", exc_info=ended)
        await _finish_in_flight(runtime)
        done, pending = (
            await asyncio.wait(runtime.tasks, timeout=SHUTDOWN_GRACE)
            if runtime.tasks
            else (set(), set())
        )
        for task in pending:
            task.cancel()
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                log.error("task %s failed", task.get_name(), exc_info=task.exception())
        # After the HTTP server has answered its last request: no answered click is lost.
        await runtime.clicks.flush()
    finally:
        await runtime.close()


async def _check_connections(runtime: Runtime, roles: frozenset[str]) -> bool:
    """Open the database (migrating it) and ask Telegram who the bot is, or stop with one line
    saying what is wrong. Telegram not answering is no reason to stop: the stored identity
    serves until it does (see bozor.botidentity.link); True if it answered."""
    settings = runtime.settings
    _check_hooks(settings)
    try:
        if settings.auto_migrate:
            await migrate.upgrade(runtime.engine)
        else:
            async with runtime.engine.connect():
                pass
    except (OSError, DBAPIError) as exc:
        shown = make_url(settings.database_url).render_as_string(hide_password=True)
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise SettingsError(f"DATABASE_URL: cannot open {shown} ({reason})") from None
    try:
        answered = await runtime.telegram.start_up()
    except TelegramUnauthorizedError:
        raise SettingsError("BOT_TOKEN: Telegram refused this token (Unauthorized)") from None
    if answered:
        try:  # before the workers start: they address channels by id
            await _resolve_channels(runtime, strict=True)
        except (*TRANSIENT, TelegramRetryAfter) as exc:
            log.warning("Telegram set-up waits: %s", describe(exc))
            answered = False
    if not answered:
        await _use_known_channels(runtime)
    return answered


async def _use_known_channels(runtime: Runtime) -> None:
    """The channel ids Telegram gave for the @usernames before (resolved again once it
    answers)."""
    async with runtime.session_factory() as session:
        known = await identity_service.known_chats(session=session, bot_id=runtime.bot.id)
    for name in CHANNEL_SETTINGS:
        channel = getattr(runtime.settings, name)
        if channel and channel in known:
            setattr(runtime.settings, name, str(known[channel]))


async def _telegram_side(runtime: Runtime, roles: frozenset[str], *, starting: bool) -> bool:
    """What needs Telegram: channel names resolved, the command menu and the webhook or
    polling (bot). False if Telegram stopped answering meanwhile (nothing is left half-done
    that a retry would not redo). `starting`: at start-up, with the usual retries, and a
    channel Telegram cannot find stops start-up; later, each call is tried once (the caller
    retries with back-off), and such a channel is logged and its @username kept."""
    try:
        with contextlib.nullcontext() if starting else single_attempt():
            await _resolve_channels(runtime, strict=starting)
            if "bot" in roles:
                await _register_commands(runtime)
                await _receive_updates(runtime)
    except (*TRANSIENT, TelegramRetryAfter) as exc:
        if starting:
            log.warning("Telegram set-up waits: %s", describe(exc))
            return False
        raise
    if "bot" in roles and not runtime.settings.webhook_url:
        # Outside single_attempt(): polling keeps its own retries.
        runtime.polling = asyncio.create_task(_poll(runtime), name="polling")
        log.info("long-polling mode")
    return True


async def _telegram_side_when_up(
    runtime: Runtime, roles: frozenset[str], stop: asyncio.Event
) -> None:
    """`_telegram_side`, retried with back-off and jitter until Telegram answers."""

    async def attempt() -> None:
        await _telegram_side(runtime, roles, starting=False)

    if await runtime.telegram.wait_up(stop, attempt):
        log.info("Telegram side started")


async def _register_commands(runtime: Runtime) -> None:
    try:
        await register_commands(runtime.bot, runtime.settings.features)
    except (*TRANSIENT, TelegramRetryAfter):
        raise
    except Exception:
        log.exception("could not register the command menu; continuing")


async def _receive_updates(runtime: Runtime) -> None:
    """Point Telegram at the webhook, or clear it for polling."""
    settings = runtime.settings
    if settings.webhook_url:
        await runtime.bot.set_webhook(
            url=settings.webhook_url + settings.webhook_path,
            secret_token=runtime.webhook_secret,
            allowed_updates=runtime.dispatcher.resolve_used_update_types(),
        )
        log.info("webhook mode: %s%s", settings.webhook_url, settings.webhook_path)
    else:
        await runtime.bot.delete_webhook()


async def _resolve_channels(runtime: Runtime, *, strict: bool) -> None:
    """A channel named by @username becomes its id, which the outbox addresses. The settings
    object is shared by every part of this process, so all of them see the id. The ids are
    kept, so that a start-up without Telegram still knows them."""
    bot_id = runtime.bot.id
    for name in CHANNEL_SETTINGS:
        channel = getattr(runtime.settings, name)
        if not channel or not channel.startswith("@"):
            continue
        try:
            chat = await runtime.bot.get_chat(channel)
        except TRANSIENT:
            async with runtime.session_factory() as session:
                known = await identity_service.known_chats(session=session, bot_id=bot_id)
            if channel not in known:
                raise
            setattr(runtime.settings, name, str(known[channel]))
            continue
        except TelegramAPIError as exc:
            message = f"{name.upper()}: Telegram cannot find {channel} ({exc.message})"
            if strict:
                raise SettingsError(message) from None
            log.error("%s; the @username is kept", message)
            continue
        setattr(runtime.settings, name, str(chat.id))
        async with session_scope(runtime.session_factory) as session:
            await identity_service.remember_chat(
                session=session, bot_id=bot_id, name=channel, chat_id=chat.id
            )


def _check_hooks(settings: Settings) -> None:
    """A hook named in the settings must load, or Bozor does not start."""
    for name in ("referral_validator", "reward_calculator", "referral_notifier"):
        path = getattr(settings, name)
        if path:
            try:
                load_object(path)
            except ValueError as exc:
                raise SettingsError(f"{name.upper()}: {exc}") from None


async def _poll(runtime: Runtime) -> None:
    """Long polling into the update lanes (payments ahead of the backlog)."""
    me = await runtime.bot.me()
    log.info("polling for @%s", me.username)
    await runtime.lanes.poll(
        polling_timeout=10, allowed_updates=runtime.dispatcher.resolve_used_update_types()
    )


def _pooled(settings: Settings) -> int:
    """Connections in the main pool (see db.create_engine)."""
    if settings.database_url.startswith("sqlite"):
        return SQLITE_POOL_SIZE
    return settings.database_pool_size


async def _finish_in_flight(runtime: Runtime) -> None:
    """Updates taken from Telegram are finished (it will not deliver them again)."""
    await runtime.lanes.drain(SHUTDOWN_GRACE)
