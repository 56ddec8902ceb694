"""The pacer: Telegram's limits per chat (a private chat, a group, a channel), bursts for
replies, and a slot reserved by the caller used by its send, in memory and through Redis."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable

import pytest
from aiogram import Bot
from redis.asyncio import Redis

from bozor.emulator import Emulator, EmulatorDriver
from bozor.pacing import ChatBusy, MemoryPacer, Pacer, RedisPacer
from bozor.telegram import FloodGate, ResilientRequests, create_bot
from bozor.testing import TEST_BOT_TOKEN, bozor_settings

CHANNEL = -1001234567890
GROUP = -1009876543210


@pytest.fixture(params=["memory", "redis"])
async def make_pacer(request: pytest.FixtureRequest) -> AsyncIterator[Callable[[], Pacer]]:
    """Builds a pacer of each kind: rate 1000/s (the global timeline never in the way), one
    second per private chat or channel, three per group."""
    clients: list[Redis] = []

    def build() -> Pacer:
        is_channel = CHANNEL.__eq__
        if request.param == "memory":
            return MemoryPacer(1000, 1.0, is_channel=is_channel)
        redis_url = request.getfixturevalue("redis_url")
        client = Redis.from_url(redis_url)
        clients.append(client)
        return RedisPacer(
            client, 1000, 1.0, prefix=f"test-{uuid.uuid4().hex}", is_channel=is_channel
        )

    yield build
    for client in clients:
        await client.aclose()


async def busy_for(pacer: Pacer, chat_id: int, *, burst: int = 1) -> float:
    with pytest.raises(ChatBusy) as busy:
        await pacer.acquire(chat_id, max_chat_wait=0.05, burst=burst)
    return busy.value.wait


async def test_one_message_a_second_to_a_private_chat(make_pacer: Callable[[], Pacer]) -> None:
    pacer = make_pacer()
    await pacer.acquire(42)
    assert 0.3 < await busy_for(pacer, 42) <= 1.0
    await pacer.acquire(43)  # another chat is not held up


async def test_a_reply_and_its_follow_up_go_at_once(make_pacer: Callable[[], Pacer]) -> None:
    """Burst 2: an idle chat takes two messages at once, then one a second."""
    pacer = make_pacer()
    await pacer.acquire(42, max_chat_wait=0.05, burst=2)
    await pacer.acquire(42, max_chat_wait=0.05, burst=2)
    assert 0.3 < await busy_for(pacer, 42, burst=2) <= 1.0
    assert 1.3 < await busy_for(pacer, 42) <= 2.0, "the outbox keeps its strict spacing"


async def test_twenty_a_minute_to_a_group_but_not_to_a_channel(
    make_pacer: Callable[[], Pacer],
) -> None:
    pacer = make_pacer()
    await pacer.acquire(GROUP)
    assert 2.3 < await busy_for(pacer, GROUP) <= 3.0
    await pacer.acquire(CHANNEL)
    assert 0.3 < await busy_for(pacer, CHANNEL) <= 1.0


async def test_a_reserved_slot_is_the_sends(
    emulator: Emulator, make_pacer: Callable[[], Pacer]
) -> None:
    """The outbox reserves a slot, then sends: the send does not take a second one."""
    pacer = make_pacer()
    settings = bozor_settings(emulator, "sqlite+aiosqlite://")
    bot: Bot = create_bot(
        settings, ResilientRequests(FloodGate(), pacer=pacer, retry_for=0.05, chat_burst=2)
    )
    try:
        async with EmulatorDriver(emulator.url, TEST_BOT_TOKEN) as driver:
            user = await driver.create_user("Aziz")
            await driver.send_start(user)
            await pacer.acquire(user)
            await bot.send_message(user, "reserved by the caller")
            await bot.send_message(user, "the burst's second")
            with pytest.raises(ChatBusy):
                await bot.send_message(user, "one too many at once")
            assert len(await driver.bot_messages(user)) == 2
    finally:
        await bot.session.close()
