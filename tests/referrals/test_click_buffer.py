"""Waiting clicks written in the session of a request that holds a connection already."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from bozor.db import create_engine, create_session_factory
from bozor.referrals.clicks import ClickBuffer, Visit, click_row
from bozor.referrals.models import Click
from bozor.referrals.service import CodeOwner
from bozor.users import service as users_service
from bozor.users.service import TelegramProfile


async def test_a_request_holding_the_last_connection_flushes_in_its_own_session(
    database_url: str,
) -> None:
    """The API's figures flush the waiting clicks first. The request's session holds a
    connection from the key check on; with every pooled connection held that way, a flush
    needing a connection of its own would wait for ever. In the request's session it cannot."""
    engine = create_engine(database_url, pool_size=1, sqlite_pool_size=1)
    factory = create_session_factory(engine)
    try:
        async with factory() as session:
            referrer, _ = await users_service.upsert_from_telegram(
                session=session, profile=TelegramProfile(1, "Referrer")
            )
            await session.commit()
        owner = CodeOwner(referrer.id, 1, "Referrer", "tg:1")
        buffer = ClickBuffer(factory)
        for n in range(3):
            buffer.add(click_row(owner, Visit(f"10.0.0.{n}", "agent"), "secret", "redirect"))
        async with factory() as request_session:
            await request_session.execute(select(1))  # the connection is held from here on
            async with asyncio.timeout(20):
                assert await buffer.flush(request_session) == 3
            written = await request_session.scalar(select(func.count()).select_from(Click))
        assert written == 3
        assert buffer.waiting == 0
    finally:
        await engine.dispose()
