"""Starting the demo: emulator, sample people and data, Bozor, and the browser chat."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path
from typing import Any

from bozor.db import create_engine, create_session_factory
from bozor.demo.personas import (
    CROWD_NAMES,
    DEMO_ADMIN_ID,
    DEMO_BOT_USERNAME,
    DEMO_CHANNEL_USERNAME,
    DEMO_TOKEN,
    PERSONAS,
)
from bozor.demo.seeding import DemoContext, Person, seed_all
from bozor.emulator import Emulator, EmulatorDriver
from bozor.features import FEATURES, enabled
from bozor.i18n import LANGUAGES, Translator
from bozor.runtime import serve
from bozor.settings import Settings

# The password of the demo's dashboard (it is a throw-away demo on 127.0.0.1).
DEMO_DASHBOARD_PASSWORD = "demo"


async def run_demo(
    *,
    host: str,
    emulator_port: int,
    http_port: int,
    stop: asyncio.Event,
    data_dir: Path | None,
    ready: asyncio.Event | None = None,
) -> None:
    """Run the demo until `stop` is set (`ready` is set once the guide is printed)."""
    throw_away = data_dir is None
    folder = data_dir or Path(tempfile.mkdtemp(prefix="bozor-demo-"))
    emulator = Emulator()
    await emulator.start(host, emulator_port)
    try:
        async with EmulatorDriver(emulator.url, DEMO_TOKEN) as driver:
            await driver.register_bot(username=DEMO_BOT_USERNAME, first_name="Bozor")
            personas = {
                p.key: Person(
                    await driver.create_user(
                        p.name, language_code=p.language, user_id=p.user_id, username=p.key
                    ),
                    p.name,
                    p.language,
                    p.key,
                )
                for p in PERSONAS
            }
            crowd = [
                Person(await driver.create_user(name, language_code=language), name, language)
                for name, language in CROWD_NAMES
            ]
            channel = await driver.create_channel("Bozor News", username=DEMO_CHANNEL_USERNAME)
            for person in personas.values():
                await driver.set_member(channel, person.telegram_id, "member")
            # Every feature that posts to a channel posts to the demo's.
            channels: dict[str, Any] = {
                feature.settings.variable(name).lower(): str(channel)
                for feature in FEATURES
                if feature.settings is not None
                for name in feature.channels
            }
            settings = Settings(
                bot_token=DEMO_TOKEN,
                telegram_api_url=emulator.url,
                database_url=f"sqlite+aiosqlite:///{folder / 'demo.sqlite3'}",
                admin_ids=[DEMO_ADMIN_ID],
                http_host=host,
                http_port=http_port,
                **channels,
                media_dir=str(folder / "media"),
                dashboard_password=DEMO_DASHBOARD_PASSWORD,
                # "Sign in with Telegram" works offline: the emulator plays the Login Widget.
                dashboard_telegram_login_url=f"{emulator.url}/oauth",
                outbox_chat_interval=0.3,
                # The Mini App over plain HTTP on this machine, as Telegram's test environment
                # allows: the bot sets its menu button, the web chat opens it in a panel.
                miniapp_url=f"http://{host}:{http_port}/app/" if host in LOOPBACK else None,
            )
            started = asyncio.Event()
            bozor = asyncio.create_task(serve(settings, stop=stop, ready=started))
            waiter = asyncio.create_task(started.wait())
            await asyncio.wait({bozor, waiter}, return_when=asyncio.FIRST_COMPLETED)
            if bozor.done():
                waiter.cancel()
                bozor.result()  # raises what went wrong at start-up
            ctx = await _seed(settings, driver, personas, crowd, channel)
        http_url = f"http://{host}:{http_port}"
        emulator.webchat = webchat_config(ctx, http_url)
        print(_guide(emulator.url, http_url, folder), flush=True)
        if ready is not None:
            ready.set()
        await bozor
    finally:
        await emulator.stop()
        if throw_away:
            shutil.rmtree(folder, ignore_errors=True)


async def _seed(
    settings: Settings,
    driver: EmulatorDriver,
    personas: dict[str, Person],
    crowd: list[Person],
    channel: int,
) -> DemoContext:
    # Personas who "used the bot before", and the crowd, start it for real through the
    # emulator: the bot stores them as it stores anyone, and may write to them afterwards.
    started = [personas[p.key].telegram_id for p in PERSONAS if p.started]
    started += [person.telegram_id for person in crowd]

    async def start(uid: int) -> None:
        sent = await driver.send_start(uid)
        await driver.wait_for_message(uid, after_message_id=sent["message_id"], timeout=30)

    for first in range(0, len(started), 8):
        await asyncio.gather(*(start(uid) for uid in started[first : first + 8]))
    engine = create_engine(settings.database_url)
    try:
        ctx = DemoContext(
            settings, create_session_factory(engine), driver, personas, crowd, channel
        )
        await seed_all(ctx, enabled(settings))
    finally:
        await engine.dispose()
    return ctx


def webchat_config(ctx: DemoContext, http_url: str) -> dict[str, Any]:
    """What the emulator's web chat shows: who one can be, the channel, translated texts."""
    return {
        "token": DEMO_TOKEN,
        "bot": {"username": DEMO_BOT_USERNAME, "name": "Bozor"},
        "personas": [
            {
                "key": p.key,
                "id": ctx.personas[p.key].telegram_id,
                "name": p.name,
                "language": p.language,
                "role": p.role,
                "started": p.started,
            }
            for p in PERSONAS
        ],
        "channels": []
        if ctx.channel_id is None
        else [{"id": ctx.channel_id, "title": "Bozor News", "username": DEMO_CHANNEL_USERNAME}],
        "links": {"dashboard": f"{http_url}/dashboard/", "api_docs": f"{http_url}/docs"},
        "texts": {language: _texts(Translator(language), ctx) for language in LANGUAGES},
    }


LOOPBACK = ("127.0.0.1", "localhost")
WEBCHAT_KEYS = (
    "banner", "choose_persona", "member", "admin", "newcomer", "type_message", "send",
    "attach", "share_contact", "pay", "paid", "channel", "channels", "open_link_as",
    "cancel", "dashboard", "api_docs", "try_this", "language", "chats", "no_messages",
    "photo", "album_sent", "contact", "invoice", "menu",
    "app_title", "app_back", "app_close", "app_theme", "app_light", "app_dark",
)  # fmt: skip


def _texts(t: Translator, ctx: DemoContext) -> dict[str, Any]:
    texts: dict[str, Any] = {key: t(f"demo.{key}") for key in WEBCHAT_KEYS}
    texts["hints"] = [t(key) for key in ctx.hints]
    return texts


def _guide(emulator_url: str, http_url: str, folder: Path) -> str:
    return f"""
Bozor demo is running — this is a DEMO: Telegram is the bundled Bot API emulator.

  Open in your browser : {emulator_url}/chat/

  Admin dashboard      : {http_url}/dashboard/  (password: {DEMO_DASHBOARD_PASSWORD},
                         or "Sign in with Telegram" as Admin)
  REST API docs        : {http_url}/docs
  Bot API emulator     : {emulator_url}  (control API: docs/emulator.md)
  Data (throw-away)    : {folder}

An API key for the REST API (docs/api.md), in another terminal:
  DATABASE_URL=sqlite:///{folder / "demo.sqlite3"} \\
    bozor apikey create demo --scope referrals --scope admin

To run a real bot: set BOT_TOKEN (from @BotFather) and run `bozor run`.
Press Ctrl+C to stop.
"""
