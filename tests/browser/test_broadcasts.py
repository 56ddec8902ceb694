"""Broadcasts in a real browser: the admin composes one in the dashboard of `bozor demo`,
previews exactly what members will get, confirms, and watches the page follow it to the end;
Alice finds it in her chat of the demo, with its link button."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

pytestmark = [pytest.mark.xdist_group("browser"), pytest.mark.timeout(240)]


async def test_a_broadcast_from_the_dashboard_reaches_the_chat(
    demo: Any,
    open_page: Callable[..., Awaitable[Any]],
    shoot: Callable[..., Awaitable[None]],
) -> None:
    from playwright.async_api import expect

    dashboard = await open_page()
    await dashboard.goto(demo.http_url + "/dashboard/broadcasts/new")
    await dashboard.get_by_test_id("secret").fill("demo")  # the demo's DASHBOARD_PASSWORD
    await dashboard.get_by_test_id("signin").click()
    await dashboard.get_by_test_id("text").fill(
        "<b>Winter sale</b> 🎁\nEvery gift card <i>10% off</i> until Sunday."
    )
    await dashboard.get_by_test_id("buttons").fill("Open the shop - https://example.com/shop")
    await dashboard.get_by_test_id("audience").select_option(label="all users")
    await dashboard.get_by_test_id("preview").click()

    message = dashboard.get_by_test_id("message")
    await expect(message.locator("b")).to_have_text("Winter sale")
    await expect(message.locator("i")).to_have_text("10% off")
    await expect(message.get_by_role("link", name="Open the shop ↗")).to_be_visible()
    await expect(dashboard.get_by_test_id("recipients")).to_contain_text("recipients")
    await shoot(dashboard, "dashboard-broadcast-preview.png")
    await dashboard.get_by_test_id("confirm").click()

    await expect(dashboard.get_by_test_id("notice")).to_contain_text("is saved")
    # The page reloads itself every few seconds until the broadcast is over.
    await expect(dashboard.get_by_test_id("state")).to_have_attribute("data-state", "done")
    await expect(dashboard.get_by_test_id("count-pending").locator(".value")).to_have_text("0")
    await shoot(dashboard, "dashboard-broadcast.png", full_page=True)

    chat = await open_page()
    await chat.goto(demo.chat_url + "#persona=alice")
    received = chat.get_by_test_id("messages").locator(".msg", has_text="Winter sale").last
    await expect(received).to_contain_text("Every gift card 10% off until Sunday.")
    button = received.locator("button[data-url='https://example.com/shop']")
    await expect(button).to_have_text("Open the shop ↗")
