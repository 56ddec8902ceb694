"""The ad search over 100,000 published ads, on SQLite and PostgreSQL.

Fills a fresh, migrated database with `--ads` published ads (and a tenth as many in review,
sold or withdrawn, which the search must skip): titles and descriptions drawn from an
English/Russian/Uzbek vocabulary with a few very common words and many rare ones, 8
categories, 13 regions written in three languages, prices in UZS and some in USD, published
over 60 days. Then runs each filter mix `--runs` times with random parameters, as the Mini
App does: `classifieds.search.search()` on a session, one page of 20 (the first page, and
for "deep" the 5th page reached through the cursors). Server time is the call's wall time
(SQL and building the ORM rows); CPU is this process's CPU time per query (the database
server's own CPU is not counted on PostgreSQL).

    .venv/bin/python bench/ad_search.py [--ads 100000] [--runs 200] [--only sqlite|postgres]
                                        [--explain]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bozor import migrate
from bozor.classifieds import search
from bozor.classifieds.models import Ad, AdState
from bozor.classifieds.search import AdFilters
from bozor.db import create_engine, create_session_factory, utcnow
from bozor.users.models import User
from databases import fresh_postgres, fresh_sqlite

CATEGORIES = ["electronics", "vehicles", "realty", "clothes", "home", "jobs", "services", "other"]
REGIONS = list(search._region_names())
COMMON = ["yangi", "новый", "new", "sotiladi", "продаю", "sale", "good", "holatda"]
PRODUCTS = str.split(
    "iphone samsung xiaomi redmi galaxy pixel nokia huawei macbook lenovo acer asus cobalt "
    "nexia spark malibu gentra damas lacetti matiz tracker captiva диван стол стул шкаф "
    "кровать холодильник телевизор кондиционер пылесос утюг divan stol stul shkaf karavot "
    "muzlatgich televizor konditsioner changyutgich dazmol kvartira uy hovli ofis magazin "
    "квартира дом участок офис магазин kurtka palto koylak shim tufli куртка пальто платье "
    "брюки туфли repetitor ingliz tili matematika usta santexnik elektrik haydovchi репетитор "
    "английский математика мастер сантехник электрик водитель"
)
FILLER = str.split(
    "holati zor ideal original garantiya bilan karobka zaryadka dokument hammasi joyida "
    "состояние отличное оригинал гарантия коробка зарядка документы всё работает condition "
    "excellent original warranty box charger documents everything works tez narxi kelishiladi "
    "срочно торг уместен urgent price negotiable delivery dostavka доставка rangi oq qora kok "
    "белый черный синий white black blue"
)


def _ad_rows(n: int, owners: list[int], rng: random.Random) -> list[dict[str, Any]]:
    now = utcnow()
    rows = []
    for i in range(n):
        product = rng.choice(PRODUCTS)
        words = [product, rng.choice(PRODUCTS), *rng.sample(COMMON, 2)]
        title = " ".join(w.capitalize() for w in words[:3])[:100]
        body = [*rng.sample(FILLER, 12), product, *rng.sample(COMMON, 2), f"m{rng.randrange(5000)}"]
        priced = rng.random() < 0.9
        usd = rng.random() < 0.1
        at = now - timedelta(seconds=rng.randrange(60 * 86400))
        state = AdState.PUBLISHED
        if i % 11 == 10:
            state = rng.choice([AdState.REVIEW, AdState.SOLD, AdState.WITHDRAWN])
        rows.append(
            {
                "user_id": rng.choice(owners),
                "state": state,
                "version": 1,
                "category": rng.choice(CATEGORIES),
                "title": title,
                "description": " ".join(body),
                "price": int(10 ** rng.uniform(2, 4) if usd else 10 ** rng.uniform(4, 9))
                if priced
                else None,
                "currency": ("USD" if usd else "UZS") if priced else None,
                "region": rng.choice(rng.choice(REGIONS)),
                "language": "uz",
                "findings": [],
                "repost_count": 0,
                "submitted_at": at,
                "published_at": at if state != AdState.REVIEW else None,
                "last_posted_at": at,
                "updated_at": at,
                "created_at": at,
            }
        )
    return rows


async def fill(factory: async_sessionmaker[AsyncSession], ads: int) -> float:
    """The ads and their owners; seconds taken."""
    rng = random.Random(19)
    started = time.perf_counter()
    async with factory() as session:
        await session.execute(
            insert(User),
            [
                {
                    "telegram_id": 10_000 + i,
                    "first_name": f"Seller {i}",
                    "referral_code": f"b{i:07d}",
                    "is_blocked": False,
                    "is_banned": False,
                    "created_at": utcnow(),
                    "updated_at": utcnow(),
                    "last_seen_at": utcnow(),
                }
                for i in range(2000)
            ],
        )
        owners = list((await session.scalars(text("SELECT id FROM users"))).all())
        total = ads + ads // 10
        for start in range(0, total, 5000):
            await session.execute(insert(Ad), _ad_rows(min(5000, total - start), owners, rng))
        await session.commit()
    async with factory() as session:
        await session.execute(text("ANALYZE"))
        await session.commit()
    return time.perf_counter() - started


Mix = Callable[[random.Random], AdFilters]

MIXES: dict[str, Mix] = {
    "newest (no filter)": lambda r: AdFilters(),
    "category": lambda r: AdFilters(category=r.choice(CATEGORIES)),
    "region": lambda r: AdFilters(region=r.choice(REGIONS)[0]),
    "category + region": lambda r: AdFilters(
        category=r.choice(CATEGORIES), region=r.choice(REGIONS)[0]
    ),
    "category + price range": lambda r: AdFilters(
        category=r.choice(CATEGORIES), price_min=1_000_000, price_max=r.choice([5, 50, 500]) * 10**6
    ),
    "text, common word": lambda r: AdFilters(text=r.choice(COMMON)),
    "text, product": lambda r: AdFilters(text=r.choice(PRODUCTS)),
    "text, rare word": lambda r: AdFilters(text=f"m{r.randrange(5000)}"),
    "text prefix + category": lambda r: AdFilters(
        text=r.choice(PRODUCTS)[:3], category=r.choice(CATEGORIES)
    ),
    "everything": lambda r: AdFilters(
        text=r.choice(PRODUCTS),
        category=r.choice(CATEGORIES),
        region=r.choice(REGIONS)[1],
        price_min=100_000,
        price_max=100_000_000,
    ),
}
DEEP = "category + region, page 5"


async def measure(
    factory: async_sessionmaker[AsyncSession], runs: int
) -> dict[str, tuple[list[float], list[float], float]]:
    """Per mix: wall ms, CPU ms per query, and the mean ads per page."""
    rng = random.Random(7)
    found: dict[str, tuple[list[float], list[float], float]] = {}
    for name in [*MIXES, DEEP]:
        walls: list[float] = []
        cpus: list[float] = []
        sizes: list[int] = []
        for _ in range(runs):
            async with factory() as session:
                if name == DEEP:
                    filters = MIXES["category + region"](rng)
                    cursor = None
                    for _ in range(4):
                        page = await search.search(session=session, filters=filters, cursor=cursor)
                        cursor = page.next_cursor
                else:
                    filters = MIXES[name](rng)
                    cursor = None
                wall, cpu = time.perf_counter(), time.process_time()
                page = await search.search(session=session, filters=filters, cursor=cursor)
                walls.append((time.perf_counter() - wall) * 1000)
                cpus.append((time.process_time() - cpu) * 1000)
                sizes.append(len(page.ads))
        found[name] = (walls, cpus, statistics.mean(sizes))
    return found


async def server_times(factory: async_sessionmaker[AsyncSession], runs: int) -> None:
    """PostgreSQL's own execution time of each mix's statements (EXPLAIN ANALYZE): the
    probe, and the text index when the probe did not fill the page. Less disturbed by a
    loaded machine than the wall time seen by the client."""
    rng = random.Random(7)
    bind = factory.kw["bind"]
    print("| mix | p50 ms | p95 ms | max ms |")
    print("|---|---:|---:|---:|")
    for name, mix in MIXES.items():
        times = []
        for _ in range(runs):
            filters = mix(rng)
            statements = [search.query("postgresql", filters, limit=21)]
            if search.words(filters.text) and not (filters.region or filters.priced):
                statements.insert(0, search.probe(filters, limit=21))
            total = 0.0
            for statement in statements:
                sql = str(
                    statement.compile(dialect=bind.dialect, compile_kwargs={"literal_binds": True})
                )
                async with factory() as session:
                    plan = (
                        await session.execute(text("EXPLAIN (ANALYZE, FORMAT JSON) " + sql))
                    ).scalar_one()
                total += float(plan[0]["Execution Time"])
                if plan[0]["Plan"].get("Actual Rows", 0) >= 21:
                    break
            times.append(total)
        print(f"| {name} | {statistics.median(times):.2f} | {p95(times):.2f} | {max(times):.2f} |")


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, round(len(values) * 0.95) - 1)]


async def explain(factory: async_sessionmaker[AsyncSession], dialect: str) -> None:
    for name in ("category + region", "text, common word", "everything"):
        filters = MIXES[name](random.Random(1))
        statement: Any = search.query(dialect, filters, limit=21)
        if dialect == "sqlite" and search.words(filters.text):  # its first batch
            statement = search.scan(filters).params(upper=2**63 - 1, batch=84)
        compiled = statement.compile(
            dialect=factory.kw["bind"].dialect, compile_kwargs={"literal_binds": True}
        )
        prefix = "EXPLAIN ANALYZE " if dialect == "postgresql" else "EXPLAIN QUERY PLAN "
        async with factory() as session:
            plan = (await session.execute(text(prefix + str(compiled)))).all()
        print(f"--- {name}")
        for row in plan:
            print("   ", row[-1])


async def run(backend: str, ads: int, runs: int, show_plans: bool) -> None:
    if backend == "sqlite":
        url = fresh_sqlite("ad_search.sqlite3")
    else:
        pg = await fresh_postgres("bozor_bench_ad_search")
        if pg is None:
            print("PostgreSQL unreachable; skipped")
            return
        url = pg
    engine = create_engine(url)
    await migrate.upgrade(engine)
    factory = create_session_factory(engine)
    setup = await fill(factory, ads)
    for _ in range(20):  # warm the caches and the statement cache
        async with factory() as session:
            await search.search(session=session, filters=AdFilters(text="new"))
    results = await measure(factory, runs)
    label = "SQLite" if backend == "sqlite" else "PostgreSQL"
    print(
        f"\n{label}: {ads:,} published ads (+{ads // 10:,} others), {runs} queries per mix, "
        f"setup {setup:.0f} s"
    )
    print("| mix | ads/page | p50 ms | p95 ms | max ms | CPU ms/query (mean) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, (walls, cpus, size) in results.items():
        print(
            f"| {name} | {size:.1f} | {statistics.median(walls):.1f} | {p95(walls):.1f} | "
            f"{max(walls):.1f} | {statistics.mean(cpus):.1f} |"
        )
    if show_plans:
        await explain(factory, engine.dialect.name)
    if engine.dialect.name == "postgresql":
        print("\nPostgreSQL's execution time (EXPLAIN ANALYZE):")
        await server_times(factory, runs)
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ads", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}"
    )
    for backend in ("sqlite", "postgres"):
        if args.only in (None, backend):
            asyncio.run(run(backend, args.ads, args.runs, args.explain))


if __name__ == "__main__":
    main()
