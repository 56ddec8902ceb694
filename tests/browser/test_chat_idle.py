"""An idle web chat stays quiet: the open chat and the other personas' unread counts are each
one long poll that the emulator answers when something changes, so while nothing does the
page asks nothing again (it asked every persona every 2.5 s: about twice a second). The
page's clock is Playwright's, so a minute of its timers passes in a few seconds."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import pytest

pytestmark = [pytest.mark.xdist_group("browser"), pytest.mark.timeout(240)]


async def test_an_idle_chat_stays_quiet(
    demo: Any, open_page: Callable[..., Awaitable[Any]]
) -> None:
    page = await open_page()
    await page.clock.install()
    answers: list[Any] = []
    pending: set[Any] = set()  # requests the page waits for, long polls left out
    answered = asyncio.Event()  # nothing pending

    def sent(request: Any) -> None:
        if "/control/" in request.url and "timeout=" not in request.url:
            pending.add(request)
            answered.clear()

    def finished(request: Any) -> None:
        pending.discard(request)
        if not pending:
            answered.set()

    page.on("request", sent)
    page.on("requestfinished", finished)
    page.on("requestfailed", finished)
    await page.goto(demo.chat_url + "#persona=alice")
    await page.locator("[data-testid=messages][data-drawn]").wait_for(state="attached")
    page.on("response", lambda r: answers.append(r) if "/control/" in r.url else None)
    for _ in range(60):  # a minute of nobody doing anything, a second at a time
        await page.clock.run_for(1000)
        if pending:
            await asyncio.wait_for(answered.wait(), 30)
    # A question answered exactly as last time told the page nothing: that is polling.
    last: dict[str, bytes] = {}
    repeated = []
    for answer in answers:
        path, body = urlsplit(answer.url).path, await answer.body()
        if last.get(path) == body:
            repeated.append(path)
        last[path] = body
    # A long poll may time out once in a while (25 s); the old page repeated 120 questions.
    assert len(repeated) <= 4, repeated
