"""The feature packages Bozor can switch on; each brings a router and its outbox renderers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiogram import Router

from bozor.broadcasts.segments import (
    CLASSIFIEDS_SEGMENTS,
    LOTTERY_SEGMENTS,
    REFERRAL_SEGMENTS,
    SHOP_SEGMENTS,
    Segment,
)
from bozor.outbox.worker import Renderer
from bozor.settings import Settings

if TYPE_CHECKING:
    from bozor.runtime import Runtime


@dataclass(frozen=True, slots=True)
class Feature:
    name: str
    create_router: Callable[[Settings], Router]
    # Fixed renderers, or a function of the settings making them (for those that need them).
    renderers: Mapping[str, Renderer] | Callable[[Settings], Mapping[str, Renderer]]
    # Background work the worker role runs until the event is set (None: nothing).
    jobs: Callable[[Runtime, asyncio.Event], Coroutine[Any, Any, None]] | None = None
    # Broadcast segments the feature offers (bozor.broadcasts.segments).
    segments: Mapping[str, Segment] = field(default_factory=dict)


def all_features() -> dict[str, Feature]:
    from bozor.classifieds import bot as classifieds_bot
    from bozor.classifieds import jobs as classifieds_jobs
    from bozor.lotteries import bot as lotteries_bot
    from bozor.lotteries import jobs as lotteries_jobs
    from bozor.referrals import bot as referrals_bot
    from bozor.shop import bot as shop_bot
    from bozor.shop import jobs as shop_jobs

    return {
        "referrals": Feature(
            "referrals",
            referrals_bot.create_router,
            referrals_bot.RENDERERS,
            segments=REFERRAL_SEGMENTS,
        ),
        "lotteries": Feature(
            "lotteries",
            lotteries_bot.create_router,
            lotteries_bot.RENDERERS,
            lotteries_jobs.run,
            segments=LOTTERY_SEGMENTS,
        ),
        "shop": Feature(
            "shop",
            shop_bot.create_router,
            shop_bot.renderers,
            shop_jobs.run,
            segments=SHOP_SEGMENTS,
        ),
        "classifieds": Feature(
            "classifieds",
            classifieds_bot.create_router,
            classifieds_bot.RENDERERS,
            classifieds_jobs.run,
            segments=CLASSIFIEDS_SEGMENTS,
        ),
    }


def enabled_features(settings: Settings) -> list[Feature]:
    features = all_features()
    return [features[name] for name in settings.features]


def outbox_renderers(settings: Settings) -> dict[str, Renderer]:
    from bozor.bot import replies  # here: bozor.bot imports this module

    found: dict[str, Renderer] = {replies.KIND: replies.render}  # replies Telegram refused
    for feature in enabled_features(settings):
        made = feature.renderers
        found.update(made(settings) if callable(made) else made)
    return found


def broadcast_segments(settings: Settings) -> dict[str, Segment]:
    """The segments a broadcast may target: the core ones and the enabled features'."""
    from bozor.broadcasts.segments import available

    return available({feature.name: feature.segments for feature in enabled_features(settings)})
