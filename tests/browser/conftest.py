"""Browser tests: `bozor demo` in a subprocess, driven by headless Chromium (Debian's package)
through Playwright. Outside CI they are skipped when Chromium or Playwright is missing; in CI
(CI=true) that is a failure. Screenshots are taken on every run (a page that cannot be drawn
fails the test) but kept in docs/screenshots, shown in the README, only by `make screenshots`
(BOZOR_SCREENSHOTS=1): the test run leaves the work tree clean."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bozor.testing import free_port

IN_CI = os.environ.get("CI", "").lower() == "true"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
KEEP_SCREENSHOTS = os.environ.get("BOZOR_SCREENSHOTS", "") == "1"
TIMEOUT_MS = 20_000  # any one wait in a page (the outbox paces messages to a chat)


def chromium_path() -> str:
    """The system Chromium, or a skip (a failure in CI)."""
    found = (
        os.environ.get("BOZOR_CHROMIUM")
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
    )
    try:
        import playwright  # noqa: F401
    except ImportError:
        found = None
    if found:
        return found
    message = "Chromium (apt-get install chromium) and the playwright package are needed"
    if IN_CI:
        pytest.fail(f"{message}; CI must run the browser tests")
    pytest.skip(f"{message} (set CI=true to make this a failure)")


@dataclass(frozen=True)
class Demo:
    chat_url: str
    http_url: str
    emulator_url: str


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[Demo]:
    """`bozor demo` running, with its sample data, until the test ends."""
    emulator_port, http_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"BOT_TOKEN", "DATABASE_URL"}}
    # The tests click faster than anyone can (ten steps of a form in 0.6 s), which the per-user
    # throttle rightly refuses; throttling is tested in tests/core.
    env |= {"THROTTLE_RATE": "100", "THROTTLE_BURST": "100"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bozor", "demo", "--emulator-port", str(emulator_port),
        "--http-port", str(http_port), "--data-dir", str(tmp_path), env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert process.stdout is not None
    output = bytearray()
    started = asyncio.Event()

    async def drain(stream: asyncio.StreamReader) -> None:
        # Read all along: a pipe nobody reads blocks the demo once it is full.
        while line := await stream.readline():
            output.extend(line)
            if b"Press Ctrl+C" in line:
                started.set()

    reader = asyncio.create_task(drain(process.stdout))
    try:
        waiting = asyncio.create_task(started.wait())
        # The demo prints nothing until it is ready: ~8 s of CPU (aiogram's import alone is 3),
        # minutes on a machine running several test suites at once.
        await asyncio.wait({waiting, reader}, timeout=180, return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        assert started.is_set(), output.decode(errors="replace")
        emulator = f"http://127.0.0.1:{emulator_port}"
        yield Demo(f"{emulator}/chat/", f"http://127.0.0.1:{http_port}", emulator)
        process.send_signal(signal.SIGINT)
        await asyncio.wait_for(process.wait(), timeout=15)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await reader
        print(output.decode(errors="replace"))  # pytest shows it when the test failed


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    path = chromium_path()
    from playwright.async_api import async_playwright, expect

    expect.set_options(timeout=TIMEOUT_MS)

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=path, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
def open_page(browser: Any) -> Callable[..., Awaitable[Any]]:
    """Opens a page in a fresh context (own cookies), English, with bounded waits."""

    async def make(*, width: int = 1200, height: int = 860) -> Any:
        context = await browser.new_context(
            viewport={"width": width, "height": height}, locale="en-US"
        )
        page = await context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        return page

    return make


@pytest.fixture
def shoot(tmp_path: Path) -> Callable[..., Awaitable[None]]:
    """Takes a screenshot: under docs/screenshots with BOZOR_SCREENSHOTS=1, else in the
    test's temporary folder."""
    folder = SCREENSHOTS if KEEP_SCREENSHOTS else tmp_path

    async def save(page: Any, name: str, *, full_page: bool = False) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(folder / name), full_page=full_page)

    return save
