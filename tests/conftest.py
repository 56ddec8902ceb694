"""Shared fixtures: a clean database per test on SQLite and PostgreSQL, the Bot API emulator,
and Bozor itself running against them, driven over HTTP."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bozor import migrate
from bozor.db import Base, create_engine, create_session_factory
from bozor.emulator import Emulator
from bozor.testing import ADMIN_ID, Harness, api_url, new_api_key, start_bozor

IN_CI = os.environ.get("CI", "").lower() == "true"
PG_DSN = os.environ.get("BOZOR_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BOZOR_TEST_REDIS", "redis://127.0.0.1:6379/15")
AMQP_URL = os.environ.get("BOZOR_TEST_AMQP", "amqp://guest:guest@127.0.0.1:5672/")
BACKENDS = os.environ.get("BOZOR_TEST_BACKENDS", "sqlite,postgres").split(",")
# Test databases are named <prefix>_<xdist worker>; a second checkout running its tests at the
# same time on the same server sets its own prefix.
PG_DB_PREFIX = os.environ.get("BOZOR_TEST_DB_PREFIX", "bozor_test")


def _reachable(url: str, default_port: int) -> bool:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), 1
        ):
            return True
    except OSError:
        return False


def need_server(name: str, url: str, port: int) -> None:
    """Skip (outside CI) or fail (in CI) when a server a test needs is unreachable."""
    if _reachable(url, port):
        return
    message = f"{name} is not reachable at {url}"
    if IN_CI:
        pytest.fail(f"{message}; CI must exercise it")
    pytest.skip(f"{message} (set CI=true to make this a failure)")


def _worker(request: pytest.FixtureRequest) -> str:
    return str(getattr(request.config, "workerinput", {}).get("workerid", "main"))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"

    async def build() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        await migrate.upgrade(engine)
        await engine.dispose()

    asyncio.run(build())
    return path


@pytest.fixture(scope="session")
def postgres_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """A migrated PostgreSQL database of this test worker's own, or None if unreachable."""
    if not _reachable(PG_DSN, 5432):
        yield None
        return
    name = f"{PG_DB_PREFIX}_{_worker(request)}"
    base = PG_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)

    async def recreate() -> None:
        connection = await asyncpg.connect(PG_DSN)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()
        engine = create_engine(f"{base}/{name}")
        await migrate.upgrade(engine)
        await engine.dispose()

    asyncio.run(recreate())
    yield f"{base}/{name}"


@pytest.fixture(params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest,
    sqlite_template: Path,
    postgres_url: str | None,
    tmp_path: Path,
) -> str:
    """A clean, migrated database for one test, on each backend in turn."""
    if request.param == "sqlite":
        path = tmp_path / "bozor.sqlite3"
        shutil.copyfile(sqlite_template, path)
        return f"sqlite+aiosqlite:///{path}"
    need_server("PostgreSQL", PG_DSN, 5432)
    assert postgres_url is not None

    async def truncate() -> None:
        connection = await asyncpg.connect(postgres_url.replace("+asyncpg", ""))
        try:
            tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
            await connection.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        finally:
            await connection.close()

    asyncio.run(truncate())
    return postgres_url


@pytest.fixture
def redis_url() -> str:
    need_server("Redis", REDIS_URL, 6379)
    return REDIS_URL


@pytest.fixture
def amqp_url() -> str:
    need_server("RabbitMQ", AMQP_URL, 5672)
    return AMQP_URL


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A session factory on the test's database, for arranging data and checking results."""
    engine: AsyncEngine = create_engine(database_url)
    yield create_session_factory(engine)
    await engine.dispose()


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with Emulator() as emu:
        yield emu


@pytest.fixture
def bozor_overrides() -> dict[str, Any]:
    """Settings a test module wants changed (override this fixture)."""
    return {}


@pytest.fixture
async def bozor(
    emulator: Emulator,
    database_url: str,
    db: async_sessionmaker[AsyncSession],
    bozor_overrides: dict[str, Any],
) -> AsyncIterator[Harness]:
    overrides = {"admin_ids": [ADMIN_ID], **bozor_overrides}
    async with start_bozor(emulator, database_url, db, **overrides) as harness:
        yield harness


@pytest.fixture
def api_scopes() -> tuple[str, ...]:
    """The scopes of the API key `api` sends (none: no key); a module overrides this. The
    module's `bozor_overrides` gives Bozor an `http_port` (`free_port()`)."""
    return ()


@pytest.fixture
async def api(bozor: Harness, api_scopes: tuple[str, ...]) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of Bozor's API, sending a new key of `api_scopes` if there are any."""
    headers = {"X-API-Key": await new_api_key(bozor, *api_scopes)} if api_scopes else {}
    async with httpx.AsyncClient(base_url=api_url(bozor), headers=headers) as client:
        yield client


@pytest.fixture
async def key(bozor: Harness) -> str:
    """The secret of a new API key with the referrals scope."""
    return await new_api_key(bozor)


@pytest.fixture
async def web(bozor: Harness) -> AsyncIterator[httpx.AsyncClient]:
    """A browser's HTTP client of Bozor's web pages (the dashboard, the demo), signed in to
    nothing."""
    async with httpx.AsyncClient(base_url=api_url(bozor)) as client:
        yield client


@pytest.fixture
async def redis_prefix(redis_url: str) -> AsyncIterator[str]:
    """A key and channel prefix of this test's own (tests run in parallel on one Redis)."""
    prefix = f"test-{uuid.uuid4().hex}"
    yield prefix
    client = Redis.from_url(redis_url)
    keys = [key async for key in client.scan_iter(f"{prefix}:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()
