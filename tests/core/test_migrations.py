"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

import bozor.models  # noqa: F401
from bozor import migrate
from bozor.db import Base, create_engine


async def test_models_match_migrations(database_url: str) -> None:
    engine = create_engine(database_url)

    def diff(connection: Connection) -> list[object]:
        context = MigrationContext.configure(
            connection, opts={"include_name": migrate.include_name}
        )
        return list(compare_metadata(context, Base.metadata))

    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(diff) == []
        assert await migrate.current_revision(engine) == migrate.head_revision()
    finally:
        await engine.dispose()


async def test_downgrade_and_upgrade_again(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await migrate.downgrade(engine, "base")
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda c: inspect(c).get_table_names())
        assert set(tables) <= {"alembic_version"}
        await migrate.upgrade(engine)
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda c: inspect(c).get_table_names())
        assert {"users", "referrals", "outbox"} <= set(tables)
    finally:
        await engine.dispose()


def test_db_upgrade_command_on_a_fresh_sqlite_file(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/fresh.sqlite3"}
    result = subprocess.run(
        [sys.executable, "-m", "bozor", "db", "upgrade"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert f"database at {migrate.head_revision()}" in result.stdout

    async def pragmas() -> tuple[str, int]:
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/fresh.sqlite3")
        async with engine.connect() as connection:
            mode = (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar()
            keys = (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar()
        await engine.dispose()
        return str(mode), int(keys or 0)

    assert asyncio.run(pragmas()) == ("wal", 1)


async def insert_row(connection: AsyncConnection, table: str, **given: object) -> None:
    """A row with the given values and a plain one in every other required column."""
    columns = (await connection.exec_driver_sql(f"PRAGMA table_info({table})")).all()
    values = dict(given)
    for column in columns:
        _, name, kind, not_null, default, primary = tuple(column)
        if name not in values and not_null and default is None and not primary:
            kind = kind.upper()
            values[name] = (
                0
                if "INT" in kind or "BOOL" in kind
                else ("2026-01-01 00:00:00" if "DATE" in kind else "x")
            )
    names = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    await connection.exec_driver_sql(
        f"INSERT INTO {table} ({names}) VALUES ({marks})", tuple(values.values())
    )


async def test_upgrading_sqlite_keeps_the_rows_of_rebuilt_tables(tmp_path: Path) -> None:
    """A broadcast and its delivery, made before the broadcasts table gained columns, are all
    there after the upgrade (a table rebuilt with foreign keys on took its children along)."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/old.sqlite3")
    try:
        await migrate.upgrade(engine, "a8909be59cba")
        async with engine.begin() as connection:
            await insert_row(connection, "users", id=1, telegram_id=10)
            await insert_row(connection, "broadcasts", id=1, buttons="[]", segment_params="{}")
            await insert_row(connection, "broadcast_deliveries", broadcast_id=1, user_id=1)
        await migrate.upgrade(engine)
        await migrate.downgrade(engine, "a8909be59cba")  # the downgrade rebuilds the table
        await migrate.upgrade(engine)
        async with engine.connect() as connection:
            rows = await connection.exec_driver_sql("SELECT count(*) FROM broadcast_deliveries")
            assert rows.scalar() == 1
            keys = (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar()
            assert keys == 1  # switched on again for whoever uses the connection next
    finally:
        await engine.dispose()


async def test_the_features_logs_move_into_the_audit_log_and_back(tmp_path: Path) -> None:
    """e4c1a7b93d52: a lottery's, the shop's and a classifieds decision's entries become rows
    of audit_log (filterable by area and target), and go back on a downgrade."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/logs.sqlite3")
    at = "2026-12-01 10:00:00"
    try:
        await migrate.upgrade(engine, "d3a9c1f0b7e4")
        async with engine.begin() as connection:
            await insert_row(connection, "users", id=1, telegram_id=10)
            await insert_row(connection, "lotteries", id=1)
            await insert_row(
                connection, "lottery_audit", lottery_id=1, action="drawn", actor=42,
                detail='{"round": 0}', created_at=at,
            )  # fmt: skip
            await insert_row(
                connection, "shop_audit", action="refund_requested", actor="tg:7", order_id=5,
                detail="{}", created_at=at,
            )  # fmt: skip
            await insert_row(connection, "classified_ads", id=3, user_id=1, findings="[]")
            await insert_row(
                connection, "classified_decisions", ad_id=3, version=1, approved=0,
                reason="price", admin_name="Ann", admin_telegram_id=7, created_at=at,
            )  # fmt: skip
        await migrate.upgrade(engine)
        async with engine.connect() as connection:
            rows = await connection.exec_driver_sql(
                "SELECT area, action, actor, target, details FROM audit_log ORDER BY id"
            )
            moved: list[tuple[object, ...]] = [
                (*row._tuple()[:4], json.loads(row[-1])) for row in rows.all()
            ]
        assert moved == [
            ("lotteries", "drawn", "telegram:42", "lottery:1", {"round": 0}),
            ("shop", "refund_requested", "tg:7", "order:5", {"order_id": 5}),
            ("classifieds", "rejected", "telegram:7", "ad:3", {
                "version": 1, "reason": "price", "admin_name": "Ann", "admin_telegram_id": 7,
                "message_id": None,
            }),
        ]  # fmt: skip
        await migrate.downgrade(engine, "d3a9c1f0b7e4")
        async with engine.connect() as connection:
            for table in ("lottery_audit", "shop_audit", "classified_decisions"):
                count = await connection.exec_driver_sql(f"SELECT count(*) FROM {table}")
                assert count.scalar() == 1, table
            left = await connection.exec_driver_sql("SELECT count(*) FROM audit_log")
            assert left.scalar() == 0
            actor = await connection.exec_driver_sql("SELECT actor, detail FROM lottery_audit")
            assert actor.one() == (42, '{"round": 0}')
    finally:
        await engine.dispose()


async def test_the_ads_text_index_is_rebuilt_in_publication_order_and_back(
    tmp_path: Path,
) -> None:
    """f5b2d8e1c6a9 on SQLite: the published ads already there enter the new text index,
    keyed by their publication time (two in one millisecond apart), the others do not;
    the downgrade gives back the index of every ad keyed by its id."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/ads.sqlite3")
    ads = [  # id, state, published_at, title
        (1, "published", "2026-12-01 10:00:00.000500", "Oʻzbek lamp"),
        (2, "published", "2026-12-01 10:00:00.000900", "Old lamp"),
        (3, "review", None, "Lamp in review"),
        (4, "published", "2026-11-30 09:00:00.250000", "Chair"),
    ]
    try:
        await migrate.upgrade(engine, "e4c1a7b93d52")
        async with engine.begin() as connection:
            await insert_row(connection, "users", id=1, telegram_id=10)
            for ad_id, state, published_at, title in ads:
                await insert_row(
                    connection, "classified_ads", id=ad_id, user_id=1, state=state,
                    title=title, description="Pick up.", category="home", region="Fergana",
                    published_at=published_at, findings="[]",
                )  # fmt: skip
        await migrate.upgrade(engine)
        async with engine.connect() as connection:
            feed = await connection.exec_driver_sql(
                "SELECT ad_id, key FROM classified_ads_fts_feed ORDER BY key DESC"
            )

            def key(at: str, slot: int = 0) -> int:
                moment = datetime.fromisoformat(at).replace(tzinfo=UTC)
                return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(
                    milliseconds=1
                ) * 2**20 + slot

            assert [tuple(row) for row in feed.all()] == [
                (2, key("2026-12-01 10:00:00", 1)),  # in the millisecond of 1, after it
                (1, key("2026-12-01 10:00:00")),
                (4, key("2026-11-30 09:00:00.250")),
            ]
            found = await connection.exec_driver_sql(
                "SELECT f.ad_id FROM classified_ads_fts JOIN classified_ads_fts_feed f "
                "ON f.key = classified_ads_fts.rowid WHERE classified_ads_fts MATCH '\"ozbek\"*'"
            )
            assert found.scalars().all() == [1]
        await migrate.downgrade(engine, "e4c1a7b93d52")
        async with engine.connect() as connection:
            found = await connection.exec_driver_sql(
                "SELECT rowid FROM classified_ads_fts WHERE classified_ads_fts MATCH 'lamp' "
                "ORDER BY rowid"
            )
            assert found.scalars().all() == [1, 2, 3]
            tables = await connection.exec_driver_sql(
                "SELECT count(*) FROM sqlite_master WHERE name = 'classified_ads_fts_feed'"
            )
            assert tables.scalar() == 0
    finally:
        await engine.dispose()


async def test_ads_keyed_a_second_late_get_their_right_key(tmp_path: Path) -> None:
    """b8e2f4a61c37 on SQLite: an ad published in a second's last half millisecond, keyed by
    f5b2d8e1c6a9's first triggers a second late, gets its right key, and the text index
    follows; later ads are keyed right by the triggers it recreates."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/ads.sqlite3")
    late = "2026-12-01 10:00:19.999600"
    right = (
        (datetime(2026, 12, 1, 10, 0, 19, 999000, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC))
        // timedelta(milliseconds=1)
        * 2**20
    )

    async def keys(connection: AsyncConnection) -> list[tuple[int, int]]:
        found = await connection.exec_driver_sql(
            "SELECT f.ad_id, f.key FROM classified_ads_fts JOIN classified_ads_fts_feed f "
            "ON f.key = classified_ads_fts.rowid WHERE classified_ads_fts MATCH 'lamp' "
            "ORDER BY f.ad_id"
        )
        return [tuple(row) for row in found.all()]

    try:
        await migrate.upgrade(engine, "f5b2d8e1c6a9")
        async with engine.begin() as connection:
            # The trigger as f5b2d8e1c6a9 first made it: the seconds read with the fraction.
            made = await connection.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE name = 'classified_ads_fts_insert'"
            )
            first = str(made.scalar()).replace(
                "substr(new.published_at, 1, 19)", "new.published_at"
            )
            await connection.exec_driver_sql("DROP TRIGGER classified_ads_fts_insert")
            await connection.exec_driver_sql(first)
            await insert_row(connection, "users", id=1, telegram_id=10)
            await insert_row(
                connection, "classified_ads", id=1, user_id=1, state="published",
                title="Lamp", description="Pick up.", category="home", region="Fergana",
                published_at=late, findings="[]",
            )  # fmt: skip
            assert await keys(connection) == [(1, right + 1000 * 2**20)]  # a second late
        await migrate.upgrade(engine)
        async with engine.begin() as connection:
            assert await keys(connection) == [(1, right)]
            await insert_row(
                connection, "classified_ads", id=2, user_id=1, state="published",
                title="Lamp too", description="Pick up.", category="home", region="Fergana",
                published_at=late, findings="[]",
            )  # fmt: skip
            assert await keys(connection) == [(1, right), (2, right + 1)]  # same millisecond
    finally:
        await engine.dispose()
