"""TIMEZONE through the bot: an admin types a draw time in the community's zone; it is stored
in UTC and shown back in the zone with its name, to the admin and to the winner."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select
from tests.lotteries.test_bot import admin, register, say

from bozor.lotteries.models import Lottery, Win
from bozor.testing import Harness


@pytest.fixture
def bozor_overrides() -> dict[str, Any]:
    return {"timezone": "Asia/Tashkent", "outbox_chat_interval": 0}


async def test_a_draw_time_typed_in_tashkent_is_stored_in_utc_and_shown_in_tashkent(
    bozor: Harness,
) -> None:
    boss = await admin(bozor)
    usage = await say(bozor, boss, "/new_lottery")
    assert "(Asia/Tashkent)" in usage and "UTC" not in usage
    created = await say(bozor, boss, "/new_lottery Winter draw\n1. Kettle\ndraw: 2030-12-14 18:00")
    assert "Draw: 2030-12-14 18:00 Asia/Tashkent" in created, created
    async with bozor.db() as session:
        draw_at = await session.scalar(select(Lottery.draw_at))
    assert draw_at == datetime(2030, 12, 14, 13, 0, tzinfo=UTC)
    listed = await say(bozor, boss, "/lotteries")
    assert "draw: 2030-12-14 18:00 Asia/Tashkent" in listed and "UTC" not in listed


async def test_the_winners_deadline_is_shown_in_the_zone(bozor: Harness) -> None:
    boss, alice = await admin(bozor), await bozor.user("Alice")
    await register(bozor, alice, "2223")
    created = await say(bozor, boss, "/new_lottery Spring draw\n1. Kettle")
    match = re.search(r"Lottery #(\d+)", created)
    assert match is not None
    lottery_id = int(match.group(1))
    await say(bozor, boss, f"/add_account 2223 11-22-33-44-55-66-77 {lottery_id}")
    await say(bozor, boss, f"/draw {lottery_id}", contains="Results")
    notice = await bozor.driver.wait_for_message(alice, contains="CONGRATULATIONS")
    async with bozor.db() as session:
        deadline = await session.scalar(select(Win.deadline_at))
    assert deadline is not None
    local = deadline.astimezone(timezone(timedelta(hours=5)))  # Tashkent: UTC+5 all year
    assert f"(until {local:%Y-%m-%d %H:%M} Asia/Tashkent)" in notice["text"], notice["text"]


@pytest.mark.parametrize("bozor_overrides", [{"timezone": "Europe/Berlin"}])
async def test_a_summer_time_in_berlin_round_trips(bozor: Harness) -> None:
    boss = await admin(bozor)
    created = await say(bozor, boss, "/new_lottery Summer draw\n1. Kettle\ndraw: 2030-07-01 18:00")
    assert "Draw: 2030-07-01 18:00 CEST" in created, created
    async with bozor.db() as session:
        draw_at = await session.scalar(select(Lottery.draw_at))
    assert draw_at == datetime(2030, 7, 1, 16, 0, tzinfo=UTC)
    skipped = await say(bozor, boss, "/new_lottery Lost hour\n1. Kettle\ndraw: 2030-03-31 02:30")
    assert "not valid" in skipped
