"""Buying through the real bot and the emulator: Stars, bonus, expiry, refunds, history."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select
from tests.shop.helpers import (
    button,
    forge_press,
    invoice_of,
    make_product,
    order_summary,
    orders_of,
    press,
    text_of,
)

from bozor.ledger import service as ledger
from bozor.shop.models import Code, CodeStatus, OrderStatus, Payment, PaymentStatus
from bozor.testing import Harness, eventually


@pytest.fixture
def bozor_overrides() -> dict[str, Any]:
    return {
        "shop_order_minutes": 0.02,
        "shop_job_interval": 0.2,
        "outbox_chat_interval": 0,
        "throttle_burst": 100,
    }


async def pay(bozor: Harness, buyer: int, summary: dict[str, Any]) -> dict[str, Any]:
    """Press "Pay with Stars", then pay the invoice the bot sends."""
    await press(bozor, buyer, summary, button(summary, "sh:pay:"))
    invoice = await bozor.driver.wait_for_message(
        buyer, after_message_id=summary["message_id"], predicate=lambda m: "invoice" in m
    )
    return await bozor.driver.pay_invoice(buyer, invoice["message_id"])


async def test_buy_with_stars_delivers_codes_and_keeps_them(bozor: Harness) -> None:
    product = await make_product(bozor, stock=3, price=50)
    buyer = await bozor.user("Alice")
    await bozor.start(buyer)
    summary = await order_summary(bozor, buyer, product, 2)
    assert "× 2" in summary["text"] and "100 ⭐" in summary["text"]
    paid = await pay(bozor, buyer, summary)
    assert paid["ok"] is True
    codes = await bozor.driver.wait_for_message(buyer, contains="CODE-0001", timeout=10)
    assert "CODE-0002" in codes["text"] and "CODE-0003" not in codes["text"]
    [order] = await orders_of(bozor.db)
    assert order.status == OrderStatus.DELIVERED and order.provider == "telegram_stars"
    # the same update delivered twice changes nothing (the charge id is unique)
    charges = await bozor.driver.payments()
    assert len(charges) == 1 and charges[0]["total_amount"] == 100
    history = await text_of(bozor, buyer, "🧾 My purchases")
    assert f"#{order.id}" in history["text"] and "delivered" in history["text"]
    await press(bozor, buyer, history, f"sh:o:{order.id}")
    again = await bozor.driver.wait_for_message(
        buyer, after_message_id=history["message_id"], contains="CODE-0001"
    )
    assert "CODE-0002" in again["text"]
    # someone else cannot see them
    mallory = await bozor.user("Mallory")
    await bozor.start(mallory)
    menu = await text_of(bozor, mallory, "🧾 My purchases")
    await forge_press(bozor, mallory, menu, f"sh:o:{order.id}")
    await asyncio.sleep(1)
    seen = [m.get("text") or "" for m in await bozor.driver.bot_messages(mallory)]
    assert not any("CODE-0001" in text for text in seen)


async def test_pre_checkout_refused_when_stock_ran_out(bozor: Harness) -> None:
    product = await make_product(bozor, stock=1)
    buyer = await bozor.user("Bob")
    await bozor.start(buyer)
    invoice = await invoice_of(bozor, buyer, product)
    # the order lapses and someone else buys the last code meanwhile
    async with bozor.db() as session:
        [order] = await orders_of(bozor.db)
        from bozor.shop.service import orders as shop_orders

        loaded = await shop_orders.get(session=session, order_id=order.id)
        await shop_orders.expire_one(session=session, order=loaded)
        await session.commit()
    other = await bozor.user("Carol")
    await bozor.start(other)
    other_summary = await order_summary(bozor, other, product, 1)
    assert "Order #" in other_summary["text"]
    refused = await bozor.driver.pay_invoice(buyer, invoice["message_id"])
    assert refused["ok"] is False and "Sold out" in refused["error_message"]
    assert await bozor.driver.payments() == []


async def test_bonus_pays_all_or_part(bozor: Harness) -> None:
    product = await make_product(bozor, stock=3, price=30)
    buyer = await bozor.user("Dana")
    await bozor.start(buyer)
    async with bozor.db() as session:
        from bozor.users import service as users

        user = await users.get_by_telegram_id(session=session, telegram_id=buyer)
        assert user is not None
        await ledger.book(session=session, user_id=user.id, amount=40, reason="test", reference="1")
        await session.commit()
    bonuses = await text_of(bozor, buyer, "🎁 Bonuses")
    assert "40 points" in bonuses["text"]
    # part: 2 × 30 = 60, 40 from the bonus, 20 in Stars
    summary = await order_summary(bozor, buyer, product, 2)
    await press(bozor, buyer, summary, button(summary, "sh:bonus:"))
    from tests.shop.helpers import edited

    summary = await edited(bozor, buyer, summary["message_id"], "Left to pay: 20")
    assert (await pay(bozor, buyer, summary))["ok"]
    await bozor.driver.wait_for_message(buyer, contains="CODE-0002", timeout=10)
    assert (await bozor.driver.payments())[0]["total_amount"] == 20
    async with bozor.db() as session:
        assert await ledger.balance(session=session, user_id=user.id) == 0
        await ledger.book(session=session, user_id=user.id, amount=30, reason="test", reference="2")
        await session.commit()
    # all: the bonus covers 30 of 30
    summary = await order_summary(bozor, buyer, product, 1)
    await press(bozor, buyer, summary, button(summary, "sh:bonus:"))
    summary = await edited(bozor, buyer, summary["message_id"], "Left to pay: 0")
    await press(bozor, buyer, summary, button(summary, "sh:bonuspay:"))
    await bozor.driver.wait_for_message(buyer, contains="CODE-0003", timeout=10)
    delivered = [o for o in await orders_of(bozor.db) if o.status == OrderStatus.DELIVERED]
    assert len(delivered) == 2 and delivered[1].provider == "bonus"


async def test_expiry_releases_codes_and_returns_bonus(bozor: Harness) -> None:
    product = await make_product(bozor, stock=2)
    buyer = await bozor.user("Eve")
    await bozor.start(buyer)
    invoice = await invoice_of(bozor, buyer, product, 2)

    async def expired() -> bool:
        return [o.status for o in await orders_of(bozor.db)] == [OrderStatus.EXPIRED]

    await eventually(expired)
    async with bozor.db() as session:
        statuses = list(await session.scalars(select(Code.status)))
    assert statuses == [CodeStatus.AVAILABLE, CodeStatus.AVAILABLE]
    # paid after it expired: held again from stock at pre-checkout and delivered, not lost
    assert (await bozor.driver.pay_invoice(buyer, invoice["message_id"]))["ok"]
    await bozor.driver.wait_for_message(buyer, contains="CODE-0002", timeout=10)


async def test_admin_refund_returns_stars(bozor: Harness) -> None:
    from bozor.testing import ADMIN_ID

    product = await make_product(bozor, stock=2)
    buyer = await bozor.user("Finn")
    await bozor.start(buyer)
    summary = await order_summary(bozor, buyer, product, 1)
    assert (await pay(bozor, buyer, summary))["ok"]
    await bozor.driver.wait_for_message(buyer, contains="CODE-0001", timeout=10)
    [order] = await orders_of(bozor.db)
    admin = await bozor.user("Admin", user_id=ADMIN_ID)
    answer = await text_of(bozor, admin, f"/refund {order.id}")
    assert "Refund of order" in answer["text"]
    await bozor.driver.wait_for_message(buyer, contains="was refunded", timeout=10)
    assert [c["refunded"] for c in await bozor.driver.payments()] == [True]
    [order] = await orders_of(bozor.db)
    assert order.status == OrderStatus.REFUNDED
    async with bozor.db() as session:
        assert await session.scalar(select(Payment.status)) == PaymentStatus.REFUNDED
    again = await text_of(bozor, admin, f"/refund {order.id}")
    assert "Only a delivered order" in again["text"]
