"""The poll as Bozor's core sees it: everything it plugs in, in one declaration."""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING

from bozor.featurekit import Command, Feature
from bozor.settings import Settings

from .settings import PollSettings

if TYPE_CHECKING:
    from aiogram import Router


def _bot(settings: Settings) -> Router:
    from . import bot

    return bot.create_router(settings)


FEATURE = Feature(
    name="polls",
    bot_router=_bot,
    commands=(Command("poll"),),
    menu=("menu.poll",),
    locales=resources.files(__package__).joinpath("locales"),
    settings=PollSettings,  # POLL_*: read and checked at start-up
)
