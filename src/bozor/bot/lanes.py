"""Two lanes for incoming updates, so that money never queues behind a crowd.

Telegram cancels a payment whose pre-checkout query is not answered within 10 s, and a buyer
who has paid is waiting for the code; neither may wait behind a burst of 2,000 `/start`.
Every update is classified here: pre-checkout queries, successful payments and refunds go
to the priority lane, everything else to the normal lane.

- Each lane handles a bounded number of updates at once: the normal lane about two per
  database connection (not hundreds of tasks queueing for the pool), the priority lane a
  few. While a priority update runs, the normal lane finishes what it started but starts
  nothing new, so the payment has the event loop (and the database) nearly to itself.
- The priority lane has database connections of its own: a session opened while handling a
  priority update (`LaneSessions`) comes from a small separate pool, so it never waits for a
  connection the backlog holds.
- Long polling (`Lanes.poll`) reads Telegram's queue ahead into a bounded backlog: a payment
  behind a burst is seen as soon as it arrives and starts at once. Webhook requests
  (`Lanes.feed`) wait for their lane's turn (Telegram holds an update until it is answered).
- One chat's updates from the backlog are handled one after another, in Telegram's order, as
  Telegram's webhook delivers them: "/register" then "2223" must not race each other into a
  dialogue. A worker that takes an update of a chat already being handled hands it to the
  worker handling that chat and takes the next one.

Both paths call the dispatcher as aiogram does: `feed_update`, and in polling
`_process_update`, which also sends the TelegramMethod a handler returned.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.dispatcher.middlewares.user_context import UserContextMiddleware
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import GetUpdates
from aiogram.types import Update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bozor.telegram import single_attempt

log = logging.getLogger(__name__)

PRIORITY_CONNECTIONS = 2  # database connections kept for the priority lane
PRIORITY_CONCURRENCY = 8  # priority updates handled at once (a burst of buyers waits its turn)
POLL_RETRY_MAX = 30.0  # seconds between two getUpdates tries while Telegram does not answer

_in_priority_lane: ContextVar[bool] = ContextVar("bozor_priority_lane", default=False)


def is_priority(update: Update) -> bool:
    """Money: a pre-checkout query (10 s to answer), a successful payment or a refund."""
    if update.pre_checkout_query is not None:
        return True
    message = update.message
    return message is not None and (
        message.successful_payment is not None or message.refunded_payment is not None
    )


def chat_of(update: Update) -> int | None:
    """The chat whose updates must keep their order (the user's, when there is no chat)."""
    context = UserContextMiddleware.resolve_event_context(update)
    return context.chat_id if context.chat_id is not None else context.user_id


class LaneSessions(async_sessionmaker[AsyncSession]):
    """The process's session factory. A session opened while a priority update is handled is
    bound to `priority_engine` (its own small pool); every other session to `engine`."""

    def __init__(self, engine: AsyncEngine, priority_engine: AsyncEngine | None) -> None:
        super().__init__(engine, expire_on_commit=False, autoflush=False)
        self.priority_engine = priority_engine

    def __call__(self, **local_kw: Any) -> AsyncSession:
        if self.priority_engine is not None and _in_priority_lane.get():
            local_kw.setdefault("bind", self.priority_engine)
        return super().__call__(**local_kw)


class Lanes:
    """Handles updates in two bounded lanes; see the module's docstring."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        bot: Bot,
        *,
        concurrency: int,
        backlog: int,
        priority_concurrency: int = PRIORITY_CONCURRENCY,
    ) -> None:
        self.dispatcher = dispatcher
        self.bot = bot
        self.concurrency = concurrency
        self._normal = asyncio.Semaphore(concurrency)
        self._priority = asyncio.Semaphore(priority_concurrency)
        self._backlog: asyncio.Queue[Update] = asyncio.Queue()
        # Room for updates taken and not yet handled, those waiting behind their chat included.
        self._room = asyncio.Semaphore(backlog)
        self._workers: list[asyncio.Task[None]] = []
        # Chats with an update being handled -> their later updates, waiting in order.
        self._chats: dict[int, deque[Update]] = {}
        self._priority_tasks: set[asyncio.Task[Any]] = set()
        # While a priority update runs, the normal lane starts nothing new: on a busy process
        # every await of the payment's handler would otherwise queue behind all the others.
        self._priority_running = 0
        self._no_priority = asyncio.Event()
        self._no_priority.set()

    @asynccontextmanager
    async def _lane(self, update: Update) -> AsyncIterator[None]:
        if not is_priority(update):
            await self._no_priority.wait()
            async with self._normal:
                yield
            return
        self._priority_running += 1
        self._no_priority.clear()
        try:
            async with self._priority:
                token = _in_priority_lane.set(True)
                try:
                    yield
                finally:
                    _in_priority_lane.reset(token)
        finally:
            self._priority_running -= 1
            if not self._priority_running:
                self._no_priority.set()

    async def feed(self, update: Update) -> Any:
        """Handle one update in its lane; returns what the handlers returned, for the caller
        to send (a webhook request)."""
        async with self._lane(update):
            return await self.dispatcher.feed_update(self.bot, update)

    async def _process(self, update: Update) -> None:
        """Handle one update in its lane and send what its handler returned (polling)."""
        async with self._lane(update):
            await self.dispatcher._process_update(self.bot, update)

    async def poll(self, *, polling_timeout: int, allowed_updates: list[str]) -> None:
        """Long polling until cancelled: priority updates start at once, the others wait in
        the backlog for one of the normal lane's workers. A full backlog stops reading, so
        the rest stays in Telegram's queue (unconfirmed)."""
        if not self._workers:
            self._workers = [
                asyncio.create_task(self._work(), name=f"updates-{i}")
                for i in range(self.concurrency)
            ]
        async for update in self._updates(polling_timeout, allowed_updates):
            if is_priority(update):
                task = asyncio.create_task(self._process(update))
                self._priority_tasks.add(task)
                task.add_done_callback(self._priority_tasks.discard)
            else:
                await self._room.acquire()
                self._backlog.put_nowait(update)

    async def _updates(
        self, polling_timeout: int, allowed_updates: list[str]
    ) -> AsyncIterator[Update]:
        """Telegram's queue: an update is confirmed to Telegram (the offset moves past it) only
        once the loop has taken it. While Telegram does not answer, getUpdates is tried again
        with back-off and jitter; the outage is logged once, by the bot's TelegramLink (which
        hears every attempt), not once per try as aiogram's own reader does."""
        request = GetUpdates(timeout=polling_timeout, allowed_updates=allowed_updates)
        # Longer than the long poll itself, so that an empty poll is no timeout.
        request_timeout = int((self.bot.session.timeout or 0) + polling_timeout)
        delay = 0.0
        while True:
            try:
                with single_attempt():  # this loop retries, with its own back-off
                    updates = await self.bot(request, request_timeout=request_timeout)
            except TelegramRetryAfter as exc:
                await asyncio.sleep(exc.retry_after)
                continue
            except Exception as exc:  # polling never stops; TelegramLink logs the outage
                delay = min(POLL_RETRY_MAX, max(0.5, delay * 2))
                log.debug("getUpdates failed (%r); again in up to %.1fs", exc, delay)
                await asyncio.sleep(random.uniform(delay / 2, delay))
                continue
            delay = 0.0
            for update in updates:
                yield update
                request.offset = update.update_id + 1

    async def _work(self) -> None:
        while True:
            update = await self._backlog.get()
            chat = chat_of(update)
            if chat is None:
                await self._handle(update)
                continue
            if chat in self._chats:  # its worker takes it after the chat's earlier ones
                self._chats[chat].append(update)
                continue
            waiting = self._chats[chat] = deque([update])
            try:
                while waiting:
                    await self._handle(waiting[0])
                    waiting.popleft()
            finally:
                del self._chats[chat]

    async def _handle(self, update: Update) -> None:
        try:
            await self._process(update)
        finally:
            self._backlog.task_done()
            self._room.release()

    @property
    def backlog(self) -> int:
        """Updates taken from Telegram and not yet handled (being handled not counted)."""
        return self._backlog.qsize() + sum(len(w) - 1 for w in self._chats.values())

    async def drain(self, timeout: float) -> None:
        """At shutdown, once polling stopped: finish the updates already taken from Telegram
        (it will not deliver them again), for up to `timeout` seconds."""
        waiting = [
            asyncio.create_task(self._backlog.join()),
            *self._priority_tasks,
        ]
        _, pending = await asyncio.wait(waiting, timeout=timeout)
        if pending and self.backlog:
            log.error("stopped with %d update(s) taken from Telegram and not handled", self.backlog)
        for task in (*pending, *self._workers):
            task.cancel()
        await asyncio.gather(*pending, *self._workers, return_exceptions=True)
        self._workers = []
