"""Wakes the outbox worker as soon as a transaction that queued a message commits.

`outbox.service.enqueue` marks its session (`session.info[WRITTEN]`); an `after_commit` listener
on the process's session factory sees the mark once the whole transaction has committed, so
every edge that commits (the bot's per-update transaction, API requests, jobs, the dashboard)
wakes the sender without knowing about it, and a rolled-back message wakes nobody.

- A process that runs the outbox worker sets the worker's event: it sweeps at once.
- A process without one (`bozor bot`, `bozor api`) tells the other instances: Redis pub/sub when
  REDIS_URL is set, else PostgreSQL's LISTEN/NOTIFY; the workers there listen. The message is
  published after the commit, so the row is visible when it arrives; commits that happen while a
  message is being published share the next one. A wake lost on the way (a dropped connection,
  a crash right after the commit, a row written by another program) costs one sweep interval:
  the periodic sweep stays as the safety net.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import event, make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, SessionTransaction

log = logging.getLogger(__name__)

WRITTEN = "outbox_written"  # session.info key: this transaction queued an outbox message
PG_CHANNEL = "bozor_outbox"  # NOTIFY channels are per database
APPLICATION_NAME = "bozor-outbox-wake"  # the connection's name in pg_stat_activity
RETRY_MAX = 30.0  # seconds between reconnection attempts, at most
HEARTBEAT = 15.0  # seconds: a listener that stopped hearing anything notices within this


class Remote(Protocol):
    """Wakes between instances."""

    name: str

    async def run(self, stop: asyncio.Event, on_wake: Callable[[], None] | None) -> None:
        """Keep the connection until `stop`, calling `on_wake` (when given) on every message."""

    async def publish(self) -> None:
        """Tell the listening instances that a message was committed."""


class OutboxWake:
    """This process's wake: `event` is the local worker's; `remote` reaches the others."""

    def __init__(self, remote: Remote | None = None) -> None:
        self.event = asyncio.Event()
        self.remote = remote
        self.local_worker = False  # set by run(): a worker in this process is woken directly
        self._loop: asyncio.AbstractEventLoop | None = None
        self._dirty = False
        self._publishing: asyncio.Task[None] | None = None

    def attach(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        """Wake on every commit, through `session_factory`'s sessions, that queued a message."""
        base = session_factory.kw.get("sync_session_class", Session)
        # A subclass of this factory's own: the listeners see this factory's sessions only
        # (tests run several Bozor instances in one process).
        session_class = type("OutboxWakingSession", (base,), {})
        event.listen(session_class, "after_commit", self._after_commit)
        event.listen(session_class, "after_transaction_end", self._after_transaction_end)
        session_factory.configure(sync_session_class=session_class)

    def _after_commit(self, session: Session) -> None:
        # Also called when a SAVEPOINT is released: only the outermost commit makes rows visible.
        if session.in_nested_transaction() or not session.info.pop(WRITTEN, False):
            return
        self.committed()

    @staticmethod
    def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
        if transaction.parent is None:  # rolled back (a commit has taken the mark already)
            session.info.pop(WRITTEN, None)

    def committed(self) -> None:
        """A message was committed. Callable from any thread (SQLAlchemy's events are sync)."""
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        # The async session runs its sync events in a greenlet on the event loop's thread, so
        # this is normally direct; a session used from another thread goes through the loop.
        loop = self._loop or running
        if loop is None:
            return  # not serving yet: the first sweep finds the row
        if running is loop:
            self._on_loop()
        else:
            loop.call_soon_threadsafe(self._on_loop)

    def _on_loop(self) -> None:
        if self.local_worker or self.remote is None:
            self.event.set()
            return
        self._dirty = True
        if self._publishing is None or self._publishing.done():
            self._publishing = asyncio.get_running_loop().create_task(
                self._publish(), name="outbox-wake-publish"
            )

    async def _publish(self) -> None:
        assert self.remote is not None
        while self._dirty:  # commits made meanwhile share the next message
            self._dirty = False
            try:
                await self.remote.publish()
            except Exception:  # the remote logs its state; the sweep delivers meanwhile
                return

    async def run(self, stop: asyncio.Event, *, listen: bool) -> None:
        """Until `stop`: with `listen` (a worker runs here), wake it on the other instances'
        messages; without, keep the connection that tells them."""
        self._loop = asyncio.get_running_loop()
        self.local_worker = listen
        if self.remote is not None:
            await self.remote.run(stop, self.event.set if listen else None)


class _Health:
    """Logs a connection's state changes once each, not once per attempt."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.up: bool | None = None

    def ok(self, listening: bool) -> None:
        if self.up is False or (self.up is None and listening):
            again = " again" if self.up is False else ""
            what = "listening" if listening else "publishing"
            log.info("outbox wake: %s%s through %s", what, again, self.name)
        self.up = True

    def lost(self, exc: BaseException) -> None:
        if self.up is not False:
            log.warning(
                "outbox wake: %s unavailable (%r); messages wait for the periodic sweep "
                "until it is back",
                self.name,
                exc,
            )
        self.up = False


async def _backoff(stop: asyncio.Event, delay: float) -> float:
    """Wait `delay` (or until `stop`) and return the next, doubled, delay."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=delay)
    return min(delay * 2, RETRY_MAX)


class PostgresRemote:
    """LISTEN/NOTIFY on one dedicated connection (outside the pool: a listener holds it)."""

    name = "PostgreSQL LISTEN/NOTIFY"

    def __init__(self, database_url: str) -> None:
        url = make_url(database_url)
        # As SQLAlchemy's asyncpg dialect passes them (its own cache size aside).
        self._connect_args: dict[str, Any] = {
            **url.translate_connect_args(username="user"),
            **{k: v for k, v in url.query.items() if k != "prepared_statement_cache_size"},
            "server_settings": {"application_name": APPLICATION_NAME},
        }
        self._connection: Any = None  # asyncpg.Connection while connected
        self._lock = asyncio.Lock()  # one statement at a time on the connection
        self._health = _Health(self.name)

    async def run(self, stop: asyncio.Event, on_wake: Callable[[], None] | None) -> None:
        import asyncpg

        errors = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)
        delay = 0.5
        while not stop.is_set():
            try:
                connection = await asyncpg.connect(**self._connect_args, timeout=10)
            except errors as exc:
                self._health.lost(exc)
                delay = await _backoff(stop, delay)
                continue
            try:
                await self._hold(connection, stop, on_wake)
            except errors as exc:
                self._health.lost(exc)
                delay = await _backoff(stop, delay)
            else:
                delay = 0.5
            finally:
                self._connection = None
                connection.terminate()

    async def _hold(
        self, connection: Any, stop: asyncio.Event, on_wake: Callable[[], None] | None
    ) -> None:
        """Listen (and publish) on `connection` until `stop`; raises when it is lost."""
        lost = asyncio.Event()
        connection.add_termination_listener(lambda _connection: lost.set())
        if on_wake is not None:
            await connection.add_listener(PG_CHANNEL, lambda *_args: on_wake())
            on_wake()  # what was committed while nobody listened
        self._connection = connection
        self._health.ok(on_wake is not None)
        while not stop.is_set():
            await _first(stop, lost, timeout=HEARTBEAT)
            if lost.is_set():
                raise ConnectionError("the connection was closed")
            if not stop.is_set():
                async with self._lock:  # a silently dropped connection raises here
                    await connection.execute("SELECT 1", timeout=10)

    async def publish(self) -> None:
        connection = self._connection
        if connection is None:
            return  # reconnecting (logged): the sweep delivers meanwhile
        async with self._lock:
            await connection.execute(f"NOTIFY {PG_CHANNEL}", timeout=10)


class RedisRemote:
    """Redis pub/sub on one channel per REDIS_PREFIX."""

    name = "Redis pub/sub"

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self.channel = f"{prefix}:outbox-wake"
        self._health = _Health(self.name)

    async def run(self, stop: asyncio.Event, on_wake: Callable[[], None] | None) -> None:
        if on_wake is None:
            await stop.wait()  # publishing uses the shared client's pool
            return
        delay = 0.5
        while not stop.is_set():
            pubsub = self._redis.pubsub()
            try:
                await pubsub.subscribe(self.channel)
                on_wake()  # what was committed while nobody listened
                self._health.ok(listening=True)
                delay = 0.5
                pinged_at = time.monotonic()
                while not stop.is_set():
                    # Short waits: `stop` is seen within a second.
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
                    if message is not None and message["type"] == "message":
                        on_wake()
                    elif time.monotonic() - pinged_at > HEARTBEAT:
                        await pubsub.ping()  # a silently dropped connection raises here
                        pinged_at = time.monotonic()
            except (OSError, RedisError) as exc:
                self._health.lost(exc)
                delay = await _backoff(stop, delay)
            finally:
                with contextlib.suppress(OSError, RedisError):
                    await pubsub.aclose()

    async def publish(self) -> None:
        try:
            await self._redis.publish(self.channel, b"")
        except (OSError, RedisError) as exc:
            self._health.lost(exc)
            raise
        self._health.ok(listening=False)


async def _first(*events: asyncio.Event, timeout: float) -> None:
    """Return when one of `events` is set, or after `timeout`."""
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


def create_wake(database_url: str, redis: Redis | None, redis_prefix: str) -> OutboxWake:
    """Redis pub/sub when Redis is configured, else LISTEN/NOTIFY on PostgreSQL; on SQLite
    without Redis (one process) the wake stays in-process."""
    if redis is not None:
        return OutboxWake(RedisRemote(redis, redis_prefix))
    if make_url(database_url).get_backend_name() == "postgresql":
        return OutboxWake(PostgresRemote(database_url))
    return OutboxWake()
