"""The admin dashboard in a real browser: nothing without signing in, then every section
renders the demo's data."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

pytestmark = [pytest.mark.xdist_group("browser"), pytest.mark.timeout(240)]


async def test_sign_in_then_browse_the_sections(
    demo: Any, open_page: Callable[..., Awaitable[Any]], shoot: Callable[..., Awaitable[None]]
) -> None:
    from playwright.async_api import expect

    page = await open_page()
    await page.goto(demo.http_url + "/dashboard/referrals")
    assert "/dashboard/signin" in page.url
    await expect(page.get_by_test_id("nav")).to_have_count(0)
    await page.get_by_test_id("secret").fill("not the password")
    await page.get_by_test_id("signin").click()
    await expect(page.get_by_test_id("signin-error")).to_be_visible()
    await shoot(page, "dashboard-signin.png")
    await page.get_by_test_id("secret").fill("demo")  # the demo's DASHBOARD_PASSWORD
    await page.get_by_test_id("signin").click()
    assert page.url.endswith("/dashboard/referrals")
    await expect(page.get_by_test_id("funnel-chart").locator("svg polyline")).to_have_count(3)
    await expect(page.get_by_test_id("top-referrers")).to_contain_text("Alice")
    await expect(page.get_by_test_id("review-queue")).to_contain_text("velocity")
    await shoot(page, "dashboard-referrals.png", full_page=True)

    await page.get_by_test_id("nav").get_by_role("link", name="Prize draws").click()
    await page.get_by_role("link", name="Welcome draw").click()
    await expect(page.get_by_test_id("verification")).to_contain_text("Verified")
    await expect(page.get_by_test_id("winners")).to_contain_text("Bobur")
    await expect(page.get_by_test_id("audit")).to_contain_text("Drawn")
    await shoot(page, "dashboard-lottery.png", full_page=True)

    await page.get_by_test_id("nav").get_by_role("link", name="Users").click()
    await page.get_by_test_id("user-search").fill("@olga")
    await page.get_by_test_id("user-search").press("Enter")
    await expect(page.get_by_test_id("user-count")).to_have_text("1 user")
    await expect(page.get_by_test_id("users")).to_contain_text("Olga")

    phone = await open_page(width=390, height=844)
    await phone.context.add_cookies(await page.context.cookies())
    await phone.goto(demo.http_url + "/dashboard/")
    await expect(phone.get_by_test_id("nav")).to_be_visible()
    await shoot(phone, "dashboard-phone.png", full_page=True)

    await page.get_by_test_id("signout").click()
    assert "/dashboard/signin" in page.url
    await page.goto(demo.http_url + "/dashboard/users")
    assert "/dashboard/signin" in page.url


async def test_sign_in_with_telegram_then_end_every_session(
    demo: Any, open_page: Callable[..., Awaitable[Any]], shoot: Callable[..., Awaitable[None]]
) -> None:
    """The demo's emulator plays Telegram's login window; the sessions page and the audit log
    show the sign-ins; "Sign out everywhere" ends the other browser's session too."""
    from playwright.async_api import expect

    laptop = await open_page()
    await laptop.goto(demo.http_url + "/dashboard/signin")
    await laptop.get_by_test_id("signin-telegram").click()
    await expect(laptop.get_by_test_id("login-users")).to_contain_text("Admin")
    await laptop.get_by_test_id("login-users").get_by_role("link", name="Admin").click()
    assert laptop.url.endswith("/dashboard/")
    await expect(laptop.get_by_test_id("nav")).to_be_visible()

    phone = await open_page(width=390, height=844)
    await phone.goto(demo.http_url + "/dashboard/signin")
    await phone.get_by_test_id("secret").fill("demo")
    await phone.get_by_test_id("signin").click()
    await expect(phone.get_by_test_id("nav")).to_be_visible()

    await laptop.get_by_test_id("nav-sessions").click()
    sessions = laptop.get_by_test_id("sessions")
    await expect(sessions.locator("tbody tr")).to_have_count(2)
    await expect(sessions).to_contain_text("Admin (@admin)")
    await expect(sessions).to_contain_text("Dashboard password")
    await shoot(laptop, "dashboard-sessions.png", full_page=True)

    await laptop.get_by_test_id("nav").get_by_role("link", name="Audit log").click()
    await expect(laptop.get_by_test_id("audit")).to_contain_text("Signed in")
    await expect(laptop.get_by_test_id("audit")).to_contain_text("telegram")

    await laptop.get_by_test_id("nav-sessions").click()
    await laptop.get_by_test_id("end-all-sessions").click()
    assert "/dashboard/signin" in laptop.url
    await phone.goto(demo.http_url + "/dashboard/")
    assert "/dashboard/signin" in phone.url
