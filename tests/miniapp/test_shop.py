"""The shop's Mini App views over HTTP: the chat flow's rules, paid through an invoice link."""

from __future__ import annotations

import re

import httpx
from tests.shop.helpers import make_product, orders_of

from bozor.shop import codes
from bozor.shop.models import OrderStatus
from bozor.shop.service import catalogue
from bozor.testing import Harness, eventually

from .conftest import as_user


async def test_buy_in_the_app_pay_the_invoice_link_and_reveal_the_codes(
    bozor: Harness, app: httpx.AsyncClient
) -> None:
    product = await make_product(bozor, stock=3, price=40, card_price=2500)
    buyer = await bozor.user("Buyer", language_code="en")
    me = as_user(buyer, first_name="Buyer")

    shop = await app.get("/api/shop", headers=me)
    assert shop.status_code == 200
    assert "20 USD" in shop.text and "40 ⭐" in shop.text and "25.00 UAH" in shop.text
    assert "Only 3 left" in shop.text  # at or below SHOP_LOW_STOCK

    ordered = await app.post(
        f"/api/shop/products/{product}/order", data={"quantity": "2"}, headers=me
    )
    assert ordered.status_code == 200
    cart_path = ordered.json()["go"]
    order_id = int(cart_path.rsplit("/", 1)[1])
    cart = await app.get(f"/api{cart_path}", headers=me)
    assert "Total: 80 ⭐" in cart.text and 'data-main-text="Pay 80 ⭐"' in cart.text
    # Reserved as the chat reserves them: one code left for anyone else.
    assert "1 in stock" in (await app.get(f"/api/shop/products/{product}", headers=me)).text

    # Someone else's order is neither shown nor payable.
    other = as_user(await bozor.user("Other"), first_name="Other")
    assert (await app.get(f"/api{cart_path}", headers=other)).status_code == 403
    assert (await app.post(f"/api/shop/orders/{order_id}/pay", headers=other)).status_code == 403

    paying = await app.post(f"/api/shop/orders/{order_id}/pay", headers=me)
    link = paying.json()["invoice_link"]
    assert re.fullmatch(r"https://t\.me/\$[\w-]+", link)
    paid = await bozor.driver.pay_invoice_link(buyer, link)
    assert paid["ok"], paid

    async def delivered() -> bool:
        return (await orders_of(bozor.db))[0].status == OrderStatus.DELIVERED

    await eventually(delivered)
    purchase = await app.get(f"/api/shop/purchases/{order_id}", headers=me)
    assert "CODE-0001" not in purchase.text  # not in the page before the tap
    revealed = await app.post(f"/api/shop/purchases/{order_id}/codes", headers=me)
    assert "CODE-0001" in revealed.text and "CODE-0002" in revealed.text
    assert (
        await app.post(f"/api/shop/purchases/{order_id}/codes", headers=other)
    ).status_code == 403
    listing = await app.get("/api/shop/purchases", headers=me)
    assert f"#{order_id}" in listing.text

    # Paid once: a second invoice for the same order is refused, translated.
    again = await app.post(f"/api/shop/orders/{order_id}/pay", headers=me)
    assert again.status_code == 409 and 'data-testid="error"' in again.text


async def test_more_than_the_stock_is_refused_and_nothing_is_held(
    bozor: Harness, app: httpx.AsyncClient
) -> None:
    product = await make_product(bozor, stock=2)
    buyer = as_user(await bozor.user("Buyer", language_code="ru"), language_code="ru")
    for quantity in ("3", "0", "x"):
        refused = await app.post(
            f"/api/shop/products/{product}/order", data={"quantity": quantity}, headers=buyer
        )
        assert refused.status_code in (409, 422)
        assert 'data-lang="ru"' in refused.text
    assert await orders_of(bozor.db) == []
    async with bozor.db() as session:  # the codes stayed available: no order holds them
        assert await codes.stock(session=session, product_id=product) == 2


async def test_the_catalogue_and_the_cart_read_in_the_buyers_language(
    bozor: Harness, app: httpx.AsyncClient
) -> None:
    async with bozor.db() as session:
        category = await catalogue.create_category(
            session=session,
            name={"en": "Games", "ru": "Игры", "uz": "Oʻyinlar"},
            description={"en": "Keys for games.", "ru": "Ключи для игр."},
        )
        product = await catalogue.create_product(
            session=session,
            category_id=category.id,
            title={"en": "Gift card", "ru": "Подарочная карта"},
            price_stars=30,
        )
        await codes.import_codes(
            session=session,
            settings=bozor.settings,
            product_id=product.id,
            lines=[codes.CodeLine(1, "CODE-0001")],
            actor="test",
        )
        await session.commit()
    buyer = as_user(await bozor.user("Buyer", language_code="ru"), language_code="ru")
    shop = (await app.get("/api/shop", headers=buyer)).text
    assert "Игры" in shop and "Ключи для игр." in shop and "Подарочная карта" in shop
    assert "Games" not in shop and "Keys for games" not in shop and "Gift card" not in shop
    page = (await app.get(f"/api/shop/products/{product.id}", headers=buyer)).text
    assert "Подарочная карта" in page and "Gift card" not in page
    ordered = await app.post(
        f"/api/shop/products/{product.id}/order", data={"quantity": "1"}, headers=buyer
    )
    cart = (await app.get(f"/api{ordered.json()['go']}", headers=buyer)).text
    assert "Игры Подарочная карта" in cart
    # a language without its own texts reads the default language's
    uz = as_user(await bozor.user("Xaridor", language_code="uz"), language_code="uz")
    shown = (await app.get("/api/shop", headers=uz)).text
    assert "Oʻyinlar" in shown and "Gift card" in shown and "Keys for games." in shown
