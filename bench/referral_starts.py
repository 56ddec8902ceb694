"""Benchmark: N new users each send `/start <referral code>` through the Bot API emulator.

In one run, on this machine:
  1. a minimal aiogram echo bot (bench/echo_bot.py): the upper bound of aiogram + HTTP here;
  2. Bozor (`bozor run`) on SQLite;
  3. Bozor on PostgreSQL (skipped when unreachable).
The emulator and each bot run in their own processes; this process generates the load.
Reported: updates/s from the first send to the last reply, the ratio to the echo bound, CPU
time of the bot process per update, idle and peak RSS, and the referrer's count as the bot
shows it (it must equal N).

    .venv/bin/python bench/referral_starts.py [--users 2000] [--profile] [--faults]

--profile samples the bot process with py-spy during the burst (CPU only: idle waits are not
sampled) and writes bench/results/profile-<database>.txt (folded stacks, for flamegraph.pl or
speedscope), printing each function's inclusive share of the samples. --only picks the runs.
--faults runs the emulator as Telegram on a bad day: its flood limits (30/s, 1/s per chat)
and 5% of sendMessage failing (a 500 as JSON, a 502 as nginx's HTML page); the `answered`
column says how many users got their reply (the run stops waiting after 60 s without one).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import signal
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

import psutil

from bozor.emulator import EmulatorDriver
from bozor.testing import free_port
from databases import fresh_postgres, fresh_sqlite

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "results")
LINK = re.compile(r"\?start=([A-Za-z0-9]+)")
ECHO_TOKEN = "8000000001:AAbench-echo-bot-token-000000000000"
SQLITE_TOKEN = "8000000002:AAbench-bozor-sqlite-token-0000000"
POSTGRES_TOKEN = "8000000003:AAbench-bozor-postgres-token-00000"
# Telegram on a bad day (--faults): 5% of sendMessage fails, half of it as nginx's HTML page.
FAULTS = ("sendMessage:500:0.025", "sendMessage:502:html:0.025")


@dataclass
class Result:
    name: str
    users: int
    seconds: float
    updates_per_second: float
    cpu_ms_per_update: float
    idle_rss_mib: float
    peak_rss_mib: float
    counted: int | None = None
    answered: int | None = None


class BotProcess:
    """A bot in its own process, with RSS and CPU sampling."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.ps = psutil.Process(process.pid)
        self.peak = 0

    @classmethod
    async def start(cls, args: list[str], env: dict[str, str]) -> BotProcess:
        process = await asyncio.create_subprocess_exec(
            *args,
            env={**os.environ, **env},
            cwd=RESULTS,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        return cls(process)

    def rss(self) -> int:
        value = int(self.ps.memory_info().rss)
        self.peak = max(self.peak, value)
        return value

    def cpu(self) -> float:
        times = self.ps.cpu_times()
        return float(times.user + times.system)

    async def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(self.process.wait(), timeout=60)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


async def replied(driver: EmulatorDriver, user: int, text: str, photo: bool = False) -> Any:
    sent = await driver.send_message(user, text)
    return await driver.wait_for_message(
        user,
        after_message_id=sent["message_id"],
        timeout=120,
        predicate=(lambda m: bool(m.get("photo"))) if photo else None,
    )


STALL = 60.0  # seconds without a new answer: the missing ones are lost


async def blast(
    driver: EmulatorDriver,
    bot: BotProcess,
    users: list[int],
    text: str,
    referrer: int | None,
    profile_to: str | None = None,
) -> tuple[float, float, int]:
    """Every user sends `text` at once: (seconds until all are answered, bot CPU ms per update,
    users answered). Stops waiting after STALL seconds without a new answer (lost replies).

    Messages to the referrer (coalesced notifications) are not answers, so they are discounted.
    """

    async def answered() -> int:
        # Sent first, notes after: a note sent in between is then subtracted without being
        # counted (an answer too few, read again), never counted as an answer.
        sent = int((await driver.stats())["messages_sent"])
        notes = len(await driver.bot_messages(referrer)) if referrer is not None else 0
        return sent - notes

    answered_before = await answered()
    cpu_before = bot.cpu()
    gate = asyncio.Semaphore(200)

    async def send(user: int) -> None:
        async with gate:
            await driver.send_message(user, text)

    spy = await start_profiler(bot, profile_to) if profile_to else None
    started = time.perf_counter()
    sending = asyncio.gather(*(send(user) for user in users))
    count = last_progress = 0
    progress_at = started
    while (count := await answered() - answered_before) < len(users):
        bot.rss()
        if count != last_progress:
            last_progress, progress_at = count, time.perf_counter()
        elif time.perf_counter() - progress_at > STALL:
            break
        await asyncio.sleep(0.02)
    elapsed = (progress_at if count < len(users) else time.perf_counter()) - started
    cpu = bot.cpu() - cpu_before
    await sending
    if spy is not None:
        spy.send_signal(signal.SIGINT)  # py-spy writes what it sampled and exits
        await spy.wait()
    return elapsed, cpu * 1000 / len(users), count


async def start_profiler(bot: BotProcess, output: str) -> asyncio.subprocess.Process:
    py_spy = os.path.join(os.path.dirname(sys.executable), "py-spy")
    return await asyncio.create_subprocess_exec(
        py_spy, "record", "--pid", str(bot.process.pid), "--format", "raw", "--rate", "250",
        "--output", output,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip


def summarise_profile(path: str, top: int = 45) -> str:
    """Each function's inclusive share of the bot's CPU samples during the burst."""
    inclusive: Counter[str] = Counter()
    total = 0
    with open(path) as folded:
        for line in folded:
            stack, _, count = line.rstrip().rpartition(" ")
            total += int(count)
            for frame in set(stack.split(";")):
                inclusive[frame] += int(count)
    lines = [f"{os.path.relpath(path, ROOT)}: {total} samples; inclusive share:"]
    lines += [f"{n / max(1, total):6.1%}  {frame}" for frame, n in inclusive.most_common(top)]
    return "\n".join(lines)


async def run_echo(emulator_url: str, count: int) -> Result:
    bot = await BotProcess.start(
        [sys.executable, os.path.join(ROOT, "bench", "echo_bot.py")],
        {"BOT_TOKEN": ECHO_TOKEN, "TELEGRAM_API_URL": emulator_url},
    )
    try:
        async with EmulatorDriver(emulator_url, ECHO_TOKEN) as driver:
            await replied(driver, await driver.create_user("Warm-up"), "hello")
            idle = bot.rss()
            users = [await driver.create_user(f"U{i}") for i in range(count)]
            seconds, cpu, answered = await blast(driver, bot, users, "/start AbCdEfGhIj", None)
    finally:
        await bot.stop()
    return Result(
        "echo bot (baseline)",
        count,
        seconds,
        answered / seconds,
        cpu,
        idle / 2**20,
        bot.peak / 2**20,
        answered=answered,
    )


async def run_bozor(
    emulator_url: str,
    count: int,
    database: str,
    database_url: str,
    token: str,
    profile: bool,
    faults: bool = False,
) -> Result:
    command = [sys.executable, "-m", "bozor", "run"]
    profile_to = os.path.join(RESULTS, f"profile-{database}.txt") if profile else None
    env = {
        "BOT_TOKEN": token,
        "TELEGRAM_API_URL": emulator_url,
        "DATABASE_URL": database_url,
        "HTTP_PORT": str(free_port()),
        "LOG_LEVEL": "WARNING",
        "VELOCITY_BURST": "0",  # thousands through one link would otherwise wait for review
        # Replies are paced to Telegram's 30/s; without --faults the emulator has no limits and
        # the run measures Bozor's own cost, so the pacer must not be the bottleneck.
        "TELEGRAM_RATE": "30" if faults else "1000",
    }
    bot = await BotProcess.start(command, env)
    try:
        async with EmulatorDriver(emulator_url, token) as driver:
            referrer = await driver.create_user("Referrer")
            await replied(driver, referrer, "/start")
            link = LINK.search((await replied(driver, referrer, "/ref", photo=True))["caption"])
            assert link is not None
            idle = bot.rss()
            users = [await driver.create_user(f"U{i}") for i in range(count)]
            seconds, cpu, answered = await blast(
                driver, bot, users, f"/start {link.group(1)}", referrer, profile_to
            )
            figures = (await replied(driver, referrer, "/ref", photo=True))["caption"]
            invited = re.search(r"Invited: (\d+)", figures)
    finally:
        await bot.stop()
    if profile_to:
        print(summarise_profile(profile_to), file=sys.stderr)
    return Result(
        f"Bozor on {database}",
        count,
        seconds,
        count / seconds,
        cpu,
        idle / 2**20,
        bot.peak / 2**20,
        int(invited.group(1)) if invited else None,
        answered,
    )


def report(results: list[Result], users: int) -> str:
    machine = (
        f"{platform.machine()}, {psutil.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB, Python {platform.python_version()}"
    )
    bound = results[0].updates_per_second
    lines = [
        f"{users} new users, each `/start <code>` — {machine}",
        f"{'run':<22} {'updates/s':>9} {'vs echo':>8} {'seconds':>8} {'CPU ms/update':>13} "
        f"{'idle RSS':>9} {'peak RSS':>9} {'counted':>8} {'answered':>8}",
    ]
    lines.extend(
        f"{r.name:<22} {r.updates_per_second:>9.0f} {r.updates_per_second / bound:>8.0%} "
        f"{r.seconds:>8.2f} {r.cpu_ms_per_update:>13.2f} {r.idle_rss_mib:>7.0f}Mi "
        f"{r.peak_rss_mib:>7.0f}Mi {'' if r.counted is None else r.counted:>8} "
        f"{'' if r.answered is None else r.answered:>8}"
        for r in results
    )
    return "\n".join(lines)


async def main(args: argparse.Namespace) -> list[Result]:
    port = free_port()
    bad_day = ["--rate-limits", *(f"--fault={fault}" for fault in FAULTS)] if args.faults else []
    emulator = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bozor", "emulator", "--port", str(port), *bad_day,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    results: list[Result] = []
    try:
        async with EmulatorDriver(url, ECHO_TOKEN) as probe:
            for _ in range(200):
                try:
                    await probe.me()
                    break
                except OSError:
                    await asyncio.sleep(0.1)
        results.append(await run_echo(url, args.users))
        if args.only in (None, "sqlite"):
            results.append(
                await run_bozor(
                    url,
                    args.users,
                    "sqlite",
                    fresh_sqlite("bench.sqlite3"),
                    SQLITE_TOKEN,
                    args.profile,
                    args.faults,
                )
            )
        postgres = (
            await fresh_postgres("bozor_bench") if args.only in (None, "postgresql") else None
        )
        if postgres:
            results.append(
                await run_bozor(
                    url,
                    args.users,
                    "postgresql",
                    postgres,
                    POSTGRES_TOKEN,
                    args.profile,
                    args.faults,
                )
            )
    finally:
        emulator.send_signal(signal.SIGINT)
        await emulator.wait()
    return results


if __name__ == "__main__":
    import uvloop

    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--profile", action="store_true", help="py-spy the bot during the burst")
    parser.add_argument("--only", choices=("sqlite", "postgresql"), help="one database only")
    parser.add_argument("--faults", action="store_true", help="Telegram's limits and 5%% faults")
    arguments = parser.parse_args()
    os.makedirs(RESULTS, exist_ok=True)
    measured = uvloop.run(main(arguments))
    text = report(measured, arguments.users)
    if arguments.faults:
        text += "\nTelegram on a bad day: flood limits, 5% of sendMessage failing (500, 502 HTML)"
    print(text)
    with open(os.path.join(RESULTS, "referral_starts.json"), "w") as out:
        json.dump({"report": text, "results": [asdict(r) for r in measured]}, out, indent=2)
