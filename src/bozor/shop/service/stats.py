"""Sales statistics: revenue per currency, orders and top products over a period, the same
day by day, and a chart of daily revenue drawn with Pillow."""

from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.db import utcnow
from bozor.shop.models import Category, Order, OrderStatus, Payment, PaymentStatus, Product

PERIODS = {"today": 0, "7d": 7, "30d": 30}


@dataclass(frozen=True, slots=True)
class TopProduct:
    product_id: int
    title: str
    category: str
    codes: int
    orders: int


@dataclass(slots=True)
class Sales:
    period: str
    since: datetime
    orders: int = 0  # delivered (refunded ones excluded)
    codes: int = 0
    revenue: dict[str, int] = field(default_factory=dict)  # currency → minor units (XTR: Stars)
    bonus_points: int = 0  # paid with bonus
    refunded_orders: int = 0
    top: list[TopProduct] = field(default_factory=list)
    daily: dict[date, dict[str, int]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DaySales:
    day: date
    orders: int = 0
    codes: int = 0
    revenue: dict[str, int] = field(default_factory=dict)  # currency → minor units


def since_of(period: str, now: datetime | None = None) -> datetime:
    now = now or utcnow()
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    days = PERIODS[period]
    return start - timedelta(days=max(days - 1, 0))


async def sales(*, session: AsyncSession, period: str = "7d", top: int = 5) -> Sales:
    """Figures of orders delivered since the start of the period (UTC days); the `top`
    products by codes sold (none when `top` is 0)."""
    since = since_of(period)
    result = Sales(period=period, since=since)
    sold = _sold(since)
    row = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(Order.quantity), 0),
                func.coalesce(func.sum(Order.bonus_points), 0),
            ).where(*sold)
        )
    ).one()
    result.orders, result.codes, result.bonus_points = int(row[0]), int(row[1]), int(row[2])
    result.refunded_orders = int(
        await session.scalar(
            select(func.count()).where(
                Order.status.in_([OrderStatus.REFUNDED, OrderStatus.REFUND_DUE]),
                Order.paid_at >= since,
            )
        )
        or 0
    )
    payments = (
        await session.execute(
            select(Payment.currency, Payment.amount, Order.delivered_at)
            .join(Order, Order.id == Payment.order_id)
            .where(*sold, Payment.status == PaymentStatus.SUCCEEDED)
        )
    ).all()
    revenue: dict[str, int] = defaultdict(int)
    daily: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for currency, amount, delivered_at in payments:
        revenue[currency] += int(amount)
        if delivered_at is not None:
            daily[delivered_at.date()][currency] += int(amount)
    result.revenue = dict(revenue)
    result.daily = {day: dict(values) for day, values in daily.items()}
    if top <= 0:
        return result
    rows = (
        await session.execute(
            select(
                Product.id,
                Product.title,
                Category.name,
                func.sum(Order.quantity).label("codes"),
                func.count().label("orders"),
            )
            .join(Product, Product.id == Order.product_id)
            .join(Category, Category.id == Product.category_id)
            .where(*sold)
            .group_by(Product.id, Product.title, Category.name)
            .order_by(func.sum(Order.quantity).desc(), Product.id)
            .limit(top)
        )
    ).all()
    result.top = [TopProduct(r[0], r[1], r[2], int(r[3]), int(r[4])) for r in rows]
    return result


def _sold(since: datetime) -> tuple[ColumnElement[bool], ...]:
    """Orders that count as sales: delivered (not refunded) since then."""
    return (Order.status == OrderStatus.DELIVERED, Order.delivered_at >= since)


async def sales_by_day(*, session: AsyncSession, period: str = "30d") -> list[DaySales]:
    """Every UTC day of the period, oldest first, empty days included: the orders delivered
    that day (as `sales` counts them), their codes and revenue per currency."""
    figures = await sales(session=session, period=period, top=0)
    counts: dict[date, tuple[int, int]] = {}
    rows = await session.execute(
        select(Order.delivered_at, Order.quantity).where(*_sold(figures.since))
    )
    for delivered_at, quantity in rows.all():
        if delivered_at is not None:  # always set when delivered
            orders, codes = counts.get(delivered_at.date(), (0, 0))
            counts[delivered_at.date()] = (orders + 1, codes + int(quantity))
    first, today = figures.since.date(), utcnow().date()
    days = [first + timedelta(days=i) for i in range((today - first).days + 1)]
    return [
        DaySales(day, *counts.get(day, (0, 0)), revenue=figures.daily.get(day, {})) for day in days
    ]


def chart_png(
    figures: Sales, *, currency: str = "XTR", width: int = 800, height: int = 400
) -> bytes:
    """Bars of daily revenue in one currency over the period, as a PNG."""
    from PIL import Image, ImageDraw, ImageFont

    days = max(PERIODS[figures.period], 1)
    first = figures.since.date()
    values = [
        figures.daily.get(first + timedelta(days=i), {}).get(currency, 0) for i in range(days)
    ]
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    left, right, top, bottom = 60, 20, 40, 50
    draw.text(
        (left, 10), f"Revenue per day, {currency} ({figures.period})", fill="black", font=font
    )
    draw.line((left, height - bottom, width - right, height - bottom), fill="black")
    draw.line((left, top, left, height - bottom), fill="black")
    peak = max(values) or 1
    span = (width - left - right) / days
    for i, value in enumerate(values):
        x0 = left + i * span + span * 0.15
        x1 = left + (i + 1) * span - span * 0.15
        bar = (height - top - bottom) * value / peak
        if value:
            draw.rectangle((x0, height - bottom - bar, x1, height - bottom), fill="#3b82f6")
        if days <= 7 or i % 5 == 0 or i == days - 1:
            label = (first + timedelta(days=i)).strftime("%m-%d")
            draw.text((x0, height - bottom + 6), label, fill="black", font=font)
    draw.text((5, top), str(peak if any(values) else 0), fill="black", font=font)
    draw.text((5, height - bottom - 10), "0", fill="black", font=font)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
