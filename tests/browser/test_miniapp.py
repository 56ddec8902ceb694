"""The Mini App in a real browser, opened from the demo's web chat in its phone-sized panel:
every page in light and dark and in English, Russian and Uzbek; a purchase paid through the
Stars invoice in place; the draw verified in the browser matching `bozor lottery verify`; and
forged initData refused."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.xdist_group("browser"), pytest.mark.timeout(300)]

PERSONAS = {"alice": "en", "olga": "ru", "bobur": "uz"}


async def app_frame(chat: Any) -> Any:
    """The Mini App's frame, once its view is shown."""
    from playwright.async_api import expect

    panel = chat.get_by_test_id("miniapp")
    await expect(panel).to_be_visible()
    handle = await chat.get_by_test_id("miniapp-frame").element_handle()
    frame = await handle.content_frame()
    assert frame is not None
    await expect(frame.locator("[data-page]")).to_be_visible()
    return frame


async def open_at(chat: Any, demo: Any, persona_id: int, path: str) -> Any:
    """Open the Mini App at `path` as the persona (as a web_app button would)."""
    url = f"{demo.http_url}/app{path}"
    await chat.evaluate("() => window.BozorMiniApp.close()")  # the frame empty until it loads
    await chat.evaluate("([u, id]) => window.BozorMiniApp.open(u, id)", [url, persona_id])
    return await app_frame(chat)


async def persona_id(chat: Any, key: str) -> int:
    return int(
        await chat.evaluate(
            "k => fetch('/chat/config.json').then(r => r.json())"
            ".then(c => c.personas.find(p => p.key === k).id)",
            key,
        )
    )


async def drawn_lottery(frame: Any) -> str:
    link = frame.locator("[data-testid=drawn] a").first
    href = await link.get_attribute("href")
    assert isinstance(href, str)
    return href.removeprefix("/app")


async def test_every_page_in_both_themes_and_three_languages(
    demo: Any, open_page: Callable[..., Awaitable[Any]], shoot: Callable[..., Awaitable[None]]
) -> None:
    from playwright.async_api import expect

    chat = await open_page(width=420, height=860)
    await chat.goto(demo.chat_url + "#persona=alice")
    menu = chat.get_by_test_id("menu-button")
    await expect(menu).to_be_visible()  # the bot set its menu button to the Mini App
    await menu.click()
    home = await app_frame(chat)
    await expect(home.locator("[data-testid=tiles] a")).to_have_count(4)  # one per feature
    lottery = await open_at(chat, demo, await persona_id(chat, "alice"), "/lotteries")
    results = await drawn_lottery(lottery)
    paths = ["/", "/shop", "/shop/purchases", "/lotteries", results, "/referrals"]
    for key, language in PERSONAS.items():
        who = await persona_id(chat, key)
        for theme in ("light", "dark"):
            await chat.get_by_test_id("miniapp-theme").select_option(theme)
            for path in paths:
                frame = await open_at(chat, demo, who, path)
                root = frame.locator("html")
                await expect(root).to_have_attribute("lang", language)
                await expect(root).to_have_attribute("data-scheme", theme)
                text = await frame.locator("[data-page]").inner_text()
                assert "miniapp." not in text and "lottery." not in text, (key, path, text)
                background = await frame.evaluate("getComputedStyle(document.body).backgroundColor")
                assert background == (
                    "rgb(255, 255, 255)" if theme == "light" else "rgb(23, 33, 43)"
                ), (path, theme)
                if key == "alice" or path == "/shop":
                    name = path.strip("/").replace("/", "-") or "home"
                    await shoot(chat, f"miniapp-{name}-{language}-{theme}.png")


async def test_buy_in_the_app_and_pay_the_invoice_in_place(
    demo: Any, open_page: Callable[..., Awaitable[Any]]
) -> None:
    from playwright.async_api import expect

    chat = await open_page(width=420, height=860)
    await chat.goto(demo.chat_url + "#persona=alice")
    await chat.get_by_test_id("menu-button").click()
    frame = await app_frame(chat)
    await frame.get_by_test_id("tile-shop").click()
    await expect(frame.get_by_test_id("products")).to_be_visible()
    back = chat.get_by_test_id("miniapp-back")
    await expect(back).to_be_visible()  # Telegram's BackButton, shown by the app
    await frame.locator("a[data-testid^=category-]", has_text="Steam").click()
    await expect(frame.locator("a[aria-current=page]")).to_have_text("Steam")
    await frame.locator("[data-testid=products] a", has_text="20 USD").first.click()
    await expect(frame.get_by_test_id("stock")).to_be_visible()
    main = chat.get_by_test_id("miniapp-main")
    await expect(main).to_have_text("Put in the cart")  # Telegram's MainButton
    await main.click()
    await expect(frame.get_by_test_id("cart")).to_contain_text("Total: 1600 ⭐")
    await expect(main).to_have_text("Pay 1600 ⭐")
    await main.click()
    sheet = chat.get_by_test_id("miniapp-invoice")
    await expect(sheet).to_contain_text("1600")
    await chat.get_by_test_id("miniapp-pay").click()
    # Paid: the app shows the purchase; the codes only once asked for.
    await expect(frame.get_by_test_id("reveal")).to_be_visible(timeout=30_000)
    await frame.get_by_test_id("reveal").click()
    code = frame.get_by_test_id("codes").locator("code").first
    await expect(code).to_have_text(re.compile(r"^[A-Z2-9]{5}-[A-Z2-9]{5}-[A-Z2-9]{5}$"))
    bought = await code.inner_text()
    # The bot got successful_payment exactly as for an in-chat invoice: the chat says so.
    await chat.get_by_test_id("miniapp-close").click()
    await expect(chat.get_by_test_id("messages")).to_contain_text("Payment received")
    await expect(chat.get_by_test_id("messages")).to_contain_text(bought)


async def test_the_browser_verifies_the_draw_as_the_cli_does(
    demo: Any, open_page: Callable[..., Awaitable[Any]], tmp_path: Path
) -> None:
    from playwright.async_api import expect

    chat = await open_page(width=420, height=860)
    await chat.goto(demo.chat_url + "#persona=olga")
    who = await persona_id(chat, "olga")
    listing = await open_at(chat, demo, who, "/lotteries")
    path = await drawn_lottery(listing)
    lottery_id = path.rsplit("/", 1)[1]
    frame = await open_at(chat, demo, who, path)
    await frame.get_by_test_id("verify").click()
    verdict = frame.get_by_test_id("verdict")
    await expect(verdict).to_have_attribute("data-ok", "true", timeout=60_000)
    rows = frame.get_by_test_id("recomputed").locator("tbody tr")
    in_browser = {
        (int(await row.get_attribute("data-round")), int(await row.get_attribute("data-place"))): (
            await row.get_attribute("data-number")
        )
        for row in await rows.all()
    }
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'demo.sqlite3'}"}
    env.pop("BOT_TOKEN", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bozor", "lottery", "verify", lottery_id,
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output = (await asyncio.wait_for(process.communicate(), timeout=60))[0].decode()
    assert process.returncode == 0, output
    by_cli = {
        (int(r), int(p)): number
        for r, p, number in re.findall(r"round (\d+) place (\d+): (\S+)", output)
    }
    assert by_cli and in_browser == by_cli


async def test_forged_or_missing_init_data_is_refused(
    demo: Any, open_page: Callable[..., Awaitable[Any]]
) -> None:
    from playwright.async_api import expect

    chat = await open_page(width=420, height=860)
    await chat.goto(demo.chat_url + "#persona=alice")
    who = await persona_id(chat, "alice")
    url = await chat.evaluate(
        "([u, id, token]) => fetch(`/control/bots/${token}/web-apps`, {method: 'POST',"
        " headers: {'content-type': 'application/json'}, body: JSON.stringify({user_id: id,"
        " url: u})}).then(r => r.json()).then(d => d.url)",
        [
            demo.http_url + "/app/",
            who,
            await chat.evaluate(
                "fetch('/chat/config.json').then(r => r.json()).then(c => c.token)"
            ),
        ],
    )
    forged = url.replace("Alice", "Mallory")
    page = await open_page(width=400, height=800)
    await page.goto(forged)
    await expect(page.get_by_test_id("notice-refused")).to_be_visible()
    assert "Alice" not in await page.content() and "Mallory" not in await page.content()
    page2 = await open_page(width=400, height=800)
    await page2.goto(demo.http_url + "/app/shop")
    await expect(page2.get_by_test_id("notice-outside")).to_be_visible()
    answer = await page2.request.get(demo.http_url + "/app/api/shop")
    assert answer.status == 401
