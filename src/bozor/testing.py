"""Running Bozor in-process against the Bot API emulator: for tests, benchmarks and the demo."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bozor.emulator import Emulator, EmulatorDriver
from bozor.featurekit import Feature
from bozor.runtime import ALL_ROLES, serve
from bozor.settings import Settings

ADMIN_ID = 900_000_001  # the admin the `bozor` test fixture configures
TEST_BOT_TOKEN = "7000000001:AAbozor-test-token-0123456789abcdefXYZ"

T = TypeVar("T")


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Harness:
    """Bozor running in this process against the emulator; `driver` plays the users."""

    settings: Settings
    driver: EmulatorDriver
    db: async_sessionmaker[AsyncSession]
    emulator: Emulator

    async def user(self, first_name: str = "User", **kwargs: Any) -> int:
        return await self.driver.create_user(first_name, **kwargs)

    async def start(self, user_id: int, payload: str | None = None) -> dict[str, Any]:
        """Send /start and return the bot's first answer to it."""
        sent = await self.driver.send_start(user_id, payload)
        return await self.driver.wait_for_message(user_id, after_message_id=sent["message_id"])

    async def show_ref(self, user_id: int) -> dict[str, Any]:
        """/ref answers with one photo: the QR code, captioned with the link and figures."""
        sent = await self.driver.send_message(user_id, "/ref")
        return await self.driver.wait_for_message(
            user_id, after_message_id=sent["message_id"], predicate=lambda m: bool(m.get("photo"))
        )

    async def referral_code(self, user_id: int) -> str:
        """The code in the user's invitation link, as /ref shows it."""
        caption = str((await self.show_ref(user_id))["caption"])
        match = re.search(r"https://t\.me/\w+\?start=([A-Za-z0-9]+)", caption)
        if match is None:
            raise AssertionError(f"no invitation link in {caption!r}")
        return match.group(1)


async def eventually(
    check: Callable[[], Awaitable[bool]], *, timeout: float = 20, every: float = 0.05
) -> None:
    """Wait until `check()` is true (for effects of background work); TimeoutError if never."""
    async with asyncio.timeout(timeout):
        while True:
            if await check():
                return
            await asyncio.sleep(every)


async def while_open(
    db: async_sessionmaker[AsyncSession],
    change: Callable[[AsyncSession], Awaitable[object]],
    concurrent: Callable[[AsyncSession], Awaitable[T]],
) -> T:
    """`concurrent` in its own transaction while `change`'s is open, then both committed
    (`concurrent`'s on success); returns what `concurrent` returned, or raises what it raised.

    Races on PostgreSQL's READ COMMITTED made deterministic: each transaction has done its
    reads and writes before the other commits."""
    async with db() as changing:
        await change(changing)

        async def in_transaction() -> T:
            async with db() as session, session.begin():
                return await concurrent(session)

        task = asyncio.create_task(in_transaction())
        await asyncio.sleep(0.5)  # done, or waiting for a lock `change` holds
        await changing.commit()
    return await task


async def new_api_key(harness: Harness, *scopes: str) -> str:
    """A new API key (default: the enabled features' scopes, else admin); returns its
    secret."""
    from bozor.apikeys import service as keys_service
    from bozor.features import FEATURES

    enabled = harness.settings.features
    default = [s for f in FEATURES if f.name in enabled for s in f.api_scopes] or ["admin"]
    async with harness.db() as session:
        created = await keys_service.create(
            session=session, name="test", scopes=list(scopes) or default
        )
        await session.commit()
    return created.secret


def api_url(harness: Harness) -> str:
    return f"http://127.0.0.1:{harness.settings.http_port}"


async def reply_buttons(harness: Harness, chat_id: int) -> list[str]:
    """Texts of the reply keyboard the bot last showed in a chat."""
    keyboard = await harness.driver.reply_keyboard(chat_id)
    return [button["text"] for row in (keyboard or {}).get("keyboard", []) for button in row]


def bozor_settings(emulator: Emulator, database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "bot_token": TEST_BOT_TOKEN,
        "telegram_api_url": emulator.url,
        "database_url": database_url,
        "admin_ids": [],
        "http_port": 0,
        "auto_migrate": False,
        "outbox_interval": 0.05,
        "outbox_chat_interval": 0.3,
    }
    values.update(overrides)
    return Settings(**values)


@asynccontextmanager
async def start_bozor(
    emulator: Emulator,
    database_url: str,
    db: async_sessionmaker[AsyncSession],
    *,
    roles: frozenset[str] = ALL_ROLES,
    manifests: Sequence[Feature] | None = None,
    **overrides: Any,
) -> AsyncIterator[Harness]:
    """Bozor serving against the emulator until the block ends; `manifests`: the features to
    run (default: those FEATURES enables)."""
    settings = bozor_settings(emulator, database_url, **overrides)
    if manifests is not None:  # FEATURES names them, as it names Bozor's own features
        settings = settings.model_copy(update={"features": [f.name for f in manifests]})
    assert settings.bot_token is not None
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(
        serve(settings, stop=stop, ready=ready, roles=roles, features=manifests)
    )
    waiter = asyncio.create_task(ready.wait())
    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        waiter.cancel()
        task.result()  # raises what went wrong at start-up
    async with EmulatorDriver(emulator.url, settings.bot_token.get_secret_value()) as driver:
        try:
            yield Harness(settings, driver, db, emulator)
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=15)


async def make_recipients(
    harness: Harness, count: int, *, language: str = "en", first_name: str = "Member"
) -> list[int]:
    """`count` users who have opened the bot and are known to Bozor (stored as their first
    update would store them); their Telegram ids."""
    from bozor.users import service as users_service

    ids = [
        await harness.driver.create_user(f"{first_name} {i}", language_code=language)
        for i in range(count)
    ]
    await harness.driver.mark_started(ids)
    async with harness.db() as session:
        for telegram_id in ids:
            await users_service.upsert_from_telegram(
                session=session,
                profile=users_service.TelegramProfile(
                    telegram_id, f"{first_name}", language_code=language
                ),
                probably_new=True,
            )
        await session.commit()
    return ids
