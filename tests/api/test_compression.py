"""Text is compressed for browsers: the dashboard's pages and the API's JSON (GZip over a
kilobyte), a CSV export still streams whole, and the emulator's web chat (script, style,
page); the Bot API answers the bot uncompressed, as Telegram does, and small answers stay
as they are."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import pytest

from bozor.emulator import Emulator, EmulatorDriver
from bozor.lotteries.testing import make_lottery
from bozor.testing import TEST_BOT_TOKEN, Harness, free_port

PASSWORD = "correct horse battery staple"
GZIP = {"accept-encoding": "gzip"}


@pytest.fixture
def bozor_overrides() -> dict[str, Any]:
    return {"http_port": free_port(), "dashboard_password": PASSWORD}


async def test_dashboard_and_api_compress_text(bozor: Harness) -> None:
    await make_lottery(bozor.db, participants=300)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{bozor.settings.http_port}") as web:
        signin = await web.get("/dashboard/signin", headers=GZIP)
        assert signin.headers.get("content-encoding") == "gzip"
        csrf = signin.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        await web.post("/dashboard/signin", data={"csrf": csrf, "secret": PASSWORD})
        style = await web.get("/dashboard/static/dashboard.css", headers=GZIP)
        assert style.headers.get("content-encoding") == "gzip" and ".table-box" in style.text
        # A streamed CSV export arrives compressed and whole: 300 accounts and the header.
        export = await web.get("/dashboard/lotteries/reports/participations.csv", headers=GZIP)
        assert export.headers.get("content-encoding") == "gzip"
        assert len(list(csv.reader(io.StringIO(export.text)))) == 301
        openapi = await web.get("/openapi.json", headers=GZIP)
        assert openapi.headers.get("content-encoding") == "gzip" and openapi.json()["paths"]
        health = await web.get("/healthz", headers=GZIP)  # a few bytes: not worth it
        assert "content-encoding" not in health.headers and health.json() == {"status": "ok"}
        plain = await web.get("/dashboard/static/dashboard.css", headers={"accept-encoding": ""})
        assert "content-encoding" not in plain.headers


async def test_the_emulator_compresses_the_web_chat_but_not_the_bot_api(
    emulator: Emulator,
) -> None:
    async with httpx.AsyncClient(base_url=emulator.url) as browser:
        for asset, text in (("chat.js", "use strict"), ("chat.css", ".composer")):
            answer = await browser.get(f"/chat/static/{asset}", headers=GZIP)
            assert answer.headers.get("content-encoding") == "gzip" and text in answer.text
        page = await browser.get("/chat/", headers=GZIP)
        assert page.headers.get("content-encoding") == "gzip" and "chat.js" in page.text
        async with EmulatorDriver(emulator.url, TEST_BOT_TOKEN) as driver:
            user = await driver.create_user("Ann")
            await driver.mark_started([user])
        sent = await browser.post(
            f"/bot{TEST_BOT_TOKEN}/sendMessage",
            json={"chat_id": user, "text": "long " * 800},
            headers=GZIP,
        )
        assert sent.json()["ok"] and len(sent.content) > 4000
        assert "content-encoding" not in sent.headers
