"""Fixtures for the emulator's own tests: a fresh emulator, an aiogram Bot and a driver."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bozor.emulator import Emulator, EmulatorDriver

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"


@pytest.fixture
def token() -> str:
    return TOKEN


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator() as emulator:
        yield emulator


@pytest.fixture
async def bot(emu: Emulator) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(emu.url))
    bot = Bot(TOKEN, session=session)
    try:
        yield bot
    finally:
        await bot.session.close()


@pytest.fixture
async def driver(emu: Emulator) -> AsyncIterator[EmulatorDriver]:
    async with EmulatorDriver(emu.url, TOKEN) as drv:
        yield drv


@pytest.fixture
async def user(driver: EmulatorDriver) -> int:
    """A user who has started the bot."""
    user_id = await driver.create_user("Alice", username="alice")
    await driver.send_start(user_id)
    return user_id
