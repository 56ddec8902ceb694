"""Webhooks to several URLs: round-robin, and a failed delivery retried on the next URL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiohttp import web

from bozor.emulator import EmulatorDriver


class Target:
    def __init__(self, status: int) -> None:
        self.status = status
        self.update_ids: list[int] = []

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        if self.status == 200:
            self.update_ids.append(int(body["update_id"]))
        return web.Response(status=self.status)


@pytest.fixture
async def targets() -> AsyncIterator[tuple[list[Target], list[str]]]:
    found: list[Target] = []
    urls: list[str] = []
    runners: list[web.AppRunner] = []
    for status in (200, 200, 503):
        target = Target(status)
        app = web.Application()
        app.router.add_post("/hook", target.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        runners.append(runner)
        found.append(target)
        urls.append(f"http://127.0.0.1:{runner.addresses[0][1]}/hook")
    try:
        yield found, urls
    finally:
        for runner in runners:
            await runner.cleanup()


async def test_round_robin_with_failover_to_the_next_url(
    bot: Bot, driver: EmulatorDriver, targets: tuple[list[Target], list[str]]
) -> None:
    (first, second, broken), urls = targets
    await bot.set_webhook("http://127.0.0.1:9/never-called")
    await driver.set_webhook_targets(urls)
    users = [await driver.create_user(f"U{n}") for n in range(12)]
    for user in users:
        await driver.send_message(user, "hi")
    async with asyncio.timeout(10):
        while len(first.update_ids) + len(second.update_ids) < len(users):  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    delivered = first.update_ids + second.update_ids
    assert sorted(delivered) == sorted(set(delivered)), "each update delivered once"
    assert len(first.update_ids) >= 4 and len(second.update_ids) >= 4, "spread over both"
    state = await driver.webhook_targets()
    assert state["urls"] == urls
    assert state["deliveries"] == {
        urls[0]: len(first.update_ids),
        urls[1]: len(second.update_ids),
        urls[2]: 0,
    }
    assert (await driver.stats())["webhook_failures"] >= 1, "the broken one was tried"
    assert broken.update_ids == [], "a 503 is not a delivery"
    await driver.set_webhook_targets([])
    assert (await driver.webhook_targets())["urls"] == []


async def test_targets_must_be_urls(driver: EmulatorDriver) -> None:
    with pytest.raises(Exception, match="urls"):
        await driver.set_webhook_targets(["not a url"])
