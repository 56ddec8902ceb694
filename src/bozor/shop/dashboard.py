"""The shop pages of the dashboard: sales of today, the last 7 or 30 days (revenue per
currency, orders, top products, charts day by day), stock per product with low-stock marks,
and the latest orders by status; every table with CSV. Reads through the shop's services
(`stats`, `catalogue`, `orders`), as the admin API and the admin commands do."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bozor import localtime
from bozor.dashboard.charts import Series, line_chart
from bozor.dashboard.web import (
    AdminDep,
    csv_pages,
    csv_response,
    language_of,
    render,
    runtime_of,
)
from bozor.featurekit import Figure, Section
from bozor.i18n import Translator
from bozor.shop.models import STARS, Order, OrderStatus, PaymentProvider
from bozor.shop.service import catalogue, orders, stats
from bozor.shop.settings import ShopSettings
from bozor.users import service as users_service

Period = Annotated[str, Query(pattern=r"^(today|7d|30d)$")]
Status = Annotated[OrderStatus | None, Query()]
LATEST = 50  # orders on the page; the CSV has all of them
CSV_PAGE = 1000
TOP_COLUMNS = ["rank", "product_id", "category", "product", "codes", "orders"]
STOCK_COLUMNS = [
    "product_id", "category", "product", "price_stars", "available", "reserved", "sold",
    "stock", "hidden",
]  # fmt: skip
ORDER_COLUMNS = [
    "id", "created_at", "status", "user_id", "buyer", "category", "product", "quantity",
    "stars_total", "bonus_points", "stars_due", "card_total", "card_currency", "provider",
    "paid_at", "delivered_at", "refunded_at",
]  # fmt: skip


def amount(minor: int, currency: str) -> str:
    """An amount as people read it: Stars whole, other currencies in major units."""
    return f"{plain(minor, currency)} {_unit(currency)}"


def plain(minor: int, currency: str) -> str:
    """An amount without its unit: whole Stars, other currencies in major units."""
    return str(minor) if currency == STARS else catalogue.money(minor)


def _grouped(minor: int, currency: str) -> str:
    """For reading: 110900 → "110 900" (a narrow space between thousands)."""
    whole, _, cents = plain(minor, currency).partition(".")
    grouped = f"{int(whole):,}".replace(",", "\u202f")
    return f"{grouped}.{cents}" if cents else grouped


def _unit(currency: str) -> str:
    return "⭐" if currency == STARS else currency


def _currencies(revenue: dict[str, int], *more: dict[str, int]) -> list[str]:
    """Stars first (the bot's own currency, always shown), then the others found."""
    found = {c for values in (revenue, *more) for c in values} - {STARS}
    return [STARS, *sorted(found)]


def charged(order: Order) -> str:
    """What the buyer paid for an order: by card, or in Stars (and bonus points)."""
    if order.provider == PaymentProvider.PORTMONE and order.card_total is not None:
        return amount(order.card_total, order.card_currency or "")
    paid = amount(order.stars_due, STARS)
    return f"{paid} + {order.bonus_points} 🎁" if order.bonus_points else paid


def _charts(t: Translator, days: Sequence[stats.DaySales]) -> tuple[Markup, Markup]:
    labels = [d.day.strftime("%d.%m") for d in days]
    currencies = _currencies({}, *(d.revenue for d in days))
    revenue = line_chart(
        labels,
        [
            Series(
                t("dashboard.shop.revenue_in", currency=_unit(c)),
                # other currencies in whole units: one axis for all of them
                [d.revenue.get(c, 0) // (1 if c == STARS else 100) for d in days],
                ("s2", "s3", "s1")[min(i, 2)],
            )
            for i, c in enumerate(currencies)
        ],
        title=t("dashboard.shop.revenue_chart"),
    )
    counts = line_chart(
        labels,
        [
            Series(t("dashboard.shop.codes"), [d.codes for d in days], "s1"),
            Series(t("dashboard.shop.orders_count"), [d.orders for d in days], "s2"),
        ],
        title=t("dashboard.shop.orders_chart"),
    )
    return revenue, counts


def _sale_figures(t: Translator, figures: stats.Sales) -> list[tuple[str, str]]:
    revenue = [  # the unit in the label: the figure stays short enough for a phone
        (t("dashboard.shop.revenue_in", currency=_unit(c)), _grouped(figures.revenue.get(c, 0), c))
        for c in _currencies(figures.revenue)
    ]
    return [
        *revenue,
        (t("dashboard.shop.orders_count"), str(figures.orders)),
        (t("dashboard.shop.codes"), str(figures.codes)),
        (t("dashboard.shop.bonus"), str(figures.bonus_points)),
        (t("dashboard.shop.refunded"), str(figures.refunded_orders)),
    ]


async def _stock(session: AsyncSession) -> list[tuple[catalogue.ProductStock, str]]:
    """Every product (hidden ones too) with its category's name, in the catalogue's order."""
    names = {c.id: c.name for c in await catalogue.categories(session=session, include_hidden=True)}
    rows = await catalogue.products(session=session, include_hidden=True)
    return [(row, names.get(row.product.category_id, "")) for row in rows]


def create_router() -> APIRouter:
    router = APIRouter(prefix="/shop")

    @router.get("")
    async def page(
        request: Request, admin: AdminDep, period: Period = "7d", status: Status = None
    ) -> Response:
        t = Translator(language_of(request))
        runtime = runtime_of(request)
        low = ShopSettings.of(runtime.settings).low_stock
        chart_period = "7d" if period == "today" else period  # one day is no chart
        async with runtime.session_factory() as session:
            figures = await stats.sales(session=session, period=period, top=10)
            days = await stats.sales_by_day(session=session, period=chart_period)
            stock = await _stock(session)
            latest = await orders.listing(session=session, status=status, limit=LATEST)
            names = await users_service.display_names(
                session=session, user_ids=[line.order.user_id for line in latest]
            )
        revenue_chart, orders_chart = _charts(t, days)
        return render(
            request,
            "shop/index.html",
            admin=admin,
            period=period,
            periods=[
                ("today", t("dashboard.shop.today")),
                ("7d", t("dashboard.last_days", days=7)),
                ("30d", t("dashboard.last_days", days=30)),
            ],
            chart_period=chart_period,
            chart_days=len(days),
            sale_figures=_sale_figures(t, figures),
            revenue_chart=revenue_chart,
            orders_chart=orders_chart,
            top=[
                (i, p.category, p.title, p.codes, p.orders)
                for i, p in enumerate(figures.top, start=1)
            ],
            low=low,
            stock=[
                (row, category, catalogue.stock_level(row.available, low))
                for row, category in stock
            ],
            level_label=lambda level: (
                f"{catalogue.STOCK_ICONS[level]} " + t(f"dashboard.shop.level.{level}")
            ),
            order_status=status,
            statuses=[(s, t(f"shop.status.{s}")) for s in OrderStatus],
            latest=[
                (
                    line.order.id,
                    localtime.show(line.order.created_at),
                    t(f"shop.status.{line.order.status}"),
                    names.get(line.order.user_id, f"#{line.order.user_id}"),
                    f"{line.category_name} {line.product_title} × {line.order.quantity}",
                    charged(line.order),
                    localtime.show(line.order.paid_at),
                )
                for line in latest
            ],
        )

    @router.get("/sales.csv")
    async def sales_csv(request: Request, admin: AdminDep, period: Period = "30d") -> Response:
        async with runtime_of(request).session_factory() as session:
            days = await stats.sales_by_day(session=session, period=period)
        currencies = _currencies({}, *(d.revenue for d in days))
        return csv_response(
            f"shop-sales-{period}.csv",
            ["day", "orders", "codes", *(f"revenue_{c}" for c in currencies)],
            [
                (
                    d.day.isoformat(),
                    d.orders,
                    d.codes,
                    *(plain(d.revenue.get(c, 0), c) for c in currencies),
                )
                for d in days
            ],
        )

    @router.get("/top.csv")
    async def top_csv(request: Request, admin: AdminDep, period: Period = "30d") -> Response:
        async with runtime_of(request).session_factory() as session:
            figures = await stats.sales(session=session, period=period, top=1000)
        return csv_response(
            f"shop-top-products-{period}.csv",
            TOP_COLUMNS,
            [
                (i, p.product_id, p.category, p.title, p.codes, p.orders)
                for i, p in enumerate(figures.top, start=1)
            ],
        )

    @router.get("/stock.csv")
    async def stock_csv(request: Request, admin: AdminDep) -> Response:
        runtime = runtime_of(request)
        low = ShopSettings.of(runtime.settings).low_stock
        async with runtime.session_factory() as session:
            stock = await _stock(session)
        return csv_response(
            "shop-stock.csv",
            STOCK_COLUMNS,
            [
                (row.product.id, category, row.product.title, row.product.price_stars,
                 row.available, row.reserved, row.sold,
                 catalogue.stock_level(row.available, low), row.product.is_hidden)
                for row, category in stock
            ],
        )  # fmt: skip

    @router.get("/orders.csv")
    async def orders_csv(request: Request, admin: AdminDep, status: Status = None) -> Response:
        """Every order (or those in one status), newest first; codes are never exported."""
        return csv_pages(
            f"shop-orders{f'-{status}' if status else ''}.csv",
            ORDER_COLUMNS,
            _order_pages(runtime_of(request).session_factory, status),
        )

    return router


async def _order_pages(
    factory: async_sessionmaker[AsyncSession], status: OrderStatus | None
) -> AsyncIterator[list[tuple[Any, ...]]]:
    """The orders, newest first, a page at a time, read in a session of its own."""
    before: int | None = None
    async with factory() as session:
        while lines := await orders.listing(
            session=session, status=status, limit=CSV_PAGE, before_id=before
        ):
            names = await users_service.display_names(
                session=session, user_ids=[line.order.user_id for line in lines]
            )
            yield [
                (o.id, o.created_at, o.status, o.user_id, names.get(o.user_id),
                 line.category_name, line.product_title, o.quantity, o.stars_total,
                 o.bonus_points, o.stars_due, o.card_total, o.card_currency,
                 o.provider, o.paid_at, o.delivered_at, o.refunded_at)
                for line in lines
                for o in (line.order,)
            ]  # fmt: skip
            before = lines[-1].order.id


async def figures(session: AsyncSession) -> list[Figure]:
    """Today's revenue and orders, and how many products on sale are sold out. (Products low
    on stock are marked on the shop page: the low-stock level is a setting, which the
    overview does not pass to its figures.)"""
    today = await stats.sales(session=session, period="today", top=0)
    on_sale = await catalogue.products(session=session)
    sold_out = sum(1 for row in on_sale if row.available == 0)
    link = "/dashboard/shop"
    return [
        (
            "dashboard.shop.revenue_today",
            " · ".join(
                f"{_grouped(today.revenue.get(c, 0), c)} {_unit(c)}"
                for c in _currencies(today.revenue)
            ),
            link + "?period=today",
        ),
        ("dashboard.shop.orders_today", str(today.orders), link + "?period=today"),
        ("dashboard.shop.sold_out", str(sold_out), link + "#stock"),
    ]


SECTION = Section("shop", "dashboard.shop.nav", create_router, feature="shop", figures=figures)
