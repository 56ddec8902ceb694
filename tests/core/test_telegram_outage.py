"""Bozor serves HTTP while Telegram cannot be reached, and its bot follows when Telegram comes
back. Telegram is the emulator behind a TCP proxy that refuses connections while cut."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bozor.classifieds.settings import ClassifiedsSettings
from bozor.emulator import Emulator, EmulatorDriver
from bozor.faults import TcpProxy
from bozor.runtime import ALL_ROLES
from bozor.testing import (
    TEST_BOT_TOKEN,
    Harness,
    eventually,
    free_port,
    new_api_key,
    start_bozor,
)

API_ROLE = frozenset({"api"})
BOT_NAME = "outage_test_bot"


@pytest.fixture
async def telegram(emulator: Emulator) -> AsyncIterator[TcpProxy]:
    """The way to Telegram: up until a test cuts it."""
    target = urlsplit(emulator.url)
    async with TcpProxy(target.hostname or "127.0.0.1", target.port or 80) as proxy:
        yield proxy


def through(proxy: TcpProxy, **overrides: Any) -> dict[str, Any]:
    return {
        "telegram_api_url": f"http://127.0.0.1:{proxy.port}",
        "http_port": free_port(),
        "telegram_retry_max": 0.5,
        **overrides,
    }


async def serve_once(
    emulator: Emulator, database_url: str, db: async_sessionmaker[AsyncSession], proxy: TcpProxy
) -> str:
    """Bozor once with Telegram up, as before an outage; the bot's link of user `u1`."""
    async with EmulatorDriver(emulator.url, TEST_BOT_TOKEN) as driver:
        await driver.register_bot(username=BOT_NAME, first_name="Outage")
    async with start_bozor(emulator, database_url, db, roles=API_ROLE, **through(proxy)) as bozor:
        link = await generate_link(bozor, "u1")
    assert response_ok(link)
    return str(link.json()["telegram_link"])


async def generate_link(bozor: Harness, user_id: str) -> httpx.Response:
    key = await new_api_key(bozor)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{bozor.settings.http_port}") as api:
        return await api.post(
            "/api/v1/generate-link", json={"user_id": user_id}, headers={"X-API-Key": key}
        )


def response_ok(response: httpx.Response) -> bool:
    assert response.status_code == 200, response.text
    return True


async def readyz(bozor: Harness) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.get(f"http://127.0.0.1:{bozor.settings.http_port}/readyz")


async def failed_calls(bozor: Harness) -> float:
    """Bot API attempts that found no Telegram, from /metrics."""
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"http://127.0.0.1:{bozor.settings.http_port}/metrics")).text
    pattern = r'^bozor_telegram_calls_total\{[^}]*result="network"[^}]*\} (\S+)$'
    return sum(float(value) for value in re.findall(pattern, text, re.MULTILINE))


async def test_api_role_serves_with_the_stored_identity_while_telegram_is_down(
    emulator: Emulator,
    database_url: str,
    db: async_sessionmaker[AsyncSession],
    telegram: TcpProxy,
) -> None:
    link_before = await serve_once(emulator, database_url, db, telegram)
    assert f"https://t.me/{BOT_NAME}?start=" in link_before
    await telegram.cut()

    async with start_bozor(
        emulator, database_url, db, roles=API_ROLE, **through(telegram)
    ) as bozor:
        ready = await readyz(bozor)
        assert ready.status_code == 200, ready.text
        assert ready.json() == {"status": "ready", "telegram": "degraded"}
        link = await generate_link(bozor, "u1")
        assert response_ok(link) and link.json()["telegram_link"] == link_before
        other = await generate_link(bozor, "u2")
        assert response_ok(other) and f"t.me/{BOT_NAME}?start=" in other.json()["telegram_link"]

        await telegram.start()

        async def telegram_ok() -> bool:
            return bool((await readyz(bozor)).json()["telegram"] == "ok")

        await eventually(telegram_ok, timeout=60)


async def test_run_starts_without_telegram_and_its_bot_answers_once_telegram_is_back(
    emulator: Emulator,
    database_url: str,
    db: async_sessionmaker[AsyncSession],
    telegram: TcpProxy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await serve_once(emulator, database_url, db, telegram)
    await telegram.cut()
    caplog.set_level(logging.INFO, logger="bozor")

    async with start_bozor(
        emulator, database_url, db, roles=ALL_ROLES, **through(telegram)
    ) as bozor:
        assert (await readyz(bozor)).json()["telegram"] == "degraded"
        assert response_ok(await generate_link(bozor, "u3"))
        member = await bozor.user("Nodira")
        sent = await bozor.driver.send_start(member)

        async def retried() -> bool:  # several tries, to show they are logged once
            return await failed_calls(bozor) >= 4

        await eventually(retried, timeout=60)
        assert await bozor.driver.bot_messages(member) == []

        await telegram.start()
        welcome = await bozor.driver.wait_for_message(
            member, after_message_id=sent["message_id"], timeout=60
        )
        assert "Welcome" in welcome["text"]
        assert (await readyz(bozor)).json()["telegram"] == "ok"

    messages = [record.getMessage() for record in caplog.records]
    assert sum("Telegram unreachable" in m for m in messages) == 1, messages
    assert sum("Telegram answers again" in m for m in messages) == 1, messages


async def test_a_first_start_without_telegram_serves_what_needs_no_bot(
    emulator: Emulator,
    database_url: str,
    db: async_sessionmaker[AsyncSession],
    telegram: TcpProxy,
) -> None:
    """Never told who the bot is: the API serves, and a link (which needs the bot's @username)
    waits for Telegram with a 503, not a 500."""
    await telegram.cut()
    async with start_bozor(
        emulator, database_url, db, roles=API_ROLE, **through(telegram)
    ) as bozor:
        assert (await readyz(bozor)).json()["telegram"] == "degraded"
        key = await new_api_key(bozor)
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{bozor.settings.http_port}", headers={"X-API-Key": key}
        ) as api:
            stats = await api.get("/api/v1/referral-stats/nobody")
            assert stats.status_code == 404, stats.text
            link = await api.post("/api/v1/generate-link", json={"user_id": "u1"})
            assert link.status_code == 503, link.text
            assert link.json()["code"] == "service.telegram_unavailable"
            assert link.headers["retry-after"]
            await telegram.start()

            async def linked() -> bool:
                response = await api.post("/api/v1/generate-link", json={"user_id": "u1"})
                return response.status_code == 200

            await eventually(linked, timeout=60)


async def test_channels_named_by_username_keep_their_ids_through_an_outage(
    emulator: Emulator,
    database_url: str,
    db: async_sessionmaker[AsyncSession],
    telegram: TcpProxy,
) -> None:
    async with EmulatorDriver(emulator.url, TEST_BOT_TOKEN) as driver:
        channel = await driver.create_channel("Bozor ads", username="outage_ads")
    overrides = through(telegram, classifieds_channel="@outage_ads")
    async with start_bozor(emulator, database_url, db, roles=API_ROLE, **overrides) as bozor:
        assert ClassifiedsSettings.of(bozor.settings).channel_id == channel
    await telegram.cut()
    overrides = through(telegram, classifieds_channel="@outage_ads")
    async with start_bozor(emulator, database_url, db, roles=ALL_ROLES, **overrides) as bozor:
        assert (await readyz(bozor)).json()["telegram"] == "degraded"
        assert ClassifiedsSettings.of(bozor.settings).channel_id == channel


async def test_an_outage_while_polling_is_logged_once_not_per_try(
    emulator: Emulator,
    database_url: str,
    db: async_sessionmaker[AsyncSession],
    telegram: TcpProxy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with EmulatorDriver(emulator.url, TEST_BOT_TOKEN) as driver:
        await driver.register_bot(username=BOT_NAME, first_name="Outage")
    async with start_bozor(
        emulator, database_url, db, roles=ALL_ROLES, **through(telegram)
    ) as bozor:
        member = await bozor.user("Dilnoza")
        first = await bozor.driver.send_start(member)
        await bozor.driver.wait_for_message(member, after_message_id=first["message_id"])
        caplog.set_level(logging.INFO)  # every logger: aiogram's and Bozor's
        before = await failed_calls(bozor)
        await telegram.cut()

        async def retried() -> bool:  # polling (and the identity refresh) tried several times
            return await failed_calls(bozor) >= before + 6

        await eventually(retried, timeout=90)
        await telegram.start()
        sent = await bozor.driver.send_message(member, "/help")
        await bozor.driver.wait_for_message(member, after_message_id=sent["message_id"], timeout=90)

    messages = [record.getMessage() for record in caplog.records]
    assert sum("Telegram unreachable" in m for m in messages) == 1, messages
    assert sum("Telegram answers again" in m for m in messages) == 1, messages
    assert not [m for m in messages if "Failed to fetch updates" in m or "retry in" in m], messages
