"""The feature packages Bozor can switch on; each brings a router and its outbox renderers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

from aiogram import Router
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bozor.outbox.worker import Renderer
from bozor.settings import Settings


@dataclass(frozen=True, slots=True)
class Feature:
    name: str
    create_router: Callable[[Settings], Router]
    renderers: Mapping[str, Renderer]
    # Background work the worker role runs until the event is set (None: nothing).
    jobs: (
        Callable[
            [async_sessionmaker[AsyncSession], Settings, asyncio.Event],
            Coroutine[Any, Any, None],
        ]
        | None
    ) = None


def all_features() -> dict[str, Feature]:
    from bozor.lotteries import bot as lotteries_bot
    from bozor.lotteries import jobs as lotteries_jobs
    from bozor.referrals import bot as referrals_bot

    return {
        "referrals": Feature("referrals", referrals_bot.create_router, referrals_bot.RENDERERS),
        "lotteries": Feature(
            "lotteries", lotteries_bot.create_router, lotteries_bot.RENDERERS, lotteries_jobs.run
        ),
    }


def enabled_features(settings: Settings) -> list[Feature]:
    features = all_features()
    return [features[name] for name in settings.features]


def outbox_renderers(settings: Settings) -> dict[str, Renderer]:
    return {
        kind: renderer
        for feature in enabled_features(settings)
        for kind, renderer in feature.renderers.items()
    }
