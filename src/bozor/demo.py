"""`bozor demo`: the Bot API emulator and Bozor together, on a throw-away SQLite database.

No token, no internet: the bot runs exactly as in production, but Telegram is the bundled
emulator, and people are played through its control API.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

from bozor.emulator import Emulator, EmulatorDriver
from bozor.runtime import serve
from bozor.settings import Settings

DEMO_TOKEN = "1000000001:DEMO-bozor-token-not-secret-000000"
DEMO_ADMIN_ID = 100_000_999
DEMO_PEOPLE = (("Alice", "en"), ("Bobur", "uz"), ("Olga", "ru"))


async def run_demo(
    *, host: str, emulator_port: int, http_port: int, stop: asyncio.Event, data_dir: Path | None
) -> None:
    """Run the demo until `stop` is set."""
    throw_away = data_dir is None
    folder = data_dir or Path(tempfile.mkdtemp(prefix="bozor-demo-"))
    emulator = Emulator()
    await emulator.start(host, emulator_port)
    try:
        async with EmulatorDriver(emulator.url, DEMO_TOKEN) as driver:
            await driver.register_bot(username="bozor_demo_bot", first_name="Bozor")
            people = {
                name: await driver.create_user(name, language_code=language)
                for name, language in DEMO_PEOPLE
            }
            await driver.create_user("Admin", user_id=DEMO_ADMIN_ID)
        settings = Settings(
            bot_token=DEMO_TOKEN,
            telegram_api_url=emulator.url,
            database_url=f"sqlite+aiosqlite:///{folder / 'demo.sqlite3'}",
            admin_ids=[DEMO_ADMIN_ID],
            http_host=host,
            http_port=http_port,
        )
        ready = asyncio.Event()
        bozor = asyncio.create_task(serve(settings, stop=stop, ready=ready))
        await ready.wait()
        print(_guide(emulator.url, f"http://{host}:{http_port}", people, folder), flush=True)
        await bozor
    finally:
        await emulator.stop()
        if throw_away:
            shutil.rmtree(folder, ignore_errors=True)


def _guide(emulator_url: str, http_url: str, people: dict[str, int], folder: Path) -> str:
    control = f"{emulator_url}/control/bots/{DEMO_TOKEN}"
    alice = people["Alice"]
    who = ", ".join(f"{name} (id {uid})" for name, uid in people.items())
    return f"""
Bozor demo is running — this is a DEMO: Telegram is the bundled Bot API emulator.
  Bot API emulator : {emulator_url}
  Bozor HTTP       : {http_url}/healthz
  REST API docs    : {http_url}/docs
  Demo people      : {who}; admin id {DEMO_ADMIN_ID}
  Data (throw-away): {folder}

Play Alice (the control API, documented in docs/emulator.md):
  curl -s -X POST {control}/messages -H 'content-type: application/json' \\
       -d '{{"user_id": {alice}, "text": "/start"}}'
  curl -s '{control}/chats/{alice}/messages?from_bot=1'

An API key for the REST API (docs/api.md), in another terminal:
  DATABASE_URL=sqlite:///{folder / "demo.sqlite3"} \\
    bozor apikey create demo --scope referrals --scope admin

To run a real bot: set BOT_TOKEN (from @BotFather) and run `bozor run`.
Press Ctrl+C to stop.
"""
