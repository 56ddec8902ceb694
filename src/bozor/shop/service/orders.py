"""Orders: created with their codes reserved (never more than the stock there is), paid once,
delivered, expired, cancelled or refunded; the bonus balance pays part or all of one."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import cast

from sqlalchemy import Table, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.db import dialect_name, serialize, utcnow
from bozor.ledger import service as ledger
from bozor.ledger.models import LedgerEntry
from bozor.settings import Settings
from bozor.shop import codes, notify
from bozor.shop.exceptions import (
    BadQuantityError,
    BonusNotApplicableError,
    NotYourOrderError,
    OrderNotFoundError,
    SoldOutError,
    not_pending,
)
from bozor.shop.models import (
    Category,
    Code,
    CodeStatus,
    Order,
    OrderStatus,
    Payment,
    PaymentProvider,
    PaymentStatus,
    Product,
)
from bozor.shop.service import catalogue
from bozor.shop.settings import ShopSettings
from bozor.users.models import User

log = logging.getLogger(__name__)

_CODES = cast(Table, Code.__table__)
_ORDERS = cast(Table, Order.__table__)
# Ledger reasons: (reason, reference) is unique, so each is booked at most once per order.
# The first spending of an order is "<order id>", a later one (after it lapsed and was paid
# anyway) "<order id>:<n>"; each return names the spending it returns.
BONUS_SPENT = "shop_order"
BONUS_RETURNED = "shop_return"


@dataclass(frozen=True, slots=True)
class OrderLine:
    order: Order
    product_title: str
    category_name: str
    product_translations: dict[str, dict[str, str]] = field(default_factory=dict)
    category_translations: dict[str, dict[str, str]] = field(default_factory=dict)
    product_description: str = ""


async def _reserve(session: AsyncSession, order_id: int, product_id: int, quantity: int) -> int:
    """Reserve up to `quantity` available codes for the order; how many it got.

    PostgreSQL: rows locked by a concurrent buyer are skipped (FOR UPDATE SKIP LOCKED), so
    buyers never wait on each other and no row is taken twice. SQLite: the UPDATE takes the
    database write lock, so reservations run one at a time.
    """
    pick = (
        select(_CODES.c.id)
        .where(_CODES.c.product_id == product_id, _CODES.c.status == CodeStatus.AVAILABLE)
        .order_by(_CODES.c.id)
        .limit(quantity)
    )
    if dialect_name(session) == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    taken = await session.scalars(
        _CODES.update()
        .where(_CODES.c.id.in_(pick.scalar_subquery()))
        .values(status=CodeStatus.RESERVED, order_id=order_id, reserved_at=utcnow())
        .returning(_CODES.c.id)
    )
    return len(list(taken))


async def _release(session: AsyncSession, order_id: int) -> int:
    """Put an order's reserved codes back in stock."""
    result = await session.execute(
        _CODES.update()
        .where(_CODES.c.order_id == order_id, _CODES.c.status == CodeStatus.RESERVED)
        .values(status=CodeStatus.AVAILABLE, order_id=None, reserved_at=None)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def create(
    *,
    session: AsyncSession,
    settings: Settings,
    user: User,
    product_id: int,
    quantity: int,
    language: str = "en",
) -> Order:
    """An order for `quantity` codes, reserved now until SHOP_ORDER_MINUTES pass. SoldOutError
    (with how many are left) when the stock cannot cover it: nothing is then reserved, as the
    caller rolls the transaction back."""
    if not 1 <= quantity <= ShopSettings.of(settings).max_quantity:
        raise BadQuantityError(max=ShopSettings.of(settings).max_quantity)
    product = await catalogue.visible_product(session=session, product_id=product_id)
    now = utcnow()
    card = product.card_price is not None and product.card_payable
    order = Order(
        user_id=user.id,
        product_id=product.id,
        quantity=quantity,
        stars_total=product.price_stars * quantity,
        card_total=product.card_price * quantity if card and product.card_price else None,
        card_currency=product.card_currency if card else None,
        status=OrderStatus.PENDING,
        expires_at=now + timedelta(minutes=ShopSettings.of(settings).order_minutes),
        language=language,
        created_at=now,
    )
    session.add(order)
    await session.flush()
    got = await _reserve(session, order.id, product.id, quantity)
    if got < quantity:
        raise SoldOutError(left=got)
    await _after_stock_change(session, settings, product, quantity)
    return order


async def _after_stock_change(
    session: AsyncSession, settings: Settings, product: Product, taken: int
) -> None:
    """Alert the admins once, when the stock falls to the low-stock level (or runs out)."""
    left = await codes.stock(session=session, product_id=product.id)
    threshold = ShopSettings.of(settings).low_stock
    if left <= threshold < left + taken:
        await notify.low_stock(session=session, settings=settings, product_id=product.id, left=left)


async def get(*, session: AsyncSession, order_id: int) -> Order:
    order = await session.get(Order, order_id)
    if order is None:
        raise OrderNotFoundError
    return order


async def get_owned(*, session: AsyncSession, user: User, order_id: int) -> Order:
    """An order of this user (others' orders are refused, not revealed)."""
    order = await get(session=session, order_id=order_id)
    if order.user_id != user.id:
        raise NotYourOrderError
    return order


async def locked(session: AsyncSession, order_id: int) -> Order | None:
    """The order, locked until the transaction ends: payments for it apply one at a time.

    FOR NO KEY UPDATE, not FOR UPDATE: the payment recorded first holds a key-share lock on
    the order (its foreign key), which FOR UPDATE waits on; two payments at once would each
    wait for the other's."""
    return await session.scalar(
        select(Order)
        .where(Order.id == order_id)
        .with_for_update(key_share=True)  # not rendered on SQLite, which has one writer
        .execution_options(populate_existing=True)
    )


async def _lock_balance(session: AsyncSession, user_id: int) -> None:
    """Spending from a balance is check-then-write: one at a time per user."""
    await serialize(session, f"ledger:{user_id}", sqlite_table="ledger_entries")


async def apply_bonus(*, session: AsyncSession, user: User, order_id: int) -> Order:
    """Pay as much of a pending order as the user's bonus balance allows (1 point = 1 Star).
    Once per order; the points come back if the order expires, is cancelled or refunded."""
    order = await get_owned(session=session, user=user, order_id=order_id)
    if order.status != OrderStatus.PENDING:
        raise not_pending(order.status)
    if order.bonus_points:
        raise BonusNotApplicableError
    await _lock_balance(session, user.id)
    balance = await ledger.balance(session=session, user_id=user.id)
    points = min(balance, order.stars_total)
    if points <= 0:
        raise BonusNotApplicableError
    changed = await session.execute(
        update(Order)
        .where(Order.id == order.id, Order.status == OrderStatus.PENDING, Order.bonus_points == 0)
        .values(bonus_points=points)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise BonusNotApplicableError
    # A card link is for the whole price. Read after the UPDATE, which waits for a link being
    # made (card.start locks the order), so the two never both go through.
    if await _card_payment_started(session, order.id):
        raise BonusNotApplicableError
    await ledger.book(
        session=session,
        user_id=user.id,
        amount=-points,
        reason=BONUS_SPENT,
        reference=str(order.id),
    )
    await session.refresh(order)
    return order


async def _card_payment_started(session: AsyncSession, order_id: int) -> bool:
    started = await session.scalar(
        select(Payment.id)
        .where(
            Payment.order_id == order_id,
            Payment.provider == PaymentProvider.PORTMONE,
            Payment.status == PaymentStatus.PENDING,
        )
        .limit(1)
    )
    return started is not None


async def deliver(*, session: AsyncSession, order: Order, provider: str) -> bool:
    """Mark a pending order paid and its reserved codes sold; queue the codes to the buyer.
    False if the order was not pending (applied already)."""
    now = utcnow()
    changed = await session.execute(
        update(Order)
        .where(Order.id == order.id, Order.status == OrderStatus.PENDING)
        .values(status=OrderStatus.DELIVERED, provider=provider, paid_at=now, delivered_at=now)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        return False
    sold = await session.execute(
        _CODES.update()
        .where(_CODES.c.order_id == order.id, _CODES.c.status == CodeStatus.RESERVED)
        .values(status=CodeStatus.SOLD, sold_at=now)
    )
    if sold.rowcount != order.quantity:  # type: ignore[attr-defined]
        # Cannot happen while reservations are only released with the order's status change.
        raise RuntimeError(f"order {order.id}: {sold.rowcount} codes reserved")  # type: ignore[attr-defined]
    await session.refresh(order)
    await notify.delivered(session=session, order=order)
    return True


async def pay_with_bonus(*, session: AsyncSession, user: User, order_id: int) -> Order:
    """Deliver an order that the bonus covers entirely."""
    order = await get_owned(session=session, user=user, order_id=order_id)
    if order.status != OrderStatus.PENDING:
        raise not_pending(order.status)
    if order.stars_due > 0:
        raise BonusNotApplicableError
    await deliver(session=session, order=order, provider="bonus")
    return order


async def revive(*, session: AsyncSession, settings: Settings, order: Order) -> bool:
    """Bring an expired or cancelled order back to pending, paid for after it lapsed: its
    codes reserved again from stock and its bonus spent again. False (and nothing changed)
    when the stock or the balance cannot cover it any more."""
    if order.status not in (OrderStatus.EXPIRED, OrderStatus.CANCELLED):
        return order.status == OrderStatus.PENDING
    got = await _reserve(session, order.id, order.product_id, order.quantity)
    if got < order.quantity:
        await _release(session, order.id)
        return False
    if order.bonus_points:
        await _lock_balance(session, order.user_id)
        if await ledger.balance(session=session, user_id=order.user_id) < order.bonus_points:
            await _release(session, order.id)
            return False
        spent, _ = await _bonus_entries(session, order)
        await ledger.book(
            session=session,
            user_id=order.user_id,
            amount=-order.bonus_points,
            reason=BONUS_SPENT,
            reference=f"{order.id}:{len(spent)}",
        )
    await session.execute(
        update(Order)
        .where(Order.id == order.id)
        .values(
            status=OrderStatus.PENDING,
            expires_at=utcnow() + timedelta(minutes=ShopSettings.of(settings).order_minutes),
        )
        .execution_options(synchronize_session=False)
    )
    await session.refresh(order)
    product = await catalogue.get_product(session=session, product_id=order.product_id)
    await _after_stock_change(session, settings, product, order.quantity)
    return True


async def _close_unpaid(session: AsyncSession, order: Order, status: OrderStatus) -> bool:
    changed = await session.execute(
        update(Order)
        .where(Order.id == order.id, Order.status == OrderStatus.PENDING)
        .values(status=status)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        return False
    # Read again: a bonus applied after the caller loaded the order, and committed while the
    # UPDATE above waited for it, must come back too.
    await session.refresh(order)
    await _release(session, order.id)
    await return_bonus(session, order)
    return True


async def _bonus_entries(session: AsyncSession, order: Order) -> tuple[list[str], set[str]]:
    """References of the order's bonus spendings and of the returns already booked."""
    rows = (
        await session.execute(
            select(LedgerEntry.reason, LedgerEntry.reference).where(
                LedgerEntry.user_id == order.user_id,
                LedgerEntry.reason.in_([BONUS_SPENT, BONUS_RETURNED]),
                or_(
                    LedgerEntry.reference == str(order.id),
                    LedgerEntry.reference.like(f"{order.id}:%"),
                ),
            )
        )
    ).all()
    spent = [ref for reason, ref in rows if reason == BONUS_SPENT]
    returned = {ref for reason, ref in rows if reason == BONUS_RETURNED}
    return spent, returned


async def return_bonus(session: AsyncSession, order: Order) -> None:
    """Give back the points an order spent (each spending is returned once)."""
    if not order.bonus_points:
        return
    spent, returned = await _bonus_entries(session, order)
    for reference in spent:
        if reference not in returned:
            await ledger.book(
                session=session,
                user_id=order.user_id,
                amount=order.bonus_points,
                reason=BONUS_RETURNED,
                reference=reference,
            )


async def expire_one(*, session: AsyncSession, order: Order) -> bool:
    """Expire one pending order now (its time has passed)."""
    return await _close_unpaid(session, order, OrderStatus.EXPIRED)


async def stock_left(*, session: AsyncSession, product_id: int) -> int:
    return await codes.stock(session=session, product_id=product_id)


async def cancel(*, session: AsyncSession, user: User, order_id: int) -> Order:
    """The buyer cancels a pending order: codes back in stock, bonus back to the balance."""
    order = await get_owned(session=session, user=user, order_id=order_id)
    if not await _close_unpaid(session, order, OrderStatus.CANCELLED):
        raise not_pending(order.status, cancelling=True)
    return order


async def expire_due(*, session: AsyncSession, limit: int = 500) -> list[int]:
    """Expire pending orders past their time: codes released, bonus returned. Safe on several
    instances: each order changes state once."""
    query = (
        select(Order)
        .where(Order.status == OrderStatus.PENDING, Order.expires_at <= utcnow())
        .order_by(Order.expires_at)
        .limit(limit)
    )
    if dialect_name(session) == "postgresql":
        query = query.with_for_update(skip_locked=True)
    expired = [
        order.id
        for order in list(await session.scalars(query))
        if await _close_unpaid(session, order, OrderStatus.EXPIRED)
    ]
    if expired:
        log.info("expired %d unpaid orders", len(expired))
    return expired


async def history(
    *, session: AsyncSession, user_id: int, page: int = 0, per_page: int = 5
) -> tuple[list[OrderLine], int]:
    """A user's orders, newest first, one page of them; and how many there are in all."""
    total = await session.scalar(select(func.count()).where(Order.user_id == user_id))
    rows = (
        await session.execute(
            select(Order, Product.title, Category.name, Product.translations, Category.translations)
            .join(Product, Product.id == Order.product_id)
            .join(Category, Category.id == Product.category_id)
            .where(Order.user_id == user_id)
            .order_by(Order.id.desc())
            .offset(page * per_page)
            .limit(per_page)
        )
    ).all()
    lines = [OrderLine(row[0], row[1], row[2], row[3] or {}, row[4] or {}) for row in rows]
    return lines, int(total or 0)


async def line(*, session: AsyncSession, order_id: int) -> OrderLine:
    row = (
        await session.execute(
            select(
                Order,
                Product.title,
                Category.name,
                Product.translations,
                Category.translations,
                Product.description,
            )
            .join(Product, Product.id == Order.product_id)
            .join(Category, Category.id == Product.category_id)
            .where(Order.id == order_id)
        )
    ).one_or_none()
    if row is None:
        raise OrderNotFoundError
    return OrderLine(row[0], row[1], row[2], row[3] or {}, row[4] or {}, row[5] or "")


async def listing(
    *,
    session: AsyncSession,
    status: OrderStatus | None = None,
    limit: int = 50,
    offset: int = 0,
    before_id: int | None = None,
) -> list[OrderLine]:
    """Orders for admins, newest first (`before_id`: only older than that order, to page
    through all of them)."""
    query = (
        select(Order, Product.title, Category.name)
        .join(Product, Product.id == Order.product_id)
        .join(Category, Category.id == Product.category_id)
        .order_by(Order.id.desc())
        .limit(limit)
        .offset(offset)
    )
    if status is not None:
        query = query.where(Order.status == status)
    if before_id is not None:
        query = query.where(Order.id < before_id)
    return [OrderLine(o, t, n) for o, t, n in (await session.execute(query)).all()]


# --- what the buyer's chat shows, one call each ------------------------------------------


@dataclass(frozen=True, slots=True)
class Checkout:
    """A pending order as its buyer sees it before paying: the order's line and their bonus
    balance (what the summary and its buttons show)."""

    line: OrderLine
    balance: int


async def place(
    *,
    session: AsyncSession,
    settings: Settings,
    user: User,
    product_id: int,
    quantity: int,
    language: str = "en",
) -> Checkout:
    """Place an order (create) and give what its summary shows."""
    order = await create(
        session=session,
        settings=settings,
        user=user,
        product_id=product_id,
        quantity=quantity,
        language=language,
    )
    return await _checkout(session, order, user)


async def use_bonus(*, session: AsyncSession, user: User, order_id: int) -> Checkout:
    """Pay part of a pending order with bonus points (apply_bonus) and give its summary."""
    order = await apply_bonus(session=session, user=user, order_id=order_id)
    return await _checkout(session, order, user)


async def _checkout(session: AsyncSession, order: Order, user: User) -> Checkout:
    return Checkout(
        line=await line(session=session, order_id=order.id),
        balance=await ledger.balance(session=session, user_id=user.id),
    )


@dataclass(frozen=True, slots=True)
class Payable:
    """An order ready for its invoice (`line`), or sold out since it lapsed (`line` None and
    how many codes are `left`)."""

    line: OrderLine | None
    left: int = 0


async def to_pay(
    *, session: AsyncSession, settings: Settings, user: User, order_id: int
) -> Payable:
    """The buyer's order about to be paid in Stars: an expired one is revived when the stock
    still covers it; one no longer waiting for payment refuses (not_pending)."""
    order = await get_owned(session=session, user=user, order_id=order_id)
    if order.status == OrderStatus.EXPIRED and not await revive(
        session=session, settings=settings, order=order
    ):
        return Payable(None, await stock_left(session=session, product_id=order.product_id))
    if order.status != OrderStatus.PENDING:
        raise not_pending(order.status)
    return Payable(await line(session=session, order_id=order.id))


async def delivered(
    *, session: AsyncSession, settings: Settings, user: User, order_id: int
) -> tuple[OrderLine, list[str]]:
    """One of the buyer's orders and the plaintext codes sold in it."""
    order = await get_owned(session=session, user=user, order_id=order_id)
    return (
        await line(session=session, order_id=order.id),
        await codes.reveal(session=session, settings=settings, order_id=order.id),
    )
