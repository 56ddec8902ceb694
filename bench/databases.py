"""Fresh, empty databases for the benchmarks: a SQLite file under bench/results and a
PostgreSQL database recreated on the server named by BOZOR_BENCH_POSTGRES."""

from __future__ import annotations

import os

import asyncpg

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
PG_ADMIN = os.environ.get("BOZOR_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


def fresh_sqlite(filename: str) -> str:
    """The URL of an empty SQLite file (its WAL files removed too)."""
    os.makedirs(RESULTS, exist_ok=True)
    path = os.path.join(RESULTS, filename)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    return f"sqlite+aiosqlite:///{path}"


async def fresh_postgres(database: str) -> str | None:
    """The URL of an empty PostgreSQL database, dropped and created; None if unreachable.
    With BOZOR_TEST_DB_PREFIX set (as for the tests), the name carries it, so that runs from
    several work trees on one server do not drop each other's database."""
    prefix = os.environ.get("BOZOR_TEST_DB_PREFIX")
    if prefix:
        database = f"{prefix}_{database}"
    try:
        connection = await asyncpg.connect(PG_ADMIN, timeout=3)
    except (OSError, asyncpg.PostgresError):
        return None
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{database}"')
    finally:
        await connection.close()
    base = PG_ADMIN.replace("postgresql://", "postgresql+asyncpg://", 1).rsplit("/", 1)[0]
    return f"{base}/{database}"
