"""The lotteries feature (prize draws) as Bozor's core sees it (bozor.featurekit.Feature).

What is costly to import is named by a function that imports it when the core calls it: every
`bozor` command reads this manifest.
"""

from __future__ import annotations

import asyncio
from importlib import resources
from typing import TYPE_CHECKING

from bozor.featurekit import Command, DemoContext, Feature, Job, Renderer, Section
from bozor.lotteries import cli, segments
from bozor.lotteries.settings import LotterySettings
from bozor.settings import Settings

if TYPE_CHECKING:
    from collections.abc import Mapping

    from aiogram import Router
    from fastapi import APIRouter

    from bozor.process import Runtime


def _bot(settings: Settings) -> Router:
    from bozor.lotteries import bot

    return bot.create_router(settings)


def _renderers(_: Settings) -> Mapping[str, Renderer]:
    from bozor.lotteries import bot

    return bot.RENDERERS


def _admin_api() -> APIRouter:
    from bozor.lotteries import admin_api

    return admin_api.router


def _section() -> Section:
    from bozor.lotteries import dashboard

    return dashboard.SECTION


async def _draws(runtime: Runtime, stop: asyncio.Event) -> None:
    from bozor.lotteries import jobs

    await jobs.run(runtime, stop)


async def _demo(ctx: DemoContext) -> None:
    from bozor.lotteries import demo

    await demo.seed(ctx)


def _miniapp(settings: Settings) -> APIRouter:
    from bozor.lotteries import miniapp

    return miniapp.create_miniapp_router(settings)


FEATURE = Feature(
    name="lotteries",
    bot_router=_bot,
    commands=(Command("register"), Command("my_account"), Command("lotteries")),
    admin_commands=tuple(
        Command(name, f"admin_commands.{name}")
        for name in (
            "new_lottery",
            "add_account",
            "add_accounts",
            "remove_account",
            "list_accounts",
            "draw",
            "verify_winner",
            "winner_status",
            "check_unclaimed",
            "redraw",
            "audit",
            "handed_over",
            "lottery_report",
        )
    ),
    menu=("menu.lotteries",),
    title="about.lotteries.title",
    intro="about.lotteries.intro",
    admin_api_routers=(_admin_api,),
    sections=(_section,),
    dashboard_templates=resources.files(__package__).joinpath("dashboard_templates"),
    renderers=_renderers,
    jobs=(Job("lotteries", _draws),),
    segments=segments.SEGMENTS,
    demo=_demo,
    cli={"lottery": cli.create_cli},
    locales=resources.files(__package__).joinpath("locales"),
    settings=LotterySettings,
    channels=("channel",),
    miniapp=_miniapp,
    miniapp_templates=resources.files(__package__).joinpath("miniapp_templates"),
)
