"""Bot assembly: one dispatcher from the routers of the enabled features."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aiogram import Dispatcher
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.fsm.storage.redis import RedisStorage
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bozor.bot import common
from bozor.bot.errors import on_error
from bozor.bot.filters import run_filters_inline
from bozor.bot.keyboards import add_menu
from bozor.bot.middlewares import (
    DbSessionMiddleware,
    DuplicateUpdateMiddleware,
    ThrottlingMiddleware,
    UserMiddleware,
)
from bozor.bot.replies import ReplyMiddleware
from bozor.broadcasts import bot as broadcasts_bot
from bozor.featurekit import Feature, Segment
from bozor.observability import bot as bot_metrics
from bozor.observability.metrics import Metrics
from bozor.settings import Settings


def create_dispatcher(
    settings: Settings,
    features: Sequence[Feature],
    *,
    session_factory: async_sessionmaker[AsyncSession],
    segments: Mapping[str, Segment],
    redis: Redis | None = None,
    metrics: Metrics | None = None,
) -> Dispatcher:
    """The dispatcher: middlewares, the given features' routers, then the core router.
    Handlers receive `settings`, `redis`, `features` (the manifests) and `broadcast_segments`."""
    prefix = settings.redis_prefix
    storage: BaseStorage = (
        RedisStorage(redis, key_builder=DefaultKeyBuilder(prefix=f"{prefix}:fsm"))
        if redis is not None
        else MemoryStorage()
    )
    # `redis` reaches handlers that share state between instances (None: one process).
    dispatcher = Dispatcher(
        storage=storage,
        settings=settings,
        redis=redis,
        features=tuple(features),
        broadcast_segments=segments,
    )
    if metrics is not None:  # first: it times and counts everything the others do
        bot_metrics.install(dispatcher, metrics)
    dispatcher.update.outer_middleware(DuplicateUpdateMiddleware())
    dispatcher.update.outer_middleware(
        ThrottlingMiddleware(
            settings.throttle_rate,
            settings.throttle_burst,
            redis,
            prefix=prefix,
            exempt=frozenset(settings.admin_ids),
        )
    )
    # Outside the session: a returned reply is sent once its transaction committed.
    dispatcher.update.outer_middleware(ReplyMiddleware(session_factory))
    dispatcher.update.outer_middleware(DbSessionMiddleware(session_factory))
    dispatcher.update.outer_middleware(UserMiddleware(settings.default_language))
    for feature in features:
        add_menu(feature.name, feature.menu, feature.title)
    dispatcher.include_router(common.create_menu_router(features))
    dispatcher.include_router(broadcasts_bot.create_router(settings))
    for feature in features:
        for make in (feature.admin_router, feature.bot_router):
            if make is not None:
                dispatcher.include_router(make(settings))
    dispatcher.include_router(common.create_router())  # last: its fallback takes the rest
    dispatcher.errors.register(on_error)
    run_filters_inline(dispatcher)  # not one thread hand-off per filter and update
    return dispatcher
