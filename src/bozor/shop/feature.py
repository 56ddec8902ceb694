"""The shop feature (gift and payment cards) as Bozor's core sees it
(bozor.featurekit.Feature).

What is costly to import is named by a function that imports it when the core calls it: every
`bozor` command reads this manifest.
"""

from __future__ import annotations

import asyncio
from importlib import resources
from typing import TYPE_CHECKING

from bozor.featurekit import Command, DemoContext, Feature, Job, Renderer, Section
from bozor.settings import Settings
from bozor.shop import cli, segments
from bozor.shop.settings import ShopSettings

if TYPE_CHECKING:
    from collections.abc import Mapping

    from aiogram import Router
    from fastapi import APIRouter

    from bozor.process import Runtime


def _bot(settings: Settings) -> Router:
    from bozor.shop import bot

    return bot.create_router(settings)


def _renderers(settings: Settings) -> Mapping[str, Renderer]:
    from bozor.shop import bot

    return bot.renderers(settings)


def _admin_api() -> APIRouter:
    from bozor.shop import admin_api

    return admin_api.router


def _payment_callbacks() -> APIRouter:
    from bozor.shop import admin_api

    return admin_api.callbacks


def _section() -> Section:
    from bozor.shop import dashboard

    return dashboard.SECTION


async def _orders(runtime: Runtime, stop: asyncio.Event) -> None:
    from bozor.shop import jobs

    await jobs.run(runtime, stop)


async def _demo(ctx: DemoContext) -> None:
    from bozor.shop import demo

    await demo.seed(ctx)


def _miniapp(settings: Settings) -> APIRouter:
    from bozor.shop import miniapp

    return miniapp.create_miniapp_router(settings)


FEATURE = Feature(
    name="shop",
    bot_router=_bot,
    commands=tuple(
        Command(name) for name in ("buy", "purchases", "bonuses", "support", "paysupport", "terms")
    ),
    admin_commands=tuple(
        Command(name, f"admin_commands.{name}")
        for name in (
            "shop_admin",
            "catalogue",
            "new_category",
            "new_product",
            "translate",
            "price",
            "hide_product",
            "show_product",
            "hide_category",
            "show_category",
            "card_on",
            "card_off",
            "import_codes",
            "stock",
            "orders",
            "refund",
            "sales",
            "faq_add",
            "faq_del",
            "reply",
            "notify_all",
        )
    ),
    menu=("menu.buy", "menu.purchases", "menu.bonuses", "menu.support"),
    title="about.shop.title",
    intro="about.shop.intro",
    admin_api_routers=(_admin_api,),
    callback_routers=(_payment_callbacks,),
    sections=(_section,),
    dashboard_templates=resources.files(__package__).joinpath("dashboard_templates"),
    renderers=_renderers,
    jobs=(Job("shop", _orders),),
    segments=segments.SEGMENTS,
    demo=_demo,
    cli={"shop": cli.create_cli},
    locales=resources.files(__package__).joinpath("locales"),
    settings=ShopSettings,
    miniapp=_miniapp,
    miniapp_templates=resources.files(__package__).joinpath("miniapp_templates"),
)
