"""Webhook mode: Telegram (the emulator) pushes updates; the secret token header is checked."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bozor.emulator import Emulator
from bozor.testing import Harness, free_port, start_bozor


@pytest.fixture
async def bozor(
    emulator: Emulator, database_url: str, db: async_sessionmaker[AsyncSession]
) -> AsyncIterator[Harness]:
    port = free_port()
    async with start_bozor(
        emulator, database_url, db, webhook_url=f"http://127.0.0.1:{port}", http_port=port
    ) as harness:
        yield harness


async def test_updates_arrive_by_webhook(bozor: Harness) -> None:
    member = await bozor.user("Aziz")
    answer = await bozor.start(member)
    assert "Welcome" in answer["text"]
    sent = await bozor.driver.send_message(member, "/help")
    assert (
        "/ref"
        in (await bozor.driver.wait_for_message(member, after_message_id=sent["message_id"]))[
            "text"
        ]
    )


async def test_calls_without_the_secret_token_are_refused(bozor: Harness) -> None:
    url = f"{bozor.settings.webhook_url}{bozor.settings.webhook_path}"
    update = {
        "update_id": 1,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": 1, "type": "private"},
            "text": "/start",
        },
    }
    async with httpx.AsyncClient() as client:
        missing = await client.post(url, json=update)
        forged = await client.post(
            url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "guess"}
        )
    assert (missing.status_code, forged.status_code) == (401, 401)


async def test_replies_in_webhook_mode_are_paced_and_retried(bozor: Harness) -> None:
    """The reply is sent by Bozor (not in the webhook's answer, where a failure is silent):
    a gateway's HTML page and a 429 are retried."""
    member = await bozor.user("Aziz")
    await bozor.start(member)
    await bozor.driver.inject_fault("sendMessage", error_code=502, body="html", times=1)
    await bozor.driver.inject_fault("sendMessage", error_code=429, retry_after=1, times=1)
    sent = await bozor.driver.send_message(member, "/help")
    answer = await bozor.driver.wait_for_message(
        member, after_message_id=sent["message_id"], timeout=30
    )
    assert "/ref" in answer["text"]
    assert (await bozor.driver.stats())["faults_injected"] == 2
