"""Races between a buyer's steps and the bot's, made deterministic: one transaction holds its
writes open while the other runs (`while_open`), or both write before either locks."""

from __future__ import annotations

import asyncio

import pytest
from tests.shop.helpers import buyer_with_points, make_product, pending_orders

from bozor.ledger import service as ledger
from bozor.shop.models import Payment, PaymentStatus
from bozor.shop.service import orders
from bozor.testing import Harness, while_open


async def test_a_cancel_racing_the_bonus_gives_the_points_back(bozor: Harness) -> None:
    product = await make_product(bozor, stock=2, price=30)
    user = await buyer_with_points(bozor, "Nodira", 40)
    [order] = await pending_orders(bozor, user, product)
    await while_open(
        bozor.db,
        lambda session: orders.apply_bonus(session=session, user=user, order_id=order.id),
        lambda session: orders.cancel(session=session, user=user, order_id=order.id),
    )
    async with bozor.db() as session:
        assert await ledger.balance(session=session, user_id=user.id) == 40


async def test_two_payments_for_one_order_at_once_do_not_deadlock(
    bozor: Harness, database_url: str
) -> None:
    """Each payment's row holds a key-share lock on its order (the foreign key) before the
    order is locked: a plain FOR UPDATE would wait for the other's, each in turn."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer: the second payment waits before it is written")
    product = await make_product(bozor, stock=1, price=30)
    user = await buyer_with_points(bozor, "Rustam", 0)
    [order] = await pending_orders(bozor, user, product)
    async with bozor.db() as first, bozor.db() as second:
        for session, charge in ((first, "charge-1"), (second, "charge-2")):
            session.add(
                Payment(
                    order_id=order.id,
                    provider="stars",
                    external_id=charge,
                    currency="XTR",
                    amount=30,
                    status=PaymentStatus.SUCCEEDED,
                )
            )
            await session.flush()
        locking = {
            asyncio.create_task(orders.locked(session, order.id)): session
            for session in (first, second)
        }
        done, pending = await asyncio.wait(locking, timeout=5, return_when="FIRST_COMPLETED")
        assert len(done) == 1 and len(pending) == 1
        [winner] = done
        locked = await winner  # raises DeadlockDetectedError without the fix
        assert locked is not None and locked.id == order.id
        await locking[winner].commit()
        [waiter] = pending
        locked = await asyncio.wait_for(waiter, 5)
        assert locked is not None and locked.id == order.id
        await locking[waiter].commit()
