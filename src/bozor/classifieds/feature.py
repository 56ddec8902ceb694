"""The classifieds feature (ads posted to a channel) as Bozor's core sees it
(bozor.featurekit.Feature).

What is costly to import is named by a function that imports it when the core calls it: every
`bozor` command reads this manifest.
"""

from __future__ import annotations

import asyncio
from importlib import resources
from typing import TYPE_CHECKING

from bozor.classifieds import segments
from bozor.classifieds.settings import ClassifiedsSettings
from bozor.featurekit import Command, DemoContext, Feature, Job, Renderer, Section
from bozor.settings import Settings, SettingsError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from aiogram import Router
    from fastapi import APIRouter

    from bozor.process import Runtime


def _bot(settings: Settings) -> Router:
    from bozor.classifieds import bot

    return bot.create_router(settings)


def _renderers(settings: Settings) -> Mapping[str, Renderer]:
    from bozor.classifieds import bot

    return bot.create_renderers(settings)


def _admin_api() -> APIRouter:
    from bozor.classifieds import admin_api

    return admin_api.router


def _section() -> Section:
    from bozor.classifieds import dashboard

    return dashboard.SECTION


async def _reposts(runtime: Runtime, stop: asyncio.Event) -> None:
    from bozor.classifieds import jobs

    await jobs.run(runtime, stop)


async def _demo(ctx: DemoContext) -> None:
    from bozor.classifieds import demo

    await demo.seed(ctx)


def _check_categories(settings: Settings) -> None:
    """CLASSIFIEDS_CATEGORIES must read (its names too), or Bozor does not start."""
    from bozor.classifieds import categories

    try:
        categories.of(settings)
    except ValueError as exc:
        raise SettingsError(f"CLASSIFIEDS_CATEGORIES: {exc}") from None


def _miniapp(settings: Settings) -> APIRouter:
    from bozor.classifieds import miniapp

    return miniapp.create_miniapp_router(settings)


FEATURE = Feature(
    name="classifieds",
    bot_router=_bot,
    commands=(Command("post_ad"), Command("my_ads")),
    admin_commands=tuple(
        Command(name, f"admin_commands.{name}")
        for name in (
            "ads_queue",
            "ad",
            "ads_user",
            "ads_ban",
            "ads_unban",
        )
    ),
    menu=("menu.post_ad", "menu.my_ads"),
    title="about.classifieds.title",
    intro="about.classifieds.intro",
    admin_api_routers=(_admin_api,),
    sections=(_section,),
    dashboard_templates=resources.files(__package__).joinpath("dashboard_templates"),
    renderers=_renderers,
    jobs=(Job("classifieds", _reposts),),
    segments=segments.SEGMENTS,
    demo=_demo,
    locales=resources.files(__package__).joinpath("locales"),
    settings=ClassifiedsSettings,
    channels=("channel",),
    check_settings=_check_categories,
    miniapp=_miniapp,
    miniapp_templates=resources.files(__package__).joinpath("miniapp_templates"),
)
