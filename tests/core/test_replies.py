"""Every reply arrives, whatever Telegram answers: Telegram's flood limits, 429s, 5xx as JSON
or as a gateway's HTML page; after the retry window a reply waits in the outbox."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from bozor.bot.replies import KIND
from bozor.outbox.models import OutboxMessage, OutboxStatus
from bozor.referrals.models import Referral, ReferralStatus
from bozor.testing import Harness, eventually
from bozor.users.models import User

NEWCOMERS = 500


@pytest.fixture
def bozor_overrides() -> dict[str, Any]:
    # Telegram's own pacing (1 s per chat) instead of the tests' quicker one; a burst of 500
    # through one link is what this test is about, not held for review as suspicious.
    return {"outbox_chat_interval": 1.0, "velocity_burst": 0}


async def confirmed_referrals(bozor: Harness, telegram_id: int) -> int:
    async with bozor.db() as session:
        referrer = await session.scalar(select(User.id).where(User.telegram_id == telegram_id))
        return int(
            await session.scalar(
                select(func.count())
                .select_from(Referral)
                .where(
                    Referral.referrer_id == referrer,
                    Referral.status == ReferralStatus.CONFIRMED,
                )
            )
            or 0
        )


async def welcomed(bozor: Harness, newcomer: int) -> bool:
    return any(
        "Welcome" in (m.get("text") or "") for m in await bozor.driver.bot_messages(newcomer)
    )


@pytest.mark.timeout(600)
async def test_every_newcomer_is_welcomed_under_flood_limits_and_faults(bozor: Harness) -> None:
    """500 new users `/start <code>` at once; the Bot API server keeps Telegram's limits
    (30/s, 1/s per chat) and fails 5% of sendMessage calls, half as a JSON 500 and half as
    nginx's HTML 502 page. Every newcomer gets the welcome, and each is counted once."""
    alice = await bozor.user("Alice")
    await bozor.start(alice)
    caption = (await bozor.show_ref(alice))["caption"]
    code = re.search(r"\?start=([A-Za-z0-9]+)", caption)
    assert code is not None
    newcomers = [await bozor.user(f"Newcomer{i}") for i in range(NEWCOMERS)]
    driver = bozor.driver
    await driver.set_rate_limits(True)
    await driver.inject_fault("sendMessage", error_code=500, rate=0.025, seed=14)
    await driver.inject_fault("sendMessage", error_code=502, rate=0.025, body="html")

    await asyncio.gather(*(driver.send_start(user, code.group(1)) for user in newcomers))

    # ~17 s of pacing at 30/s on an idle machine; the bound is for a loaded CI machine.
    async def all_welcomed() -> bool:
        done = await asyncio.gather(*(welcomed(bozor, user) for user in newcomers))
        return all(done)

    try:
        await eventually(all_welcomed, timeout=400, every=2.0)
    except TimeoutError:
        missing = [u for u in newcomers if not await welcomed(bozor, u)]
        raise AssertionError(f"{len(missing)} of {NEWCOMERS} never got the welcome") from None
    stats = await driver.stats()
    assert stats["faults_injected"] > 0, "the faults fired"
    assert await confirmed_referrals(bozor, alice) == NEWCOMERS
    await driver.clear_faults()
    await driver.set_rate_limits(False)
    figures = (await bozor.show_ref(alice))["caption"]
    assert f"Confirmed: {NEWCOMERS}" in figures


async def test_a_gateway_page_on_a_reply_is_retried(bozor: Harness) -> None:
    """A 502 or 504 answered as nginx's HTML page is a transient failure, not a lost reply."""
    member = await bozor.user("Aziz")
    await bozor.start(member)
    await bozor.driver.inject_fault("sendMessage", error_code=502, body="html", times=2)
    await bozor.driver.inject_fault("sendMessage", error_code=504, body="html", times=1)
    sent = await bozor.driver.send_message(member, "/help")
    answer = await bozor.driver.wait_for_message(
        member, after_message_id=sent["message_id"], timeout=30
    )
    assert "/ref" in answer["text"]
    assert (await bozor.driver.stats())["faults_injected"] == 3


async def test_a_reset_connection_on_a_reply_is_retried(bozor: Harness) -> None:
    member = await bozor.user("Aziz")
    await bozor.start(member)
    await bozor.driver.inject_fault("sendMessage", error_code=502, body="reset", times=2)
    sent = await bozor.driver.send_message(member, "/help")
    answer = await bozor.driver.wait_for_message(
        member, after_message_id=sent["message_id"], timeout=30
    )
    assert "/ref" in answer["text"]


async def test_repeated_429s_on_a_returned_reply_are_waited_out(bozor: Harness) -> None:
    """Telegram says "retry after 1" seven times in a row: the reply still goes out."""
    member = await bozor.user("Aziz")
    await bozor.start(member)
    await bozor.driver.inject_fault("sendMessage", error_code=429, retry_after=1, times=7)
    sent = await bozor.driver.send_message(member, "/help")
    answer = await bozor.driver.wait_for_message(
        member, after_message_id=sent["message_id"], timeout=60
    )
    assert "/ref" in answer["text"]
    assert (await bozor.driver.stats())["rate_limited"] == 7


async def outbox_rows(bozor: Harness, chat_id: int) -> list[OutboxMessage]:
    async with bozor.db() as session:
        return list(
            await session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.chat_id == chat_id, OutboxMessage.kind == KIND)
                .order_by(OutboxMessage.id)
            )
        )


@pytest.mark.parametrize("bozor_overrides", [{"telegram_retry_for": 1.0}])
async def test_a_reply_telegram_keeps_failing_waits_in_the_outbox(bozor: Harness) -> None:
    """After the retry window the reply is queued, not dropped; the outbox worker sends it,
    keyboard and uploaded photo included, once Telegram is back."""
    member = await bozor.user("Aziz")
    driver = bozor.driver
    for method in ("sendMessage", "sendPhoto"):
        await driver.inject_fault(method, error_code=502, body="html", times=10_000, chat_id=member)

    await driver.send_start(member)
    await eventually(lambda: _queued(bozor, member, 1), timeout=30)
    await driver.send_message(member, "/ref")
    await eventually(lambda: _queued(bozor, member, 2), timeout=30)
    assert await driver.bot_messages(member) == []
    await driver.clear_faults()

    welcome = await driver.wait_for_message(member, contains="Welcome", timeout=60)
    assert "Aziz" in welcome["text"]
    keyboard = await driver.reply_keyboard(member)
    assert keyboard is not None and keyboard["keyboard"], "the menu came with the welcome"
    qr = await driver.wait_for_message(member, predicate=lambda m: bool(m.get("photo")), timeout=60)
    assert "?start=" in qr["caption"]
    assert await driver.get_file_bytes(qr["photo"][-1]["file_id"])
    await eventually(lambda: _all_sent(bozor, member), timeout=30)


async def _queued(bozor: Harness, chat_id: int, count: int) -> bool:
    return len(await outbox_rows(bozor, chat_id)) >= count


async def _all_sent(bozor: Harness, chat_id: int) -> bool:
    rows = await outbox_rows(bozor, chat_id)
    return len(rows) == 2 and all(row.status == OutboxStatus.SENT for row in rows)
