"""The demo's shop in a real browser: Alice buys a gift card through the menu, pays the
invoice with Stars and gets the code in the chat; the dashboard's shop page then shows her
order beside the sample sales, with the low-stock and sold-out marks."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

pytestmark = [pytest.mark.xdist_group("browser"), pytest.mark.timeout(240)]

STEAM_CODE = re.compile(r"^[A-Z2-9]{5}-[A-Z2-9]{5}-[A-Z2-9]{5}$")  # bozor.shop.demo's shape


async def test_a_persona_buys_a_card_and_the_dashboard_shows_the_order(
    demo: Any, open_page: Callable[..., Awaitable[Any]], shoot: Callable[..., Awaitable[None]]
) -> None:
    from playwright.async_api import expect

    chat = await open_page(width=400, height=860)  # a phone
    await chat.goto(demo.chat_url + "#persona=alice")
    messages = chat.get_by_test_id("messages")
    keyboard = chat.get_by_test_id("reply-keyboard")
    await keyboard.get_by_role("button", name=re.compile("Shop$")).click()  # its submenu
    await keyboard.get_by_role("button", name=re.compile("Buy cards")).click()
    await expect(messages).to_contain_text("Choose a service")
    await messages.locator("button[data-callback^='sh:c:']", has_text="Steam").last.click()
    await expect(messages).to_contain_text("Steam — choose a denomination")
    await messages.locator("button[data-callback^='sh:p:']", has_text="20 USD").last.click()
    await expect(messages).to_contain_text("How many codes?")
    await messages.locator("button[data-callback^='sh:q:'][data-callback$=':1']").last.click()
    await expect(messages).to_contain_text(re.compile(r"Order #\d+\s*Steam — 20 USD × 1"))
    await messages.locator("button[data-callback^='sh:pay:']").last.click()
    invoice = chat.get_by_test_id("invoice").last
    await expect(invoice).to_contain_text("1600")
    await chat.get_by_test_id("pay").last.click()
    # Telegram's pre-checkout and successful_payment, then the code from the outbox.
    await expect(messages).to_contain_text("Payment received")
    delivered = messages.locator("[data-testid=message]", has_text="Tap a code to copy it").last
    await expect(delivered).to_contain_text(re.compile(r"Order #(\d+): Steam — 20 USD"))
    code = (await delivered.locator("code").first.inner_text()).strip()
    assert STEAM_CODE.match(code), code
    text = await delivered.inner_text()
    match = re.search(r"Order #(\d+)", text)
    assert match is not None
    order_id = match.group(1)
    await shoot(chat, "demo-shop-phone.png")

    page = await open_page(height=1900)  # down to the stock marks and the newest orders
    await page.goto(demo.http_url + "/dashboard/shop?period=30d")
    assert "/dashboard/signin" in page.url
    await page.get_by_test_id("secret").fill("demo")  # the demo's DASHBOARD_PASSWORD
    await page.get_by_test_id("signin").click()
    assert page.url.endswith("/dashboard/shop?period=30d")
    newest = page.get_by_test_id("orders").locator("tbody tr").first
    await expect(newest).to_contain_text(order_id)
    await expect(newest).to_contain_text("Alice (@alice)")
    await expect(newest).to_contain_text("Steam 20 USD × 1")
    await expect(newest).to_contain_text("delivered")
    await expect(newest).to_contain_text("1600 ⭐")
    await expect(page.get_by_test_id("revenue-chart").locator("svg polyline")).to_have_count(1)
    await expect(page.get_by_test_id("orders-chart").locator("svg polyline")).to_have_count(2)
    stock = page.get_by_test_id("stock")
    await expect(stock.locator("tr[data-level=low]")).to_contain_text("Steam")
    await expect(stock.locator("tr[data-level=out]")).to_contain_text("App Store")
    await shoot(page, "dashboard-shop.png")
    # The code is Alice's alone: it is on no dashboard page and in no export.
    assert code not in await page.content()
    answer = await page.request.get(demo.http_url + "/dashboard/shop/orders.csv")
    assert answer.ok and order_id in await answer.text() and code not in await answer.text()
