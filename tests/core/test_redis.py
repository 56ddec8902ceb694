"""With REDIS_URL set, state that several instances must share lives in Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bozor.emulator import Emulator
from bozor.testing import Harness, start_bozor


@pytest.fixture
async def bozor(
    emulator: Emulator, database_url: str, db: async_sessionmaker[AsyncSession], redis_url: str
) -> AsyncIterator[Harness]:
    client = Redis.from_url(redis_url)
    await client.flushdb()
    await client.aclose()
    async with start_bozor(
        emulator, database_url, db, redis_url=redis_url, throttle_burst=3
    ) as harness:
        yield harness


async def test_bot_works_on_redis_and_shares_seen_updates(bozor: Harness, redis_url: str) -> None:
    member = await bozor.user("Aziz")
    sent = await bozor.driver.send_start(member)
    await bozor.driver.wait_for_message(member, after_message_id=sent["message_id"])
    client = Redis.from_url(redis_url)
    try:
        seen = [key async for key in client.scan_iter("bozor:update:*")]
        throttle = [key async for key in client.scan_iter("bozor:throttle:*")]
    finally:
        await client.aclose()
    assert seen and throttle


async def test_throttling_counts_in_redis(bozor: Harness) -> None:
    member = await bozor.user("Aziz", language_code="ru")
    answer = await bozor.start(member)
    assert "Добро пожаловать" in answer["text"]
    for _ in range(10):
        await bozor.driver.send_message(member, "/help")
    await bozor.driver.wait_for_message(member, contains="Слишком много сообщений")
