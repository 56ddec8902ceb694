"""Every dashboard page, at 1280 px and on a phone (390 px), shows its tables and labels in
full: nothing wider than the window, no text spilling out of or cut by its box, no chart label
outside the chart, and at 1280 px no table that has to be scrolled sideways (on a phone a
table's own scroll box may scroll: that is what it is for). The Mini App's pages too, on the
phone."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from tests.browser.pages import MINI_APP_PERSONA, MiniApp, dashboard_urls, sign_in

pytestmark = [pytest.mark.xdist_group("browser"), pytest.mark.timeout(300)]

LAYOUT_CHECK = (Path(__file__).parent / "layout.js").read_text()
WIDTHS = {"desktop": (1280, 800), "phone": (390, 844)}


async def test_no_table_or_label_is_cut_off(
    demo: Any, open_page: Callable[..., Awaitable[Any]]
) -> None:
    problems: list[str] = []
    cookies: list[Any] = []
    for screen, (width, height) in WIDTHS.items():
        page = await open_page(width=width, height=height)
        if cookies:
            await page.context.add_cookies(cookies)
        else:
            await sign_in(page, demo.http_url)
            cookies = await page.context.cookies()
            urls = await dashboard_urls(page, demo.http_url)
        for url in [demo.http_url + "/dashboard/signin", *urls]:
            await page.goto(url)
            found = await page.evaluate(LAYOUT_CHECK, screen == "desktop")
            problems += [f"{screen} {url}: {problem}" for problem in found]
        await page.context.close()
    phone = await open_page(width=WIDTHS["phone"][0], height=WIDTHS["phone"][1])
    app = MiniApp(phone, demo.emulator_url, demo.http_url)
    await app.as_persona(MINI_APP_PERSONA)
    async for path in app.pages("light"):  # the Mini App is a phone's: one screen, one theme
        found = await phone.evaluate(LAYOUT_CHECK, False)
        problems += [f"Mini App {path}: {problem}" for problem in found]
    assert not problems, "\n".join(problems)
