"""Two outbox workers on one database (two instances, or a `bozor worker` beside `bozor run`)
send each queued message once — on SQLite too, which has no SKIP LOCKED."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bozor.emulator import Emulator
from bozor.lotteries import notify
from bozor.outbox import service as outbox
from bozor.testing import eventually, start_bozor

PER_USER = 4


async def test_two_workers_send_each_outbox_message_once(
    emulator: Emulator, database_url: str, db: async_sessionmaker[AsyncSession]
) -> None:
    fast: dict[str, Any] = {"outbox_chat_interval": 0, "outbox_interval": 0.01}
    async with (
        start_bozor(emulator, database_url, db, **fast) as first,
        start_bozor(emulator, database_url, db, roles=frozenset({"worker"}), **fast),
    ):
        users = [await first.user(f"User {i}") for i in range(12)]
        await first.driver.mark_started(users)
        async with db() as session:
            for user in users:
                for k in range(PER_USER):
                    await outbox.enqueue(
                        session=session,
                        chat_id=user,
                        kind=notify.ACCOUNTS_ADDED,
                        params={"number": f"11-22-33-44-55-66-{k:02d}"},
                    )
            await session.commit()

        async def received() -> list[int]:
            return [len(await first.driver.bot_messages(user)) for user in users]

        async def all_sent() -> bool:
            return sum(await received()) >= PER_USER * len(users)

        await eventually(all_sent)
        await asyncio.sleep(1)  # time for a second copy to arrive, if one were sent
        assert await received() == [PER_USER] * len(users)
