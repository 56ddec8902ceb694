"""The referrals feature as Bozor's core sees it (bozor.featurekit.Feature).

What is costly to import is named by a function that imports it when the core calls it: every
`bozor` command reads this manifest.
"""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bozor.featurekit import Command, DemoContext, Feature, Renderer, Section, Service
from bozor.referrals import segments
from bozor.referrals.scopes import SCOPE
from bozor.referrals.settings import ReferralSettings
from bozor.settings import Settings, SettingsError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from aiogram import Router
    from fastapi import APIRouter


def _bot(settings: Settings) -> Router:
    from bozor.referrals import bot

    return bot.create_router(settings)


def _renderers(_: Settings) -> Mapping[str, Renderer]:
    from bozor.referrals import bot

    return bot.RENDERERS


def _links() -> APIRouter:
    from bozor.referrals import api

    return api.public


def _integration() -> APIRouter:
    from bozor.referrals import api

    return api.router


def _admin_api() -> APIRouter:
    from bozor.referrals import admin_api

    return admin_api.router


def _section() -> Section:
    from bozor.referrals import dashboard

    return dashboard.SECTION


def _clicks(_: Settings, session_factory: async_sessionmaker[AsyncSession]) -> Service:
    from bozor.referrals.clicks import ClickBuffer

    return ClickBuffer(session_factory)


async def _demo(ctx: DemoContext) -> None:
    from bozor.referrals import demo

    await demo.seed(ctx)


def _check_hooks(settings: Settings) -> None:
    """A hook named in the settings must load, or Bozor does not start."""
    from bozor.referrals.hooks import load_object

    own = ReferralSettings.of(settings)
    for name in ("validator", "reward_calculator", "notifier"):
        path = getattr(own, name)
        if path:
            try:
                load_object(path)
            except ValueError as exc:
                raise SettingsError(f"{own.variable(name)}: {exc}") from None


def _miniapp(settings: Settings) -> APIRouter:
    from bozor.referrals import miniapp

    return miniapp.create_miniapp_router(settings)


FEATURE = Feature(
    name="referrals",
    bot_router=_bot,
    commands=(Command("ref"), Command("top")),
    menu=("menu.invite", "menu.top"),
    title="about.referrals.title",
    intro="about.referrals.intro",
    api_routers=(_links, _integration),
    admin_api_routers=(_admin_api,),
    api_scopes={SCOPE: "integration calls: links, clicks, referrals, stats, rewards"},
    sections=(_section,),
    dashboard_templates=resources.files(__package__).joinpath("dashboard_templates"),
    renderers=_renderers,
    services=(_clicks,),
    segments=segments.SEGMENTS,
    demo=_demo,
    locales=resources.files(__package__).joinpath("locales"),
    settings=ReferralSettings,
    check_settings=_check_hooks,
    miniapp=_miniapp,
    miniapp_templates=resources.files(__package__).joinpath("miniapp_templates"),
)
