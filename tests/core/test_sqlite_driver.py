"""SQLite through aiosqlite with one trip per statement (bozor.sqlite_driver): every result,
count and error SQLAlchemy reads arrives as with aiosqlite's own cursors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bozor import sqlite_driver
from bozor.db import create_engine

MANY = sqlite_driver.PREFETCH * 2 + 7  # more than one statement's trip carries
NUMBERS = text(
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :last) "
    "SELECT i FROM n"
)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    created = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'driver.sqlite3'}")
    async with created.begin() as connection:
        await connection.execute(
            text("CREATE TABLE t (id INTEGER PRIMARY KEY, x INTEGER NOT NULL UNIQUE)")
        )
    yield created
    await created.dispose()


async def test_results_counts_and_returning(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        raw = await connection.get_raw_connection()
        assert isinstance(raw.driver_connection, sqlite_driver.OneTripConnection)
        returned = await connection.execute(
            text("INSERT INTO t (x) VALUES (1), (2), (3) RETURNING id, x")
        )
        assert sorted(returned.all()) == [(1, 1), (2, 2), (3, 3)]
        inserted = await connection.execute(text("INSERT INTO t (x) VALUES (4)"))
        assert inserted.lastrowid == 4
        updated = await connection.execute(text("UPDATE t SET x = x + 10 WHERE x > 1"))
        assert updated.rowcount == 3
        await connection.execute(text("INSERT INTO t (x) VALUES (:x)"), [{"x": 20}, {"x": 21}])
        assert await connection.scalar(text("SELECT count(*) FROM t")) == 6
        assert (await connection.execute(text("SELECT x FROM t WHERE x < 0"))).all() == []


async def test_a_result_larger_than_one_trip_is_read_whole(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        rows = (await connection.execute(NUMBERS, {"last": MANY})).scalars().all()
        assert rows == list(range(1, MANY + 1))
        streamed = await connection.stream(NUMBERS, {"last": MANY})
        seen: list[int] = []
        async for part in streamed.partitions(300):
            seen.extend(row[0] for row in part)
        assert seen == list(range(1, MANY + 1))
        first = (await connection.execute(NUMBERS, {"last": MANY})).first()
        assert first == (1,)
        assert await connection.scalar(text("SELECT 42")) == 42  # the connection goes on


async def test_an_error_surfaces_and_the_connection_goes_on(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("INSERT INTO t (x) VALUES (1)"))
        with pytest.raises(IntegrityError):
            await connection.execute(text("INSERT INTO t (x) VALUES (1)"))
        await connection.rollback()
        await connection.execute(text("INSERT INTO t (x) VALUES (2)"))
        await connection.commit()
        assert (await connection.execute(text("SELECT x FROM t"))).scalars().all() == [2]


async def test_a_rollback_undoes_an_open_transaction(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("INSERT INTO t (x) VALUES (1)"))
        await connection.rollback()
        await connection.rollback()  # nothing open: nothing to do
        assert (await connection.execute(text("SELECT count(*) FROM t"))).scalar() == 0


async def test_a_committed_connection_goes_back_to_the_pool_without_a_trip(
    engine: AsyncEngine,
) -> None:
    trips: list[str] = []
    async with engine.connect() as connection:
        raw = (await connection.get_raw_connection()).driver_connection
        assert isinstance(raw, sqlite_driver.OneTripConnection)
        execute: Any = raw._execute

        async def counted(function: Any, *args: Any, **kwargs: Any) -> Any:
            trips.append(getattr(function, "__name__", "?"))
            return await execute(function, *args, **kwargs)

        raw._execute = counted  # type: ignore[method-assign,assignment]
        await connection.execute(text("INSERT INTO t (x) VALUES (1)"))
        await connection.commit()
    try:
        assert trips == ["_run", "commit"]  # the statement and the commit; no rollback
    finally:
        del raw._execute  # the class's own again
    async with engine.connect() as connection:  # the same connection, in a sound state
        assert (await connection.execute(text("SELECT x FROM t"))).scalars().all() == [1]
