"""Benchmark: the CPU one SQL statement costs through each layer Bozor could use.

What a Telegram update or an API call costs is mostly the statements it runs; this measures
the floor of one statement on this machine, in one process, one at a time (CPU time of this
process: PostgreSQL's own work is in its server process, SQLite's in ours):

  raw driver         asyncpg's `fetch`, or sqlite3 on the calling thread (no aiosqlite);
  SQLAlchemy Core    `session.execute(insert … RETURNING columns)` on the async engine;
  ORM INSERT         `session.scalar(insert(Model) … RETURNING Model)`: the ORM-enabled insert;
  InsertReturning    Bozor's: the Core statement, its row attached as a loaded object;
  SELECT 1           through the session: SQLAlchemy's floor for any statement;
  transaction        a session, BEGIN, one Core INSERT, COMMIT and close: what a one-statement
                     update pays.

Statements run 50 to a transaction (except the last row), each inserting a user.

    .venv/bin/python bench/sql_floor.py [--statements 3000] [--only sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, cast

import asyncpg
import psutil
from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncSession

import bozor.models  # noqa: F401  (every table, for create_all)
from bozor.db import (
    Base,
    InsertReturning,
    Prebuilt,
    create_engine,
    create_session_factory,
)
from bozor.users.models import User
from bozor.users.service import new_user_values
from databases import fresh_postgres, fresh_sqlite

PER_TRANSACTION = 50
USERS = "users"


def _values(telegram_id: int) -> dict[str, Any]:
    return new_user_values(telegram_id=telegram_id, first_name="Bench")


Statement = Callable[[AsyncSession, int], Awaitable[Any]]


async def _per_statement(
    session_factory: Any, run: Statement, count: int, first_id: int, per: int
) -> float:
    """CPU ms per statement: `count` statements, `per` to a transaction."""
    started = time.process_time()
    for batch in range(count // per):
        async with session_factory() as session, session.begin():
            for n in range(per):
                await run(session, first_id + batch * per + n)
    return (time.process_time() - started) * 1000 / count


async def _raw_postgres(url: str, count: int, first_id: int) -> float:
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    columns = list(_values(0))
    placeholders = ", ".join(f"${n}" for n in range(1, len(columns) + 1))
    sql = f"INSERT INTO {USERS} ({', '.join(columns)}) VALUES ({placeholders}) RETURNING *"
    try:
        started = time.process_time()
        for batch in range(count // PER_TRANSACTION):
            async with connection.transaction():
                for n in range(PER_TRANSACTION):
                    await connection.fetch(
                        sql, *_values(first_id + batch * PER_TRANSACTION + n).values()
                    )
        return (time.process_time() - started) * 1000 / count
    finally:
        await connection.close()


def _raw_sqlite(url: str, count: int, first_id: int) -> float:
    connection = sqlite3.connect(url.split("///", 1)[1], isolation_level=None)
    columns = list(_values(0))
    placeholders = ", ".join("?" * len(columns))
    sql = f"INSERT INTO {USERS} ({', '.join(columns)}) VALUES ({placeholders}) RETURNING *"
    try:
        started = time.process_time()
        for batch in range(count // PER_TRANSACTION):
            connection.execute("BEGIN")
            for n in range(PER_TRANSACTION):
                values = _values(first_id + batch * PER_TRANSACTION + n)
                for key in ("created_at", "updated_at", "last_seen_at"):
                    values[key] = cast(datetime, values[key]).strftime("%Y-%m-%d %H:%M:%S.%f")
                connection.execute(sql, tuple(values.values())).fetchall()
            connection.execute("COMMIT")
        return (time.process_time() - started) * 1000 / count
    finally:
        connection.close()


async def measure(name: str, url: str, count: int) -> list[tuple[str, str, float]]:

    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    session_factory = create_session_factory(engine)
    table = cast(Table, User.__table__)
    attach = InsertReturning(User, lambda insert, t: insert(t).on_conflict_do_nothing())
    core = Prebuilt(lambda insert: insert(table).on_conflict_do_nothing().returning(*table.c))
    orm = Prebuilt(lambda insert: insert(User).on_conflict_do_nothing().returning(User))

    async def core_statement(session: AsyncSession, n: int) -> Any:
        return (await session.execute(core(session), _values(n))).first()

    async def orm_statement(session: AsyncSession, n: int) -> Any:
        return await session.scalar(orm(session), _values(n))

    async def insert_returning(session: AsyncSession, n: int) -> Any:
        return await attach(session, _values(n))

    async def select_one(session: AsyncSession, n: int) -> Any:
        return (await session.execute(text("SELECT 1"))).first()

    cases: list[tuple[str, Callable[[int], Awaitable[float]]]] = [
        ("SQLAlchemy Core", lambda first: _per_statement(session_factory, core_statement,
                                                         count, first, PER_TRANSACTION)),
        ("ORM INSERT", lambda first: _per_statement(session_factory, orm_statement,
                                                    count, first, PER_TRANSACTION)),
        ("InsertReturning", lambda first: _per_statement(session_factory, insert_returning,
                                                         count, first, PER_TRANSACTION)),
        ("SELECT 1", lambda first: _per_statement(session_factory, select_one,
                                                  count, first, PER_TRANSACTION)),
        ("transaction", lambda first: _per_statement(session_factory, core_statement,
                                                     count, first, 1)),
    ]  # fmt: skip
    results = []
    try:
        if name == "postgresql":
            raw = await _raw_postgres(url, count, 10**7)
        else:
            raw = _raw_sqlite(url, count, 10**7)
        results.append((name, "raw driver", raw))
        for n, (label, case) in enumerate(cases):
            await case(2 * 10**7 + n * 10**6 + 10**5)  # warm-up: caches, prepared statements
            results.append((name, label, await case(2 * 10**7 + n * 10**6)))
    finally:
        await engine.dispose()
    return results


def report(results: list[tuple[str, str, float]]) -> str:
    machine = (
        f"{platform.machine()}, {psutil.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB, Python {platform.python_version()}"
    )
    lines = [f"CPU ms per statement, one at a time — {machine}"]
    lines.append(f"{'database':<11} {'layer':<17} {'CPU ms':>7}")
    lines += [f"{db:<11} {label:<17} {ms:>7.3f}" for db, label, ms in results]
    return "\n".join(lines)


async def main(args: argparse.Namespace) -> None:
    results: list[tuple[str, str, float]] = []
    if args.only in (None, "sqlite"):
        results += await measure("sqlite", fresh_sqlite("sql_floor.sqlite3"), args.statements)
    if args.only in (None, "postgresql"):
        url = await fresh_postgres("bozor_sql_floor")
        if url is None:
            print("PostgreSQL unreachable: skipped", file=sys.stderr)
        else:
            results += await measure("postgresql", url, args.statements)
    print(report(results))


if __name__ == "__main__":
    import uvloop

    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--statements", type=int, default=3000)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    uvloop.run(main(parser.parse_args()))
