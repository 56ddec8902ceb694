"""Driving the shop through the emulator: the buying dialogue, its buttons and edits. Data is
made by `tests.factories` (re-exported here for the tests that import it from here)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.factories import buyer_with_points, make_product, pending_orders

from bozor.settings import Settings
from bozor.shop.models import Order, Payment, PaymentStatus
from bozor.shop.service import payments
from bozor.testing import Harness

__all__ = ["buyer_with_points", "make_product", "pending_orders"]


async def orders_of(db: async_sessionmaker[AsyncSession]) -> list[Order]:
    async with db() as session:
        return list(await session.scalars(select(Order).order_by(Order.id)))


async def text_of(bozor: Harness, user: int, text: str, **wait: Any) -> dict[str, Any]:
    sent = await bozor.driver.send_message(user, text)
    return await bozor.driver.wait_for_message(user, after_message_id=sent["message_id"], **wait)


def settings_of(bozor: Harness) -> Settings:
    return bozor.settings


async def edited(bozor: Harness, chat: int, message_id: int, contains: str) -> dict[str, Any]:
    """The message once the bot has edited it to contain `contains`."""
    return await bozor.driver.wait_for_edit(chat, message_id, contains=contains, timeout=30)


async def press(bozor: Harness, chat: int, message: dict[str, Any], data: str) -> str:
    return await bozor.driver.press_button(chat, message["message_id"], callback_data=data)


async def order_summary(
    bozor: Harness, buyer: int, product_id: int, quantity: int
) -> dict[str, Any]:
    """Buy cards → Steam → 20 USD → quantity: the order summary message."""
    menu = await text_of(bozor, buyer, "🛒 Buy cards", contains="Choose a service")
    category_data = menu["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await press(bozor, buyer, menu, category_data)
    await edited(bozor, buyer, menu["message_id"], "choose a denomination")
    await press(bozor, buyer, menu, f"sh:p:{product_id}")
    await edited(bozor, buyer, menu["message_id"], "How many codes")
    await press(bozor, buyer, menu, f"sh:q:{product_id}:{quantity}")
    return await edited(bozor, buyer, menu["message_id"], "Order #")


def button(message: dict[str, Any], prefix: str) -> str:
    for row in message["reply_markup"]["inline_keyboard"]:
        for item in row:
            if item.get("callback_data", "").startswith(prefix):
                return str(item["callback_data"])
    raise AssertionError(f"no {prefix} button in {message['reply_markup']}")


async def invoice_of(
    bozor: Harness, buyer: int, product_id: int, quantity: int = 1
) -> dict[str, Any]:
    """The buyer orders `quantity` codes and presses Pay: the Stars invoice message."""
    summary = await order_summary(bozor, buyer, product_id, quantity)
    await press(bozor, buyer, summary, button(summary, "sh:pay:"))
    return await bozor.driver.wait_for_message(
        buyer, after_message_id=summary["message_id"], predicate=lambda m: "invoice" in m
    )


async def forge_press(bozor: Harness, user: int, message: dict[str, Any], data: str) -> None:
    """A callback with data the client never showed this user (callback data is client-side)."""
    await bozor.driver.push_update(
        {
            "callback_query": {
                "id": f"forged-{user}-{data}",
                "from": {"id": user, "is_bot": False, "first_name": "Forger"},
                "message": message,
                "chat_instance": "1",
                "data": data,
            }
        }
    )


async def paid_order(bozor: Harness, name: str) -> int:
    """A delivered order paid with Stars through the emulator; its id."""
    product = await make_product(bozor, stock=1, price=25, prefix=name.upper())
    buyer = await bozor.user(name)
    await bozor.start(buyer)
    invoice = await invoice_of(bozor, buyer, product)
    assert (await bozor.driver.pay_invoice(buyer, invoice["message_id"]))["ok"]
    await bozor.driver.wait_for_message(buyer, contains=f"{name.upper()}-0001", timeout=15)
    [order] = await orders_of(bozor.db)
    return order.id


async def queue_refund(bozor: Harness, order_id: int) -> Payment:
    """The order's payment made due back, as an admin's refund does before it is sent."""
    async with bozor.db() as session:
        await payments.request_refund(
            session=session, settings=bozor.settings, order_id=order_id, actor="test"
        )
        await session.commit()
        payment = await session.scalar(select(Payment).where(Payment.order_id == order_id))
        assert payment is not None
        return payment


async def refunded(bozor: Harness, payment_id: int) -> bool:
    async with bozor.db() as session:
        payment = await session.get(Payment, payment_id)
        assert payment is not None
    charges = await bozor.driver.payments()
    return payment.status == PaymentStatus.REFUNDED and [c["refunded"] for c in charges] == [True]
