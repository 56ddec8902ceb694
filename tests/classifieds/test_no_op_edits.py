"""Review messages are never edited to what they already show: Telegram refuses such an edit
("message is not modified"), and the emulator does too. Each test presses at the same moment,
then stops Bozor, so that every edit the presses caused has been sent when the emulator's
counts are read."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bozor.emulator import Emulator, EmulatorDriver
from bozor.outbox.models import OutboxMessage
from bozor.testing import ADMIN_ID, TEST_BOT_TOKEN, Harness, eventually, start_bozor

from .conftest import SECOND_ADMIN
from .helpers import post_ad, press, review_message, shown

Presses = Callable[[Harness, int, dict[str, Any], dict[str, Any]], Awaitable[object]]


async def refused_edits(
    emulator: Emulator,
    database_url: str,
    db: async_sessionmaker[AsyncSession],
    overrides: dict[str, Any],
    presses: Presses,
) -> dict[str, Any]:
    """Post an ad, let `presses` decide on it, wait until every review copy shows the
    decision and the outbox is idle, stop Bozor; the Bot API errors and requests since the
    presses."""
    async with start_bozor(emulator, database_url, db, **overrides) as bozor:
        await bozor.start(await bozor.user("Admin", user_id=ADMIN_ID))
        await bozor.start(await bozor.user("Boss", user_id=SECOND_ADMIN))
        bob = await bozor.user("Bob")
        ad_id = await post_ad(bozor, bob)
        first = await review_message(bozor, ADMIN_ID, ad_id)
        second = await review_message(bozor, SECOND_ADMIN, ad_id)
        before = await bozor.driver.stats()
        await presses(bozor, ad_id, first, second)
        await shown(bozor, ADMIN_ID, first["message_id"], "Approved by")
        await shown(bozor, SECOND_ADMIN, second["message_id"], "Approved by")

        async def outbox_idle() -> bool:
            async with db() as session:
                statuses = list(await session.scalars(select(OutboxMessage.status)))
            return all(status != "pending" for status in statuses)

        await eventually(outbox_idle, timeout=30)
    async with EmulatorDriver(emulator.url, TEST_BOT_TOKEN) as driver:
        after = await driver.stats()
    return {
        name: {key: count - before[name].get(key, 0) for key, count in after[name].items()}
        for name in ("errors", "requests")
    }


@pytest.mark.parametrize("second_presser", ["the same admin", "another admin"])
async def test_two_presses_at_once_edit_each_review_message_once(
    emulator: Emulator,
    database_url: str,
    db: async_sessionmaker[AsyncSession],
    bozor_overrides: dict[str, Any],
    second_presser: str,
) -> None:
    async def approve_twice(
        bozor: Harness, ad_id: int, first: dict[str, Any], second: dict[str, Any]
    ) -> None:
        other, copy = (
            (ADMIN_ID, first) if second_presser == "the same admin" else (SECOND_ADMIN, second)
        )
        await asyncio.gather(
            press(bozor, ADMIN_ID, first, f"ad:ok:{ad_id}:1"),
            press(bozor, other, copy, f"ad:ok:{ad_id}:1"),
        )

    stats = await refused_edits(emulator, database_url, db, bozor_overrides, approve_twice)
    assert stats["errors"].get("400", 0) == 0, stats["errors"]
    # the decider's copy by its handler, the other admin's by the outbox: once each
    assert stats["requests"].get("editMessageText", 0) == 2, stats["requests"]
