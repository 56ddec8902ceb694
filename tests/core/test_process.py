"""`bozor run` as an operator starts it: a real process, stopped by a signal."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from bozor.emulator import Emulator, EmulatorDriver
from bozor.runtime import serve
from bozor.settings import SettingsError
from bozor.testing import TEST_BOT_TOKEN, bozor_settings, free_port, start_bozor


@pytest.mark.timeout(240)  # a whole `bozor run` start-up, on a loaded machine
async def test_run_serves_then_stops_cleanly_on_sigterm(
    emulator: Emulator, database_url: str, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "BOT_TOKEN": TEST_BOT_TOKEN,
        "TELEGRAM_API_URL": emulator.url,
        "DATABASE_URL": database_url,
        "HTTP_PORT": str(free_port()),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bozor",
        "run",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        async with EmulatorDriver(emulator.url, TEST_BOT_TOKEN) as driver:
            member = await driver.create_user("Aziz")
            sent = await driver.send_start(member)
            reply = await driver.wait_for_message(
                member, after_message_id=sent["message_id"], timeout=120
            )
            assert "Welcome" in reply["text"]
        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), timeout=10)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, output.decode()
    assert b"Traceback" not in output, output.decode()
    assert TEST_BOT_TOKEN.encode() not in output, "the token is never logged"


async def test_refused_token_stops_start_up_with_one_line(database_url: str) -> None:
    async with Emulator(auto_register_bots=False) as strict:
        settings = bozor_settings(strict, database_url)
        with pytest.raises(SettingsError) as caught:
            await serve(settings, stop=asyncio.Event())
    assert str(caught.value) == "BOT_TOKEN: Telegram refused this token (Unauthorized)"


async def test_unopenable_database_stops_start_up_with_one_line(
    emulator: Emulator, tmp_path: Path
) -> None:
    missing = tmp_path / "no" / "such" / "folder" / "bozor.sqlite3"
    settings = bozor_settings(emulator, f"sqlite+aiosqlite:///{missing}", auto_migrate=True)
    with pytest.raises(SettingsError) as caught:
        await serve(settings, stop=asyncio.Event())
    message = str(caught.value)
    assert message.startswith(f"DATABASE_URL: cannot open sqlite+aiosqlite:///{missing}")
    assert "\n" not in message


async def test_roles_run_apart(emulator: Emulator, database_url: str, db: Any) -> None:
    """`bozor api` serves HTTP and leaves updates alone; `bozor bot` answers them."""
    port = free_port()
    async with start_bozor(
        emulator, database_url, db, roles=frozenset({"api"}), http_port=port
    ) as harness:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            assert (await client.get("/healthz")).status_code == 200
            assert (await client.get("/openapi.json")).status_code == 200
        user = await harness.user("Ann")
        await harness.driver.send_start(user)
        await asyncio.sleep(0.5)
        assert await harness.driver.bot_messages(user) == []
    async with start_bozor(
        emulator, database_url, db, roles=frozenset({"bot"}), http_port=port
    ) as harness:
        answer = await harness.driver.wait_for_message(user)  # the waiting /start, now
        assert answer["text"]
        with pytest.raises(httpx.ConnectError):  # no HTTP server without webhooks or the API
            async with httpx.AsyncClient() as client:
                await client.get(f"http://127.0.0.1:{port}/healthz")
