"""What every `bozor` sub-command uses, the core's and the features' (`Feature.cli`)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from bozor import localtime
from bozor.settings import Settings, SettingsError, load_settings


def settings_or_exit(*, for_bot: bool = False, **overrides: Any) -> Settings:
    """The settings, or one line per problem and exit code 2."""
    try:
        settings = load_settings(**overrides)
        if for_bot:
            settings.check_bot_ready()
        localtime.use(settings.timezone)  # the times this command prints
        return settings
    except SettingsError as exc:
        for line in str(exc).splitlines():
            typer.echo(f"error: {line}", err=True)
        raise typer.Exit(2) from None


def run(main: Coroutine[Any, Any, None]) -> None:
    """Run a coroutine to its end (on uvloop where available)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - platforms without uvloop
        asyncio.run(main)
    else:
        uvloop.run(main)


def with_session(work: Callable[[AsyncSession], Awaitable[None]]) -> None:
    """Run `work` in one committed transaction on the configured database (migrated first)."""
    from bozor import migrate
    from bozor.db import create_engine, create_session_factory, session_scope

    settings = settings_or_exit()

    async def main() -> None:
        engine = create_engine(settings.database_url)
        try:
            if settings.auto_migrate:
                await migrate.upgrade(engine)
            async with session_scope(create_session_factory(engine)) as session:
                await work(session)
        finally:
            await engine.dispose()

    run(main())
