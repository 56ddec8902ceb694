"""The demo's sample shop (`bozor.shop.demo`) holds together: stock counts match the codes and
the catalogue's plan, every sold code belongs to a paid order of its product and quantity,
every paid order has its Stars payment, and the history lies in the past 30 days, after each
buyer joined; the codes open with the shop's key and reach their buyers."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import select, update

from bozor.db import utcnow
from bozor.demo.seeding import DemoContext, Person
from bozor.shop import codes, demo
from bozor.shop.models import Code, CodeStatus, Order, OrderStatus, Payment, PaymentStatus
from bozor.shop.service import catalogue, stats
from bozor.shop.settings import ShopSettings
from bozor.testing import Harness
from bozor.users.models import User

CROWD = 12


async def crowd(bozor: Harness) -> list[Person]:
    """People who joined over the last three weeks (as the referrals seeder leaves them)."""
    people = [
        Person(await bozor.user(f"Member {i}", language_code="en"), f"Member {i}", "en")
        for i in range(CROWD)
    ]
    await bozor.driver.mark_started([p.telegram_id for p in people])
    context = DemoContext(bozor.settings, bozor.db, bozor.driver, {}, people, None)
    async with bozor.db() as session:
        for i, person in enumerate(people):
            user = await context.user(session, person)
            await session.execute(
                update(User)
                .where(User.id == user.id)
                .values(created_at=utcnow() - timedelta(days=21 - i * 1.5))
            )
        await session.commit()
    return people


async def test_the_sample_shop_holds_together(bozor: Harness) -> None:
    people = await crowd(bozor)
    ctx = DemoContext(bozor.settings, bozor.db, bozor.driver, {}, people, None)
    await demo.seed(ctx)
    assert ctx.hints == ["demo.shop.hint"]
    planned = {
        f"{service.name} {item.title}": item
        for service in demo.CATALOGUE
        for item in service.products
    }
    async with bozor.db() as session:
        stock = await catalogue.products(session=session)
        names = {c.id: c.name for c in await catalogue.categories(session=session)}
        all_orders = list(await session.scalars(select(Order)))
        all_codes = list(await session.scalars(select(Code)))
        all_payments = list(await session.scalars(select(Payment)))
        joined = dict((await session.execute(select(User.id, User.created_at))).all())
        month = await stats.sales(session=session, period="30d")
        today = await stats.sales(session=session, period="today")
        some_paid = next(o for o in all_orders if o.status == OrderStatus.DELIVERED)
        revealed = await codes.reveal(
            session=session, settings=bozor.settings, order_id=some_paid.id
        )
        buyer = await session.scalar(select(User.telegram_id).where(User.id == some_paid.user_id))

    # Stock: as planned, one product low (at or below SHOP_LOW_STOCK) and one sold out.
    assert len(stock) == len(planned) == len(ctx.facts["shop:products"])
    levels = Counter(
        catalogue.stock_level(row.available, ShopSettings.of(bozor.settings).low_stock)
        for row in stock
    )
    assert levels == {"ok": len(planned) - 2, "low": 1, "out": 1}
    for row in stock:
        item = planned[f"{names[row.product.category_id]} {row.product.title}"]
        assert (row.available, row.reserved, row.sold) == (item.left, 0, item.sold)
        assert row.product.price_stars == item.stars
    low = next(r for r in stock if r.product.id == ctx.facts["shop:low"])
    assert 0 < low.available <= ShopSettings.of(bozor.settings).low_stock
    assert next(r for r in stock if r.product.id == ctx.facts["shop:sold_out"]).available == 0

    # Every sold code belongs to a paid order of its product, as many as it ordered.
    by_order = Counter(c.order_id for c in all_codes if c.status == CodeStatus.SOLD)
    paid = [o for o in all_orders if o.status in (OrderStatus.DELIVERED, OrderStatus.REFUNDED)]
    assert by_order == {o.id: o.quantity for o in paid}
    products_of = {o.id: o.product_id for o in all_orders}
    assert all(products_of[c.order_id] == c.product_id for c in all_codes if c.order_id is not None)
    assert all(c.order_id is None for c in all_codes if c.status == CodeStatus.AVAILABLE)
    unpaid = Counter(o.status for o in all_orders if o not in paid)
    assert unpaid == {OrderStatus.EXPIRED: 2, OrderStatus.CANCELLED: 1}
    assert Counter(o.status for o in paid)[OrderStatus.REFUNDED] == 1
    assert len(all_orders) == ctx.facts["shop:orders"]

    # One Stars payment per paid order, of its amount; the refunded one refunded.
    assert sorted(p.order_id or 0 for p in all_payments) == sorted(o.id for o in paid)
    for payment in all_payments:
        order = next(o for o in paid if o.id == payment.order_id)
        assert (payment.currency, payment.amount) == ("XTR", order.stars_total)
        refunded = order.status == OrderStatus.REFUNDED
        assert payment.status == (PaymentStatus.REFUNDED if refunded else PaymentStatus.SUCCEEDED)

    # A history over the dashboard's 30 days, ids in time order, each after its buyer joined.
    now, first_day = utcnow(), stats.since_of("30d")
    by_id = sorted(all_orders, key=lambda o: o.id)
    assert [o.created_at for o in by_id] == sorted(o.created_at for o in by_id)
    for order in all_orders:
        assert first_day <= order.created_at <= now
        assert order.created_at >= joined[order.user_id]
        if order in paid:
            assert order.paid_at is not None and order.created_at <= order.paid_at <= now
    days_with_sales = {o.delivered_at.date() for o in paid if o.delivered_at is not None}
    assert len(days_with_sales) >= 8
    assert today.orders >= demo.TODAY_ORDERS and month.orders == len(paid) - 1

    # The codes open with the shop's key and have their service's shape; the buyer got them.
    assert revealed and all(len(code) >= 16 for code in revealed)
    assert buyer is not None
    message = await bozor.driver.wait_for_message(buyer, contains=revealed[0], timeout=20)
    assert f"Order #{some_paid.id}:" in message["text"]
