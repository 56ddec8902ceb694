"""What a feature plugs into Bozor: the `Feature` manifest and the types its parts share.

Each feature package declares one `FEATURE = Feature(...)` in `<feature>/feature.py`; the core
assembles the bot, the API, the dashboard, the demo, the CLI and the jobs from the manifests
of the enabled features (`bozor.features`). This module imports no feature, so every layer can
use it (docs/architecture.md, "Adding a feature").
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib.abc import Traversable
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bozor.db import utcnow
from bozor.settings import FeatureSettings, Settings, SettingsError

if TYPE_CHECKING:  # heavy (aiogram's types take seconds): every `bozor` command reads this
    import typer
    from aiogram import Router
    from aiogram.methods import TelegramMethod
    from aiogram.types import InlineKeyboardMarkup, Message
    from fastapi import APIRouter

    from bozor.emulator import EmulatorDriver
    from bozor.process import Runtime
    from bozor.users.models import User


# --- the outbox: messages written in a transaction, sent by the worker --------------------

# Called with the messages Telegram accepted, in a transaction of its own, right after sending.
SentHook = Callable[[AsyncSession, list["Message"]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message. With `photos` (file ids or URLs): a photo, or an album of 2-10, with `text`
    as the caption (an album carries no buttons). With `edit_message_id`: that message's text,
    or its caption when `edit_caption`, is replaced instead of sending a new one."""

    text: str
    reply_markup: InlineKeyboardMarkup | None = None
    parse_mode: str | None = None  # "HTML" when the renderer escaped what it inserted
    photos: tuple[str, ...] = ()
    edit_message_id: int | None = None
    edit_caption: bool = False
    on_sent: SentHook | None = None
    method: TelegramMethod[Any] | None = None  # a Bot API call made as is (the rest unused)


# Turns the params of one or more rows of a kind, due together for one chat, into one message.
Renderer = Callable[[AsyncSession, int, list[dict[str, Any]]], Awaitable[Outgoing | None]]


# --- broadcasts: named sets of recipients ---------------------------------------------------

# Given the segment's parameters, a SELECT of users.id (it may return an id twice).
SegmentQuery = Callable[[Mapping[str, Any]], Select[Any]]


@dataclass(frozen=True, slots=True)
class Segment:
    name: str
    query: SegmentQuery
    # Parameter name → allowed values (checked before the query runs); empty: no parameters.
    params: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


# --- the dashboard ----------------------------------------------------------------------------

# Figures for the overview page: (translation key of the label, value, link or None).
Figure = tuple[str, str, str | None]


@dataclass(frozen=True, slots=True)
class Section:
    """A router mounted under /dashboard (its paths start with `/<name>`), a navigation entry,
    and optionally figures for the overview page."""

    name: str  # /dashboard/<name>
    nav_key: str | None  # translation key of its navigation entry; None: not in the menu
    router: Callable[[], APIRouter]  # built once per app
    feature: str | None = None  # the feature that declares it (informative)
    figures: Callable[[AsyncSession], Awaitable[list[Figure]]] | None = None


# --- the demo ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Person:
    """A Telegram user of the demo (a persona or one of the crowd)."""

    telegram_id: int
    first_name: str
    language: str
    username: str | None = None


@dataclass
class DemoContext:
    settings: Settings
    db: async_sessionmaker[AsyncSession]
    driver: EmulatorDriver
    personas: dict[str, Person]  # by persona key ("alice", "admin"...)
    crowd: list[Person]
    channel_id: int | None
    rng: random.Random = field(default_factory=lambda: random.Random(20261123))
    now: datetime = field(default_factory=utcnow)
    # What seeders tell the visitor (shown in the web chat's "try this" panel), in order.
    hints: list[str] = field(default_factory=list)
    # Facts a seeder leaves for later seeders and for tests (e.g. {"lottery:welcome": 2}).
    facts: dict[str, Any] = field(default_factory=dict)

    async def user(self, session: AsyncSession, person: Person) -> User:
        """The person's user row, stored on first use (as the bot does on first contact)."""
        from bozor.users import service as users_service

        user, _ = await users_service.upsert_from_telegram(
            session=session,
            profile=users_service.TelegramProfile(
                telegram_id=person.telegram_id,
                first_name=person.first_name,
                username=person.username,
                language_code=person.language,
            ),
        )
        return user

    async def persona(self, session: AsyncSession, key: str) -> User:
        return await self.user(session, self.personas[key])


# Writes a feature's sample data through its services (see bozor.demo.seeding).
Seeder = Callable[[DemoContext], Awaitable[None]]


# --- background work --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Job:
    """Periodic work the worker role runs until `stop` is set (bozor.jobs.repeat inside)."""

    name: str
    run: Callable[[Runtime, asyncio.Event], Coroutine[Any, Any, None]]


class Service(Protocol):
    """Something a process holds for a feature while it serves HTTP (a write buffer): it runs
    until `stop`, and is flushed once the HTTP server has answered its last request. Routes
    reach it by its type: `runtime.service(ClickBuffer)`."""

    async def run(self, stop: asyncio.Event) -> None: ...

    async def flush(self) -> object: ...


# --- the manifest -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Command:
    """A bot command in the command menu; its description is the translation `key`
    (default `commands.<name>`)."""

    name: str
    key: str = ""

    @property
    def description_key(self) -> str:
        return self.key or f"commands.{self.name}"


@dataclass(frozen=True, slots=True)
class Feature:
    """Everything a feature plugs in. Only `name` is required; what a feature leaves empty it
    does not have. The core reads nothing else of the feature.

    Every `bozor` command reads the manifests, so what is costly to import (handlers, routes,
    pages) is named by a function that imports it when called."""

    name: str
    # The bot: routers (given the settings), included before the core's fallback; the admin
    # router first (its handlers check ADMIN_IDS themselves).
    bot_router: Callable[[Settings], Router] | None = None
    admin_router: Callable[[Settings], Router] | None = None
    # The command menu (member commands for everyone; admin commands, with them, for each of
    # ADMIN_IDS in a chat scope of their own).
    commands: tuple[Command, ...] = ()
    admin_commands: tuple[Command, ...] = ()
    # Its buttons: translation keys of reply-keyboard buttons, in order. The main menu holds
    # one button per feature: the only one of a one-button menu, else `title`, which opens a
    # submenu of these buttons and "Back" (docs/architecture.md, "The main menu").
    menu: tuple[str, ...] = ()
    # Translation keys: its name (the submenu's button, the heading of its admin commands in
    # /help) and its one line in /start and /help (what it offers, with its commands).
    title: str = ""
    intro: str = ""
    # The HTTP API: integration routes (before the token route), admin routes, and routes
    # outside the per-IP rate limit (a payment provider's callbacks).
    api_routers: tuple[Callable[[], APIRouter], ...] = ()
    admin_api_routers: tuple[Callable[[], APIRouter], ...] = ()
    callback_routers: tuple[Callable[[], APIRouter], ...] = ()
    # API key scopes the feature's routes require: scope → what it allows.
    api_scopes: Mapping[str, str] = field(default_factory=dict)
    # The dashboard: its section (pages, navigation entry, overview figures), and the folder
    # of its pages' Jinja templates, which render() names "<name>/<file>" (they may extend
    # the core's "base.html" and import its "macros.html").
    sections: tuple[Callable[[], Section], ...] = ()
    dashboard_templates: Traversable | None = None
    # Outbox renderers by message kind, made from the settings.
    renderers: Callable[[Settings], Mapping[str, Renderer]] | None = None
    # Periodic jobs, run by the worker role.
    jobs: tuple[Job, ...] = ()
    # Objects the process holds for the feature while serving HTTP, made from the settings
    # and the session factory (see Service).
    services: tuple[Callable[[Settings, async_sessionmaker[AsyncSession]], Service], ...] = ()
    # Broadcast segments the feature offers, by name.
    segments: Mapping[str, Segment] = field(default_factory=dict)
    # Sample data for `bozor demo`.
    demo: Seeder | None = None
    # `bozor <name> ...` sub-commands: name → a factory of the typer app.
    cli: Mapping[str, Callable[[], typer.Typer]] = field(default_factory=dict)
    # Its translations: a folder of `<language>.toml` and `web.<language>.toml` files.
    locales: Traversable | None = None
    # Its own settings: a FeatureSettings model with its variables' prefix (e.g. ShopSettings,
    # SHOP_...), read and checked at start-up when the feature is enabled (read_settings), and
    # reached typed with `ShopSettings.of(settings)`.
    settings: type[FeatureSettings] | None = None
    # Checks of its settings at start-up beyond their values' shape, e.g. that a named hook
    # loads (raise SettingsError naming the variable).
    check_settings: Callable[[Settings], None] | None = None
    # Fields of its `settings` naming a channel by id or @username, resolved to an id at
    # start-up (FeatureSettings.resolve_channel, read with chat_id).
    channels: tuple[str, ...] = ()
    # A factory of the Mini App's pages (a router, given the settings; bozor.miniapp).
    miniapp: Callable[[Settings], APIRouter] | None = None
    # The folder of those pages' Jinja templates, which render() names "<name>/<file>".
    miniapp_templates: Traversable | None = None


def read_settings(settings: Settings, features: Sequence[Feature]) -> None:
    """Read and check the given (enabled) features' own settings now, so that a wrong value
    stops start-up: one SettingsError naming every wrong variable, one line each. A disabled
    feature's settings are not read, so they cannot stop start-up."""
    problems = []
    for feature in features:
        if feature.settings is not None:
            try:
                feature.settings.of(settings)
            except SettingsError as exc:
                problems.append(str(exc))
    if problems:
        raise SettingsError("\n".join(problems))
