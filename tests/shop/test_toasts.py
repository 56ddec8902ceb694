"""What a buyer is told when a button can no longer do what it says, and what buttons stay."""

from __future__ import annotations

from typing import Any

import pytest
from tests.shop.helpers import button, make_product, order_summary, press

from bozor.shop.models import OrderStatus
from bozor.testing import Harness, eventually


@pytest.fixture
def bozor_overrides() -> dict[str, Any]:
    return {"shop_job_interval": 0.2, "outbox_chat_interval": 0, "throttle_burst": 100}


async def _paid(bozor: Harness, buyer: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """An order of one code paid with Stars: its summary message and its invoice."""
    product = await make_product(bozor, stock=10, price=50)
    summary = await order_summary(bozor, buyer, product, 1)
    await press(bozor, buyer, summary, button(summary, "sh:pay:"))
    invoice = await bozor.driver.wait_for_message(
        buyer, after_message_id=summary["message_id"], predicate=lambda m: "invoice" in m
    )
    assert (await bozor.driver.pay_invoice(buyer, invoice["message_id"]))["ok"] is True
    await bozor.driver.wait_for_message(buyer, contains="CODE-0001", timeout=10)
    return summary, invoice


async def test_cancelling_a_paid_order_says_it_is_paid(bozor: Harness) -> None:
    buyer = await bozor.user("Alice")
    await bozor.start(buyer)
    summary, _ = await _paid(bozor, buyer)
    query = await bozor.driver.press_button(
        buyer, summary["message_id"], callback_data=button(summary, "sh:x:")
    )
    answer = await bozor.driver.callback_answer(query, timeout=15)
    assert answer is not None
    text = answer["text"]
    assert "cancel" in text.lower() and "paid" in text and "(delivered)" not in text


async def test_paying_a_paid_invoice_again_says_it_is_paid(bozor: Harness) -> None:
    buyer = await bozor.user("Bob")
    await bozor.start(buyer)
    _, invoice = await _paid(bozor, buyer)
    again = await bozor.driver.pay_invoice(buyer, invoice["message_id"])
    assert again["ok"] is False
    assert "already paid" in again["error_message"] and "left" not in again["error_message"]


async def test_pay_and_cancel_buttons_go_once_the_order_is_paid(bozor: Harness) -> None:
    buyer = await bozor.user("Carol")
    await bozor.start(buyer)
    summary, _ = await _paid(bozor, buyer)

    async def no_buttons() -> bool:
        [message] = [
            m
            for m in await bozor.driver.bot_messages(buyer)
            if m["message_id"] == summary["message_id"]
        ]
        return "reply_markup" not in message

    await eventually(no_buttons, timeout=15)
    async with bozor.db() as session:
        from sqlalchemy import select

        from bozor.shop.models import Order

        assert await session.scalar(select(Order.status)) == OrderStatus.DELIVERED
