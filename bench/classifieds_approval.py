"""Benchmark: how long an admin's Approve takes to reach the channel and the advertiser,
with 1,000 ads waiting for review.

In one run, on this machine, all in this process against the Bot API emulator:
  1. baseline: the smallest aiogram bot that, on a button press, posts to a channel and
     messages a user directly (no database, no outbox) — the floor of aiogram + HTTP here;
  2. Bozor on SQLite, one instance (the outbox woken in-process);
  3. Bozor on PostgreSQL, one instance;
  4. Bozor on PostgreSQL, the bot and the outbox worker as two instances (two Runtimes with
     nothing in memory shared): the worker is woken by LISTEN/NOTIFY;
  5. the same with Redis: woken by Redis pub/sub (skipped when Redis is unreachable).
PostgreSQL variants are skipped when it is unreachable.
For each of --samples ads (out of --queued in review), the admin presses Approve on its review
message; measured: press → the post in the channel, and press → the advertiser's message with
the link. Approvals are made one after another, 1.1 s apart, so each is timed alone.
Bozor runs with its default outbox settings (a sweep every 0.5 s as the safety net, 1 s between
messages to a chat); a committed message wakes the worker, so no sweep is waited for.

    .venv/bin/python bench/classifieds_approval.py [--queued 1000] [--samples 100]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import CallbackQuery, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from redis.asyncio import Redis

from bozor import migrate
from bozor.classifieds import service
from bozor.classifieds.schemas import AdDraft
from bozor.db import create_engine, create_session_factory
from bozor.emulator import Emulator, EmulatorDriver
from bozor.runtime import ALL_ROLES
from bozor.testing import ADMIN_ID, TEST_BOT_TOKEN, Harness, start_bozor
from bozor.users import service as users_service
from databases import fresh_postgres, fresh_sqlite

BASELINE_TOKEN = "8000000009:AAbench-classifieds-baseline-000000"
REDIS_URL = os.environ.get("BOZOR_BENCH_REDIS", "redis://127.0.0.1:6379/14")


@dataclass
class Result:
    name: str
    samples: int
    channel_p50_ms: float
    channel_p99_ms: float
    owner_p50_ms: float
    owner_p99_ms: float


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


def _result(name: str, channel: list[float], owner: list[float]) -> Result:
    return Result(
        name,
        len(channel),
        _pct(channel, 0.5),
        _pct(channel, 0.99),
        _pct(owner, 0.5),
        _pct(owner, 0.99),
    )


async def _timed_press(
    driver: EmulatorDriver,
    admin: int,
    message_id: int,
    data: str,
    channel: int,
    channel_after: int,
    owner: int,
    owner_after: int,
    marker: str,
    owner_marker: str,
) -> tuple[float, float]:
    started = time.perf_counter()
    await driver.press_button(admin, message_id, callback_data=data)
    reached: dict[str, float] = {}

    async def wait(chat: int, after: int, contains: str, key: str) -> None:
        await driver.wait_for_message(chat, contains=contains, after_message_id=after, timeout=120)
        reached[key] = time.perf_counter() - started

    await asyncio.gather(
        wait(channel, channel_after, marker, "channel"),
        wait(owner, owner_after, owner_marker, "owner"),
    )
    return reached["channel"], reached["owner"]


async def _last_id(driver: EmulatorDriver, chat: int) -> int:
    messages = await driver.messages(chat)
    return int(messages[-1]["message_id"]) if messages else 0


async def run_baseline(emulator: Emulator, samples: int) -> Result:
    """A bot that does on Approve only the two sends Bozor's approval ends in."""
    async with EmulatorDriver(emulator.url, BASELINE_TOKEN) as driver:
        channel = await driver.create_channel("Baseline ads")
        admin = await driver.create_user("Admin")
        owners = [await driver.create_user(f"Owner {i}") for i in range(samples)]
        bot = Bot(
            BASELINE_TOKEN,
            session=AiohttpSession(api=TelegramAPIServer.from_base(emulator.url)),
        )
        dispatcher = Dispatcher()

        async def show(message: Message) -> None:
            ad = (message.text or "").split()[-1]
            builder = InlineKeyboardBuilder()
            builder.button(text="Approve", callback_data=f"ok:{ad}")
            await message.answer(f"Ad {ad}", reply_markup=builder.as_markup())

        async def approve(query: CallbackQuery) -> None:
            _, ad = (query.data or "").split(":")
            await query.answer()
            await bot.send_message(channel, f"#ad{ad} posted")
            await bot.send_message(owners[int(ad)], f"ad {ad} published")

        dispatcher.message.register(show)
        dispatcher.callback_query.register(approve)
        for owner in owners:
            await driver.send_start(owner)
        polling = asyncio.create_task(
            dispatcher.start_polling(bot, handle_signals=False, polling_timeout=10)
        )
        channel_times, owner_times = [], []
        try:
            for i in range(samples):
                sent = await driver.send_message(admin, f"/show {i}")
                review = await driver.wait_for_message(
                    admin, after_message_id=sent["message_id"], timeout=30
                )
                c, o = await _timed_press(
                    driver,
                    admin,
                    review["message_id"],
                    f"ok:{i}",
                    channel,
                    await _last_id(driver, channel),
                    owners[i],
                    await _last_id(driver, owners[i]),
                    f"#ad{i} ",
                    f"ad {i} published",
                )
                channel_times.append(c)
                owner_times.append(o)
        finally:
            await dispatcher.stop_polling()
            await polling
            await bot.session.close()
    return _result("baseline: aiogram bot, two direct sends", channel_times, owner_times)


@asynccontextmanager
async def bozor_instances(
    emulator: Emulator, database_url: str, factory: Any, split: bool, **overrides: Any
) -> AsyncIterator[Harness]:
    """One instance with every role, or (`split`) one receiving updates and one sending."""
    if not split:
        async with start_bozor(emulator, database_url, factory, **overrides) as bozor:
            yield bozor
        return
    async with AsyncExitStack() as stack:
        front = await stack.enter_async_context(
            start_bozor(emulator, database_url, factory, roles=ALL_ROLES - {"worker"}, **overrides)
        )
        await stack.enter_async_context(
            start_bozor(emulator, database_url, factory, roles=frozenset({"worker"}), **overrides)
        )
        yield front


async def redis_reachable() -> bool:
    client = Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        await client.ping()
    except OSError:
        return False
    finally:
        await client.aclose()
    return True


async def run_bozor(
    emulator: Emulator,
    name: str,
    database_url: str,
    queued: int,
    samples: int,
    *,
    split: bool = False,
    redis: bool = False,
) -> Result:
    engine = create_engine(database_url)
    await migrate.upgrade(engine)
    factory = create_session_factory(engine)
    async with EmulatorDriver(emulator.url, TEST_BOT_TOKEN) as setup:
        await setup.reset()
        channel = await setup.create_channel("Vodiy bozor", username="vodiybozor")
    overrides = {
        "admin_ids": [ADMIN_ID],
        "classifieds_channel": str(channel),
        "features": ["classifieds"],
        "classifieds_job_interval": 3600.0,
        "outbox_interval": 0.5,
        "outbox_chat_interval": 1.0,
        "throttle_rate": 1000.0,
        "throttle_burst": 1000,
        "media_dir": os.path.join(os.path.dirname(__file__), "results", "media"),
    }
    if redis:
        overrides |= {"redis_url": REDIS_URL, "redis_prefix": f"bench-{uuid.uuid4().hex[:8]}"}
    async with bozor_instances(emulator, database_url, factory, split, **overrides) as bozor:
        driver = bozor.driver
        admin = await bozor.user("Admin", user_id=ADMIN_ID)
        await bozor.start(admin)
        owners = [await bozor.user(f"Owner {i}") for i in range(samples)]
        await asyncio.gather(*(bozor.start(owner) for owner in owners))
        quiet = bozor.settings.model_copy(update={"admin_ids": []})  # no review messages
        ad_ids: list[int] = []
        async with factory() as session:
            users = [
                await users_service.get_by_telegram_id(session=session, telegram_id=owner)
                for owner in owners
            ]
            for i in range(queued):
                user = users[i % len(users)]
                assert user is not None
                draft = AdDraft(
                    category="electronics",
                    title=f"Phone model {i}",
                    description=f"Phone number {i} in good condition, charger included.",
                    price=1_000_000 + i,
                    currency="UZS",
                    contact_phone="+998901234567",
                    region="Fergana",
                )
                ad = await service.submit(session=session, settings=quiet, user=user, draft=draft)
                ad_ids.append(ad.id)
            await session.commit()
        channel_times, owner_times = [], []
        for i in range(samples):
            # Apart by more than the outbox's 1 s between messages to one chat (the channel),
            # so that each approval is timed alone, not queued behind the previous post.
            await asyncio.sleep(1.1)
            ad_id = ad_ids[i]  # owned by owners[i]
            sent = await driver.send_message(admin, f"/ad {ad_id}")
            review = await driver.wait_for_message(
                admin, after_message_id=sent["message_id"], contains="for review", timeout=30
            )
            c, o = await _timed_press(
                driver,
                admin,
                review["message_id"],
                f"ad:ok:{ad_id}:1",
                channel,
                await _last_id(driver, channel),
                owners[i],
                await _last_id(driver, owners[i]),
                f"#ad{ad_id}",
                "published in the channel",
            )
            channel_times.append(c)
            owner_times.append(o)
    await engine.dispose()
    return _result(name, channel_times, owner_times)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queued", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=100)
    args = parser.parse_args()
    results = []
    async with Emulator() as emulator:
        results.append(await run_baseline(emulator, args.samples))
        results.append(
            await run_bozor(
                emulator,
                "Bozor on SQLite",
                fresh_sqlite("classifieds.sqlite3"),
                args.queued,
                args.samples,
            )
        )
        variants = [
            ("Bozor on PostgreSQL", False, False),
            ("PostgreSQL, bot | worker: LISTEN/NOTIFY", True, False),
        ]
        if await redis_reachable():
            variants.append(("PostgreSQL + Redis, bot | worker: pub/sub", True, True))
        for name, split, redis in variants:
            postgres = await fresh_postgres("bozor_bench_classifieds")
            if postgres is None:
                break
            results.append(
                await run_bozor(
                    emulator, name, postgres, args.queued, args.samples, split=split, redis=redis
                )
            )
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(f"{args.queued} ads in review; {args.samples} approvals, one after another")
    print(f"{'':42} {'channel p50':>12} {'p99':>8} {'owner p50':>10} {'p99':>8}")
    for r in results:
        print(
            f"{r.name:42} {r.channel_p50_ms:10.0f}ms {r.channel_p99_ms:6.0f}ms "
            f"{r.owner_p50_ms:8.0f}ms {r.owner_p99_ms:6.0f}ms"
        )


if __name__ == "__main__":
    asyncio.run(main())
