"""Runtime: what one Bozor process holds (bozor.runtime.serve runs it).

Below the API, the bot and the features, so that they can name it (`RuntimeDep`, jobs taking
the Runtime) without an import cycle; what it builds is imported when it builds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from aiogram import Bot, Dispatcher
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bozor import i18n
from bozor.db import SQLITE_POOL_SIZE, create_engine, session_scope
from bozor.featurekit import Feature, Renderer, Service
from bozor.observability.metrics import Metrics
from bozor.settings import FeatureSettings, Settings, SettingsError

if TYPE_CHECKING:
    from bozor.bot.lanes import Lanes
    from bozor.botidentity.link import TelegramLink
    from bozor.broadcasts.sender import BroadcastSender
    from bozor.events.broker import BrokerPublisher
    from bozor.outbox.wake import OutboxWake
    from bozor.outbox.worker import OutboxWorker
    from bozor.pacing import Pacer
    from bozor.telegram import ResilientRequests
    from bozor.webhooks.worker import WebhookWorker

S = TypeVar("S")

OUTBOX_CONNECTIONS = 2  # database connections kept for the outbox worker


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
    resilience: ResilientRequests
    metrics: Metrics
    broker: BrokerPublisher | None
    pacer: Pacer
    broadcasts: BroadcastSender
    wake: OutboxWake
    telegram: TelegramLink
    lanes: Lanes
    priority_engine: AsyncEngine | None  # the priority lane's connections (see bot.lanes)
    outbox_engine: AsyncEngine | None  # the outbox worker's connections
    features: tuple[Feature, ...]  # the enabled features' manifests, in order
    services: tuple[Service, ...]  # what they hold while serving HTTP (Feature.services)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    polling: asyncio.Task[None] | None = None  # stopped first at shutdown (see serve)

    @classmethod
    def create(cls, settings: Settings, features: Sequence[Feature]) -> Runtime:
        """Everything one process holds, for the given (enabled) features."""
        from bozor.bot import create_dispatcher
        from bozor.bot.lanes import PRIORITY_CONNECTIONS, Lanes, LaneSessions
        from bozor.botidentity.link import TelegramLink
        from bozor.broadcasts.segments import available
        from bozor.broadcasts.sender import BroadcastSender
        from bozor.events.broker import BrokerPublisher
        from bozor.observability.bot import TelegramCallMetrics
        from bozor.outbox.wake import create_wake
        from bozor.outbox.worker import OutboxWorker
        from bozor.pacing import create_pacer
        from bozor.telegram import ResilientRequests, create_bot
        from bozor.users import service as users_service
        from bozor.webhooks.worker import WebhookWorker

        features = tuple(features)
        for feature in features:
            if feature.locales is not None:
                i18n.add_catalogues(feature.locales)
        engine = create_engine(
            settings.database_url,
            echo=settings.database_echo,
            pool_size=settings.database_pool_size,
        )
        # Money updates get connections of their own (not for an in-memory SQLite database,
        # which a second pool would not see).
        priority_engine = _own_pool(settings, PRIORITY_CONNECTIONS)
        session_factory = LaneSessions(engine, priority_engine)
        # So does the outbox: a buyer's code or an approved ad's post is sent while a burst
        # of updates holds every connection of the main pool.
        outbox_engine = _own_pool(settings, OUTBOX_CONNECTIONS)
        outbox_sessions = (
            LaneSessions(outbox_engine, None) if outbox_engine is not None else session_factory
        )
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
            is_channel=lambda chat_id: chat_id in _channel_ids(settings, features),
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
        segments = available({feature.name: feature.segments for feature in features})
        dispatcher = create_dispatcher(
            settings,
            features,
            session_factory=session_factory,
            redis=redis,
            metrics=metrics,
            segments=segments,
        )
        # Every commit through this factory that queued a message wakes the outbox worker.
        wake = create_wake(settings.database_url, redis, settings.redis_prefix)
        wake.attach(session_factory)
        if outbox_sessions is not session_factory:
            wake.attach(outbox_sessions)  # after-send hooks queue follow-ups
        outbox = OutboxWorker(
            bot,
            outbox_sessions,
            outbox_renderers(settings, features),
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
            BroadcastSender(bot, session_factory, pacer, settings, segments),
            wake,
            telegram,
            lanes=Lanes(
                dispatcher,
                bot,
                concurrency=settings.update_concurrency or 2 * _pooled(settings),
                backlog=settings.update_backlog,
            ),
            priority_engine=priority_engine,
            outbox_engine=outbox_engine,
            features=features,
            services=tuple(
                make(settings, session_factory) for feature in features for make in feature.services
            ),
        )

    @property
    def webhook_secret(self) -> str:
        """The secret Telegram echoes in each webhook call; stable across instances."""
        if self.settings.webhook_secret is not None:
            return self.settings.webhook_secret.get_secret_value()
        token = self.settings.bot_token.get_secret_value() if self.settings.bot_token else ""
        return hashlib.sha256(f"bozor-webhook:{token}".encode()).hexdigest()

    def service(self, kind: type[S]) -> S:
        """The service of this type an enabled feature declared (Feature.services)."""
        for service in self.services:
            if isinstance(service, kind):
                return service
        raise LookupError(f"no {kind.__name__} in this process (is its feature enabled?)")

    async def close(self) -> None:
        await self.resilience.drain()
        await self.bot.session.close()
        await self.dispatcher.storage.close()
        if self.redis is not None:
            await self.redis.aclose()
        await self.engine.dispose()
        for own in (self.priority_engine, self.outbox_engine):
            if own is not None:
                await own.dispose()


def _own_pool(settings: Settings, connections: int) -> AsyncEngine | None:
    """A small engine of its own for one kind of work, so that it never waits for a connection
    the update backlog holds (none for an in-memory SQLite database, which a second pool would
    not see)."""
    if ":memory:" in settings.database_url:
        return None
    return create_engine(
        settings.database_url,
        echo=settings.database_echo,
        pool_size=connections,
        sqlite_pool_size=connections,
    )


def _channel_ids(settings: Settings, features: Sequence[Feature]) -> set[int]:
    """The channels Bozor posts to (ids once resolved at start-up): paced as channels, not as
    groups."""
    found = set()
    for own, name in channel_settings(settings, features):
        with contextlib.suppress(SettingsError):  # an @username not resolved yet
            if (chat_id := own.chat_id(name)) is not None:
                found.add(chat_id)
    return found


def channel_settings(
    settings: Settings, features: Sequence[Feature]
) -> list[tuple[FeatureSettings, str]]:
    """The settings naming a channel (an id, or an @username resolved at start-up): each
    feature's own settings and the field (Feature.channels)."""
    return [
        (feature.settings.of(settings), name)
        for feature in features
        if feature.settings is not None
        for name in feature.channels
    ]


def outbox_renderers(settings: Settings, features: Sequence[Feature]) -> dict[str, Renderer]:
    """The outbox's renderers: the core's and those of the given features."""
    from bozor.bot import replies

    found: dict[str, Renderer] = {replies.KIND: replies.render}  # replies Telegram refused
    for feature in features:
        if feature.renderers is not None:
            found.update(feature.renderers(settings))
    return found


def _pooled(settings: Settings) -> int:
    """Connections in the main pool (see db.create_engine)."""
    if settings.database_url.startswith("sqlite"):
        return SQLITE_POOL_SIZE
    return settings.database_pool_size
