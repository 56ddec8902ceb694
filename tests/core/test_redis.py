"""With REDIS_URL set, what several instances must share lives in Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bozor.emulator import Emulator
from bozor.testing import Harness, free_port, start_bozor

SECRET = "shared-webhook-secret"


@pytest.fixture
async def two_instances(
    emulator: Emulator,
    database_url: str,
    db: async_sessionmaker[AsyncSession],
    redis_url: str,
    redis_prefix: str,
) -> AsyncIterator[tuple[Harness, Harness]]:
    """Two Bozor instances on one database and one Redis, each with its own webhook."""
    async with AsyncExitStack() as stack:
        instances = []
        for _ in range(2):
            port = free_port()
            overrides: dict[str, Any] = {
                "redis_url": redis_url,
                "redis_prefix": redis_prefix,
                "webhook_url": f"http://127.0.0.1:{port}",
                "http_port": port,
                "webhook_secret": SECRET,
                "throttle_burst": 3,
                # One token back per 1000 s: a slow machine taking seconds over the test's
                # messages must not refill the bucket (it did at 0.2/s under CI load).
                "throttle_rate": 0.001,
            }
            instances.append(
                await stack.enter_async_context(
                    start_bozor(emulator, database_url, db, **overrides)
                )
            )
        yield instances[0], instances[1]


async def post_update(harness: Harness, update: dict[str, Any]) -> int:
    url = f"{harness.settings.webhook_url}{harness.settings.webhook_path}"
    async with httpx.AsyncClient() as client:
        response = await client.post(
            url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
        )
    return response.status_code


def help_update(update_id: int, message_id: int, user_id: int) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": message_id,
            "date": 1_790_000_000,
            "chat": {"id": user_id, "type": "private", "first_name": "Aziz"},
            "from": {"id": user_id, "is_bot": False, "first_name": "Aziz", "language_code": "en"},
            "text": "/help",
            "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
        },
    }


async def test_an_update_reaching_two_instances_is_handled_once(
    two_instances: tuple[Harness, Harness],
) -> None:
    first, second = two_instances
    member = await first.user("Aziz")
    await first.start(member)  # opens the chat, through whichever webhook Telegram uses

    update = help_update(900_000, 900_000, member)
    assert list(await asyncio.gather(post_update(first, update), post_update(second, update))) == [
        200,
        200,
    ]
    await first.driver.wait_for_message(member, contains="I am ")  # /help, not the welcome
    await asyncio.sleep(0.5)  # room for a second answer, if there were one
    helps = [m for m in await first.driver.bot_messages(member) if "I am " in (m.get("text") or "")]
    assert len(helps) == 1


async def test_throttling_is_shared_between_instances(
    two_instances: tuple[Harness, Harness],
) -> None:
    first, second = two_instances
    member = await first.user("Aziz")
    await first.start(member)
    # Four messages, alternating instances: a per-process limit of 3 would let all through.
    for n in range(4):
        target = first if n % 2 == 0 else second
        await post_update(target, help_update(910_000 + n, 910_000 + n, member))
    await first.driver.wait_for_message(member, contains="Too many messages")
