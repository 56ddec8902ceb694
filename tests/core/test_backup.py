"""`bozor db backup`: a consistent copy of a SQLite database taken while it is written to."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest


def bozor(*args: str, database_url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "bozor", "db", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_backup_is_consistent_while_the_database_is_written(tmp_path: Path) -> None:
    source = tmp_path / "live.sqlite3"
    with sqlite3.connect(source) as setup:
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute("CREATE TABLE pairs (n INTEGER NOT NULL, half INTEGER NOT NULL)")
    stop = threading.Event()
    written = 0

    def write() -> None:
        # Rows go in two at a time, in one transaction: a consistent copy holds an even count.
        nonlocal written
        connection = sqlite3.connect(source, timeout=30)
        try:
            while not stop.is_set():
                with connection:
                    connection.executemany(
                        "INSERT INTO pairs VALUES (?, ?)", [(written, 0), (written, 1)]
                    )
                written += 1
        finally:
            connection.close()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        while written < 200:  # the writer is well under way
            stop.wait(0.01)
        target = tmp_path / "copy.sqlite3"
        result = bozor("backup", str(target), database_url=f"sqlite:///{source}", cwd=tmp_path)
    finally:
        stop.set()
        writer.join()
    assert result.returncode == 0, result.stderr
    assert f"backup written to {target}" in result.stdout
    with sqlite3.connect(target) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        rows = copy.execute("SELECT count(*) FROM pairs").fetchone()[0]
        halves = copy.execute(
            "SELECT count(*) FROM (SELECT n FROM pairs GROUP BY n HAVING count(*) = 2)"
        ).fetchone()[0]
    assert rows > 0 and rows % 2 == 0 and halves == rows // 2
    assert not list(tmp_path.glob("*.partial"))


def test_backup_of_a_bozor_database_keeps_its_schema_revision(
    database_url: str, tmp_path: Path
) -> None:
    if not database_url.startswith("sqlite"):
        result = bozor("backup", database_url=database_url, cwd=tmp_path)
        assert result.returncode == 2
        assert "pg_dump" in result.stderr
        return
    result = bozor("backup", database_url=database_url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (made,) = tmp_path.glob("bozor-backup-*.sqlite3")
    with sqlite3.connect(made) as copy:
        assert copy.execute("SELECT version_num FROM alembic_version").fetchone()
    again = bozor("backup", str(made), database_url=database_url, cwd=tmp_path)
    assert again.returncode == 2 and "exists already" in again.stderr


@pytest.mark.parametrize("url", ["sqlite:///no/such/dir/x.sqlite3"])
def test_backup_of_a_missing_database_says_so(url: str, tmp_path: Path) -> None:
    result = bozor("backup", str(tmp_path / "b.sqlite3"), database_url=url, cwd=tmp_path)
    assert result.returncode == 2
    assert "no database at" in result.stderr
