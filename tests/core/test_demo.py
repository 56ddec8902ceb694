"""`bozor demo` (the README's first command) starts a working bot with no token, its sample
data and the web chat."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

import httpx
import pytest

from bozor.demo import DEMO_TOKEN
from bozor.emulator import EmulatorDriver
from bozor.testing import free_port


@pytest.mark.timeout(360)  # start-up alone is ~8 s of CPU: minutes on a loaded machine
async def test_demo_answers_as_a_bot_then_stops(tmp_path: Path) -> None:
    emulator_port, http_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"BOT_TOKEN", "DATABASE_URL"}}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bozor", "demo", "--emulator-port", str(emulator_port),
        "--http-port", str(http_port), "--data-dir", str(tmp_path), env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert process.stdout is not None
    try:
        banner = b""
        while b"Press Ctrl+C" not in banner:
            line = await asyncio.wait_for(process.stdout.readline(), timeout=180)
            assert line, banner.decode()
            banner += line
        assert b"this is a DEMO" in banner and b"BOT_TOKEN" in banner
        emulator = f"http://127.0.0.1:{emulator_port}"
        assert f"{emulator}/chat/" in banner.decode()
        async with httpx.AsyncClient(base_url=emulator) as web:
            page = await web.get("/chat/")
            assert page.status_code == 200 and "chat.js" in page.text
            config = (await web.get("/chat/config.json")).json()
        personas = {p["key"]: p for p in config["personas"]}
        assert set(config["texts"]) == {"en", "ru", "uz"}
        assert personas["admin"]["role"] == "admin" and not personas["jasur"]["started"]
        async with EmulatorDriver(emulator, DEMO_TOKEN) as driver:
            alice, jasur = personas["alice"]["id"], personas["jasur"]["id"]
            assert alice == 100_000_000  # the first demo person
            sent = await driver.send_start(alice)  # she used the bot before the visitor came
            reply = await driver.wait_for_message(alice, after_message_id=sent["message_id"])
            assert "Welcome back, Alice" in reply["text"]
            sent = await driver.send_start(jasur)  # a newcomer
            reply = await driver.wait_for_message(jasur, after_message_id=sent["message_id"])
            assert "Jasur" in reply["text"]
            # Sample data: Bobur won a place in the seeded "Welcome draw" and was told.
            won = await driver.wait_for_message(
                personas["bobur"]["id"], contains="Welcome draw", timeout=20
            )
            assert won["reply_markup"]["inline_keyboard"]
        # The dashboard's "Sign in with Telegram": the emulator plays the Login Widget.
        dashboard = f"http://127.0.0.1:{http_port}"
        async with httpx.AsyncClient(base_url=dashboard) as browser:
            signin = await browser.get("/dashboard/signin")
            link = re.search(r'href="([^"]+)" data-testid="signin-telegram"', signin.text)
            assert link is not None and link.group(1).startswith(f"{emulator}/oauth?")
            login = await browser.get(link.group(1).replace("&amp;", "&"))
            admin = personas["admin"]["id"]
            back = re.search(rf'<a href="([^"]+)" data-user-id="{admin}"', login.text)
            assert back is not None
            answer = await browser.get(back.group(1).replace("&amp;", "&"))
            assert answer.status_code == 303 and answer.headers["location"] == "/dashboard/"
            assert (await browser.get("/dashboard/")).status_code == 200
        process.send_signal(signal.SIGINT)
        await asyncio.wait_for(process.wait(), timeout=10)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0
    assert (tmp_path / "demo.sqlite3").exists()
