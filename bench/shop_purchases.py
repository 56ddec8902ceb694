"""Benchmark: purchases completed per second through the Bot API emulator, with N buyers at
once (default 100), on SQLite and PostgreSQL (skipped when unreachable).

A purchase is what a buyer does in Telegram: /buy, the category, the denomination, quantity 1,
"Pay with Stars", paying the invoice (pre-checkout answered by the bot), and the message with
the code arriving. The baseline, measured in the same run against the same Bozor: the same
buyers each send /help and wait for the answer (one update round trip), reported as round
trips per second; a purchase costs five updates, a pre-checkout query and two outgoing
messages, so about a fifth of the baseline is the ceiling. Bozor, the emulator and the load
share this one process (and its one core), as in the test suite.

    .venv/bin/python bench/shop_purchases.py [--buyers 100]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import time
from dataclasses import dataclass
from typing import Any

from bozor import migrate
from bozor.db import create_engine, create_session_factory
from bozor.emulator import Emulator
from bozor.shop import codes
from bozor.shop.service import catalogue
from bozor.testing import Harness, start_bozor
from databases import fresh_postgres, fresh_sqlite


@dataclass
class Result:
    database: str
    buyers: int
    baseline_per_second: float
    purchases_per_second: float
    seconds: float
    delivered: int
    distinct_codes: int
    refused: int


async def press(
    harness: Harness, chat: int, message_id: int, data: str, contains: str
) -> dict[str, Any]:
    """Press a button and wait until the bot has answered it and edited the message."""
    query = await harness.driver.press_button(chat, message_id, callback_data=data)
    await harness.driver.callback_answer(query, timeout=120)  # a long poll, not a busy loop
    for _ in range(1200):
        for message in await harness.driver.messages(chat):
            if message["message_id"] == message_id and contains in (message.get("text") or ""):
                return message
        await asyncio.sleep(0.1)
    raise TimeoutError(contains)


async def purchase(harness: Harness, buyer: int, product: int) -> str:
    driver = harness.driver
    sent = await driver.send_message(buyer, "/buy")
    menu = await driver.wait_for_message(buyer, after_message_id=sent["message_id"], timeout=120)
    await press(harness, buyer, menu["message_id"], "sh:c:1", "denomination")
    await press(harness, buyer, menu["message_id"], f"sh:p:{product}", "How many")
    summary = await press(harness, buyer, menu["message_id"], f"sh:q:{product}:1", "Order #")
    pay = next(
        b["callback_data"]
        for row in summary["reply_markup"]["inline_keyboard"]
        for b in row
        if b.get("callback_data", "").startswith("sh:pay:")
    )
    await driver.press_button(buyer, menu["message_id"], callback_data=pay)
    invoice = await driver.wait_for_message(
        buyer, after_message_id=menu["message_id"], predicate=lambda m: "invoice" in m, timeout=120
    )
    paid = await driver.pay_invoice(buyer, invoice["message_id"])
    if not paid.get("ok"):
        return f"refused: {paid.get('error_message')}"  # e.g. the 10 s pre-checkout deadline
    delivered = await driver.wait_for_message(buyer, contains="BENCH-", timeout=120)
    return str(delivered["text"]).split("\n\n")[1]


async def run(database: str, url: str, buyers: int) -> Result:
    engine = create_engine(url, pool_size=2)
    await migrate.upgrade(engine)
    factory = create_session_factory(engine)
    async with factory() as session:
        category = await catalogue.create_category(session=session, name="Bench")
        product = await catalogue.create_product(
            session=session, category_id=category.id, title="10 USD", price_stars=10
        )
        await session.commit()
    async with Emulator() as emulator:
        overrides: dict[str, Any] = {
            "outbox_chat_interval": 0,
            "outbox_interval": 0.05,
            "throttle_burst": 100,
            "log_level": "WARNING",
            "database_pool_size": 10,
        }
        async with start_bozor(emulator, url, factory, **overrides) as harness:
            async with factory() as session:  # encrypted with the keys this Bozor uses
                await codes.import_codes(
                    session=session,
                    settings=harness.settings,
                    product_id=product.id,
                    lines=[codes.CodeLine(i, f"BENCH-{i:06d}") for i in range(1, buyers + 1)],
                    actor="bench",
                )
                await session.commit()
            users = [await harness.user(f"Buyer {i}") for i in range(buyers)]

            async def help_(user: int) -> None:
                sent = await harness.driver.send_message(user, "/help")
                await harness.driver.wait_for_message(
                    user, after_message_id=sent["message_id"], timeout=120
                )

            started = time.perf_counter()
            await asyncio.gather(*(help_(u) for u in users))
            baseline = buyers / (time.perf_counter() - started)
            started = time.perf_counter()
            got = await asyncio.gather(*(purchase(harness, u, product.id) for u in users))
            seconds = time.perf_counter() - started
    await engine.dispose()
    codes_got = [g for g in got if not g.startswith("refused")]
    return Result(
        database,
        buyers,
        baseline,
        len(codes_got) / seconds,
        seconds,
        len(codes_got),
        len(set(codes_got)),
        len(got) - len(codes_got),
    )


async def main(args: argparse.Namespace) -> list[Result]:
    results = [await run("SQLite", fresh_sqlite("shop-bench.sqlite3"), args.buyers)]
    print(results[-1], flush=True)
    url = await fresh_postgres("bozor_bench_shop")
    if url is not None:
        results.append(await run("PostgreSQL", url, args.buyers))
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buyers", type=int, default=100)
    found = asyncio.run(main(parser.parse_args()))
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(
        "| database | buyers | baseline /help round trips/s | purchases/s | seconds "
        "| delivered | distinct codes | refused at pre-checkout |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in found:
        print(
            f"| {r.database} | {r.buyers} | {r.baseline_per_second:.1f} | "
            f"{r.purchases_per_second:.1f} | {r.seconds:.2f} | {r.delivered} | {r.distinct_codes} "
            f"| {r.refused} |"
        )
