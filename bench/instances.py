"""Benchmark: updates per second with 1, 2 and 3 Bozor instances on one PostgreSQL (and Redis,
when reachable) behind the webhook emulator, which delivers round-robin as a reverse proxy.

For each instance count: a fresh database, the instances started as `bozor run` processes in
webhook mode, N new users each send `/start <referral code>` all at once. Throughput runs from
the first send to the last update delivered (Bozor answers the webhook call after its reply is
sent). Reported: updates/s, the ratio to one instance, the instances' CPU ms per update, and the
referrals counted in the database (must equal N). The emulator runs in its own process.

    .venv/bin/python bench/instances.py [--users 3000] [--counts 1,2,3] [--no-redis] [--profile]

--profile samples the first instance with py-spy during the burst (CPU only) and writes
bench/results/profile-instances-<count>.txt (folded stacks), printing the heaviest functions.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

import asyncpg
import psutil
from redis.asyncio import Redis

from bozor.emulator import EmulatorDriver
from bozor.instances import Instance, start_instance
from bozor.testing import free_port
from databases import RESULTS, fresh_postgres
from referral_starts import summarise_profile

TOKEN = "8000000011:AAbench-instances-token-000000000000"
REDIS_URL = os.environ.get("BOZOR_BENCH_REDIS", "redis://127.0.0.1:6379/14")


@dataclass
class Result:
    instances: int
    users: int
    seconds: float
    updates_per_second: float
    cpu_ms_per_update: float
    counted: int
    deliveries: dict[str, int]


async def redis_reachable() -> bool:
    client = Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        return bool(await client.ping())
    except OSError:
        return False
    except Exception:
        return False
    finally:
        await client.aclose()


async def start_profiler(instance: Instance, output: str) -> asyncio.subprocess.Process:
    py_spy = os.path.join(os.path.dirname(sys.executable), "py-spy")
    return await asyncio.create_subprocess_exec(
        py_spy, "record", "--pid", str(instance.process.pid), "--format", "raw", "--rate", "250",
        "--output", output,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip


def cpu_seconds(instances: list[Instance]) -> float:
    total = 0.0
    for instance in instances:
        times = psutil.Process(instance.process.pid).cpu_times()
        total += times.user + times.system
    return total


async def run(
    emulator_url: str,
    count: int,
    users: int,
    folder: Path,
    redis: bool,
    profile: bool = False,
) -> Result:
    database_url = await fresh_postgres("bozor_bench_instances")
    if database_url is None:
        raise SystemExit("PostgreSQL is not reachable (BOZOR_BENCH_POSTGRES)")
    env = {
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": emulator_url,
        "DATABASE_URL": database_url,
        "AUTO_MIGRATE": "true",  # serialised by an advisory lock: the first one migrates
        "VELOCITY_BURST": "0",  # thousands through one link would otherwise wait for review
        "THROTTLE_RATE": "100",
        "THROTTLE_BURST": "100",
        # The emulator has no flood limits here: the pacer (Telegram's 30/s, shared by the
        # instances through Redis) must not be what is measured.
        "TELEGRAM_RATE": "1000",
        "WEBHOOK_SECRET": "bench-instances",
    }
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    if redis:
        env |= {"REDIS_URL": REDIS_URL, "REDIS_PREFIX": prefix}
    instances = list(
        await asyncio.gather(
            *(start_instance(env, folder, name=f"n{count}-{i}") for i in range(count))
        )
    )
    try:
        async with EmulatorDriver(emulator_url, TOKEN) as driver:
            await driver.set_webhook_targets([i.webhook for i in instances])
            referrer = await driver.create_user("Referrer")
            sent = await driver.send_start(referrer)
            await driver.wait_for_message(referrer, after_message_id=sent["message_id"])
            connection = await asyncpg.connect(database_url.replace("+asyncpg", ""))
            try:
                code = await connection.fetchval(
                    "SELECT referral_code FROM users WHERE telegram_id = $1", referrer
                )
            finally:
                await connection.close()
            people = [await driver.create_user(f"U{i}") for i in range(users)]
            before = int((await driver.stats())["webhook_deliveries"])
            cpu_before = cpu_seconds(instances)
            gate = asyncio.Semaphore(200)

            async def send(user: int) -> None:
                async with gate:
                    await driver.send_start(user, code)

            profile_to = os.path.join(RESULTS, f"profile-instances-{count}.txt")
            spy = await start_profiler(instances[0], profile_to) if profile else None
            started = time.perf_counter()
            sending = asyncio.gather(*(send(user) for user in people))
            while int((await driver.stats())["webhook_deliveries"]) - before < users:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
            seconds = time.perf_counter() - started
            cpu = cpu_seconds(instances) - cpu_before
            await sending
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                await spy.wait()
                print(summarise_profile(profile_to), file=sys.stderr)
            deliveries = (await driver.webhook_targets())["deliveries"]
        connection = await asyncpg.connect(database_url.replace("+asyncpg", ""))
        try:
            counted = int(await connection.fetchval("SELECT count(*) FROM referrals"))
        finally:
            await connection.close()
    finally:
        await asyncio.gather(*(instance.stop() for instance in instances))
        if redis:
            client = Redis.from_url(REDIS_URL)
            keys = [key async for key in client.scan_iter(f"{prefix}:*")]
            if keys:
                await client.delete(*keys)
            await client.aclose()
    return Result(
        count,
        users,
        seconds,
        users / seconds,
        cpu * 1000 / users,
        counted,
        {url.split(":")[2].split("/")[0]: n for url, n in deliveries.items()},
    )


def report(results: list[Result], redis: bool) -> str:
    machine = (
        f"{platform.machine()}, {psutil.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB, Python {platform.python_version()}, "
        f"load average before {os.getloadavg()[0]:.1f}"
    )
    one = results[0].updates_per_second
    lines = [
        f"{results[0].users} new users, each `/start <code>`, PostgreSQL"
        f"{' + Redis' if redis else ''} — {machine}",
        f"{'instances':>9} {'updates/s':>9} {'vs 1':>6} {'seconds':>8} {'CPU ms/update':>13} "
        f"{'counted':>8}  deliveries per instance",
    ]
    lines.extend(
        f"{r.instances:>9} {r.updates_per_second:>9.0f} {r.updates_per_second / one:>6.2f} "
        f"{r.seconds:>8.2f} {r.cpu_ms_per_update:>13.2f} {r.counted:>8}  "
        f"{sorted(r.deliveries.values())}"
        for r in results
    )
    return "\n".join(lines)


async def main(args: argparse.Namespace) -> tuple[list[Result], bool]:
    port = free_port()
    emulator = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bozor", "emulator", "--port", str(port),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    redis = not args.no_redis and await redis_reachable()
    results: list[Result] = []
    try:
        async with EmulatorDriver(url, TOKEN) as probe:
            for _ in range(200):
                try:
                    await probe.me()
                    break
                except OSError:
                    await asyncio.sleep(0.1)
        with tempfile.TemporaryDirectory() as folder:
            for count in args.counts:
                async with EmulatorDriver(url, TOKEN) as driver:
                    await driver.reset()
                results.append(await run(url, count, args.users, Path(folder), redis, args.profile))
                print(report(results, redis), flush=True)
    finally:
        emulator.send_signal(signal.SIGINT)
        await emulator.wait()
    return results, redis


if __name__ == "__main__":
    import uvloop

    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--users", type=int, default=3000)
    parser.add_argument(
        "--counts", type=lambda text: [int(n) for n in text.split(",")], default=[1, 2, 3]
    )
    parser.add_argument("--no-redis", action="store_true", help="without Redis even if reachable")
    parser.add_argument("--profile", action="store_true", help="py-spy the first instance")
    arguments = parser.parse_args()
    os.makedirs(RESULTS, exist_ok=True)
    measured, with_redis = uvloop.run(main(arguments))
    text = report(measured, with_redis)
    print(text)
    with open(os.path.join(RESULTS, "instances.json"), "w") as out:
        json.dump({"report": text, "results": [asdict(r) for r in measured]}, out, indent=2)
