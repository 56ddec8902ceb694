"""Money first: a pre-checkout query and a successful payment are handled ahead of a backlog
of other updates, by long polling and by webhook."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.shop.helpers import button, invoice_of, make_product, order_summary

from bozor.emulator import Emulator
from bozor.testing import Harness, eventually, free_port, start_bozor


@pytest.fixture(params=["polling", "webhook"])
async def bozor(
    request: pytest.FixtureRequest,
    emulator: Emulator,
    database_url: str,
    db: async_sessionmaker[AsyncSession],
) -> AsyncIterator[Harness]:
    # One update at a time outside the priority lane: one slow update is a backlog.
    overrides: dict[str, Any] = {
        "update_concurrency": 1,
        "throttle_burst": 100,
        "outbox_chat_interval": 0,
    }
    if request.param == "webhook":
        port = free_port()
        overrides |= {"webhook_url": f"http://127.0.0.1:{port}", "http_port": port}
    async with start_bozor(emulator, database_url, db, **overrides) as harness:
        yield harness


async def occupy_the_normal_lane(bozor: Harness, product: int) -> None:
    """Keep the normal lane's one update busy for ~15 s (a Telegram call failing with 500 and
    retried), without holding the database."""
    slow = await bozor.user("Slow")
    if bozor.settings.webhook_url is None:
        # Polling sends a returned reply in the lane: the slow user's welcome fails.
        await bozor.driver.inject_fault("sendMessage", error_code=500, times=6, chat_id=slow)
        await bozor.driver.send_start(slow)
    else:
        # A webhook's returned reply is sent outside the lane: a call the handler awaits
        # itself (Pay's answerCallbackQuery) fails instead. Its transaction is open
        # meanwhile, which on SQLite (one writer) would hold every other update too.
        if bozor.settings.database_url.startswith("sqlite"):
            pytest.skip("SQLite has one writer: an update holding it holds the payment too")
        await bozor.start(slow)
        summary = await order_summary(bozor, slow, product, 1)
        await bozor.driver.inject_fault("answerCallbackQuery", error_code=500, times=6)
        await bozor.driver.press_button(
            slow, summary["message_id"], callback_data=button(summary, "sh:pay:")
        )

    async def stuck() -> bool:
        return int((await bozor.driver.stats())["faults_injected"]) >= 1

    await eventually(stuck, timeout=20)


async def test_a_payment_is_handled_before_the_backlog(bozor: Harness) -> None:
    product = await make_product(bozor, stock=2, price=30)
    buyer = await bozor.user("Buyer")
    await bozor.start(buyer)
    invoice = await invoice_of(bozor, buyer, product)
    await occupy_the_normal_lane(bozor, product)
    crowd = [await bozor.user(f"New {i}") for i in range(20)]
    for user in crowd:
        await bozor.driver.send_start(user)
    paid = await bozor.driver.pay_invoice(buyer, invoice["message_id"])
    assert paid["ok"] is True, paid
    await bozor.driver.wait_for_message(buyer, contains="CODE-0001", timeout=10)
    # the payment went first: the crowd is still waiting
    waiting = [user for user in crowd if not await bozor.driver.bot_messages(user)]
    assert len(waiting) == len(crowd)

    async def all_welcomed() -> bool:
        return all([await bozor.driver.bot_messages(user) for user in crowd])

    await eventually(all_welcomed, timeout=60)


async def test_one_chats_updates_are_handled_in_order_by_long_polling(
    emulator: Emulator, database_url: str, db: async_sessionmaker[AsyncSession]
) -> None:
    """Several workers, and "/register" then "2223" sent at once: the card number is read
    after the question, even while the question's sending is retried (Telegram's webhook
    keeps one chat's updates in order; polling must too)."""
    async with start_bozor(
        emulator, database_url, db, update_concurrency=4, throttle_burst=100
    ) as bozor:
        member = await bozor.user("Quick")
        await bozor.start(member)
        await bozor.driver.inject_fault("sendMessage", error_code=500, times=2, chat_id=member)
        await bozor.driver.send_message(member, "/register")
        sent = await bozor.driver.send_message(member, "2223")
        await bozor.driver.wait_for_message(
            member, after_message_id=sent["message_id"], contains="phone", timeout=30
        )
        texts = [m.get("text") or "" for m in await bozor.driver.bot_messages(member)][1:]
        assert ["club card" in text for text in texts] == [True, False], texts
        assert "phone" in texts[1]


async def test_a_paid_code_is_sent_while_the_backlog_holds_every_connection(
    emulator: Emulator, database_url: str, db: async_sessionmaker[AsyncSession]
) -> None:
    """The main pool's only connection is held by a stuck update: the payment has the
    priority lane's connections, and the code it queued goes out through the outbox's."""
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite has one writer: an update holding it holds the payment too")
    port = free_port()
    async with start_bozor(
        emulator,
        database_url,
        db,
        update_concurrency=1,
        throttle_burst=100,
        outbox_chat_interval=0,
        database_pool_size=1,
        webhook_url=f"http://127.0.0.1:{port}",
        http_port=port,
    ) as bozor:
        product = await make_product(bozor, stock=2, price=30)
        buyer = await bozor.user("Buyer")
        await bozor.start(buyer)
        invoice = await invoice_of(bozor, buyer, product)
        await occupy_the_normal_lane(bozor, product)  # its transaction holds the connection
        paid = await bozor.driver.pay_invoice(buyer, invoice["message_id"])
        assert paid["ok"] is True, paid
        await bozor.driver.wait_for_message(buyer, contains="CODE-0001", timeout=10)
        # the update holding the main pool was still retrying (or the test proved nothing)
        assert int((await bozor.driver.stats())["faults_injected"]) < 6
