"""Benchmark: one lottery draw over N participating accounts (default 1,000,000), on SQLite
and on PostgreSQL (skipped when unreachable).

The accounts and participations are inserted by one INSERT … SELECT each (not timed); then
`draws.draw()` runs as the bot's `/draw` does: claim the lottery, drop removed accounts,
stream and hash the sorted participant list, pick the winners, write wins and audit entries.
Reported: the draw's wall time (committed) and how much of it reading and hashing the sorted
participant list takes, `draws.verify()`'s time, and memory — the process's peak RSS growth
during the draw, its peak RSS, and Python's peak allocation (tracemalloc, in a second draw of
the same data that is rolled back; tracemalloc slows it, so that one is not timed).

    .venv/bin/python bench/lottery_draw.py [--accounts 1000000] [--places 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import resource
import tempfile
import time
import tracemalloc
from dataclasses import dataclass

import asyncpg
from sqlalchemy import text

from bozor import migrate
from bozor.db import create_engine, create_session_factory
from bozor.lotteries import draws, service

PG_ADMIN = os.environ.get("BOZOR_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_NAME = "bozor_bench_lottery"


@dataclass
class Result:
    name: str
    accounts: int
    setup_s: float
    draw_s: float
    list_s: float  # of which: streaming the sorted participant list and hashing it
    verify_s: float
    rss_growth_mib: float
    rss_peak_mib: float
    python_peak_mib: float


def _number_sql(dialect: str) -> str:
    padded = "lpad(i::text, 14, '0')" if dialect == "postgresql" else "printf('%014d', i)"
    return " || '-' || ".join(f"substr({padded}, {j}, 2)" for j in range(1, 15, 2))


def _series_sql(dialect: str, count: int) -> str:
    if dialect == "postgresql":
        return f"SELECT i FROM generate_series(1, {count}) AS i"
    return (
        f"WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {count}) "
        "SELECT i FROM s"
    )


def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def run(name: str, url: str, accounts: int, places: int) -> Result:
    engine = create_engine(url)
    await migrate.upgrade(engine)
    factory = create_session_factory(engine)
    dialect = engine.dialect.name
    started = time.perf_counter()
    async with factory() as session:
        lottery = await service.create(
            session=session, title="Bench", prizes=[f"Prize {p}" for p in range(1, places + 1)]
        )
        lottery_id = lottery.id
        number, series = _number_sql(dialect), _series_sql(dialect, accounts)
        await session.execute(
            text(
                "INSERT INTO lottery_accounts (number, club_card, is_active, created_at) "
                f"SELECT {number}, NULL, true, CURRENT_TIMESTAMP FROM ({series}) AS s"
            )
        )
        await session.execute(
            text(
                "INSERT INTO lottery_participations (lottery_id, account_id, created_at) "
                "SELECT :lottery, id, CURRENT_TIMESTAMP FROM lottery_accounts"
            ),
            {"lottery": lottery_id},
        )
        await session.commit()
    if dialect == "postgresql":
        async with engine.connect() as connection:
            await connection.execute(text("COMMIT"))
            await connection.execute(text("ANALYZE"))
    setup = time.perf_counter() - started

    rss_before = _maxrss_mib()
    async with factory() as session:
        started = time.perf_counter()
        result = await draws.draw(session=session, lottery_id=lottery_id)
        await session.commit()
        draw_s = time.perf_counter() - started
    rss_growth = _maxrss_mib() - rss_before
    assert len(result.wins) == places

    async with factory() as session:
        started = time.perf_counter()
        await draws.participant_list(session=session, lottery_id=lottery_id)
        list_s = time.perf_counter() - started

    # Python's peak allocation: the same draw again, rolled back, under tracemalloc
    async with factory() as session:
        await session.execute(text("DELETE FROM lottery_audit WHERE win_id IS NOT NULL"))
        await session.execute(text("DELETE FROM lottery_wins"))
        await session.execute(text("UPDATE lotteries SET state = 'open'"))
        tracemalloc.start()
        await draws.draw(session=session, lottery_id=lottery_id)
        python_peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        await session.rollback()

    async with factory() as session:
        started = time.perf_counter()
        report = await draws.verify(session=session, lottery_id=lottery_id)
        verify_s = time.perf_counter() - started
    assert report.ok, report.problems
    await engine.dispose()
    return Result(
        name, accounts, setup, draw_s, list_s, verify_s, rss_growth, _maxrss_mib(), python_peak
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--places", type=int, default=10)
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    args = parser.parse_args()
    results = []
    if args.only != "postgres":
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite+aiosqlite:///{folder}/bench.sqlite3"
            results.append(await run("SQLite", url, args.accounts, args.places))
    if args.only != "sqlite":
        try:
            admin = await asyncpg.connect(PG_ADMIN)
        except OSError:
            print("PostgreSQL unreachable: skipped")
        else:
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{PG_NAME}" WITH (FORCE)')
                await admin.execute(f'CREATE DATABASE "{PG_NAME}"')
                base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
                results.append(
                    await run("PostgreSQL", f"{base}/{PG_NAME}", args.accounts, args.places)
                )
            finally:
                await admin.execute(f'DROP DATABASE IF EXISTS "{PG_NAME}" WITH (FORCE)')
                await admin.close()
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, {args.places} places"
    )
    print(
        "| backend | accounts | draw s | of which the list s | verify s "
        "| RSS growth in the draw MiB | peak RSS MiB | Python peak MiB | setup s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r.name} | {r.accounts:,} | {r.draw_s:.2f} | {r.list_s:.2f} | {r.verify_s:.2f} "
            f"| {r.rss_growth_mib:.0f} | {r.rss_peak_mib:.0f} | {r.python_peak_mib:.0f} "
            f"| {r.setup_s:.1f} |"
        )


if __name__ == "__main__":
    asyncio.run(main())
