"""Throttling slows what a person types or taps, never what Telegram reports: a throttled
buyer's payment is applied, a throttled button press still stops spinning."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from tests.shop.helpers import button, invoice_of, make_product, order_summary, orders_of, press

from bozor.shop.models import OrderStatus, Payment, PaymentStatus
from bozor.testing import Harness


@pytest.fixture
def bozor_overrides() -> dict[str, Any]:
    # Eight updates at once, then (practically) none: the purchase flow fits, a burst does not.
    return {"throttle_burst": 8, "throttle_rate": 0.001, "outbox_chat_interval": 0}


async def throttle(bozor: Harness, user: int) -> None:
    """Type until the bot says "Too many messages"."""
    for _ in range(6):
        await bozor.driver.send_message(user, "/help")
    await bozor.driver.wait_for_message(user, contains="Too many messages", timeout=10)


async def test_a_throttled_buyers_stars_payment_is_applied(bozor: Harness) -> None:
    product = await make_product(bozor, stock=2, price=40)
    buyer = await bozor.user("Quick")
    await bozor.start(buyer)
    invoice = await invoice_of(bozor, buyer, product)
    await throttle(bozor, buyer)
    paid = await bozor.driver.pay_invoice(buyer, invoice["message_id"])
    assert paid["ok"] is True, "the pre-checkout query is answered"
    # The successful_payment message reaches its handler: the code is delivered.
    await bozor.driver.wait_for_message(buyer, contains="CODE-0001", timeout=15)
    [order] = await orders_of(bozor.db)
    assert order.status == OrderStatus.DELIVERED
    async with bozor.db() as session:
        assert await session.scalar(select(Payment.status)) == PaymentStatus.SUCCEEDED


async def test_a_contact_shared_mid_flow_is_not_throttled(bozor: Harness) -> None:
    """The answer to "share your phone" is a button press Telegram turns into a message: it
    completes the registration even right after a burst."""
    member = await bozor.user("Phone")
    await bozor.start(member)
    asked = await bozor.driver.send_message(member, "/register")
    await bozor.driver.wait_for_message(
        member, after_message_id=asked["message_id"], contains="club card", timeout=10
    )
    sent = await bozor.driver.send_message(member, "2223")
    await bozor.driver.wait_for_message(
        member, after_message_id=sent["message_id"], contains="phone", timeout=10
    )
    await throttle(bozor, member)
    shared = await bozor.driver.send_contact(member, "+998901234567")
    answer = await bozor.driver.wait_for_message(
        member, after_message_id=shared["message_id"], contains="verification code", timeout=15
    )
    assert "Too many messages" not in answer["text"]


async def test_every_throttled_button_press_gets_its_toast(bozor: Harness) -> None:
    product = await make_product(bozor, stock=2, price=40)
    buyer = await bozor.user("Tapper")
    await bozor.start(buyer)
    summary = await order_summary(bozor, buyer, product, 1)
    await throttle(bozor, buyer)  # the once-per-burst warning went to the chat just now
    for _ in range(3):
        query = await press(bozor, buyer, summary, button(summary, "sh:pay:"))
        answer = await bozor.driver.callback_answer(query, timeout=10)
        assert answer is not None, "the button stops spinning"
        assert "Too fast" in (answer.get("text") or "")
    # the presses were not handled: no invoice was sent
    assert not any("invoice" in m for m in await bozor.driver.bot_messages(buyer))
