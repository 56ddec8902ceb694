"""The dashboard's shop pages over HTTP, against the running app and a real database: sales of
a period with their charts, stock with low-stock marks (at the configured level), orders by
status, every table's CSV; nothing without signing in."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from tests.dashboard.test_dashboard import sign_in
from tests.shop.helpers import make_product

from bozor.settings import Settings
from bozor.shop import codes
from bozor.shop.models import STARS
from bozor.shop.service import catalogue, orders, payments
from bozor.testing import Harness, free_port
from bozor.users import service as users_service

PASSWORD = "shop dashboard password"


@pytest.fixture
def bozor_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    # Low stock at 2 (not the default 5): Steam's 3 codes left are fine, App Store's 1 is low.
    overrides = {"http_port": free_port(), "dashboard_password": PASSWORD, "shop_low_stock": 2}
    return {**overrides, **getattr(request, "param", {})}


@pytest.fixture
async def web(bozor: Harness) -> AsyncIterator[httpx.AsyncClient]:
    url = f"http://127.0.0.1:{bozor.settings.http_port}"
    async with httpx.AsyncClient(base_url=url) as client:
        yield client


def sale_figures(html: str) -> dict[str, str]:
    """The sales figures of the shop page: label → value."""
    block = html.split('data-testid="sales-figures"', 1)[1].split("</div>\n<h2", 1)[0]
    found = re.findall(r'class="value">([^<]*)</span><span class="label">([^<]*)<', block)
    return {label: value for value, label in found}


def rows(answer: httpx.Response) -> list[list[str]]:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(answer.text)))


async def product(bozor: Harness, category: str, title: str, price: int, stock: int) -> int:
    async with bozor.db() as session:
        made = await catalogue.create_category(session=session, name=category)
        item = await catalogue.create_product(
            session=session, category_id=made.id, title=title, price_stars=price
        )
        if stock:
            await codes.import_codes(
                session=session,
                settings=bozor.settings,
                product_id=item.id,
                lines=[codes.CodeLine(i, f"{category}-{i}") for i in range(stock)],
                actor="test",
            )
        await session.commit()
        return int(item.id)


async def buy(
    bozor: Harness, settings: Settings, telegram_id: int, product_id: int, quantity: int
) -> int:
    """An order paid with Stars, applied as the bot applies Telegram's successful payment."""
    async with bozor.db() as session:
        user = await users_service.get_by_telegram_id(session=session, telegram_id=telegram_id)
        assert user is not None
        order = await orders.create(
            session=session, settings=settings, user=user, product_id=product_id, quantity=quantity
        )
        applied = await payments.apply_stars(
            session=session,
            settings=settings,
            payload=payments.invoice_payload(order.id),
            charge_id=f"charge-{order.id}",
            currency=STARS,
            total_amount=order.stars_due,
            telegram_id=telegram_id,
        )
        assert applied.outcome == payments.Outcome.DELIVERED
        await session.commit()
        return int(order.id)


async def cancelled_order(bozor: Harness, telegram_id: int, product_id: int) -> int:
    async with bozor.db() as session:
        user = await users_service.get_by_telegram_id(session=session, telegram_id=telegram_id)
        assert user is not None
        order = await orders.create(
            session=session, settings=bozor.settings, user=user, product_id=product_id, quantity=1
        )
        await orders.cancel(session=session, user=user, order_id=order.id)
        await session.commit()
        return int(order.id)


async def shop_data(bozor: Harness) -> dict[str, int]:
    """Steam 20 USD (5 codes, 50 ⭐), App Store 10 USD (3 codes, 800 ⭐), Google Play 5 USD
    (none); Alice buys 2 of each, Bob cancels an order of Steam."""
    steam = await make_product(bozor, stock=5, price=50)
    apple = await product(bozor, "App Store", "10 USD", 800, 3)
    google = await product(bozor, "Google Play", "5 USD", 400, 0)
    alice = await bozor.user("Alice", username="alice")
    bob = await bozor.user("Bob")
    for person in (alice, bob):
        await bozor.start(person)
    return {
        "steam": steam,
        "apple": apple,
        "google": google,
        "alice_steam": await buy(bozor, bozor.settings, alice, steam, 2),
        "alice_apple": await buy(bozor, bozor.settings, alice, apple, 2),
        "bob": await cancelled_order(bozor, bob, steam),
    }


async def test_the_shop_pages_show_sales_stock_and_orders(
    bozor: Harness, web: httpx.AsyncClient
) -> None:
    data = await shop_data(bozor)
    assert (await sign_in(web, PASSWORD, next="/dashboard/shop")).status_code == 303

    page = await web.get("/dashboard/shop", params={"period": "today"})
    assert page.status_code == 200
    html = page.text
    assert sale_figures(html) == {
        "Revenue, ⭐": "1\u202f700",  # 2 × 50 + 2 × 800
        "Orders": "2",
        "Codes sold": "4",
        "Bonus points spent": "0",
        "Refunded orders": "0",
    }
    assert html.count("<svg") == 2  # revenue, and orders with codes, day by day
    assert "Alice (@alice)" in html and "Bob" in html
    assert "Steam 20 USD × 2" in html and "App Store 10 USD × 2" in html
    # Marks at the configured low-stock level (2): 3 left is fine, 1 is low, none is out.
    assert f'data-testid="stock-{data["steam"]}" data-level="ok"' in html
    assert f'data-testid="stock-{data["apple"]}" data-level="low"' in html
    assert f'data-testid="stock-{data["google"]}" data-level="out"' in html
    assert "🟡 low" in html and "🔴 sold out" in html

    only_cancelled = (await web.get("/dashboard/shop", params={"status": "cancelled"})).text
    assert "Bob" in only_cancelled and "Alice (@alice)" not in only_cancelled

    stock = rows(await web.get("/dashboard/shop/stock.csv"))
    assert stock[0] == ["product_id", "category", "product", "price_stars", "available",
                        "reserved", "sold", "stock", "hidden"]  # fmt: skip
    assert stock[1:] == [
        [str(data["steam"]), "Steam", "20 USD", "50", "3", "0", "2", "ok", "False"],
        [str(data["apple"]), "App Store", "10 USD", "800", "1", "0", "2", "low", "False"],
        [str(data["google"]), "Google Play", "5 USD", "400", "0", "0", "0", "out", "False"],
    ]

    every = rows(await web.get("/dashboard/shop/orders.csv"))
    assert every[0][:5] == ["id", "created_at", "status", "user_id", "buyer"]
    assert [(r[0], r[2]) for r in every[1:]] == [
        (str(data["bob"]), "cancelled"),
        (str(data["alice_apple"]), "delivered"),
        (str(data["alice_steam"]), "delivered"),
    ]
    delivered = rows(await web.get("/dashboard/shop/orders.csv", params={"status": "delivered"}))
    columns = delivered[0]
    apple_order = dict(zip(columns, delivered[1], strict=True))
    assert apple_order["buyer"] == "Alice (@alice)" and apple_order["product"] == "10 USD"
    assert apple_order["stars_total"] == "1600" and apple_order["provider"] == "telegram_stars"
    assert apple_order["paid_at"] and len(delivered) == 3

    sales = rows(await web.get("/dashboard/shop/sales.csv", params={"period": "7d"}))
    assert sales[0] == ["day", "orders", "codes", "revenue_XTR"]
    assert len(sales) == 8 and sales[-1][1:] == ["2", "4", "1700"]
    assert all(r[1:] == ["0", "0", "0"] for r in sales[1:-1])
    top = rows(await web.get("/dashboard/shop/top.csv"))
    assert [r[2:] for r in top[1:]] == [["Steam", "20 USD", "2", "1"],
                                        ["App Store", "10 USD", "2", "1"]]  # fmt: skip

    overview = (await web.get("/dashboard/")).text
    assert "revenue today" in overview and "1\u202f700 ⭐" in overview
    assert (await web.get("/dashboard/shop", params={"period": "year"})).status_code == 422


async def test_the_shop_pages_need_signing_in(bozor: Harness, web: httpx.AsyncClient) -> None:
    await shop_data(bozor)
    answer = await web.get("/dashboard/shop")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard/signin?next=%2Fdashboard%2Fshop"
    for path in ("stock", "orders", "sales", "top"):
        answer = await web.get(f"/dashboard/shop/{path}.csv")
        assert answer.status_code == 401, path
        assert "," not in answer.text and "Alice" not in answer.text
    assert (await sign_in(web, "not the password")).status_code == 401
    assert (await web.get("/dashboard/shop/orders.csv")).status_code == 401
    # Codes are never shown or exported, even signed in.
    assert (await sign_in(web, PASSWORD)).status_code == 303
    for path in ("/dashboard/shop", "/dashboard/shop/orders.csv", "/dashboard/shop/stock.csv"):
        text = (await web.get(path)).text
        assert "CODE-" not in text and "App Store-" not in text, path


async def test_a_refunded_order_is_no_sale(bozor: Harness, web: httpx.AsyncClient) -> None:
    data = await shop_data(bozor)
    async with bozor.db() as session:
        await payments.request_refund(
            session=session, settings=bozor.settings, order_id=data["alice_apple"], actor="test"
        )
        [payment] = await payments.refunds_due(session=session, provider="telegram_stars")
        await payments.mark_refunded(session=session, payment_id=payment.id)
        await session.commit()
    assert (await sign_in(web, PASSWORD)).status_code == 303
    sales = rows(await web.get("/dashboard/shop/sales.csv", params={"period": "today"}))
    assert sales[1:] == [[sales[1][0], "1", "2", "100"]]
    refunded = rows(await web.get("/dashboard/shop/orders.csv", params={"status": "refunded"}))
    assert [r[0] for r in refunded[1:]] == [str(data["alice_apple"])]
    page = (await web.get("/dashboard/shop", params={"period": "today"})).text
    figures = sale_figures(page)
    assert figures["Revenue, ⭐"] == "100" and figures["Refunded orders"] == "1"
    assert "↩️ refunded" in page


@pytest.mark.parametrize("bozor_overrides", [{"features": ["referrals"]}], indirect=True)
async def test_no_shop_section_when_the_shop_is_off(bozor: Harness, web: httpx.AsyncClient) -> None:
    assert (await sign_in(web, PASSWORD)).status_code == 303
    overview = await web.get("/dashboard/")
    assert overview.status_code == 200 and "/dashboard/shop" not in overview.text
    assert (await web.get("/dashboard/shop")).status_code == 404
