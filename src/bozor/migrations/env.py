"""Alembic environment. Bozor runs migrations itself (`bozor db upgrade`, and at start-up),
handing a live connection in `config.attributes["connection"]`."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection

import bozor.models  # noqa: F401  (registers every table)
from bozor.db import Base, UTCDateTime
from bozor.migrate import include_name

config = context.config
target_metadata = Base.metadata


def render_item(kind: str, obj: Any, _context: AutogenContext) -> str | Literal[False]:
    """Migrations name plain SQLAlchemy types, never Bozor's own, so old ones keep working."""
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters by copying tables
        compare_type=True,
        render_item=render_item,
        include_name=include_name,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # several instances starting at once: one migrates, the others wait, then see head
            context.execute("SELECT pg_advisory_xact_lock(7720190)")
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `bozor db upgrade`")
run_migrations(connection)
