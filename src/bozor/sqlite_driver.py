"""aiosqlite with one trip to the connection's thread per statement.

aiosqlite runs each call of a sqlite3 connection on the connection's own thread: creating a
cursor, executing, fetching the rows and closing the cursor are four hand-offs (a queue, a
thread wake-up, a callback into the event loop and a GIL switch each) for one statement that
SQLAlchemy runs. Under a burst these hand-offs cost more CPU than SQLite itself
(docs/benchmarks.md). `OneTripCursor` creates its sqlite3 cursor, executes, fetches the
first rows and closes the cursor in one hand-off; only a result larger than `PREFETCH` rows
is read on in further trips, as before. A rollback outside a transaction (the pool's, after
every commit) takes no trip. Everything else is aiosqlite's.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

import aiosqlite
from aiosqlite.context import contextmanager

PREFETCH = 1000  # rows fetched with the statement; a larger result is read on by trips


async def _trip(connection: aiosqlite.Connection, function: Any, *args: Any) -> Any:
    """Run `function(*args)` on the connection's thread (aiosqlite's queue)."""
    execute: Any = connection._execute
    return await execute(function, *args)


class OneTripCursor(aiosqlite.Cursor):
    """A cursor whose statement, first rows and close take one trip to the thread."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        super().__init__(conn, None)  # type: ignore[arg-type]  # made in the thread
        self._rows: list[Any] = []
        self._open = False  # rows are left in the sqlite3 cursor

    def _fresh(self) -> sqlite3.Cursor:
        """The sqlite3 cursor for the next statement (the last one was closed after it)."""
        if self._open:
            return self._cursor
        cursor = self._cursor = self._conn._conn.cursor()
        return cursor

    def _run(self, sql: str, parameters: Any) -> list[Any]:
        cursor = self._fresh()
        cursor.execute(sql, parameters)
        rows: list[Any] = []
        if cursor.description is not None:
            rows = cursor.fetchmany(PREFETCH)
            self._open = len(rows) == PREFETCH
        if not self._open:
            cursor.close()  # description, rowcount and lastrowid stay readable
        return rows

    async def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> OneTripCursor:
        self._rows = await _trip(
            self._conn, self._run, sql, () if parameters is None else parameters
        )
        return self

    def _run_many(self, sql: str, parameters: Any) -> None:
        cursor = self._fresh()
        cursor.executemany(sql, parameters)
        cursor.close()
        self._open = False

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> OneTripCursor:
        self._rows = []
        await _trip(self._conn, self._run_many, sql, parameters)
        return self

    async def fetchone(self) -> sqlite3.Row | None:
        if self._rows:
            row: sqlite3.Row = self._rows.pop(0)
            return row
        return await super().fetchone() if self._open else None

    async def fetchmany(self, size: int | None = None) -> Iterable[sqlite3.Row]:
        wanted = self.arraysize if size is None else size
        rows = self._rows[:wanted]
        del self._rows[:wanted]
        if len(rows) < wanted and self._open:
            rows.extend(await super().fetchmany(wanted - len(rows)))
        return rows

    async def fetchall(self) -> Iterable[sqlite3.Row]:
        rows, self._rows = self._rows, []
        if self._open:
            rows.extend(await super().fetchall())
        return rows

    async def close(self) -> None:
        self._rows = []
        if self._open:
            self._open = False
            await super().close()


class OneTripConnection(aiosqlite.Connection):
    """An aiosqlite connection whose cursors take one trip per statement."""

    @contextmanager
    async def cursor(self) -> aiosqlite.Cursor:
        return OneTripCursor(self)  # no trip: its sqlite3 cursor is made with the statement

    async def rollback(self) -> None:
        # SQLAlchemy's pool rolls back every connection it takes back, after each commit too:
        # outside a transaction there is nothing to undo, and no trip is needed to know it.
        connection = self._connection
        if connection is not None and not connection.in_transaction:
            return
        await super().rollback()


def connect(database: str, **kwargs: Any) -> OneTripConnection:
    """Like `aiosqlite.connect`; awaiting the result opens the connection."""

    def connector() -> sqlite3.Connection:
        opened: sqlite3.Connection = sqlite3.connect(database, **kwargs)
        return opened

    connection = OneTripConnection(connector, 64)
    connection._thread.daemon = True  # as SQLAlchemy does for aiosqlite's own connections
    return connection
