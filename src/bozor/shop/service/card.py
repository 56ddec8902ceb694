"""Card payments through Portmone for products marked card-payable: a payment link per order,
its notification confirmed with `result()` (notifications are unsigned and never trusted),
reconciliation of pending payments, and refunds through Portmone's `return`."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bozor.db import dialect_name, serialize, session_scope, utcnow
from bozor.payments.portmone import PortmoneClient, PortmoneError, PortmoneStatus
from bozor.settings import Settings
from bozor.shop import audit, notify
from bozor.shop.exceptions import (
    BonusNotApplicableError,
    CardPaymentUnavailableError,
    PaymentProviderError,
    not_pending,
)
from bozor.shop.models import Order, OrderStatus, Payment, PaymentProvider, PaymentStatus
from bozor.shop.service import catalogue, orders, payments
from bozor.shop.settings import ShopSettings
from bozor.users.models import User

log = logging.getLogger(__name__)
CALLBACK_PATH = "/payments/portmone/callback"
RECONCILE_DAYS = 7  # pending card payments older than this are left alone
RECONCILE_AFTER = 30.0  # seconds: the notification gets a head start (at most a job interval)


def callback_url(settings: Settings) -> str:
    base = settings.public_url or f"http://{settings.http_host}:{settings.http_port}"
    return base + CALLBACK_PATH


def available(settings: Settings, order: Order) -> bool:
    """Whether "Pay by card" can be offered for this order."""
    return (
        settings.portmone() is not None
        and order.card_total is not None
        and order.card_currency is not None
        and order.bonus_points == 0
    )


async def start(
    *,
    session: AsyncSession,
    settings: Settings,
    user: User,
    order_id: int,
    description: str,
    return_url: str,
) -> Payment:
    """The Portmone payment of a pending order, with its link (made once; asked again, the
    same link is given)."""
    config = settings.portmone()
    order = await orders.get_owned(session=session, user=user, order_id=order_id)
    if order.status != OrderStatus.PENDING:
        raise not_pending(order.status)
    if order.bonus_points:
        raise BonusNotApplicableError
    if config is None or order.card_total is None or order.card_currency is None:
        raise CardPaymentUnavailableError
    # Two presses at once: the second waits here, then finds the first's link.
    await serialize(session, f"card-payment:{order.id}", sqlite_table=Payment.__tablename__)
    existing = await session.scalar(
        select(Payment).where(
            Payment.order_id == order.id,
            Payment.provider == PaymentProvider.PORTMONE,
            Payment.status == PaymentStatus.PENDING,
            Payment.payment_url.is_not(None),
        )
    )
    if existing is not None:
        return existing
    number = f"BZ{order.id}-{secrets.token_hex(4)}"
    payment = Payment(
        order_id=order.id,
        provider=PaymentProvider.PORTMONE,
        external_id=number,
        currency=order.card_currency,
        amount=order.card_total,
        status=PaymentStatus.PENDING,
        telegram_user_id=user.telegram_id,
        detail={},
    )
    session.add(payment)
    await session.flush()
    # Read again after the write, under the order's lock: a bonus applied meanwhile is seen
    # here, or sees this payment (orders.apply_bonus checks after its own write).
    await orders.locked(session, order_id)  # the same object as `order`, read again
    if order.status != OrderStatus.PENDING:
        raise not_pending(order.status)
    if order.bonus_points:
        raise BonusNotApplicableError
    try:
        async with PortmoneClient(config) as client:
            link = await client.create_link(
                shop_order_number=number,
                amount=catalogue.to_decimal(order.card_total),
                currency=order.card_currency,
                description=description[:250],
                success_url=return_url,
                failure_url=return_url,
                language=order.language,
            )
    except PortmoneError as exc:
        log.warning("Portmone link for order %s not made: %s", order.id, exc.code)
        raise PaymentProviderError from None
    payment.payment_url = link.url
    payment.detail = {"portmone_payment_id": link.payment_id}
    await session.flush()
    return payment


async def confirm(
    *, session: AsyncSession, settings: Settings, client: PortmoneClient, shop_order_number: str
) -> payments.Applied:
    """Ask Portmone what happened to a payment and apply it once: a paid one (at the order's
    amount and currency) delivers the order; a rejected one is recorded; anything else waits."""
    query = select(Payment).where(
        Payment.provider == PaymentProvider.PORTMONE, Payment.external_id == shop_order_number
    )
    if dialect_name(session) == "postgresql":
        query = query.with_for_update()
    payment = (await session.scalars(query.execution_options(populate_existing=True))).first()
    if payment is None:
        log.warning("Portmone notification for an unknown order number; ignored")
        return payments.Applied(payments.Outcome.REJECTED, None, None)
    if payment.status != PaymentStatus.PENDING:
        return payments.Applied(payments.Outcome.DUPLICATE, payment, None)
    found = await client.result(shop_order_number=shop_order_number)
    if found is None or found.status in (PortmoneStatus.CREATED, PortmoneStatus.PREAUTH):
        return payments.Applied(payments.Outcome.PENDING, payment, None)
    if found.status in (PortmoneStatus.REJECTED, PortmoneStatus.RETURN):
        await session.execute(
            update(Payment)
            .where(Payment.id == payment.id, Payment.status == PaymentStatus.PENDING)
            .values(
                status=PaymentStatus.REJECTED,
                settled_at=utcnow(),
                detail={**payment.detail, "error": found.error_message},
            )
            .execution_options(synchronize_session=False)
        )
        if found.status == PortmoneStatus.REJECTED and payment.order_id is not None:
            order = await session.get(Order, payment.order_id)
            if order is not None:
                await notify.card_declined(
                    session=session, order_id=order.id, user_id=order.user_id
                )
        return payments.Applied(payments.Outcome.REJECTED, payment, None)
    # PAYED: claim the payment (of two concurrent confirmations, one changes the row)
    claimed = await session.execute(
        update(Payment)
        .where(Payment.id == payment.id, Payment.status == PaymentStatus.PENDING)
        .values(status=PaymentStatus.SUCCEEDED, settled_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return payments.Applied(payments.Outcome.DUPLICATE, payment, None)
    await session.refresh(payment)
    assert payment.order_id is not None
    order = await orders.locked(session, payment.order_id)
    assert order is not None
    expected = catalogue.to_decimal(payment.amount)
    if found.amount != expected or found.currency != payment.currency:
        # What was actually taken is what a refund must return.
        payment.detail = {**payment.detail, "paid_amount": str(found.amount)}
        await session.flush()
        return await payments.mismatch(
            session,
            settings,
            payment,
            order,
            expected=f"{expected} {payment.currency}, got {found.amount} {found.currency}",
        )
    applied = await payments.fulfil(
        session=session, settings=settings, payment=payment, order=order
    )
    summary = payment.detail.get("summary_message_id")
    chat = await session.scalar(select(User.telegram_id).where(User.id == order.user_id))
    if applied.outcome == payments.Outcome.DELIVERED and isinstance(summary, int) and chat:
        await notify.paid_summary(
            session=session, chat_id=chat, message_id=summary, order_id=order.id
        )
    return applied


async def reconcile(factory: async_sessionmaker[AsyncSession], settings: Settings) -> int:
    """Poll Portmone for pending card payments (a lost notification loses nothing), and carry
    out the card refunds that are due. Returns the payments settled."""
    config = settings.portmone()
    if config is None:
        return 0
    now = utcnow()
    async with session_scope(factory) as session:
        numbers = list(
            await session.scalars(
                select(Payment.external_id).where(
                    Payment.provider == PaymentProvider.PORTMONE,
                    Payment.status == PaymentStatus.PENDING,
                    Payment.created_at >= now - timedelta(days=RECONCILE_DAYS),
                    Payment.created_at
                    <= now
                    - timedelta(
                        seconds=min(RECONCILE_AFTER, ShopSettings.of(settings).job_interval)
                    ),
                )
            )
        )
    settled = 0
    async with PortmoneClient(config) as client:
        for number in numbers:
            try:
                async with session_scope(factory) as session:
                    applied = await confirm(
                        session=session, settings=settings, client=client, shop_order_number=number
                    )
                if applied.outcome not in (payments.Outcome.PENDING, payments.Outcome.DUPLICATE):
                    settled += 1
            except PortmoneError as exc:
                log.warning("Portmone reconciliation of a payment failed: %s", exc.code)
        await refund_due(factory, settings, client)
    return settled


async def refund_due(
    factory: async_sessionmaker[AsyncSession], settings: Settings, client: PortmoneClient
) -> None:
    """Return the card payments that are due back, each in its own transaction that keeps the
    payment locked while Portmone is asked (another instance's sweep passes it over).

    No answer (timeout, network, 5xx) leaves the refund due: Portmone may have made it, and
    the next sweep finds out. A refusal is checked with `result`: the money already back (a
    refund whose answer was lost) is recorded as refunded; otherwise an admin must refund by
    hand."""
    tried: list[int] = []
    while True:
        async with session_scope(factory) as session:
            payment = await payments.next_refund(
                session=session, provider=PaymentProvider.PORTMONE, skip=tried
            )
            if payment is None:
                return
            tried.append(payment.id)
            answer = await _ask_refund(client, payment)
            if answer.done is None:
                continue
            await payments.mark_refunded(
                session=session, payment_id=payment.id, manual=not answer.done
            )
            if not answer.done:
                await notify.manual_refund(
                    session=session, settings=settings, payment_id=payment.id
                )
                await audit.record(
                    session=session,
                    action="refund_refused",
                    detail={"payment_id": payment.id, "code": answer.code},
                )


@dataclass(frozen=True, slots=True)
class _RefundAnswer:
    done: bool | None  # True: the money is back; False: refused; None: not known yet
    code: str | None = None  # Portmone's reason for a refusal


async def _ask_refund(client: PortmoneClient, payment: Payment) -> _RefundAnswer:
    number = payment.external_id
    amount = Decimal(str(payment.detail.get("paid_amount") or catalogue.to_decimal(payment.amount)))
    try:
        await client.refund(shop_order_number=number, amount=amount, message="Bozor refund")
        return _RefundAnswer(done=True)
    except PortmoneError as exc:
        if not exc.answered:
            log.warning("Portmone refund of payment %s: no answer (%s)", payment.id, exc.code)
            return _RefundAnswer(done=None)
        refusal = exc.code
        log.warning("Portmone refused the refund of payment %s: %s", payment.id, refusal)
    try:
        found = await client.result(shop_order_number=number)
    except PortmoneError as exc:
        log.warning("Portmone result of payment %s failed: %s", payment.id, exc.code)
        return _RefundAnswer(done=None)
    if found is not None and found.status is PortmoneStatus.RETURN:
        return _RefundAnswer(done=True)  # an earlier refund whose answer was lost
    return _RefundAnswer(done=False, code=refusal)
