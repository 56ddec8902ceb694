"""Published results keep winners' names masked (LOTTERY_PUBLISH_NAMES) and carry a short
"Verify this draw" link instead of 64-character seeds and hashes; the link opens the full data."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select
from tests.lotteries.test_bot import admin, register, say

from bozor.emulator import Emulator, EmulatorDriver
from bozor.lotteries.models import Account, Lottery, Win
from bozor.lotteries.publish import mask
from bozor.testing import TEST_BOT_TOKEN, Harness

HEX64 = re.compile(r"\b[0-9a-f]{64}\b")
NUMBERS = {"jamshide": "11-22-33-44-55-66-77", "bobur_t": "22-33-44-55-66-77-88"}


@pytest.fixture
async def channel(emulator: Emulator) -> int:
    async with EmulatorDriver(emulator.url, TEST_BOT_TOKEN) as driver:
        return await driver.create_channel("Draw results", username="draws")


@pytest.fixture
def publish_names() -> str:
    return "masked"


@pytest.fixture
def bozor_overrides(channel: int, publish_names: str) -> dict[str, Any]:
    return {
        "lottery_channel": str(channel),
        "outbox_chat_interval": 0,
        "lottery_publish_names": publish_names,
    }


def test_names_are_masked_whole_characters_at_a_time() -> None:
    assert mask("@jamshide") == "@ja***e"
    assert mask("Akmalov") == "Ak***v"
    assert mask("Bo") == "B***" and mask("@ab") == "@a***"
    assert mask("Zoʻ👩‍👩‍👧r") == "Zo***r"  # the family emoji is one character, not five


async def _drawn(bozor: Harness) -> tuple[int, str, int]:
    """A draw of one prize between two registered members with usernames; the lottery,
    the winner's username and the other member's chat."""
    boss = await admin(bozor)
    members = {
        name: await bozor.user(name.capitalize(), username=name) for name in ("jamshide", "bobur_t")
    }
    for card, member in zip(("2223", "4445"), members.values(), strict=True):
        await register(bozor, member, card)
    created = await say(bozor, boss, "/new_lottery Winter draw\n1. Kettle")
    match = re.search(r"Lottery #(\d+)", created)
    assert match is not None
    lottery_id = int(match.group(1))
    for card, name in zip(("2223", "4445"), members, strict=True):
        await say(bozor, boss, f"/add_account {card} {NUMBERS[name]} {lottery_id}")
    reply = await say(bozor, boss, f"/draw {lottery_id}", contains="Results")
    assert HEX64.search(reply), "the admin's own reply keeps the fairness data"
    async with bozor.db() as session:
        number = await session.scalar(
            select(Account.number).join(Win, Win.account_id == Account.id)
        )
    winner = next(name for name, n in NUMBERS.items() if n == number)
    loser = next(member for name, member in members.items() if name != winner)
    return lottery_id, winner, loser


async def test_the_channel_and_the_participants_see_masked_names_and_a_verify_link(
    bozor: Harness, channel: int
) -> None:
    lottery_id, winner, loser = await _drawn(bozor)
    post = await bozor.driver.wait_for_message(channel, contains="Results")
    told = await bozor.driver.wait_for_message(loser, contains="did not win")
    link = re.compile(rf"https://t\.me/\w+_bot\?start=verify_{lottery_id}\b")
    for text in (post["text"], told["text"]):
        assert mask(f"@{winner}") in text and f"@{winner}" not in text, text
        assert not HEX64.search(text), text
        assert "Verify this draw" in text and link.search(text), text
    # the link opens the full published data in the bot
    opened = await bozor.start(loser, f"verify_{lottery_id}")
    async with bozor.db() as session:
        lottery = await session.get(Lottery, lottery_id)
    assert lottery is not None
    assert lottery.seed in opened["text"] and lottery.seed_hash in opened["text"]
    assert mask(f"@{winner}") in opened["text"]
    assert "number" in await say(bozor, loser, "/verify soon")


@pytest.mark.parametrize(("publish_names", "shown"), [("full", True), ("none", False)])
async def test_names_in_full_or_not_at_all_when_configured(
    bozor: Harness, channel: int, shown: bool
) -> None:
    _, winner, loser = await _drawn(bozor)
    post = await bozor.driver.wait_for_message(channel, contains="Results")
    told = await bozor.driver.wait_for_message(loser, contains="did not win")
    for text in (post["text"], told["text"]):
        assert (f"@{winner}" in text) is shown, text
        assert mask(f"@{winner}") not in text and NUMBERS[winner] in text, text
        assert not HEX64.search(text), text
