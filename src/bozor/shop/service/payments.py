"""Payments: each applied exactly once (unique on provider and external id), checked against
the order's amount and currency, fulfilled from stock even when the order lapsed meanwhile,
and refunded when it cannot be fulfilled — never silently lost."""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import Table, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.db import upsert_insert, utcnow
from bozor.settings import Settings
from bozor.shop import audit, notify
from bozor.shop.exceptions import (
    AmountChangedError,
    NotRefundableError,
    OrderNotFoundError,
    SoldOutError,
    not_pending,
)
from bozor.shop.models import (
    STARS,
    Order,
    OrderStatus,
    Payment,
    PaymentProvider,
    PaymentStatus,
)
from bozor.shop.service import orders
from bozor.users.models import User

log = logging.getLogger(__name__)
_PAYMENTS = cast(Table, Payment.__table__)
PAYLOAD_PREFIX = "shop:"
# How long a sender keeps a due refund it claimed: long past any one call to the provider, so
# that only a sender that died mid-way leaves a claim behind for another to take over.
REFUND_LEASE = timedelta(minutes=5)


class Outcome(StrEnum):
    DELIVERED = "delivered"
    DUPLICATE = "duplicate"  # this payment was applied before: nothing done
    REFUND = "refund"  # refused (mismatch, already paid, no stock): to be refunded
    PENDING = "pending"  # not paid (yet)
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class Applied:
    outcome: Outcome
    payment: Payment | None
    order: Order | None


def invoice_payload(order_id: int, summary_message_id: int | None = None) -> str:
    """The invoice's payload: the order, and the summary message whose buttons go once paid."""
    summary = f":{summary_message_id}" if summary_message_id else ""
    return f"{PAYLOAD_PREFIX}{order_id}{summary}"


def _number(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() and len(text) < 19 else None


def order_id_of(payload: str) -> int | None:
    if not payload.startswith(PAYLOAD_PREFIX):
        return None
    return _number(payload[len(PAYLOAD_PREFIX) :].split(":", 1)[0])


def summary_message_of(payload: str) -> int | None:
    """The order summary's message id carried by the payload (None in older invoices)."""
    parts = payload[len(PAYLOAD_PREFIX) :].split(":", 1)
    return _number(parts[1]) if payload.startswith(PAYLOAD_PREFIX) and len(parts) == 2 else None


async def check_pre_checkout(
    *,
    session: AsyncSession,
    settings: Settings,
    payload: str,
    currency: str,
    total_amount: int,
    telegram_id: int,
) -> Order:
    """Telegram asks whether to take the money: yes only for the buyer's pending order, at
    its amount in Stars, with its codes still held (an order that lapsed is held again from
    stock if it can be). Raises the reason to refuse."""
    order_id = order_id_of(payload)
    order = await orders.locked(session, order_id) if order_id is not None else None
    owner = await session.get(User, order.user_id) if order is not None else None
    if order is None or owner is None or owner.telegram_id != telegram_id:
        raise OrderNotFoundError
    if currency != STARS or total_amount != order.stars_due:
        log.warning(
            "pre-checkout for order %s refused: %s %s, expected %s %s",
            order.id,
            total_amount,
            currency,
            order.stars_due,
            STARS,
        )
        raise AmountChangedError
    if order.status == OrderStatus.PENDING and order.expires_at > utcnow():
        return order
    if order.status == OrderStatus.PENDING:
        await orders.expire_one(session=session, order=order)
    if order.status not in (OrderStatus.EXPIRED, OrderStatus.CANCELLED):
        raise not_pending(order.status)  # paid already, or refunded: never "sold out"
    if not await orders.revive(session=session, settings=settings, order=order):
        left = await orders.stock_left(session=session, product_id=order.product_id)
        raise SoldOutError(left=left)
    return order


async def apply_stars(
    *,
    session: AsyncSession,
    settings: Settings,
    payload: str,
    charge_id: str,
    currency: str,
    total_amount: int,
    telegram_id: int,
) -> Applied:
    """A successful Stars payment (Telegram's successful_payment), applied once per charge."""
    order_id = order_id_of(payload) or 0
    payment = await _record(
        session,
        provider=PaymentProvider.STARS,
        external_id=charge_id,
        order_id=order_id,
        currency=currency,
        amount=total_amount,
        telegram_user_id=telegram_id,
        status=PaymentStatus.SUCCEEDED,
    )
    if payment is None:
        log.info("Stars charge %s for order %s delivered again; ignored", charge_id, order_id)
        return Applied(Outcome.DUPLICATE, None, None)
    order = await orders.locked(session, order_id)
    if order is None:
        return Applied(Outcome.REFUND, payment, None)  # _record made it refund_due already
    if currency != STARS or total_amount != order.stars_due:
        return await mismatch(session, settings, payment, order, expected=order.stars_due)
    return await fulfil(session=session, settings=settings, payment=payment, order=order)


async def _record(
    session: AsyncSession,
    *,
    provider: str,
    external_id: str,
    order_id: int,
    currency: str,
    amount: int,
    telegram_user_id: int | None,
    status: PaymentStatus,
) -> Payment | None:
    """Insert the payment once; None if (provider, external id) was recorded before."""
    exists = await session.scalar(select(Order.id).where(Order.id == order_id))
    payment_id = await session.scalar(
        upsert_insert(session, _PAYMENTS)
        .on_conflict_do_nothing(index_elements=["provider", "external_id"])
        .returning(_PAYMENTS.c.id),
        {
            # Money for an unknown order (pre-checkout refuses those, so only a bug or a
            # foreign payload) is still kept, to be refunded.
            "order_id": order_id if exists else None,
            "provider": provider,
            "external_id": external_id,
            "currency": currency,
            "amount": amount,
            "status": status if exists else PaymentStatus.REFUND_DUE,
            "telegram_user_id": telegram_user_id,
            "detail": {},
            "settled_at": utcnow(),
            "created_at": utcnow(),
        },
    )
    if payment_id is None:
        return None
    return await session.get(Payment, payment_id)


async def mismatch(
    session: AsyncSession, settings: Settings, payment: Payment, order: Order, *, expected: Any
) -> Applied:
    log.warning(
        "payment %s (%s %s) for order %s refused: expected %s; to be refunded",
        payment.id,
        payment.amount,
        payment.currency,
        order.id,
        expected,
    )
    await _set_status(session, payment, PaymentStatus.MISMATCH, refund=True)
    await audit.record(
        session=session,
        action="payment_mismatch",
        order_id=order.id,
        detail={
            "payment_id": payment.id,
            "amount": payment.amount,
            "currency": payment.currency,
            "expected": str(expected),
        },
    )
    return Applied(Outcome.REFUND, payment, order)


async def _set_status(
    session: AsyncSession, payment: Payment, status: PaymentStatus, *, refund: bool = False
) -> None:
    detail = dict(payment.detail or {})
    if refund:
        detail["refused_as"] = str(status)
        status = PaymentStatus.REFUND_DUE
    await session.execute(
        update(Payment)
        .where(Payment.id == payment.id)
        .values(status=status, detail=detail)
        .execution_options(synchronize_session=False)
    )
    await session.refresh(payment)


async def fulfil(
    *, session: AsyncSession, settings: Settings, payment: Payment, order: Order
) -> Applied:
    """Deliver the order this (checked) payment paid for: at once if still pending, from stock
    if it lapsed; refund when it was paid already or the stock ran out."""
    if order.status in (OrderStatus.EXPIRED, OrderStatus.CANCELLED) and await orders.revive(
        session=session, settings=settings, order=order
    ):
        log.info("order %s paid after it lapsed: fulfilled from stock", order.id)
    if order.status == OrderStatus.PENDING and await orders.deliver(
        session=session, order=order, provider=payment.provider
    ):
        await session.execute(
            update(Payment)
            .where(Payment.id == payment.id)
            .values(status=PaymentStatus.SUCCEEDED, settled_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        return Applied(Outcome.DELIVERED, payment, order)
    log.warning(
        "payment %s for order %s (%s) cannot be fulfilled; to be refunded",
        payment.id,
        order.id,
        order.status,
    )
    await _set_status(session, payment, PaymentStatus.REFUND_DUE, refund=True)
    await audit.record(
        session=session,
        action="payment_unfulfilled",
        order_id=order.id,
        detail={"payment_id": payment.id, "order_status": str(order.status)},
    )
    await notify.refund_pending(session=session, order_id=order.id, user_id=order.user_id)
    return Applied(Outcome.REFUND, payment, order)


async def request_refund(
    *, session: AsyncSession, settings: Settings, order_id: int, actor: str | None
) -> Order:
    """An admin refunds a delivered order: its payments are queued for refund, its bonus
    returned. The codes stay sold (the buyer has seen them)."""
    order = await orders.locked(session, order_id)
    if order is None:
        raise OrderNotFoundError
    if order.status != OrderStatus.DELIVERED:
        raise NotRefundableError(status=order.status)
    paid = list(
        await session.scalars(
            select(Payment).where(
                Payment.order_id == order.id, Payment.status == PaymentStatus.SUCCEEDED
            )
        )
    )
    for payment in paid:
        await _set_status(session, payment, PaymentStatus.REFUND_DUE)
    await orders.return_bonus(session, order)
    final = OrderStatus.REFUND_DUE if paid else OrderStatus.REFUNDED
    await session.execute(
        update(Order)
        .where(Order.id == order.id)
        .values(status=final, refunded_at=None if paid else utcnow())
        .execution_options(synchronize_session=False)
    )
    await session.refresh(order)
    await audit.record(
        session=session,
        action="refund_requested",
        actor=actor,
        order_id=order.id,
        detail={"payments": [p.id for p in paid], "bonus_points": order.bonus_points},
    )
    if not paid:
        await notify.refunded(
            session=session, order_id=order.id, user_id=order.user_id, amount=0, currency=STARS
        )
    return order


async def stars_refunds_of(*, session: AsyncSession, order_id: int) -> list[Payment]:
    """An order's Stars payments waiting for their refund."""
    return list(
        await session.scalars(
            select(Payment).where(
                Payment.order_id == order_id,
                Payment.provider == PaymentProvider.STARS,
                Payment.status == PaymentStatus.REFUND_DUE,
            )
        )
    )


async def refunds_due(*, session: AsyncSession, provider: str, limit: int = 100) -> list[Payment]:
    return list(
        await session.scalars(
            select(Payment)
            .where(Payment.provider == provider, Payment.status == PaymentStatus.REFUND_DUE)
            .order_by(Payment.id)
            .limit(limit)
        )
    )


async def next_refund(
    *, session: AsyncSession, provider: str, skip: Collection[int] = ()
) -> Payment | None:
    """The oldest payment due back (not in `skip`), locked until the transaction ends; on
    PostgreSQL a payment another transaction holds is passed over, so that two instances
    never ask the provider to refund one payment at once."""
    query = select(Payment).where(
        Payment.provider == provider, Payment.status == PaymentStatus.REFUND_DUE
    )
    if skip:
        query = query.where(Payment.id.not_in(skip))
    return await session.scalar(
        query.order_by(Payment.id).limit(1).with_for_update(skip_locked=True)
    )


async def claim_refund(*, session: AsyncSession, payment_id: int) -> Payment | None:
    """Take a due refund to send it now: None when it is not due (any more), or another
    sender took it less than REFUND_LEASE ago. A conditional UPDATE, so of two senders at
    once only one gets it; commit before asking the provider, so the others see the claim."""
    now = utcnow()
    changed = await session.execute(
        update(Payment)
        .where(
            Payment.id == payment_id,
            Payment.status == PaymentStatus.REFUND_DUE,
            or_(
                Payment.refund_claimed_at.is_(None),
                Payment.refund_claimed_at < now - REFUND_LEASE,
            ),
        )
        .values(refund_claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return await session.get(Payment, payment_id, populate_existing=True)


async def release_refund(*, session: AsyncSession, payment_id: int) -> None:
    """The provider could not be asked (or did not answer): the refund stays due, for the next
    sweep to send without waiting for the lease."""
    await session.execute(
        update(Payment)
        .where(Payment.id == payment_id, Payment.status == PaymentStatus.REFUND_DUE)
        .values(refund_claimed_at=None)
        .execution_options(synchronize_session=False)
    )


async def mark_refunded(
    *, session: AsyncSession, payment_id: int, manual: bool = False
) -> Payment | None:
    """The provider gave the money back (or an admin must, `manual`): recorded once; the
    order is refunded when it was being refunded; the buyer is told."""
    status = PaymentStatus.REFUND_MANUAL if manual else PaymentStatus.REFUNDED
    changed = await session.execute(
        update(Payment)
        .where(Payment.id == payment_id, Payment.status == PaymentStatus.REFUND_DUE)
        .values(status=status, refunded_at=None if manual else utcnow())
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        return None
    payment = await session.get(Payment, payment_id, populate_existing=True)
    assert payment is not None
    if payment.order_id is None:
        return payment
    order = await session.get(Order, payment.order_id)
    assert order is not None
    await session.execute(
        update(Order)
        .where(Order.id == order.id, Order.status == OrderStatus.REFUND_DUE)
        .values(status=OrderStatus.REFUNDED, refunded_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    await audit.record(
        session=session,
        action="refund_manual" if manual else "refunded",
        order_id=order.id,
        detail={"payment_id": payment.id, "amount": payment.amount, "currency": payment.currency},
    )
    if not manual:
        await notify.refunded(
            session=session,
            order_id=order.id,
            user_id=order.user_id,
            amount=payment.amount,
            currency=payment.currency,
        )
    return payment
