"""A Stars refund is claimed before it is sent: the payment handler's immediate refund, an
admin's and the shop job's sweep never both ask Telegram to refund one charge."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiogram import Bot
from sqlalchemy import update
from tests.shop.helpers import orders_of, paid_order, queue_refund, refunded

from bozor.db import utcnow
from bozor.shop import refunds
from bozor.shop.models import OrderStatus, Payment, PaymentStatus
from bozor.shop.service import payments
from bozor.telegram import FloodGate, ResilientRequests, create_bot
from bozor.testing import Harness


@pytest.fixture
def bozor_overrides() -> dict[str, Any]:
    # The instance's own sweep waits: the tests play the contenders themselves.
    return {"shop_job_interval": 3600, "outbox_chat_interval": 0, "throttle_burst": 100}


@pytest.fixture
async def bot(bozor: Harness) -> AsyncIterator[Bot]:
    """A Bot client as the shop job has; a failed call is not retried (the sweep is)."""
    made = create_bot(bozor.settings, ResilientRequests(FloodGate(), retry_for=0))
    yield made
    await made.session.close()


async def refund_calls(bozor: Harness) -> int:
    return int((await bozor.driver.stats())["requests"].get("refundStarPayment", 0))


async def test_the_handler_and_the_sweep_never_both_refund(bozor: Harness, bot: Bot) -> None:
    order_id = await paid_order(bozor, "Lola")
    # Telegram answers slowly: each contender has read the payment as due before the other's
    # refund is recorded.
    await bozor.driver.set_latency(0.5)
    payment = await queue_refund(bozor, order_id)

    async def handler_refund() -> bool:
        async with bozor.db() as session:
            sent = await refunds.refund_stars_now(session, bot, payment)
            await session.commit()  # as the handler's middleware does
            return sent

    done = await asyncio.gather(
        handler_refund(), refunds.settle_stars(bozor.db, bot), refunds.settle_stars(bozor.db, bot)
    )
    await bozor.driver.set_latency(0)
    assert await refund_calls(bozor) == 1, f"one refundStarPayment, not several: {done}"
    assert [c["refunded"] for c in await bozor.driver.payments()] == [True]
    async with bozor.db() as session:
        refunded = await session.get(Payment, payment.id)
        assert refunded is not None and refunded.status == PaymentStatus.REFUNDED
    [order] = await orders_of(bozor.db)
    assert order.status == OrderStatus.REFUNDED
    await bozor.driver.wait_for_message(
        (await bozor.driver.payments())[0]["user_id"], contains="was refunded", timeout=10
    )


async def test_a_refund_whose_sending_failed_is_sent_by_the_next_sweep(
    bozor: Harness, bot: Bot
) -> None:
    order_id = await paid_order(bozor, "Vali")
    payment = await queue_refund(bozor, order_id)
    await bozor.driver.inject_fault("refundStarPayment", error_code=500, times=1)
    async with bozor.db() as session:
        assert not await refunds.refund_stars_now(session, bot, payment)
        await session.commit()  # as the handler's middleware does
    await bozor.driver.clear_faults()
    assert await refunds.settle_stars(bozor.db, bot) == 1, "the claim was released"
    assert await refunded(bozor, payment.id)


async def test_a_claim_left_by_a_crash_is_taken_over_after_its_lease(
    bozor: Harness, bot: Bot
) -> None:
    order_id = await paid_order(bozor, "Zafar")
    payment = await queue_refund(bozor, order_id)
    async with bozor.db() as session:  # an instance claimed it, then died before sending
        assert await payments.claim_refund(session=session, payment_id=payment.id) is not None
        await session.commit()
    assert await refunds.settle_stars(bozor.db, bot) == 0, "claimed by someone still sending"
    assert await refund_calls(bozor) == 0
    async with bozor.db() as session:  # the lease runs out
        await session.execute(
            update(Payment)
            .where(Payment.id == payment.id)
            .values(refund_claimed_at=utcnow() - payments.REFUND_LEASE - timedelta(seconds=1))
        )
        await session.commit()
    assert await refunds.settle_stars(bozor.db, bot) == 1
    assert await refunded(bozor, payment.id)
    assert await refund_calls(bozor) == 1
