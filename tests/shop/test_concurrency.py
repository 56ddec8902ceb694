"""50 buyers at once for the last 10 codes: exactly 10 orders, 10 distinct codes, the others
told "sold out" before paying — on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select
from tests.shop.helpers import button, edited, make_product, orders_of, press

from bozor.shop.models import Code, CodeStatus, OrderStatus
from bozor.testing import Harness

BUYERS = 50
STOCK = 10


@pytest.fixture
def bozor_overrides() -> dict[str, Any]:
    return {"outbox_chat_interval": 0, "throttle_burst": 100}


async def test_fifty_buyers_for_ten_codes(bozor: Harness) -> None:
    product = await make_product(bozor, stock=STOCK)
    buyers = [await bozor.user(f"Buyer {i}") for i in range(BUYERS)]
    # each buyer is at the quantity step; then all press "1" at the same moment
    screens: dict[int, dict[str, Any]] = {}

    async def reach_quantity(buyer: int) -> None:
        sent = await bozor.driver.send_message(buyer, "/buy")
        menu = await bozor.driver.wait_for_message(
            buyer, after_message_id=sent["message_id"], timeout=30
        )
        await press(bozor, buyer, menu, "sh:c:1")
        await edited(bozor, buyer, menu["message_id"], "denomination")
        await press(bozor, buyer, menu, f"sh:p:{product}")
        screens[buyer] = await edited(bozor, buyer, menu["message_id"], "How many")

    await asyncio.gather(*(reach_quantity(b) for b in buyers))
    queries = await asyncio.gather(
        *(press(bozor, b, screens[b], f"sh:q:{product}:1") for b in buyers)
    )

    async def outcome(buyer: int, query: str) -> str:
        answer = await bozor.driver.callback_answer(query, timeout=60)
        if answer is not None and "Sold out" in (answer.get("text") or ""):
            return "sold out"
        await edited(bozor, buyer, screens[buyer]["message_id"], "Order #")
        return "order"

    results = await asyncio.gather(*(outcome(b, q) for b, q in zip(buyers, queries, strict=True)))
    assert results.count("order") == STOCK and results.count("sold out") == BUYERS - STOCK
    made = await orders_of(bozor.db)
    assert len(made) == STOCK and all(o.status == OrderStatus.PENDING for o in made)
    async with bozor.db() as session:
        held = await session.scalar(
            select(func.count(func.distinct(Code.id))).where(Code.status == CodeStatus.RESERVED)
        )
        owners = await session.scalar(select(func.count(func.distinct(Code.order_id))))
    assert held == STOCK and owners == STOCK
    # the ten pay; each gets a different code
    winners = [b for b, r in zip(buyers, results, strict=True) if r == "order"]

    async def pay(buyer: int) -> str:
        summary = next(
            m
            for m in await bozor.driver.messages(buyer)
            if m["message_id"] == screens[buyer]["message_id"]
        )
        await bozor.driver.press_button(
            buyer, summary["message_id"], callback_data=button(summary, "sh:pay:")
        )
        invoice = await bozor.driver.wait_for_message(
            buyer,
            after_message_id=summary["message_id"],
            predicate=lambda m: "invoice" in m,
            timeout=30,
        )
        assert (await bozor.driver.pay_invoice(buyer, invoice["message_id"]))["ok"]
        codes = await bozor.driver.wait_for_message(buyer, contains="CODE-", timeout=60)
        return str(codes["text"]).split("\n\n")[1]

    delivered = await asyncio.gather(*(pay(b) for b in winners))
    assert len(set(delivered)) == STOCK
    assert all(o.status == OrderStatus.DELIVERED for o in await orders_of(bozor.db))
