"""Optional rule: a referral counts only once the new user is subscribed to a channel."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests import factories

from bozor.emulator import Emulator
from bozor.referrals.models import Referral, ReferralStatus
from bozor.testing import Harness, start_bozor


@pytest.fixture
async def channel(emulator: Emulator) -> int:
    return await factories.channel(emulator, "Bozor News", "bozor_news")


@pytest.fixture
async def bozor(
    emulator: Emulator, database_url: str, db: async_sessionmaker[AsyncSession], channel: int
) -> AsyncIterator[Harness]:
    overrides: dict[str, Any] = {"referral_required_channel": "@bozor_news"}
    async with start_bozor(emulator, database_url, db, **overrides) as harness:
        yield harness


async def status_of_only_referral(bozor: Harness) -> ReferralStatus:
    async with bozor.db() as session:
        [referral] = (await session.scalars(select(Referral))).all()
        return referral.status


async def test_referral_waits_for_subscription_then_counts(bozor: Harness, channel: int) -> None:
    alice, bob = await bozor.user("Alice"), await bozor.user("Bob")
    await bozor.start(alice)
    code = await bozor.referral_code(alice)

    await bozor.driver.send_start(bob, code)
    ask = await bozor.driver.wait_for_message(bob, contains="subscribe to @bozor_news")
    buttons = [b for row in ask["reply_markup"]["inline_keyboard"] for b in row]
    assert buttons[0]["url"] == "https://t.me/bozor_news"
    assert await status_of_only_referral(bozor) == ReferralStatus.PENDING
    await bozor.driver.wait_for_message(alice, contains="once they subscribe")

    query = await bozor.driver.press_button(bob, ask["message_id"], text="✅ I subscribed")
    answer = await bozor.driver.callback_answer(query)
    assert answer is not None and "not subscribed" in answer["text"]
    assert await status_of_only_referral(bozor) == ReferralStatus.PENDING

    await bozor.driver.set_member(channel, bob, "member")
    await bozor.driver.press_button(bob, ask["message_id"], text="✅ I subscribed")
    await bozor.driver.wait_for_message(
        bob, predicate=lambda m: "now confirmed" in (m.get("text") or "")
    )
    assert await status_of_only_referral(bozor) == ReferralStatus.CONFIRMED
    note = await bozor.driver.wait_for_message(alice, contains="referral is confirmed")
    assert "Confirmed referrals: 1" in note["text"]


async def test_already_subscribed_friend_counts_at_once(bozor: Harness, channel: int) -> None:
    alice, bob = await bozor.user("Alice"), await bozor.user("Bob")
    await bozor.driver.set_member(channel, bob, "member")
    await bozor.start(alice)
    code = await bozor.referral_code(alice)
    answer = await bozor.start(bob, code)
    assert "invitation from Alice" in answer["text"]
    assert await status_of_only_referral(bozor) == ReferralStatus.CONFIRMED


async def test_failed_membership_check_leaves_the_referral_waiting(
    bozor: Harness, channel: int
) -> None:
    alice, bob = await bozor.user("Alice"), await bozor.user("Bob")
    await bozor.driver.set_member(channel, bob, "member")
    await bozor.start(alice)
    code = await bozor.referral_code(alice)
    # Telegram cannot answer the check right now: Bob is not turned away with an error.
    await bozor.driver.inject_fault("getChatMember", error_code=502, times=1)
    await bozor.driver.send_start(bob, code)
    ask = await bozor.driver.wait_for_message(bob, contains="subscribe to @bozor_news")
    assert await status_of_only_referral(bozor) == ReferralStatus.PENDING
    await bozor.driver.press_button(bob, ask["message_id"], text="✅ I subscribed")
    await bozor.driver.wait_for_message(
        bob, predicate=lambda m: "now confirmed" in (m.get("text") or "")
    )
    assert await status_of_only_referral(bozor) == ReferralStatus.CONFIRMED
