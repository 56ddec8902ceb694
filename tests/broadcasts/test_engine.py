"""The broadcast engine end to end: Bozor sending through the emulator to a real database."""

from __future__ import annotations

from collections import Counter
from contextlib import AsyncExitStack
from datetime import timedelta
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bozor.broadcasts import service
from bozor.broadcasts.models import Broadcast, BroadcastState, Delivery, DeliveryStatus
from bozor.db import utcnow
from bozor.emulator import Emulator
from bozor.features import broadcast_segments
from bozor.lotteries import notify as lotteries_notify
from bozor.testing import Harness, eventually, make_recipients, start_bozor
from bozor.users.models import User

TEXT = "<b>Big sale</b> this week"


@pytest.fixture
def bozor_overrides() -> dict[str, Any]:
    return {"broadcast_interval": 0.2}


async def broadcast(
    bozor: Harness, segment: str = "all", params: dict[str, str] | None = None, **kwargs: Any
) -> int:
    async with bozor.db() as session:
        created = await service.create(
            session=session,
            available=broadcast_segments(bozor.settings),
            content=service.Content(TEXT),
            segment=segment,
            params=params,
            **kwargs,
        )
        await session.commit()
        return created.id


async def progress(db: async_sessionmaker[AsyncSession], broadcast_id: int) -> service.Progress:
    async with db() as session:
        return await service.progress(session=session, broadcast_id=broadcast_id)


async def state(db: async_sessionmaker[AsyncSession], broadcast_id: int) -> BroadcastState:
    async with db() as session:
        found = await session.get(Broadcast, broadcast_id)
        assert found is not None
        return found.state


async def wait_state(bozor: Harness, broadcast_id: int, wanted: BroadcastState) -> None:
    async def reached() -> bool:
        return await state(bozor.db, broadcast_id) == wanted

    await eventually(reached, timeout=60)


async def received(bozor: Harness, chat_id: int) -> int:
    """Broadcast messages the user got."""
    return sum(1 for m in await bozor.driver.bot_messages(chat_id) if "Big sale" in m["text"])


async def test_a_segment_gets_it_exactly_once(bozor: Harness) -> None:
    english = await make_recipients(bozor, 12)
    russian = await make_recipients(bozor, 4, language="ru")
    async with bozor.db() as session:  # blocked and banned users are never recipients
        await session.execute(
            update(User).where(User.telegram_id == english[0]).values(is_blocked=True)
        )
        await session.execute(
            update(User).where(User.telegram_id == english[1]).values(is_banned=True)
        )
        await session.commit()
        count = await service.count_recipients(
            session=session,
            available=broadcast_segments(bozor.settings),
            segment="language",
            params={"language": "ru"},
        )
    assert count == 4

    everyone = await broadcast(bozor)
    await wait_state(bozor, everyone, BroadcastState.DONE)
    result = await progress(bozor.db, everyone)
    assert result.total == 14 and result["sent"] == 14
    assert [await received(bozor, chat) for chat in english[2:] + russian] == [1] * 14
    assert await received(bozor, english[0]) == 0 and await received(bozor, english[1]) == 0
    message = (await bozor.driver.bot_messages(russian[0]))[-1]
    assert message["text"] == "Big sale this week"  # the HTML became formatting
    assert message["entities"][0]["type"] == "bold"

    only_russian = await broadcast(bozor, "language", {"language": "ru"})
    await wait_state(bozor, only_russian, BroadcastState.DONE)
    assert (await progress(bozor.db, only_russian))["sent"] == 4
    assert [await received(bozor, chat) for chat in russian] == [2] * 4
    assert [await received(bozor, chat) for chat in english[2:]] == [1] * 10


async def test_429_pauses_and_nothing_is_lost(bozor: Harness) -> None:
    chats = await make_recipients(bozor, 40)
    await bozor.driver.set_rate_limits(True, per_second=30, per_chat_per_second=1)
    await bozor.driver.inject_fault("sendMessage", error_code=429, retry_after=1, times=3)
    broadcast_id = await broadcast(bozor)
    await wait_state(bozor, broadcast_id, BroadcastState.DONE)
    assert (await progress(bozor.db, broadcast_id))["sent"] == 40
    assert [await received(bozor, chat) for chat in chats] == [1] * 40
    stats = await bozor.driver.stats()
    assert stats["rate_limited"] >= 3
    assert stats["messages_sent"] == 40


async def test_403_marks_the_user_blocked(bozor: Harness) -> None:
    chats = await make_recipients(bozor, 5)
    await bozor.driver.inject_fault(
        "sendMessage",
        error_code=403,
        description="Forbidden: bot was blocked by the user",
        chat_id=chats[2],
    )
    broadcast_id = await broadcast(bozor)
    await wait_state(bozor, broadcast_id, BroadcastState.DONE)
    result = await progress(bozor.db, broadcast_id)
    assert (result["sent"], result["blocked"]) == (4, 1)
    async with bozor.db() as session:
        blocked = await session.scalar(select(User).where(User.telegram_id == chats[2]))
        assert blocked is not None and blocked.is_blocked
        status = await session.scalar(select(Delivery.status).where(Delivery.chat_id == chats[2]))
    assert status == DeliveryStatus.BLOCKED
    # The next broadcast leaves them out.
    again = await broadcast(bozor)
    await wait_state(bozor, again, BroadcastState.DONE)
    assert (await progress(bozor.db, again)).total == 4


async def test_an_explicit_list_through_enqueue(bozor: Harness) -> None:
    chats = await make_recipients(bozor, 4)
    async with bozor.db() as session:
        ids = list(await session.scalars(select(User.id).where(User.telegram_id.in_(chats))))
        await session.execute(
            update(User).where(User.telegram_id == chats[3]).values(is_blocked=True)
        )
        created = await service.enqueue(
            session=session,
            user_ids=[*ids, ids[0]],  # listed twice: sent once
            content=service.Content(TEXT),
            source="lotteries",
        )
        await session.commit()
    await wait_state(bozor, created.id, BroadcastState.DONE)
    assert [await received(bozor, chat) for chat in chats] == [1, 1, 1, 0]


async def test_cancel_stops_what_is_not_sent(
    emulator: Emulator, database_url: str, db: async_sessionmaker[AsyncSession]
) -> None:
    async with start_bozor(emulator, database_url, db, telegram_rate=4.0) as bozor:
        await cancel_midway(bozor)


async def cancel_midway(bozor: Harness) -> None:
    chats = await make_recipients(bozor, 20)
    broadcast_id = await broadcast(bozor)

    async def some_sent() -> bool:
        return (await progress(bozor.db, broadcast_id))["sent"] >= 2

    await eventually(some_sent, timeout=30)
    async with bozor.db() as session:
        await service.cancel(session=session, broadcast_id=broadcast_id)
        await session.commit()

    async def settled() -> bool:
        return (await progress(bozor.db, broadcast_id)).waiting == 0

    await eventually(settled, timeout=30)
    result = await progress(bozor.db, broadcast_id)
    assert result["cancelled"] > 0
    assert result["sent"] + result["cancelled"] == 20
    assert sum([await received(bozor, chat) for chat in chats]) == result["sent"]
    assert await state(bozor.db, broadcast_id) == BroadcastState.CANCELLED


async def test_scheduled_broadcast_waits_for_its_time(bozor: Harness) -> None:
    chats = await make_recipients(bozor, 3)
    broadcast_id = await broadcast(bozor, scheduled_at=utcnow() + timedelta(seconds=4))
    assert await state(bozor.db, broadcast_id) == BroadcastState.SCHEDULED
    assert (await progress(bozor.db, broadcast_id)).total == 0  # listed when it starts
    late = await make_recipients(bozor, 1)  # arrives before the time: receives it too
    await wait_state(bozor, broadcast_id, BroadcastState.DONE)
    assert [await received(bozor, chat) for chat in chats + late] == [1] * 4


async def test_restart_resumes_without_duplicates(
    emulator: Emulator, database_url: str, db: async_sessionmaker[AsyncSession]
) -> None:
    overrides: dict[str, Any] = {"telegram_rate": 5.0, "broadcast_interval": 0.2}
    async with start_bozor(emulator, database_url, db, **overrides) as first:
        chats = await make_recipients(first, 24)
        broadcast_id = await broadcast(first)

        async def some_sent() -> bool:
            return (await progress(db, broadcast_id))["sent"] >= 3

        await eventually(some_sent, timeout=30)
    stopped = await progress(db, broadcast_id)
    assert stopped.waiting > 0  # stopped in the middle
    assert stopped["sending"] == 0 and stopped["unknown"] == 0  # calls in flight finished
    # A crashed sender leaves a row `sending`: at most once, it is never sent again.
    async with db() as session:
        crashed = await session.scalar(
            select(Delivery.id)
            .where(Delivery.status == DeliveryStatus.PENDING)
            .order_by(Delivery.id)
            .limit(1)
        )
        await session.execute(
            update(Delivery)
            .where(Delivery.id == crashed)
            .values(status=DeliveryStatus.SENDING, locked_until=utcnow() - timedelta(seconds=1))
        )
        crashed_chat = await session.scalar(select(Delivery.chat_id).where(Delivery.id == crashed))
        await session.commit()

    async with start_bozor(emulator, database_url, db, **overrides) as second:
        await wait_state(second, broadcast_id, BroadcastState.DONE)
        result = await progress(db, broadcast_id)
        assert (result["sent"], result["unknown"]) == (23, 1)
        counts = [await received(second, chat) for chat in chats]
    assert counts.count(1) == 23 and counts.count(0) == 1
    assert crashed_chat is not None and counts[chats.index(crashed_chat)] == 0


async def test_two_instances_share_the_limit_and_send_each_once(
    emulator: Emulator,
    database_url: str,
    db: async_sessionmaker[AsyncSession],
    redis_url: str,
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("several instances share PostgreSQL (SQLite is for one process)")
    prefix = f"test-bc-{utcnow().timestamp()}"
    overrides: dict[str, Any] = {
        "redis_url": redis_url,
        "redis_prefix": prefix,
        "broadcast_interval": 0.2,
    }
    try:
        async with AsyncExitStack() as stack:
            one = await stack.enter_async_context(
                start_bozor(emulator, database_url, db, **overrides)
            )
            await stack.enter_async_context(  # a second worker: no polling, no HTTP
                start_bozor(emulator, database_url, db, roles=frozenset({"worker"}), **overrides)
            )
            chats = await make_recipients(one, 120)
            await one.driver.set_rate_limits(True, per_second=30, per_chat_per_second=1)
            # Outbox messages go through the same limiter as the broadcast.
            async with db() as session:
                for chat in chats[:20]:
                    await lotteries_notify.accounts_added(
                        session=session, user_id=await user_id_of(session, chat), numbers=["1"]
                    )
                await session.commit()
            broadcast_id = await broadcast(one)
            await wait_state(one, broadcast_id, BroadcastState.DONE)
            async with db() as session:
                rows = (
                    await session.execute(
                        select(Delivery.chat_id, Delivery.status).where(
                            Delivery.broadcast_id == broadcast_id
                        )
                    )
                ).all()
            assert Counter(status for _, status in rows) == {DeliveryStatus.SENT: 120}
            assert [await received(one, chat) for chat in chats] == [1] * 120

            async def outbox_sent() -> bool:
                return int((await one.driver.stats())["messages_sent"]) == 140

            await eventually(outbox_sent, timeout=30)
            stats = await one.driver.stats()
            # Two instances at 30/s each would have run into Telegram's limit.
            assert stats["rate_limited"] == 0
    finally:
        client = Redis.from_url(redis_url)
        keys = [key async for key in client.scan_iter(f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def user_id_of(session: AsyncSession, telegram_id: int) -> int:
    found = await session.scalar(select(User.id).where(User.telegram_id == telegram_id))
    assert found is not None
    return int(found)
