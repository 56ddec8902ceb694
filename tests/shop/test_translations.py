"""The catalogue in the buyer's language: names and descriptions set per language through the
admin API and /translate, read in Russian and Uzbek in the catalogue, the invoice (within
Telegram's limits) and the receipt, the default language's text where a translation is missing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from tests.shop.helpers import button, edited, press, text_of

from bozor.shop import codes
from bozor.telegram_limits import INVOICE_DESCRIPTION, INVOICE_TITLE
from bozor.testing import ADMIN_ID, Harness, api_url, free_port, new_api_key

RU_DESCRIPTION = "Подарочная карта Steam на 20 долларов США для любого аккаунта. " * 6


@pytest.fixture
def bozor_overrides() -> dict[str, Any]:
    return {"http_port": free_port(), "outbox_chat_interval": 0, "throttle_burst": 100}


async def _catalogue_through_the_api(bozor: Harness) -> tuple[int, int]:
    """A category and a product with Russian texts (and an Uzbek title only); their ids."""
    key = await new_api_key(bozor, "admin")
    async with httpx.AsyncClient(base_url=api_url(bozor), headers={"X-API-Key": key}) as client:
        made = await client.post(
            "/api/v1/admin/shop/categories",
            json={
                "name": {"en": "Game cards", "ru": "Игровые карты", "uz": "Oʻyin kartalari"},
                "description": {"en": "Codes for games.", "ru": "Коды для игр."},
            },
        )
        assert made.status_code == 201, made.text
        category = made.json()
        assert category["name"] == "Game cards" and category["description"] == "Codes for games."
        assert category["translations"] == {
            "ru": {"name": "Игровые карты", "description": "Коды для игр."},
            "uz": {"name": "Oʻyin kartalari"},
        }
        product = await client.post(
            "/api/v1/admin/shop/products",
            json={
                "category_id": category["id"],
                "title": "Steam 20 dollars",  # plain, as before: the default language's
                "description": "A Steam gift card worth 20 US dollars.",
                "price_stars": 50,
            },
        )
        assert product.status_code == 201, product.text
        changed = await client.patch(
            f"/api/v1/admin/shop/products/{product.json()['id']}",
            json={
                "title": {"ru": "Steam на 20 долларов", "uz": "Steam 20 dollar"},
                "description": {"ru": RU_DESCRIPTION},
            },
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["title"] == "Steam 20 dollars"
        assert changed.json()["translations"]["ru"]["title"] == "Steam на 20 долларов"
        unknown = await client.patch(
            f"/api/v1/admin/shop/products/{product.json()['id']}", json={"title": {"de": "X"}}
        )
        assert unknown.status_code == 422
    async with bozor.db() as session:
        await codes.import_codes(
            session=session,
            settings=bozor.settings,
            product_id=product.json()["id"],
            lines=[codes.CodeLine(i, f"CODE-{i:04d}") for i in range(1, 4)],
            actor="test",
        )
        await session.commit()
    return int(category["id"]), int(product.json()["id"])


async def test_a_russian_buyer_reads_the_catalogue_invoice_and_receipt_in_russian(
    bozor: Harness,
) -> None:
    _, product_id = await _catalogue_through_the_api(bozor)
    buyer = await bozor.user("Olga", language_code="ru")
    await bozor.start(buyer)
    menu = await text_of(bozor, buyer, "🛒 Купить карты")
    [[category]] = menu["reply_markup"]["inline_keyboard"]
    assert category["text"] == "Игровые карты"
    await press(bozor, buyer, menu, category["callback_data"])
    products = await edited(bozor, buyer, menu["message_id"], "Коды для игр.")
    assert "Игровые карты" in products["text"]
    assert "Steam на 20 долларов" in products["reply_markup"]["inline_keyboard"][0][0]["text"]
    await press(bozor, buyer, menu, f"sh:p:{product_id}")
    asked = await edited(bozor, buyer, menu["message_id"], "Steam на 20 долларов")
    assert "Подарочная карта Steam" in asked["text"]
    await press(bozor, buyer, menu, f"sh:q:{product_id}:1")
    summary = await edited(bozor, buyer, menu["message_id"], "Заказ №")
    assert "Игровые карты — Steam на 20 долларов × 1" in summary["text"]
    await press(bozor, buyer, summary, button(summary, "sh:pay:"))
    message = await bozor.driver.wait_for_message(
        buyer, after_message_id=summary["message_id"], predicate=lambda m: "invoice" in m
    )
    invoice = message["invoice"]
    assert len(invoice["title"]) <= INVOICE_TITLE and invoice["title"].startswith("Игровые карты")
    assert invoice["title"].endswith("…")  # 35 characters, cut to Telegram's 32
    assert len(invoice["description"]) <= INVOICE_DESCRIPTION
    assert invoice["description"].startswith("Подарочная карта Steam")
    assert invoice["description"].endswith("Коды придут в этот чат сразу после оплаты.")
    assert (await bozor.driver.pay_invoice(buyer, message["message_id"]))["ok"]
    receipt = await bozor.driver.wait_for_message(buyer, contains="CODE-", timeout=15)
    assert "Игровые карты — Steam на 20 долларов" in receipt["text"]
    history = await text_of(bozor, buyer, "🧾 Мои покупки")
    assert "Игровые карты Steam на 20 долларов × 1" in history["text"], history["text"]


async def test_an_uzbek_buyer_gets_the_default_text_where_no_translation_exists(
    bozor: Harness,
) -> None:
    _, product_id = await _catalogue_through_the_api(bozor)
    buyer = await bozor.user("Aziz", language_code="uz")
    await bozor.start(buyer)
    menu = await text_of(bozor, buyer, "🛒 Karta sotib olish")
    [[category]] = menu["reply_markup"]["inline_keyboard"]
    assert category["text"] == "Oʻyin kartalari"
    await press(bozor, buyer, menu, category["callback_data"])
    products = await edited(bozor, buyer, menu["message_id"], "Codes for games.")  # no uz one
    assert "Steam 20 dollar" in products["reply_markup"]["inline_keyboard"][0][0]["text"]
    await press(bozor, buyer, menu, f"sh:p:{product_id}")
    asked = await edited(bozor, buyer, menu["message_id"], "Steam 20 dollar")
    assert "A Steam gift card worth 20 US dollars." in asked["text"]


async def test_an_admin_translates_in_the_bot(bozor: Harness) -> None:
    category_id, product_id = await _catalogue_through_the_api(bozor)
    await bozor.user("Admin", user_id=ADMIN_ID)
    usage = await text_of(bozor, ADMIN_ID, "/translate product 1 de Zwanzig")
    assert "/translate category|product" in usage["text"] and "en, ru, uz" in usage["text"]
    done = await text_of(
        bozor, ADMIN_ID, f"/translate product {product_id} uz Steam 20 AQSh dollari\nSteam kartasi"
    )
    assert f"#{product_id} in uz: Steam 20 AQSh dollari" in done["text"]
    await text_of(bozor, ADMIN_ID, f"/translate category {category_id} uz Oʻyinlar")
    buyer = await bozor.user("Aziz", language_code="uz")
    await bozor.start(buyer)
    menu = await text_of(bozor, buyer, "🛒 Karta sotib olish")
    [[category]] = menu["reply_markup"]["inline_keyboard"]
    assert category["text"] == "Oʻyinlar"
    await press(bozor, buyer, menu, category["callback_data"])
    await edited(bozor, buyer, menu["message_id"], "Oʻyinlar — nominalni tanlang")
    await press(bozor, buyer, menu, f"sh:p:{product_id}")
    asked = await edited(bozor, buyer, menu["message_id"], "Steam 20 AQSh dollari")
    assert "Steam kartasi" in asked["text"]
