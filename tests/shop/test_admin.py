"""Admins: catalogue and code imports in Telegram and from the command line, stock alerts,
sales with a chart, support relay, the admin API and key rotation for stored codes."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from tests.shop.helpers import button, invoice_of, make_product, press, text_of

from bozor import crypto
from bozor.shop import codes as shop_codes
from bozor.shop.models import Code, Product
from bozor.testing import ADMIN_ID, Harness, api_url, free_port, new_api_key


@pytest.fixture
def bozor_overrides() -> dict[str, Any]:
    return {
        "http_port": free_port(),
        "outbox_chat_interval": 0,
        "throttle_burst": 100,
        "shop_low_stock": 1,
    }


async def stock_of(bozor: Harness, product_id: int) -> int:
    async with bozor.db() as session:
        return await shop_codes.stock(session=session, product_id=product_id)


async def test_admin_builds_catalogue_and_imports_codes_in_telegram(bozor: Harness) -> None:
    admin = await bozor.user("Admin", user_id=ADMIN_ID)
    assert "Category #1" in (await text_of(bozor, admin, "/new_category Steam"))["text"]
    created = await text_of(bozor, admin, "/new_product 1 | 20 USD | 120 | 250.00 UAH")
    assert "Product #1 20 USD created at 120 ⭐" in created["text"]
    assert "price must be" in (await text_of(bozor, admin, "/price 1 0"))["text"]
    await text_of(bozor, admin, "/import_codes 1")
    sent = await bozor.driver.send_document(
        admin, b"code\nAAA-1\nBBB-2\nAAA-1\n\nCCC-3\n", "codes.csv", mime_type="text/csv"
    )
    report = await bozor.driver.wait_for_message(admin, after_message_id=sent["message_id"])
    assert "4 codes read, 3 added" in report["text"]
    assert "repeated in the file (lines): 4" in report["text"]
    await text_of(bozor, admin, "/import_codes 1")
    again = await text_of(bozor, admin, "BBB-2\nDDD-4")
    assert "2 codes read, 1 added" in again["text"] and "already known (lines): 1" in again["text"]
    assert await stock_of(bozor, 1) == 4
    catalogue = await text_of(bozor, admin, "/catalogue")
    assert "in stock 4" in catalogue["text"] and "250.00 UAH" in catalogue["text"]
    # codes are stored encrypted, never in the clear
    async with bozor.db() as session:
        secrets = list(await session.scalars(select(Code.secret)))
    assert all("AAA-1" not in s for s in secrets)
    assert sorted(crypto.decrypt(bozor.settings, s) for s in secrets) == [
        "AAA-1",
        "BBB-2",
        "CCC-3",
        "DDD-4",
    ]
    # hidden products are not offered; a non-admin cannot use admin commands
    await text_of(bozor, admin, "/hide_product 1")
    buyer = await bozor.user("Buyer")
    await bozor.start(buyer)
    assert "nothing for sale" in (await text_of(bozor, buyer, "🛒 Buy cards"))["text"]
    assert "did not understand" in (await text_of(bozor, buyer, "/new_category X"))["text"]


async def test_low_stock_alert_stats_and_chart(bozor: Harness) -> None:
    product = await make_product(bozor, stock=3)
    admin = await bozor.user("Admin", user_id=ADMIN_ID)
    await bozor.start(admin)
    buyer = await bozor.user("Buyer")
    await bozor.start(buyer)
    invoice = await invoice_of(bozor, buyer, product, 2)
    assert (await bozor.driver.pay_invoice(buyer, invoice["message_id"]))["ok"]
    await bozor.driver.wait_for_message(buyer, contains="CODE-0002", timeout=10)
    alert = await bozor.driver.wait_for_message(admin, contains="Low stock", timeout=10)
    assert "20 USD: 1 left" in alert["text"]
    sent = await bozor.driver.send_message(admin, "/sales today")
    chart = await bozor.driver.wait_for_message(
        admin, after_message_id=sent["message_id"], predicate=lambda m: bool(m.get("photo"))
    )
    assert "Orders: 1 (2 codes)" in chart["caption"] and "100 ⭐" in chart["caption"]
    assert "Steam 20 USD — 2" in chart["caption"]
    key = await new_api_key(bozor, "admin")
    async with httpx.AsyncClient(base_url=api_url(bozor), headers={"X-API-Key": key}) as client:
        figures = (await client.get("/api/v1/admin/shop/stats", params={"period": "7d"})).json()
        png = await client.get("/api/v1/admin/shop/stats/chart.png")
    assert figures["revenue"] == {"XTR": 100} and figures["orders"] == 1
    assert png.headers["content-type"] == "image/png" and png.content[:4] == b"\x89PNG"


async def test_support_question_relayed_and_answered(bozor: Harness) -> None:
    admin = await bozor.user("Admin", user_id=ADMIN_ID)
    await text_of(bozor, admin, "/faq_add How fast are codes delivered?\nRight after payment.")
    buyer = await bozor.user("Zarina", username="zarina")
    await bozor.start(buyer)
    support = await text_of(bozor, buyer, "💬 Support")
    await press(bozor, buyer, support, button(support, "sh:faq:"))
    faq = await bozor.driver.wait_for_message(
        buyer, after_message_id=support["message_id"], contains="Right after payment"
    )
    await press(bozor, buyer, support, "sh:ask")
    await bozor.driver.wait_for_message(buyer, after_message_id=faq["message_id"], contains="Write")
    asked = await text_of(bozor, buyer, "My code does not work", contains="sent to the admins")
    question = await bozor.driver.wait_for_message(
        admin, contains="My code does not work", timeout=10
    )
    assert "@zarina" in question["text"]
    await press(bozor, admin, question, button(question, "sha:r:"))
    await bozor.driver.wait_for_message(
        admin, after_message_id=question["message_id"], contains="Write the answer"
    )
    await text_of(bozor, admin, "Send me the order number, please.", contains="was sent")
    answer = await bozor.driver.wait_for_message(
        buyer, after_message_id=asked["message_id"], contains="order number", timeout=10
    )
    assert "Answer from support" in answer["text"]
    terms = await text_of(bozor, buyer, "/terms")
    assert "Terms of sale" in terms["text"]
    pay = await text_of(bozor, buyer, "/paysupport")
    assert "problem with a payment" in pay["text"]


async def test_admin_api(bozor: Harness) -> None:
    member = await bozor.user("Member")
    await bozor.start(member)
    key = await new_api_key(bozor, "admin")
    async with httpx.AsyncClient(base_url=api_url(bozor), headers={"X-API-Key": key}) as client:
        base = "/api/v1/admin/shop"
        category = (await client.post(f"{base}/categories", json={"name": "Google Play"})).json()
        assert (
            await client.post(f"{base}/categories", json={"name": "Google Play"})
        ).status_code == 409
        made = await client.post(
            f"{base}/products",
            json={"category_id": category["id"], "title": "10 USD", "price_stars": 80},
        )
        assert made.status_code == 201
        product = made.json()
        imported = await client.post(
            f"{base}/products/{product['id']}/codes",
            content="GP-1\nGP-2\nGP-2\n",
            headers={"content-type": "text/plain"},
        )
        assert imported.json()["added"] == 2 and imported.json()["duplicates_in_file"] == [3]
        changed = await client.patch(
            f"{base}/products/{product['id']}", json={"price_stars": 90, "is_hidden": True}
        )
        assert changed.json()["price_stars"] == 90 and changed.json()["available"] == 2
        assert (await client.patch(f"{base}/products/999", json={})).status_code == 404
        assert (await client.get(f"{base}/orders")).json() == []
        assert (await client.post(f"{base}/orders/1/refund")).status_code == 404
        faq = await client.post(f"{base}/faq", json={"question": "Q?", "answer": "A."})
        assert faq.status_code == 201
        sent = await client.post(f"{base}/notifications", json={"text": "New cards <in> stock!"})
        assert sent.status_code == 202 and sent.json() == {"queued": 1}
        notice = await bozor.driver.wait_for_message(member, contains="New cards")
        assert notice["text"] == "New cards <in> stock!"  # sent as typed, not as HTML
        buyers = await client.post(
            f"{base}/notifications", json={"text": "Thanks!", "segment": "buyers"}
        )
        assert buyers.json() == {"queued": 0}, "nobody has bought anything yet"
        listed = (await client.get("/api/v1/admin/broadcasts")).json()
        assert [b["source"] for b in listed] == ["shop", "shop"]
    no_admin = await new_api_key(bozor, "referrals")
    async with httpx.AsyncClient(base_url=api_url(bozor), headers={"X-API-Key": no_admin}) as c:
        assert (await c.get("/api/v1/admin/shop/orders")).status_code == 403


async def test_cli_import_and_key_rotation(bozor: Harness, tmp_path: Path) -> None:
    product = await make_product(bozor, stock=1, prefix="OLD")
    file = tmp_path / "codes.txt"
    file.write_text("NEW-1\nNEW-2\nOLD-0001\nNEW-1\n")
    env = {
        **os.environ,
        "DATABASE_URL": bozor.settings.database_url,
        "BOT_TOKEN": bozor.settings.bot_token.get_secret_value()
        if bozor.settings.bot_token
        else "",
        "AUTO_MIGRATE": "false",
    }

    async def bozor_cli(*args: str, extra: dict[str, str] | None = None) -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bozor",
            *args,
            env={**env, **(extra or {})},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await process.communicate()
        return process.returncode or 0, out.decode()

    code, out = await bozor_cli("shop", "import-codes", str(file), "--product", str(product))
    assert code == 0, out
    assert "4 codes read, 2 added" in out and "already known: lines 3" in out
    assert "repeated in the file: lines 4" in out
    assert await stock_of(bozor, product) == 3
    # rotation: a new key first, the old one kept; re-encrypt; then the old key can go
    old = crypto._keys(bozor.settings)[0]
    new = crypto.new_key()
    code, out = await bozor_cli(
        "shop", "reencrypt-codes", extra={"ENCRYPTION_KEYS": f"{new},{old}"}
    )
    assert code == 0 and "3 codes re-encrypted" in out, out
    from pydantic import SecretStr

    only_new = bozor.settings.model_copy(update={"encryption_keys": SecretStr(new)})
    async with bozor.db() as session:
        secrets = list(await session.scalars(select(Code.secret)))
        count = await session.scalar(select(func.count()).select_from(Product))
    assert count == 1
    assert sorted(crypto.decrypt(only_new, s) for s in secrets) == ["NEW-1", "NEW-2", "OLD-0001"]
