"""The pages of the demo the browser checks visit (layout, accessibility): one list per face,
so a new page is one line here."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

# Every dashboard page reachable by GET; "{lottery}" and the like are filled with the first id
# linked from the page in DETAILS.
DASHBOARD_PAGES = [
    "/dashboard/",
    "/dashboard/referrals",
    "/dashboard/lotteries",
    "/dashboard/lotteries/{lottery}",
    "/dashboard/shop",
    "/dashboard/classifieds",
    "/dashboard/classifieds/ads",
    "/dashboard/classifieds/ads/{ad}",
    "/dashboard/classifieds/bans",
    "/dashboard/broadcasts",
    "/dashboard/broadcasts/new",
    "/dashboard/broadcasts/{broadcast}",
    "/dashboard/users",
    "/dashboard/webhooks",
    "/dashboard/sessions",
    "/dashboard/audit",
]
DETAILS = {
    "lottery": ("/dashboard/lotteries", r"/dashboard/lotteries/(\d+)"),
    "ad": ("/dashboard/classifieds/ads", r"/dashboard/classifieds/ads/(\d+)"),
    "broadcast": ("/dashboard/broadcasts", r"/dashboard/broadcasts/(\d+)"),
}
# The web chat, as each kind of visitor sees it (a persona's chat, the channel).
CHAT_PAGES = ["persona=alice", "persona=admin", "persona=jasur", "channel={channel}"]
# The Mini App's pages (/app/...), opened as a persona from Telegram would open them; "{product}"
# and the like are filled with the first id linked from the page in MINI_APP_DETAILS. The cart
# and the draw's verification are reached by clicking (see mini_app_pages).
MINI_APP_PAGES = [
    "/",
    "/shop",
    "/shop/products/{product}",
    "/shop/purchases",
    "/lotteries",
    "/lotteries/{lottery}",
    "/referrals",
    "/classifieds",
    "/classifieds/ad/{ad}",
    "/classifieds/mine",
    "/classifieds/saved",
]
MINI_APP_DETAILS = {
    "product": ("/shop", "[data-testid=products] a"),
    "lottery": ("/lotteries", "[data-testid=drawn] a"),  # a drawn one: results to verify
    "ad": ("/classifieds", "[data-testid=ads] a"),
}
MINI_APP_PERSONA = "bobur"  # has ads of his own (one rejected), draw wins and referrals
# Telegram's themes as the web chat's Mini App panel passes them (miniapp-panel.js).
MINI_APP_THEMES = {
    "light": {
        "bg_color": "#ffffff", "text_color": "#000000", "hint_color": "#707579",
        "link_color": "#1f62a5", "button_color": "#1f62a5", "button_text_color": "#ffffff",
        "secondary_bg_color": "#f1f3f5",
    },
    "dark": {
        "bg_color": "#17212b", "text_color": "#f5f5f5", "hint_color": "#708499",
        "link_color": "#7cbcf5", "button_color": "#2f6ea5", "button_text_color": "#ffffff",
        "secondary_bg_color": "#232e3c",
    },
}  # fmt: skip


async def sign_in(page: Any, base: str) -> None:
    await page.goto(base + "/dashboard/signin")
    await page.get_by_test_id("secret").fill("demo")  # the demo's DASHBOARD_PASSWORD
    await page.get_by_test_id("signin").click()
    await page.get_by_test_id("nav").wait_for()


async def dashboard_urls(page: Any, base: str) -> list[str]:
    """DASHBOARD_PAGES with their ids filled in from the demo's data (page signed in)."""
    ids: dict[str, str] = {}
    for key, (listing, pattern) in DETAILS.items():
        await page.goto(base + listing)
        hrefs = await page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
        found = next((m.group(1) for h in hrefs if (m := re.search(pattern + "$", h))), None)
        assert found is not None, f"no link to a {key} on {listing}"
        ids[key] = found
    return [base + path.format(**ids) for path in DASHBOARD_PAGES]


class MiniApp:
    """Opens the Mini App as Telegram does: the emulator launches it for a persona (initData
    signed with the bot's token, the theme in the launch parameters)."""

    def __init__(self, page: Any, emulator_url: str, http_url: str) -> None:
        self.page, self.emulator_url, self.http_url = page, emulator_url, http_url
        self.user_id, self.token = 0, ""

    async def as_persona(self, key: str) -> None:
        answer = await self.page.request.get(self.emulator_url + "/chat/config.json")
        config = await answer.json()
        self.token = config["token"]
        self.user_id = next(p["id"] for p in config["personas"] if p["key"] == key)

    async def open(self, path: str, theme: str) -> None:
        """The app at `path`, its view drawn."""
        answer = await self.page.request.post(
            f"{self.emulator_url}/control/bots/{self.token}/web-apps",
            data={
                "user_id": self.user_id,
                "url": self.http_url + "/app" + path,
                "theme_params": MINI_APP_THEMES[theme],
                "platform": "android",
            },
        )
        assert answer.ok, await answer.text()
        await self.page.goto("about:blank")  # a new launch, not a change of the fragment
        await self.page.goto((await answer.json())["url"])
        await self.page.locator("[data-page]").wait_for()

    async def pages(self, theme: str) -> AsyncIterator[str]:
        """Opens every page of the Mini App in turn (MINI_APP_PAGES, the cart and the draw's
        verification), yielding each path once it is drawn."""
        ids: dict[str, str] = {}
        for key, (listing, links) in MINI_APP_DETAILS.items():
            await self.open(listing, theme)
            href = await self.page.locator(links).first.get_attribute("href")
            assert href, f"no link to a {key} on {listing}"
            ids[key] = href.rstrip("/").rsplit("/", 1)[1].split("?")[0]
        for path in MINI_APP_PAGES:
            path = path.format(**ids)
            await self.open(path, theme)
            yield path
            if path.startswith("/shop/products/"):
                await self.page.get_by_test_id("to-cart").click()
                await self.page.get_by_test_id("cart").wait_for()
                yield path + " → cart"
            if path.startswith("/lotteries/"):
                await self.page.get_by_test_id("verify").click()
                await self.page.locator("[data-testid=verdict][data-ok=true]").wait_for(
                    timeout=60_000
                )
                yield path + " → verify"
