"""`bozor db backup`: a consistent copy of a SQLite database, taken while Bozor runs.

SQLite's online backup API copies pages under a read transaction, so the copy is one moment of
the database even while other connections write (a plain file copy of a WAL database is not).
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(Exception):
    """The backup cannot be made; `str()` says why in one line."""


def default_name() -> Path:
    return Path(f"bozor-backup-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.sqlite3")


def backup_sqlite(database_url: str, target: Path | None = None, *, pages: int = 1024) -> Path:
    """Copy the database at `database_url` to `target` (a new file); returns the path written."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        raise BackupError(
            "db backup copies SQLite databases; for PostgreSQL use pg_dump (see docs/deployment.md)"
        )
    if not url.database or url.database == ":memory:":
        raise BackupError("DATABASE_URL names no SQLite file")
    source = Path(url.database)
    if not source.is_file():
        raise BackupError(f"no database at {source}")
    target = target or default_name()
    if target.exists():
        raise BackupError(f"{target} exists already; name a new file")
    partial = target.with_name(target.name + ".partial")
    try:
        reader = sqlite3.connect(source, timeout=30)
        try:
            writer = sqlite3.connect(partial)
            try:
                # Pages in steps: writers to the live database wait only step by step.
                reader.backup(writer, pages=pages)
                writer.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            finally:
                writer.close()
        finally:
            reader.close()
        partial.replace(target)  # the backup appears whole or not at all
    except (sqlite3.Error, OSError) as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"backup of {source} failed: {exc}") from None
    return target
