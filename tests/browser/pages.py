"""The pages of the demo the browser checks visit (layout, accessibility): one list per face,
so a new page is one line here."""

from __future__ import annotations

import re
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
# The Mini App's pages (/app/...), when the demo serves one.
MINI_APP_PAGES: list[str] = []


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
