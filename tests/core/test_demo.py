"""`bozor demo` (the README's first command) starts a working bot with no token."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from bozor.demo import DEMO_TOKEN
from bozor.emulator import EmulatorDriver
from bozor.testing import free_port


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
            line = await asyncio.wait_for(process.stdout.readline(), timeout=60)
            assert line, banner.decode()
            banner += line
        assert b"this is a DEMO" in banner and b"BOT_TOKEN" in banner
        async with EmulatorDriver(f"http://127.0.0.1:{emulator_port}", DEMO_TOKEN) as driver:
            alice = 100_000_000  # the first demo person
            sent = await driver.send_start(alice)
            reply = await driver.wait_for_message(alice, after_message_id=sent["message_id"])
            assert "Welcome to Bozor, Alice" in reply["text"]
        process.send_signal(signal.SIGINT)
        await asyncio.wait_for(process.wait(), timeout=10)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0
    assert (tmp_path / "demo.sqlite3").exists()
