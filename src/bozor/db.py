"""Engine, session factory and the declarative Base shared by every feature."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import cache, lru_cache
from typing import Any, ClassVar, Generic, TypeVar, cast

import aiosqlite
from sqlalchemy import (
    BigInteger,
    DateTime,
    Dialect,
    Integer,
    MetaData,
    Table,
    TypeDecorator,
    event,
    inspect,
    text,
)
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, make_transient_to_detached, mapped_column
from sqlalchemy.pool import ConnectionPoolEntry

from bozor import sqlite_driver

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every backend.

    SQLite has no time zones: values are stored as UTC wall time and read back as UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use datetime.now(UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


SQLITE_POOL_SIZE = 4  # one writer at a time anyway; each aiosqlite connection is a thread


def create_engine(
    database_url: str,
    *,
    echo: bool = False,
    pool_size: int = 20,
    sqlite_pool_size: int = SQLITE_POOL_SIZE,
) -> AsyncEngine:
    """An async engine; SQLite gets WAL, foreign keys and a busy timeout.

    The pool is fixed-size: overflow connections would be opened and closed on every burst,
    and each new connection re-prepares every statement. Callers beyond the pool wait.
    """
    if database_url.startswith("sqlite"):
        # The URL's own connection arguments, for aiosqlite with one trip per statement.
        args, params = SQLiteDialect_aiosqlite().create_connect_args(make_url(database_url))
        params["timeout"] = 30

        async def connect() -> aiosqlite.Connection:
            return await sqlite_driver.connect(*args, **params)

        engine = create_async_engine(
            database_url,
            echo=echo,
            async_creator=connect,
            pool_size=sqlite_pool_size,
            max_overflow=0,
            pool_timeout=60,
        )
        _configure_sqlite(engine)
        return engine
    # No pre-ping: it costs a round-trip per transaction; stale connections are recycled and a
    # failed update is answered politely and can be retried by the user.
    return create_async_engine(
        database_url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=60,
        pool_recycle=1800,
    )


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def session_scope(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One transaction: commit on success, roll back on error."""
    async with factory() as session, session.begin():
        yield session


def dialect_name(session: AsyncSession) -> str:
    bind = session.get_bind()
    return str(bind.dialect.name)


def upsert_insert(session: AsyncSession, table: Any) -> Any:
    """`INSERT` with `ON CONFLICT` support for the session's dialect (SQLite or PostgreSQL)."""
    return _dialect_insert(dialect_name(session))(table)


@cache
def _dialect_insert(dialect: str) -> Any:
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


Statement = TypeVar("Statement")


class Prebuilt(Generic[Statement]):
    """A statement built once per dialect, on first use: building a statement costs more
    than running a cached one on the hot path. `build` receives the dialect's `insert`
    (with `ON CONFLICT`)."""

    def __init__(self, build: Callable[[Any], Statement]) -> None:
        self._build = build
        self._built: dict[str, Statement] = {}

    def __call__(self, session: AsyncSession) -> Statement:
        dialect = dialect_name(session)
        built = self._built.get(dialect)
        if built is None:
            built = self._built[dialect] = self._build(_dialect_insert(dialect))
        return built


Model = TypeVar("Model", bound="Base")


class InsertReturning(Generic[Model]):
    """An `INSERT` of one `model` row, built once per dialect, that returns the row as a
    persistent object of the session (or None when `ON CONFLICT` skipped it). `build`
    receives the dialect's `insert` and the model's table and adds the conflict clause.

    SQLAlchemy's ORM-enabled INSERT (`.returning(Model)`) makes that object through its
    bulk-persistence path at about twice the CPU of the Core statement (bench/sql_floor.py);
    an object made from the Core row and attached as loaded is the same to its readers and to
    the unit of work, which saves later changes to it as usual."""

    def __init__(self, model: type[Model], build: Callable[[Any, Table], Any]) -> None:
        table = cast(Table, model.__table__)
        mapper = inspect(model)
        self._model = model
        self._keys = [mapper.get_property_by_column(column).key for column in table.c]
        self._statement = Prebuilt(lambda insert: build(insert, table).returning(*table.c))

    async def __call__(self, session: AsyncSession, values: dict[str, Any]) -> Model | None:
        row = (await session.execute(self._statement(session), values)).first()
        if row is None:
            return None
        made = self._model(**dict(zip(self._keys, row, strict=True)))
        make_transient_to_detached(made)  # as if loaded: no pending insert, no history
        session.add(made)
        return made


async def serialize(session: AsyncSession, name: str, *, sqlite_table: str | None) -> None:
    """Hold a lock named `name` until the transaction ends, so that check-then-write rules
    spanning many rows (e.g. "no cycles in the graph") run one at a time.

    PostgreSQL: a transaction-level advisory lock. SQLite: the database write lock, taken by
    an UPDATE that changes nothing (SQLite has one writer at a time anyway). A caller that
    has written in this transaction already holds SQLite's write lock, and passes
    `sqlite_table=None` to save the statement.
    """
    if dialect_name(session) == "postgresql":
        await session.execute(_ADVISORY_LOCK, {"key": lock_key(name)})
    elif sqlite_table is not None:
        await session.execute(text(f"UPDATE {sqlite_table} SET id = id WHERE 1 = 0"))


_ADVISORY_LOCK = text("SELECT pg_advisory_xact_lock(:key)")


@lru_cache(maxsize=4096)
def lock_key(name: str) -> int:
    """The 64-bit advisory lock key of a lock name."""
    return int.from_bytes(
        hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True
    )
