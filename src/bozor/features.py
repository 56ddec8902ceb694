"""The feature packages Bozor can switch on; each brings a router and its outbox renderers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from aiogram import Router

from bozor.outbox.worker import Renderer
from bozor.settings import Settings


@dataclass(frozen=True, slots=True)
class Feature:
    name: str
    create_router: Callable[[Settings], Router]
    renderers: Mapping[str, Renderer]


def all_features() -> dict[str, Feature]:
    from bozor.referrals import bot as referrals_bot

    return {
        "referrals": Feature("referrals", referrals_bot.create_router, referrals_bot.RENDERERS),
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
