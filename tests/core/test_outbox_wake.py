"""The outbox sends as soon as the message is committed, not at its next sweep: in the same
process through an event, across instances through PostgreSQL's LISTEN/NOTIFY or Redis pub/sub.

The tests set OUTBOX_INTERVAL to an hour, so that within their bounds only a wake (or the due
time of a message the worker put off to keep a chat's pace) can deliver anything."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bozor.emulator import Emulator
from bozor.lotteries import notify as lottery_notify
from bozor.outbox import service as outbox
from bozor.outbox.wake import APPLICATION_NAME
from bozor.runtime import ALL_ROLES
from bozor.testing import Harness, api_url, eventually, free_port, new_api_key, start_bozor

AN_HOUR: dict[str, Any] = {"outbox_interval": 3600.0}
JOINED = "joined through your link"
WAIT = 60  # seconds: generous for a loaded machine; a wake delivers in milliseconds


async def notes(harness: Harness, chat_id: int) -> list[str]:
    """The referrer's "joined through your link" messages, oldest first."""
    texts = [m.get("text") or "" for m in await harness.driver.bot_messages(chat_id)]
    return [text for text in texts if JOINED in text]


async def wait_for_notes(harness: Harness, chat_id: int, count: int) -> list[str]:
    async def arrived() -> bool:
        return len(await notes(harness, chat_id)) >= count

    await eventually(arrived, timeout=WAIT)
    return await notes(harness, chat_id)


async def join_through_api(harness: Harness, code: str, user_id: str) -> None:
    """An integrator's app reports a sign-up with the referrer's code."""
    key = await new_api_key(harness)
    async with httpx.AsyncClient(base_url=api_url(harness)) as client:
        made = await client.post(
            "/api/v1/verify-referral",
            json={"code": code, "user_id": user_id},
            headers={"X-API-Key": key},
        )
    assert made.status_code == 201, made.text


async def test_messages_queued_by_an_update_and_an_api_call_are_sent_at_once(
    emulator: Emulator, database_url: str, db: async_sessionmaker[AsyncSession]
) -> None:
    async with start_bozor(emulator, database_url, db, http_port=free_port(), **AN_HOUR) as bozor:
        alice = await bozor.user("Alice")
        await bozor.start(alice)
        code = await bozor.referral_code(alice)

        await bozor.start(await bozor.user("Bob"), code)
        assert "Bob" in (await wait_for_notes(bozor, alice, 1))[0]
        # The second is put off by the chat's pace (OUTBOX_CHAT_INTERVAL), then sent when due.
        await join_through_api(bozor, code, "carol")
        assert len(await wait_for_notes(bozor, alice, 2)) == 2


FRIENDS = 30


async def test_a_burst_to_one_chat_is_still_coalesced_and_paced(
    emulator: Emulator, database_url: str, db: async_sessionmaker[AsyncSession]
) -> None:
    async with start_bozor(
        emulator, database_url, db, outbox_chat_interval=1.0, **AN_HOUR
    ) as bozor:
        alice = await bozor.user("Alice")
        await bozor.start(alice)
        code = await bozor.referral_code(alice)
        friends = [await bozor.user(f"Friend{i}") for i in range(FRIENDS)]
        await asyncio.gather(*(bozor.driver.send_start(friend, code) for friend in friends))

        async def announced() -> int:
            total = 0
            for text in await notes(bozor, alice):
                many = re.search(r"(\d+) new (?:people|person)", text)
                total += int(many.group(1)) if many else 1
            return total

        async def everyone_announced() -> bool:
            return await announced() >= FRIENDS

        await eventually(everyone_announced, timeout=WAIT)
        assert await announced() == FRIENDS, "each friend announced once"
        # One message a second to the chat: the burst's commits over a few seconds make a
        # few messages, not one per friend.
        assert len(await notes(bozor, alice)) < FRIENDS / 2


async def test_the_sweep_still_sends_what_no_wake_announced(
    emulator: Emulator, database_url: str, db: async_sessionmaker[AsyncSession]
) -> None:
    async with start_bozor(emulator, database_url, db, outbox_interval=0.2) as bozor:
        member = await bozor.user("Member")
        await bozor.driver.mark_started([member])
        # Written by another program (here the test's own connection): nothing wakes the worker.
        async with db() as session:
            await outbox.enqueue(
                session=session,
                chat_id=member,
                kind=lottery_notify.ACCOUNTS_ADDED,
                params={"number": "11-22-33-44-55-66-77"},
            )
            await session.commit()

        async def sent() -> bool:
            return len(await bozor.driver.bot_messages(member)) == 1

        await eventually(sent, timeout=WAIT)


@asynccontextmanager
async def bot_and_worker(
    emulator: Emulator,
    database_url: str,
    db: async_sessionmaker[AsyncSession],
    **overrides: Any,
) -> AsyncIterator[tuple[Harness, Harness]]:
    """Two instances on one database: one receives updates and serves the API (`bozor bot`
    and `bozor api`), the other only sends (`bozor worker`). Each is a Runtime of its own, so
    nothing in memory connects them."""
    async with AsyncExitStack() as stack:
        front = await stack.enter_async_context(
            start_bozor(
                emulator,
                database_url,
                db,
                roles=ALL_ROLES - {"worker"},
                http_port=free_port(),
                **AN_HOUR,
                **overrides,
            )
        )
        worker = await stack.enter_async_context(
            start_bozor(
                emulator, database_url, db, roles=frozenset({"worker"}), **AN_HOUR, **overrides
            )
        )
        yield front, worker


async def check_sent_by_the_other_instance(front: Harness) -> None:
    alice = await front.user("Alice")
    await front.start(alice)
    code = await front.referral_code(alice)
    await front.start(await front.user("Bob"), code)
    assert "Bob" in (await wait_for_notes(front, alice, 1))[0]
    await join_through_api(front, code, "carol")
    assert len(await wait_for_notes(front, alice, 2)) == 2


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_commit_on_one_instance_wakes_the_worker_of_another_through_postgres(
    emulator: Emulator, database_url: str, db: async_sessionmaker[AsyncSession]
) -> None:
    async with bot_and_worker(emulator, database_url, db) as (front, _worker):
        await check_sent_by_the_other_instance(front)


@pytest.mark.redis
async def test_a_commit_on_one_instance_wakes_the_worker_of_another_through_redis(
    emulator: Emulator,
    database_url: str,
    db: async_sessionmaker[AsyncSession],
    redis_url: str,
    redis_prefix: str,
) -> None:
    async with bot_and_worker(
        emulator, database_url, db, redis_url=redis_url, redis_prefix=redis_prefix
    ) as (front, _worker):
        await check_sent_by_the_other_instance(front)


async def wake_connections(database_url: str) -> set[int]:
    """The server processes of the instances' wake connections."""
    connection = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        rows = await connection.fetch(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = $1",
            APPLICATION_NAME,
        )
        return {int(row["pid"]) for row in rows}
    finally:
        await connection.close()


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_the_instances_reconnect_after_postgres_drops_their_wake_connections(
    emulator: Emulator,
    database_url: str,
    db: async_sessionmaker[AsyncSession],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bozor.outbox.wake")
    async with bot_and_worker(emulator, database_url, db) as (front, _worker):
        old: set[int] = set()

        async def both_connected() -> bool:
            pids = await wake_connections(database_url)
            return len(pids) == 2 and not pids & old

        await eventually(both_connected, timeout=WAIT)
        old = await wake_connections(database_url)
        connection = await asyncpg.connect(database_url.replace("+asyncpg", ""))
        try:
            await connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND application_name = $1",
                APPLICATION_NAME,
            )
        finally:
            await connection.close()
        await eventually(both_connected, timeout=WAIT)
        await check_sent_by_the_other_instance(front)
    lost = [r for r in caplog.records if "unavailable" in r.getMessage()]
    back = [r for r in caplog.records if "again through" in r.getMessage()]
    assert len(lost) == 2, "logged once per instance, not once per attempt"
    assert len(back) == 2
