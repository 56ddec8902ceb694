"""Arranging the shop's data for tests: a category, a product and its codes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bozor.ledger import service as ledger
from bozor.settings import Settings
from bozor.shop import codes
from bozor.shop.models import Order, Payment, PaymentStatus
from bozor.shop.service import catalogue, orders, payments
from bozor.testing import Harness
from bozor.users import service as users
from bozor.users.models import User


async def make_product(
    bozor: Harness,
    *,
    stock: int = 5,
    price: int = 50,
    card_price: int | None = None,
    prefix: str = "CODE",
) -> int:
    """A "Steam" category with a "20 USD" product and `stock` codes; the product id."""
    async with bozor.db() as session:
        category = await catalogue.create_category(session=session, name="Steam")
        product = await catalogue.create_product(
            session=session,
            category_id=category.id,
            title="20 USD",
            price_stars=price,
            card_price=card_price,
            card_payable=card_price is not None,
        )
        if stock:
            await codes.import_codes(
                session=session,
                settings=bozor.settings,
                product_id=product.id,
                lines=[codes.CodeLine(i, f"{prefix}-{i:04d}") for i in range(1, stock + 1)],
                actor="test",
            )
        await session.commit()
        return int(product.id)


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


async def buyer_with_points(bozor: Harness, name: str, points: int) -> User:
    telegram_id = await bozor.user(name)
    await bozor.start(telegram_id)
    async with bozor.db() as session:
        user = await users.get_by_telegram_id(session=session, telegram_id=telegram_id)
        assert user is not None
        await ledger.book(
            session=session, user_id=user.id, amount=points, reason="test", reference="1"
        )
        await session.commit()
    return user


async def pending_orders(bozor: Harness, user: User, product: int, count: int = 1) -> list[Order]:
    """`count` pending orders of one code each, made through the service."""
    async with bozor.db() as session:
        made = [
            await orders.create(
                session=session, settings=bozor.settings, user=user, product_id=product, quantity=1
            )
            for _ in range(count)
        ]
        await session.commit()
    return made


async def paid_order(bozor: Harness, name: str) -> int:
    """A delivered order paid with Stars through the emulator; its id."""
    product = await make_product(bozor, stock=1, price=25, prefix=name.upper())
    buyer = await bozor.user(name)
    await bozor.start(buyer)
    summary = await order_summary(bozor, buyer, product, 1)
    await press(bozor, buyer, summary, button(summary, "sh:pay:"))
    invoice = await bozor.driver.wait_for_message(
        buyer, after_message_id=summary["message_id"], predicate=lambda m: "invoice" in m
    )
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
