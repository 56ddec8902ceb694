"""Schema migrations with Alembic, run on a live async engine."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

# Made by migrations and not described by the models, because they differ by database: the
# ads' full-text search (migration d3a9c1f0b7e4). Autogenerate and the schema test skip them.
UNMODELLED_TABLE_PREFIX = "classified_ads_fts"
UNMODELLED_NAMES = frozenset({"search_vector", "ix_classified_ads_search_vector"})


def include_name(name: str | None, type_: str, _parents: object) -> bool:
    """Alembic's `include_name`: False for what the models leave to the migrations."""
    if name is None:
        return True
    if type_ == "table" and name.startswith(UNMODELLED_TABLE_PREFIX):
        return False
    return name not in UNMODELLED_NAMES


LOCK_KEY = 0x626F7A6F72  # "bozor": the advisory lock held while migrating on PostgreSQL


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("bozor") / "migrations"))
    config.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s")
    return config


async def _run(engine: AsyncEngine, action: Callable[[Config], object]) -> None:
    """Run an Alembic command on a live connection of `engine`, in one transaction."""

    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        action(config)

    if engine.dialect.name == "sqlite":
        await _run_sqlite(engine, run)
        return
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Instances starting together migrate one after the other (the next finds nothing
            # left to do); the lock ends with the transaction.
            await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
        await connection.run_sync(run)


async def _run_sqlite(engine: AsyncEngine, run: Callable[[Connection], None]) -> None:
    """On SQLite with foreign keys off: a migration that rebuilds a table (Alembic's batch
    mode copies it and drops the old one) would otherwise cascade the drop to every row that
    points at it. The keys are checked once it is done, then switched on again."""
    async with engine.connect() as connection:
        await connection.exec_driver_sql("PRAGMA foreign_keys=OFF")  # no-op inside a transaction
        await connection.commit()
        try:
            async with connection.begin():
                await connection.run_sync(run)
                broken = (await connection.exec_driver_sql("PRAGMA foreign_key_check")).all()
                if broken:
                    raise RuntimeError(f"the migration broke foreign keys: {broken[:5]}")
        finally:
            await connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            await connection.commit()


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the database schema up to `revision`."""
    await _run(engine, lambda config: command.upgrade(config, revision))


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    """Take the database schema back to `revision`."""
    await _run(engine, lambda config: command.downgrade(config, revision))


async def current_revision(engine: AsyncEngine) -> str | None:
    def _current(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as connection:
        return await connection.run_sync(_current)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def autogenerate(engine: AsyncEngine, message: str) -> None:
    """Write a new revision from the difference between the models and the database."""
    await _run(engine, lambda config: command.revision(config, message=message, autogenerate=True))
