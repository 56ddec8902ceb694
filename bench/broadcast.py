"""Benchmark: one broadcast to N recipients (default 10,000) through the emulator enforcing
Telegram's limits (30 messages/s overall, 1/s per chat), with Bozor killed (SIGKILL) in the
middle and started again on the same database.

Bozor runs as `bozor worker` in its own process, on PostgreSQL (a fresh database; SQLite when
PostgreSQL is unreachable); the emulator runs in this process and counts what arrives.
Reported: the sustained rate (messages/s between the first 5 s and the kill, and over the
second run), 429s received, duplicates (recipients who got it more than once), lost
(recipients who never got it), the rows left `unknown` by the kill (at most once: in flight
when the process died, never resent) and how many of those the emulator had delivered.

    .venv/bin/python bench/broadcast.py [--recipients 10000] [--kill-after 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import signal
import sys
import time
from collections import Counter

import psutil
from sqlalchemy import insert, select

from bozor import migrate
from bozor.broadcasts import service
from bozor.broadcasts.models import Broadcast, BroadcastState, Delivery, DeliveryStatus
from bozor.db import create_engine, create_session_factory, utcnow
from bozor.emulator import Emulator, EmulatorDriver
from bozor.features import broadcast_segments
from bozor.settings import Settings
from bozor.testing import TEST_BOT_TOKEN
from bozor.users.models import User

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from databases import fresh_postgres, fresh_sqlite


async def start_worker(emulator_url: str, database_url: str) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "BOT_TOKEN": TEST_BOT_TOKEN,
        "TELEGRAM_API_URL": emulator_url,
        "DATABASE_URL": database_url,
        "AUTO_MIGRATE": "false",
        "LOG_LEVEL": "WARNING",
    }
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bozor", "worker", env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip


async def sent(driver: EmulatorDriver) -> int:
    return int((await driver.stats())["messages_sent"])


async def watch_until(
    driver: EmulatorDriver, done: asyncio.Event | None, target: int | None
) -> list[tuple[float, int]]:
    """Samples of (time, messages sent) every half second, until `target` or `done`."""
    samples = []
    while True:
        count = await sent(driver)
        samples.append((time.monotonic(), count))
        if (target is not None and count >= target) or (done is not None and done.is_set()):
            return samples
        await asyncio.sleep(0.5)


def sustained(samples: list[tuple[float, int]], skip: float = 5.0) -> float:
    """Messages/s from `skip` seconds after the first message to the last sample."""
    moving = [(t, n) for t, n in samples if n > samples[0][1]]
    if len(moving) < 2:
        return 0.0
    start_t = moving[0][0] + skip
    window = [(t, n) for t, n in moving if t >= start_t] or moving
    (t0, n0), (t1, n1) = window[0], window[-1]
    return (n1 - n0) / (t1 - t0) if t1 > t0 else 0.0


async def main(args: argparse.Namespace) -> None:
    database_url = await fresh_postgres("bozor_bench_broadcast") or fresh_sqlite(
        "broadcast.sqlite3"
    )
    engine = create_engine(database_url)
    await migrate.upgrade(engine)
    db = create_session_factory(engine)
    async with Emulator() as emulator, EmulatorDriver(emulator.url, TEST_BOT_TOKEN) as driver:
        await driver.register_bot()
        print(f"creating {args.recipients} recipients…", flush=True)
        ids = [await driver.create_user(f"R{i}") for i in range(args.recipients)]
        await driver.mark_started(ids)
        async with db() as session:
            now = utcnow()
            await session.execute(
                insert(User),
                [
                    {
                        "telegram_id": tid,
                        "first_name": f"R{i}",
                        "referral_code": f"bench{i:08d}",
                        "telegram_language": "en",
                        "created_at": now,
                        "updated_at": now,
                        "last_seen_at": now,
                    }
                    for i, tid in enumerate(ids)
                ],
            )
            created = await service.create(
                session=session,
                available=broadcast_segments(Settings()),
                content=service.Content("<b>Bench</b> broadcast"),
                segment="all",
            )
            broadcast_id = created.id
            await session.commit()
        await driver.set_rate_limits(True, per_second=30, per_chat_per_second=1)

        print("first run: killed after", args.kill_after, "messages", flush=True)
        worker = await start_worker(emulator.url, database_url)
        first = await watch_until(driver, None, args.kill_after)
        worker.send_signal(signal.SIGKILL)
        await worker.wait()
        killed_at = await sent(driver)
        async with db() as session:
            in_flight = await session.scalar(
                select(Delivery.id).where(Delivery.status == DeliveryStatus.SENDING).limit(1)
            )
        print(f"killed at {killed_at} sent; rows mid-call: {in_flight is not None}", flush=True)

        restart = time.monotonic()
        worker = await start_worker(emulator.url, database_url)
        done = asyncio.Event()

        async def finished() -> None:
            while True:
                async with db() as session:
                    state = await session.scalar(
                        select(Broadcast.state).where(Broadcast.id == broadcast_id)
                    )
                if state == BroadcastState.DONE:
                    done.set()
                    return
                await asyncio.sleep(1)

        waiter = asyncio.create_task(finished())
        second = await watch_until(driver, done, None)
        await waiter
        resumed_after = next((t for t, n in second if n > killed_at), restart) - restart
        worker.send_signal(signal.SIGINT)
        await worker.wait()

        stats = await driver.stats()
        got: Counter[int] = Counter()
        semaphore = asyncio.Semaphore(32)

        async def count(chat: int) -> None:
            async with semaphore:
                got[chat] = len(await driver.bot_messages(chat))

        await asyncio.gather(*(count(chat) for chat in ids))
        async with db() as session:
            statuses = Counter(
                (
                    await session.execute(
                        select(Delivery.status).where(Delivery.broadcast_id == broadcast_id)
                    )
                ).scalars()
            )
            unknown = list(
                await session.scalars(
                    select(Delivery.chat_id).where(Delivery.status == DeliveryStatus.UNKNOWN)
                )
            )
    await engine.dispose()

    total_time = second[-1][0] - restart + (first[-1][0] - first[0][0])
    machine = (
        f"{platform.machine()}, {psutil.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB, Python {platform.python_version()}"
    )
    backend = "PostgreSQL" if database_url.startswith("postgresql") else "SQLite"
    print(
        f"\n{args.recipients} recipients, {backend}, emulator at 30/s and 1/s per chat — {machine}"
    )
    print(f"first run  sustained rate: {sustained(first):6.2f} messages/s (killed at {killed_at})")
    print(f"second run sustained rate: {sustained(second):6.2f} messages/s")
    print(
        f"overall (both runs' sending time): {stats['messages_sent'] / total_time:6.2f} messages/s"
    )
    print(f"resumed sending {resumed_after:.1f} s after the restart")
    print(f"429s received: {stats['rate_limited']}")
    print(f"messages sent: {stats['messages_sent']}")
    print(f"duplicates: {sum(1 for n in got.values() if n > 1)}")
    lost = sum(1 for c in ids if got[c] == 0 and c not in unknown)
    print(f"lost (never received, not 'unknown'): {lost}")
    print(
        f"unknown rows (mid-call at the kill): {len(unknown)}, of which delivered: "
        f"{sum(1 for c in unknown if got[c] == 1)}"
    )
    print("delivery statuses:", dict(statuses))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--kill-after", type=int, default=3_000)
    asyncio.run(main(parser.parse_args()))
