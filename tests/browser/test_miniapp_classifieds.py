"""The classifieds Mini App in Chromium against `bozor demo`: Bobur searches and saves the
search in the Mini App (phone-sized, signed initData as Telegram passes it), the admin
approves a matching ad in the dashboard, the alert arrives in Bobur's chat and one tap
unsubscribes; then every classifieds page in light and dark, in English, Russian and Uzbek."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import pytest

from bozor.demo.personas import DEMO_TOKEN
from bozor.telegram_webapp import sign

pytestmark = [pytest.mark.xdist_group("browser"), pytest.mark.timeout(300)]
PHONE = {"width": 390, "height": 780}
DARK = {"bg_color": "#17212b", "text_color": "#f5f5f5", "button_color": "#2f6ea5"}
LIGHT = {"bg_color": "#ffffff", "text_color": "#111111", "button_color": "#1a6bb0"}


async def _telegram_id(demo: Any, key: str) -> int:
    """A persona's Telegram id, from the web chat's configuration."""
    import httpx

    async with httpx.AsyncClient() as client:
        config = (await client.get(f"{demo.emulator_url}/chat/config.json")).json()
    return int(next(p["id"] for p in config["personas"] if p["key"] == key))


def _app_url(demo: Any, path: str, telegram_id: int, language: str, theme: dict[str, str]) -> str:
    """The Mini App as Telegram opens it: signed initData and the theme in the fragment."""
    user = {"id": telegram_id, "first_name": "Bobur", "language_code": language}
    data = sign(DEMO_TOKEN, {"query_id": "AAHbrowser", "user": user, "auth_date": int(time.time())})
    fragment = f"tgWebAppData={quote(data)}&tgWebAppThemeParams={quote(json.dumps(theme))}"
    return f"{demo.http_url}/app{path}#{fragment}&tgWebAppVersion=7.0&tgWebAppPlatform=tdesktop"


async def test_search_save_approve_alert_unsubscribe(
    demo: Any,
    browser: Any,
    open_page: Callable[..., Awaitable[Any]],
    shoot: Callable[..., Awaitable[None]],
) -> None:
    from playwright.async_api import expect

    bobur = await _telegram_id(demo, "bobur")
    context = await browser.new_context(viewport=PHONE, locale="uz-UZ")
    app = await context.new_page()
    await app.goto(_app_url(demo, "/classifieds", bobur, "uz", LIGHT))
    view = app.get_by_test_id("view")
    await expect(view.locator("h1")).to_have_text("Eʼlonlar")
    await expect(view.get_by_test_id("ads")).to_contain_text("Samsung Galaxy S21")
    await view.locator("details summary").click()
    await view.get_by_test_id("filter-q").fill("trek")
    await view.get_by_test_id("search").click()
    await expect(view.get_by_test_id("none")).to_be_visible()  # the bike waits for review
    assert "q=trek" in app.url
    await view.get_by_test_id("save-search").click()
    await expect(view.get_by_test_id("saved")).to_contain_text("trek")
    await shoot(app, "miniapp-classifieds-saved.png")

    dashboard = await open_page()
    await dashboard.goto(demo.http_url + "/dashboard/classifieds")
    await dashboard.get_by_test_id("secret").fill("demo")
    await dashboard.get_by_test_id("signin").click()
    card = dashboard.locator("[data-testid^='ad-']", has_text="Trek Marlin").first
    testid = await card.get_attribute("data-testid")
    assert testid is not None
    ad_id = testid.removeprefix("ad-")
    await dashboard.get_by_test_id(f"approve-{ad_id}").click()
    await expect(dashboard.get_by_test_id("notice")).to_contain_text(f"#{ad_id}")

    chat = await open_page()
    await chat.goto(demo.chat_url + "#persona=bobur")
    messages = chat.get_by_test_id("messages")
    alert = messages.locator(".msg", has_text="Saqlangan qidiruvingizga").last
    await expect(alert).to_contain_text("Trek Marlin")
    await shoot(chat, "miniapp-classifieds-alert.png")
    await alert.locator("button[data-callback^='ss:off:']").click()
    await expect(chat.get_by_test_id("toast")).to_contain_text("xabarnomalar endi kelmaydi")

    await app.reload()
    await app.goto(_app_url(demo, "/classifieds/saved", bobur, "uz", LIGHT))
    await expect(app.get_by_test_id("view").get_by_test_id("saved-none")).to_be_visible()
    # the approved bike is now found, and its page offers "Contact the seller"
    await app.goto(_app_url(demo, "/classifieds?q=trek", bobur, "uz", LIGHT))
    await app.get_by_test_id(f"ad-{ad_id}").click()
    await expect(app.get_by_test_id("ad-title")).to_contain_text("Trek Marlin")
    await expect(app.get_by_test_id("contact")).to_be_visible()
    await context.close()


@pytest.mark.parametrize("language", ["en", "ru", "uz"])
async def test_every_page_in_light_and_dark(
    demo: Any, browser: Any, shoot: Callable[..., Awaitable[None]], language: str
) -> None:
    from playwright.async_api import expect

    titles = {"en": "Classifieds", "ru": "Объявления", "uz": "Eʼlonlar"}
    alice = await _telegram_id(demo, "alice")
    for scheme, theme in (("light", LIGHT), ("dark", DARK)):
        context = await browser.new_context(viewport=PHONE)
        page = await context.new_page()
        for path in ("/classifieds", "/classifieds/mine", "/classifieds/saved"):
            await page.goto(_app_url(demo, path, alice, language, theme))
            view = page.get_by_test_id("view")
            await expect(view.locator("[data-page]")).to_have_attribute("data-lang", language)
            await expect(view.get_by_test_id("tab_search")).to_be_visible()
            text = await view.inner_text()
            assert "miniapp." not in text and "adsearch." not in text, text
            scheme_now = await page.evaluate("document.documentElement.dataset.scheme")
            assert scheme_now == scheme
            name = path.strip("/").replace("/", "-")
            await shoot(page, f"miniapp-{name}-{language}-{scheme}.png")
        await page.goto(_app_url(demo, "/classifieds", alice, language, theme))
        await expect(page.get_by_test_id("view").locator("h1")).to_have_text(titles[language])
        first = page.get_by_test_id("ads").locator("a").first
        await first.click()
        await expect(page.get_by_test_id("ad-title")).to_be_visible()
        assert re.search(r"/app/classifieds/ad/\d+$", page.url)
        await shoot(page, f"miniapp-classifieds-ad-{language}-{scheme}.png")
        await context.close()
