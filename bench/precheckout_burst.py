"""Benchmark: how long a buyer's pre-checkout query waits when it arrives in the middle of a
burst of new users' `/start` (Telegram cancels the payment after 10 s).

In one run, on this machine, for SQLite and PostgreSQL (skipped when unreachable):
  1. a few buyers each open an order and get its invoice (Pay with Stars);
  2. baseline: one buyer pays with nothing else going on (pre-checkout latency at rest);
  3. N new users (default 2,000) send `/start` at once; while their updates are queued, the
     other buyers pay, one after each tenth of the burst has been sent.
The emulator and Bozor (`bozor run`) run in their own processes; this process plays the
users. Reported per database: the pre-checkout latency (from the query being queued to the
bot's answer, as the emulator's pay call measures it) at rest and mid-burst (median and
worst), the time from paying to the code arriving, how many of the burst's `/start` were
still unanswered when each pre-checkout was answered, and the burst's duration.

    .venv/bin/python bench/precheckout_burst.py [--users 2000] [--buyers 6]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any

import psutil
from cryptography.fernet import Fernet

from bozor import migrate
from bozor.db import create_engine, create_session_factory
from bozor.emulator import EmulatorDriver
from bozor.settings import Settings
from bozor.shop import codes
from bozor.shop.service import catalogue
from bozor.testing import eventually, free_port
from databases import fresh_postgres, fresh_sqlite

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "results")
TOKENS = {
    "sqlite": "8000000012:AAbench-precheckout-sqlite-token-00",
    "postgresql": "8000000013:AAbench-precheckout-postgres-token-0",
}
KEY = Fernet.generate_key().decode()


@dataclass
class Result:
    database: str
    users: int
    burst_seconds: float
    at_rest_ms: float
    mid_burst_median_ms: float
    mid_burst_worst_ms: float
    paid_to_code_worst_ms: float
    backlog_when_answered: list[int]
    refused: int


async def stock(database_url: str, token: str, count: int) -> int:
    """A product with `count` codes (encrypted with the key the bot is given); its id."""
    settings = Settings(bot_token=token, database_url=database_url, encryption_keys=KEY)
    engine = create_engine(database_url, pool_size=2)
    await migrate.upgrade(engine)
    factory = create_session_factory(engine)
    async with factory() as session:
        category = await catalogue.create_category(session=session, name="Bench")
        product = await catalogue.create_product(
            session=session, category_id=category.id, title="10 USD", price_stars=10
        )
        await codes.import_codes(
            session=session,
            settings=settings,
            product_id=product.id,
            lines=[codes.CodeLine(i, f"BENCH-{i:06d}") for i in range(1, count + 1)],
            actor="bench",
        )
        await session.commit()
        product_id = int(product.id)
    await engine.dispose()
    return product_id


async def press(
    driver: EmulatorDriver, chat: int, message_id: int, data: str, contains: str
) -> Any:
    query = await driver.press_button(chat, message_id, callback_data=data)
    await driver.callback_answer(query, timeout=60)
    return await driver.wait_for_edit(chat, message_id, contains=contains, timeout=60)


async def invoice(driver: EmulatorDriver, buyer: int, product: int) -> int:
    """The buyer orders one code and gets the invoice; its message id."""
    sent = await driver.send_message(buyer, "/buy")
    menu = await driver.wait_for_message(buyer, after_message_id=sent["message_id"], timeout=60)
    await press(driver, buyer, menu["message_id"], "sh:c:1", "denomination")
    await press(driver, buyer, menu["message_id"], f"sh:p:{product}", "How many")
    summary = await press(driver, buyer, menu["message_id"], f"sh:q:{product}:1", "Order #")
    pay = next(
        b["callback_data"]
        for row in summary["reply_markup"]["inline_keyboard"]
        for b in row
        if b.get("callback_data", "").startswith("sh:pay:")
    )
    await driver.press_button(buyer, menu["message_id"], callback_data=pay)
    message = await driver.wait_for_message(
        buyer, after_message_id=menu["message_id"], predicate=lambda m: "invoice" in m, timeout=60
    )
    return int(message["message_id"])


@dataclass
class Paid:
    precheckout_ms: float
    code_ms: float
    refused: bool
    backlog: int


async def pay(
    driver: EmulatorDriver, buyer: int, message_id: int, answered: Any, total: int
) -> Paid:
    started = time.perf_counter()
    paid = await driver.pay_invoice(buyer, message_id)
    precheckout = time.perf_counter() - started
    backlog = total - await answered()
    if not paid.get("ok"):
        return Paid(precheckout * 1000, 0, True, backlog)
    await driver.wait_for_message(buyer, contains="BENCH-", timeout=300)
    return Paid(precheckout * 1000, (time.perf_counter() - started) * 1000, False, backlog)


async def run(emulator_url: str, database: str, database_url: str, args: Any) -> Result:
    token = TOKENS[database]
    product = await stock(database_url, token, args.buyers + 1)
    env = {
        "BOT_TOKEN": token,
        "TELEGRAM_API_URL": emulator_url,
        "DATABASE_URL": database_url,
        "ENCRYPTION_KEYS": KEY,
        "HTTP_PORT": str(free_port()),
        "LOG_LEVEL": "WARNING",
        "THROTTLE_BURST": "100",
        "VELOCITY_BURST": "0",
    }
    bot = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bozor", "run",
        env={**os.environ, **env}, cwd=RESULTS,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        async with EmulatorDriver(emulator_url, token) as driver:
            buyers = [await driver.create_user(f"Buyer {i}") for i in range(args.buyers + 1)]
            for buyer in buyers:
                sent = await driver.send_start(buyer)
                await driver.wait_for_message(
                    buyer, after_message_id=sent["message_id"], timeout=120
                )
            invoices = [await invoice(driver, buyer, product) for buyer in buyers]
            at_rest = await pay(driver, buyers[0], invoices[0], _nothing, 0)
            users = [await driver.create_user(f"U{i}") for i in range(args.users)]

            async def to_buyers() -> int:
                return sum([len(await driver.bot_messages(buyer)) for buyer in buyers])

            sent_before = int((await driver.stats())["messages_sent"]) - await to_buyers()

            async def answered() -> int:
                """How many of the burst's /start have been answered."""
                sent = int((await driver.stats())["messages_sent"])
                return sent - await to_buyers() - sent_before

            gate = asyncio.Semaphore(200)
            sends = 0
            step = args.users // (args.buyers + 1)
            payments: list[asyncio.Task[Paid]] = []

            async def send(user: int) -> None:
                nonlocal sends
                async with gate:
                    await driver.send_start(user)
                sends += 1
                if sends % step == 0 and len(payments) < args.buyers:
                    k = len(payments) + 1
                    payments.append(
                        asyncio.create_task(
                            pay(driver, buyers[k], invoices[k], answered, args.users)
                        )
                    )

            started = time.perf_counter()
            await asyncio.gather(*(send(user) for user in users))

            # every /start answered (the bot's own answers to the buyers are not counted)
            async def all_answered() -> bool:
                return await answered() >= int(args.users)

            await eventually(all_answered, timeout=900)
            burst = time.perf_counter() - started
            done = await asyncio.gather(*payments)
    finally:
        bot.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(bot.wait(), timeout=60)
        except TimeoutError:
            bot.kill()
    mid = [p.precheckout_ms for p in done]
    return Result(
        database,
        args.users,
        burst,
        at_rest.precheckout_ms,
        statistics.median(mid),
        max(mid),
        max(p.code_ms for p in done),
        [p.backlog for p in done],
        sum(p.refused for p in done),
    )


async def _nothing() -> int:
    return 0


def report(results: list[Result]) -> str:
    machine = (
        f"{platform.machine()}, {psutil.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB, Python {platform.python_version()}"
    )
    lines = [
        f"pre-checkout mid-burst — {machine}",
        "| database | /start burst | burst s | pre-checkout at rest | mid-burst median "
        "| mid-burst worst | paid → code worst | /start unanswered at each answer | refused |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    lines.extend(
        f"| {r.database} | {r.users} | {r.burst_seconds:.1f} | {r.at_rest_ms:.0f} ms "
        f"| {r.mid_burst_median_ms:.0f} ms | {r.mid_burst_worst_ms:.0f} ms "
        f"| {r.paid_to_code_worst_ms:.0f} ms | {r.backlog_when_answered} | {r.refused} |"
        for r in results
    )
    return "\n".join(lines)


async def main(args: argparse.Namespace) -> list[Result]:
    port = free_port()
    emulator = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bozor", "emulator", "--port", str(port),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    results: list[Result] = []
    try:
        async with EmulatorDriver(url, TOKENS["sqlite"]) as probe:
            for _ in range(200):
                try:
                    await probe.me()
                    break
                except OSError:
                    await asyncio.sleep(0.1)
        if "sqlite" in args.databases:
            sqlite = fresh_sqlite("precheckout.sqlite3")
            results.append(await run(url, "sqlite", sqlite, args))
            print(report(results), flush=True)
        postgres = await fresh_postgres("bozor_bench_precheckout")
        if postgres and "postgresql" in args.databases:
            results.append(await run(url, "postgresql", postgres, args))
    finally:
        emulator.send_signal(signal.SIGINT)
        await emulator.wait()
    return results


if __name__ == "__main__":
    import uvloop

    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--buyers", type=int, default=6)
    parser.add_argument("--databases", default="sqlite,postgresql")
    arguments = parser.parse_args()
    os.makedirs(RESULTS, exist_ok=True)
    measured = uvloop.run(main(arguments))
    text = report(measured)
    print(text)
    with open(os.path.join(RESULTS, "precheckout_burst.json"), "w") as out:
        json.dump({"report": text, "results": [asdict(r) for r in measured]}, out, indent=2)
