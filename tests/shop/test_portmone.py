"""Paying by card through Portmone (the fake gateway): the notification confirmed with
`result`, duplicates and forgeries harmless, mismatches refused and refunded, lost
notifications caught by reconciliation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from tests.shop.helpers import (
    button,
    buyer_with_points,
    make_product,
    order_summary,
    orders_of,
    pending_orders,
    press,
)

from bozor.ledger import service as ledger
from bozor.payments.fake_portmone import FakePortmone
from bozor.payments.portmone import PortmoneClient, PortmoneStatus
from bozor.shop.exceptions import BonusNotApplicableError
from bozor.shop.models import Code, CodeStatus, OrderStatus, Payment, PaymentStatus
from bozor.shop.service import card, orders
from bozor.testing import Harness, eventually, free_port, while_open

PORT = free_port()


@pytest.fixture
async def fake(request: pytest.FixtureRequest) -> AsyncIterator[FakePortmone]:
    lost = "lost_notifications" in request.node.name  # Portmone's notifications never arrive
    callback = None if lost else f"http://127.0.0.1:{PORT}/payments/portmone/callback"
    async with FakePortmone(callback_url=callback) as gateway:
        yield gateway


@pytest.fixture
def bozor_overrides(fake: FakePortmone, request: pytest.FixtureRequest) -> dict[str, Any]:
    config = fake.config
    return {
        "http_port": PORT,
        "portmone_payee_id": config.payee_id,
        "portmone_login": config.login,
        "portmone_password": config.password,
        "portmone_key": config.key,
        "portmone_url": config.url,
        # refund_sweep tests run the sweep themselves
        "shop_job_interval": 3600 if "refund_sweep" in request.node.name else 0.2,
        "outbox_chat_interval": 0,
        "throttle_burst": 100,
    }


async def card_payment(bozor: Harness, buyer: int, product: int) -> str:
    """Order one code and press "Pay by card": Portmone's order number for it."""
    summary = await order_summary(bozor, buyer, product, 1)
    assert "or 250.00 UAH by card" in summary["text"]
    await press(bozor, buyer, summary, button(summary, "sh:card:"))
    link = await bozor.driver.wait_for_message(
        buyer, after_message_id=summary["message_id"], contains="Portmone"
    )
    [[open_page]] = link["reply_markup"]["inline_keyboard"]
    assert open_page["url"].startswith(str(bozor.settings.portmone_url).rsplit("/gateway", 1)[0])
    async with bozor.db() as session:
        number = await session.scalar(select(Payment.external_id).order_by(Payment.id.desc()))
    assert number is not None
    return number


async def sold(bozor: Harness) -> int:
    async with bozor.db() as session:
        return len(
            list(await session.scalars(select(Code.id).where(Code.status == CodeStatus.SOLD)))
        )


async def test_card_payment_confirmed_once(bozor: Harness, fake: FakePortmone) -> None:
    product = await make_product(bozor, stock=2, card_price=25000)
    buyer = await bozor.user("Oksana")
    await bozor.start(buyer)
    number = await card_payment(bozor, buyer, product)
    assert fake.order(number).amount == Decimal("250.00")
    await fake.pay(number)
    await bozor.driver.wait_for_message(buyer, contains="CODE-0001", timeout=10)
    # the same notification again, twice at once: nothing more happens
    statuses = await asyncio.gather(fake.notify(number), fake.notify(number))
    assert list(statuses) == [200, 200]
    assert await sold(bozor) == 1
    [order] = await orders_of(bozor.db)
    assert order.status == OrderStatus.DELIVERED and order.provider == "portmone"
    async with bozor.db() as session:
        [payment] = list(await session.scalars(select(Payment)))
    assert payment.status == PaymentStatus.SUCCEEDED and payment.amount == 25000


async def test_forged_and_mismatched_notifications(bozor: Harness, fake: FakePortmone) -> None:
    product = await make_product(bozor, stock=2, card_price=25000)
    buyer = await bozor.user("Taras")
    await bozor.start(buyer)
    number = await card_payment(bozor, buyer, product)
    # forged: claims PAYED, but Portmone's result says it was not paid
    assert await fake.notify(number, status="PAYED", billAmount="250.00") == 200
    unknown = await fake.notify("BZ999-deadbeef")
    assert unknown == 200
    async with httpx.AsyncClient() as client:
        garbage = await client.post(
            f"http://127.0.0.1:{PORT}/payments/portmone/callback",
            content=b"not json",
            headers={"content-type": "application/json"},
        )
    assert garbage.status_code == 400
    assert await sold(bozor) == 0
    # paid, but less than billed: refused, logged, and the money goes back
    await fake.pay(number, amount=Decimal("1.00"))

    async def returned() -> bool:
        async with bozor.db() as session:
            status = await session.scalar(select(Payment.status))
        return status == PaymentStatus.REFUNDED

    await eventually(returned)
    assert fake.order(number).status is PortmoneStatus.RETURN
    assert await sold(bozor) == 0
    async with bozor.db() as session:
        payment = await session.scalar(select(Payment))
    assert payment is not None
    assert payment.detail.get("refused_as") == "mismatch"


async def test_reconciliation_catches_lost_notifications(
    bozor: Harness, fake: FakePortmone
) -> None:
    product = await make_product(bozor, stock=1, card_price=25000)
    buyer = await bozor.user("Petro")
    await bozor.start(buyer)
    number = await card_payment(bozor, buyer, product)
    fake.fail_next(1)  # one poll fails at the gateway; the next one succeeds
    await fake.pay(number)  # no notification reaches Bozor
    await bozor.driver.wait_for_message(buyer, contains="CODE-0001", timeout=15)
    [order] = await orders_of(bozor.db)
    assert order.status == OrderStatus.DELIVERED


async def test_bonus_and_card_exclude_each_other_even_at_once(bozor: Harness) -> None:
    """A card link is for the whole price: bonus points cannot then be applied to the order
    (they would be spent and the card still charged in full), nor the other way round, even
    when both are pressed at the same moment."""
    product = await make_product(bozor, stock=3, price=30, card_price=25000)
    user = await buyer_with_points(bozor, "Zarina", 100)
    first, second, third = await pending_orders(bozor, user, product, 3)

    def card_link(order_id: int) -> Any:
        return lambda session: card.start(
            session=session,
            settings=bozor.settings,
            user=user,
            order_id=order_id,
            description="20 USD",
            return_url="https://t.me/bozor_bot",
        )

    def bonus(order_id: int) -> Any:
        return lambda session: orders.apply_bonus(session=session, user=user, order_id=order_id)

    async with bozor.db() as session:
        await card_link(first.id)(session)
        await session.commit()
    with pytest.raises(BonusNotApplicableError):
        async with bozor.db() as session:
            await bonus(first.id)(session)
    with pytest.raises(BonusNotApplicableError):
        await while_open(bozor.db, card_link(second.id), bonus(second.id))
    with pytest.raises(BonusNotApplicableError):
        await while_open(bozor.db, bonus(third.id), card_link(third.id))
    async with bozor.db() as session:
        assert await ledger.balance(session=session, user_id=user.id) == 70  # the third's 30
        links = await session.scalars(
            select(Payment.order_id).where(Payment.payment_url.is_not(None))
        )
        assert sorted(order_id or 0 for order_id in links) == [first.id, second.id]


async def test_pressing_pay_by_card_twice_at_once_makes_one_link(bozor: Harness) -> None:
    """Two presses of "Pay by card" at the same moment: one Portmone payment and one link, so
    that the buyer cannot be charged twice for one order."""
    product = await make_product(bozor, stock=3, price=30, card_price=25000)
    user = await buyer_with_points(bozor, "Zarina", 0)
    [order] = await pending_orders(bozor, user, product, 1)

    async def card_link(session: Any) -> Payment:
        return await card.start(
            session=session,
            settings=bozor.settings,
            user=user,
            order_id=order.id,
            description="20 USD",
            return_url="https://t.me/bozor_bot",
        )

    second = await while_open(bozor.db, card_link, card_link)
    async with bozor.db() as session:
        payments = list(await session.scalars(select(Payment).where(Payment.order_id == order.id)))
    assert [(p.id, p.payment_url) for p in payments] == [(second.id, second.payment_url)]


async def refund_due_by_mismatch(bozor: Harness, fake: FakePortmone) -> str:
    """A card payment of too little, refused: its refund is due. Its order number."""
    product = await make_product(bozor, stock=2, card_price=25000)
    buyer = await bozor.user("Taras")
    await bozor.start(buyer)
    number = await card_payment(bozor, buyer, product)
    await fake.pay(number, amount=Decimal("1.00"))

    async def due() -> bool:
        return await payment_status(bozor) == PaymentStatus.REFUND_DUE

    await eventually(due)
    return number


async def payment_status(bozor: Harness) -> PaymentStatus | None:
    async with bozor.db() as session:
        return await session.scalar(select(Payment.status))


def returns_asked(fake: FakePortmone) -> int:
    return sum(1 for r in fake.requests if r.method == "return")


async def test_refund_sweep_whose_answer_was_lost_records_the_refund(
    bozor: Harness, fake: FakePortmone
) -> None:
    """Portmone made the refund but its answer never came: the refund stays due (nothing is
    handed to an admin, who would refund it a second time); the next sweep's `return` is
    refused, `result` shows the money back, and the refund is recorded."""
    number = await refund_due_by_mismatch(bozor, fake)
    fake.stall_next(1, seconds=1.0)  # answered after the client gave up
    async with PortmoneClient(fake.config, timeout=0.3) as client:
        await card.refund_due(bozor.db, bozor.settings, client)
        assert await payment_status(bozor) == PaymentStatus.REFUND_DUE
        await asyncio.sleep(1.0)
        assert fake.order(number).status is PortmoneStatus.RETURN
        await card.refund_due(bozor.db, bozor.settings, client)
    assert await payment_status(bozor) == PaymentStatus.REFUNDED
    assert returns_asked(fake) == 2


async def test_refund_sweeps_on_two_instances_return_the_money_once(
    bozor: Harness, fake: FakePortmone, database_url: str
) -> None:
    """Two instances sweep at the same moment: one asks Portmone, the other skips the payment
    it is working on."""
    if not database_url.startswith("postgresql"):
        pytest.skip("several instances share PostgreSQL; SQLite is one process")
    await refund_due_by_mismatch(bozor, fake)
    fake.stall_next(1, seconds=0.5)  # the first sweep is still waiting when the second runs
    async with PortmoneClient(fake.config) as client:
        await asyncio.gather(
            card.refund_due(bozor.db, bozor.settings, client),
            card.refund_due(bozor.db, bozor.settings, client),
        )
    assert await payment_status(bozor) == PaymentStatus.REFUNDED
    assert returns_asked(fake) == 1


async def test_a_declined_card_is_told_to_the_buyer(bozor: Harness, fake: FakePortmone) -> None:
    product = await make_product(bozor, stock=1, card_price=25000)
    buyer = await bozor.user("Taras")
    await bozor.start(buyer)
    number = await card_payment(bozor, buyer, product)
    fake.reject(number)  # Portmone posts nothing for a declined card: reconciliation finds it
    told = await bozor.driver.wait_for_message(buyer, contains="declined", timeout=20)
    assert "Stars" in told["text"] or "again" in told["text"]
    [order] = await orders_of(bozor.db)
    assert order.status == OrderStatus.PENDING  # still held: the buyer may try again
