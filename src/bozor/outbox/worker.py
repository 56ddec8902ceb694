"""Sends the outbox: claims due rows atomically, coalesces bursts to one chat, paces per chat.

Delivery is at-least-once: a row is marked sent right after Telegram accepts it, so a crash
in between can send one message twice, and nothing is lost. A claimed row is locked for the
other instances for CLAIM_FOR, longer than one delivery with all its retries can take.

The worker sweeps when woken (`wake`, set by outbox.wake when a transaction that queued a
message commits, here or on another instance), when a row it put off falls due, and every
`interval` in any case: the periodic sweep finds what no wake announced.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import time
from collections import defaultdict
from collections.abc import Mapping
from datetime import timedelta

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import InputMediaPhoto, Message
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bozor import jobs
from bozor.db import dialect_name, session_scope, utcnow
from bozor.featurekit import Outgoing as Outgoing  # re-exported: renderers import it here
from bozor.featurekit import Renderer as Renderer
from bozor.featurekit import SentHook as SentHook
from bozor.outbox.models import OutboxMessage, OutboxStatus
from bozor.pacing import MemoryPacer, Pacer
from bozor.transient import is_transient

log = logging.getLogger(__name__)

CLAIM_FOR = timedelta(minutes=5)
MAX_ATTEMPTS = 8
# A woken sweep starts at least this long after the previous one: a burst of commits costs
# at most 1/WAKE_GAP sweeps a second, not one each. The messages' own pace is per chat anyway.
WAKE_GAP = 0.05


class OutboxWorker:
    def __init__(
        self,
        bot: Bot,
        session_factory: async_sessionmaker[AsyncSession],
        renderers: Mapping[str, Renderer],
        *,
        interval: float = 0.5,
        per_chat_interval: float = 1.0,
        global_rate: float = 30.0,
        batch_size: int = 500,
        pacer: Pacer | None = None,
        wake: asyncio.Event | None = None,
        wake_gap: float = WAKE_GAP,
    ) -> None:
        self.bot = bot
        self.session_factory = session_factory
        self.renderers = renderers
        self.interval = interval
        self.per_chat_interval = per_chat_interval
        # Shared with the broadcasts (and, through Redis, other instances): together they
        # stay under Telegram's limit.
        self.pacer = pacer or MemoryPacer(global_rate, per_chat_interval)
        self.batch_size = batch_size
        self._next_send_at: dict[int, float] = {}
        self._hooks_ran = False
        self.wake = wake or asyncio.Event()
        self.wake_gap = wake_gap
        # When rows this worker put off (pacing, retry-after, retries) fall due (monotonic):
        # it sweeps then without waiting for the interval or a wake.
        self._due: list[float] = []
        self._full = False  # the last claim took a full batch: more are waiting

    async def run(self, stop: asyncio.Event) -> None:
        """Sweep until `stop` is set."""
        while not stop.is_set():
            started = time.monotonic()
            self.wake.clear()  # a commit from now on is found by this sweep or wakes the next
            while self._due and self._due[0] <= started:
                heapq.heappop(self._due)
            swept = await jobs.run_once("outbox", self.sweep)
            # An after-send hook may have queued a follow-up (the owner's link once the
            # channel post exists): look again at once rather than after the gap.
            hooks_ran, self._hooks_ran = self._hooks_ran, False
            if swept and (hooks_ran or self._full):
                continue
            await self._sleep(stop, started)

    async def _sleep(self, stop: asyncio.Event, started: float) -> None:
        """Until a wake (but not sooner than `wake_gap` after `started`), a put-off row's due
        time, the interval, or `stop`."""
        until = started + self.interval
        if self._due:
            until = min(until, self._due[0])
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self.wake.wait())]
        try:
            await asyncio.wait(
                waiters,
                timeout=max(0.0, until - time.monotonic()),
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            for waiter in waiters:
                waiter.cancel()
        gap = started + self.wake_gap - time.monotonic()
        if gap > 0 and self.wake.is_set() and not stop.is_set():
            await jobs.pause(stop, gap)

    async def sweep(self) -> int:
        """Send what is due now; returns the number of messages sent."""
        groups = await self._claim()
        ready: list[list[OutboxMessage]] = []
        deferred: dict[float, list[int]] = defaultdict(list)
        seen_chats: set[int] = set()
        now = time.monotonic()
        for rows in groups:
            chat_id = rows[0].chat_id
            wait = self._next_send_at.get(chat_id, 0.0) - now
            if wait > 0 or chat_id in seen_chats:
                deferred[max(wait, self.per_chat_interval)].extend(row.id for row in rows)
                continue
            seen_chats.add(chat_id)
            self._next_send_at[chat_id] = now + self.per_chat_interval
            ready.append(rows)
        for wait, ids in deferred.items():
            await self._release(ids, delay=wait)
        results = await asyncio.gather(*(self._deliver(rows) for rows in ready))
        return sum(results)

    async def _claim(self) -> list[list[OutboxMessage]]:
        """Lock the due rows for this worker, in one statement: an UPDATE of the first
        `batch_size` due rows, returning them. On PostgreSQL the sub-select skips rows another
        worker is claiming (`FOR UPDATE SKIP LOCKED`); SQLite runs one writer at a time, so
        two workers never claim the same row either way."""
        now = utcnow()
        free = or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until < now)
        async with session_scope(self.session_factory) as session:
            due = (
                select(OutboxMessage.id)
                .where(
                    OutboxMessage.status == OutboxStatus.PENDING,
                    OutboxMessage.due_at <= now,
                    free,
                )
                .order_by(OutboxMessage.id)
                .limit(self.batch_size)
            )
            if dialect_name(session) == "postgresql":
                due = due.with_for_update(skip_locked=True)
            claimed = await session.scalars(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id.in_(due), OutboxMessage.status == OutboxStatus.PENDING, free
                )
                .values(locked_until=now + CLAIM_FOR)
                .returning(OutboxMessage)
                .execution_options(synchronize_session=False)
            )
            rows = sorted(claimed.all(), key=lambda row: row.id)
        self._full = len(rows) >= self.batch_size
        grouped: dict[tuple[int, str], list[OutboxMessage]] = {}
        for row in rows:
            key = (row.chat_id, row.coalesce_key or f"#{row.id}")
            grouped.setdefault(key, []).append(row)
        return list(grouped.values())

    async def _deliver(self, rows: list[OutboxMessage]) -> int:
        first = rows[0]
        renderer = self.renderers.get(first.kind)
        ids = [row.id for row in rows]
        if renderer is None:
            await self._finish(ids, OutboxStatus.FAILED, error=f"no renderer for {first.kind}")
            return 0
        try:
            async with session_scope(self.session_factory) as session:
                outgoing = await renderer(session, first.chat_id, [row.params for row in rows])
            if outgoing is None:
                await self._finish(ids, OutboxStatus.SENT, error="nothing to say")
                return 0
            await self.pacer.acquire(first.chat_id, max_chat_wait=60.0)
            sent = await self._send(first.chat_id, outgoing)
        except TelegramRetryAfter as exc:
            await self._release(ids, delay=float(exc.retry_after))
            return 0
        except (TelegramForbiddenError, TelegramBadRequest) as exc:
            await self._finish(ids, OutboxStatus.FAILED, error=str(exc))
            return 0
        except (TelegramServerError, TelegramNetworkError) as exc:
            await self._retry_later(rows, str(exc))
            return 0
        except Exception as exc:
            if is_transient(exc):  # Redis or the database went away: not the rows' fault
                log.warning("outbox rows %s wait for a lost connection: %r", ids, exc)
                await self._release(ids, delay=1.0)
                return 0
            # a renderer bug: retried a few times, then given up
            log.exception("outbox rows %s failed", ids)
            await self._retry_later(rows, repr(exc))
            return 0
        if outgoing.on_sent is not None:
            try:
                async with session_scope(self.session_factory) as session:
                    await outgoing.on_sent(session, sent)
                self._hooks_ran = True
            except Exception:  # sent already: not retried, so never sent twice
                log.exception("after-send hook of outbox rows %s failed", ids)
        await self._finish(ids, OutboxStatus.SENT)
        return 1

    async def _send(self, chat_id: int, outgoing: Outgoing) -> list[Message]:
        if outgoing.method is not None:
            result = await self.bot(outgoing.method)
            return [
                m
                for m in (result if isinstance(result, list) else [result])
                if isinstance(m, Message)
            ]
        if outgoing.edit_message_id is not None:
            if outgoing.edit_caption:
                edited = await self.bot.edit_message_caption(
                    chat_id=chat_id,
                    message_id=outgoing.edit_message_id,
                    caption=outgoing.text,
                    reply_markup=outgoing.reply_markup,
                    parse_mode=outgoing.parse_mode,
                )
            else:
                edited = await self.bot.edit_message_text(
                    chat_id=chat_id,
                    message_id=outgoing.edit_message_id,
                    text=outgoing.text,
                    reply_markup=outgoing.reply_markup,
                    parse_mode=outgoing.parse_mode,
                )
            return [edited] if isinstance(edited, Message) else []
        if len(outgoing.photos) > 1:
            media = [
                InputMediaPhoto(
                    media=photo,
                    caption=outgoing.text if i == 0 else None,
                    parse_mode=outgoing.parse_mode,
                )
                for i, photo in enumerate(outgoing.photos[:10])
            ]
            return await self.bot.send_media_group(chat_id=chat_id, media=list(media))
        if outgoing.photos:
            return [
                await self.bot.send_photo(
                    chat_id=chat_id,
                    photo=outgoing.photos[0],
                    caption=outgoing.text,
                    reply_markup=outgoing.reply_markup,
                    parse_mode=outgoing.parse_mode,
                )
            ]
        return [
            await self.bot.send_message(
                chat_id=chat_id,
                text=outgoing.text,
                reply_markup=outgoing.reply_markup,
                parse_mode=outgoing.parse_mode,
            )
        ]

    async def _finish(self, ids: list[int], status: OutboxStatus, error: str | None = None) -> None:
        async with session_scope(self.session_factory) as session:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids))
                .values(
                    status=status,
                    sent_at=utcnow() if status == OutboxStatus.SENT else None,
                    locked_until=None,
                    last_error=error,
                )
            )

    async def _release(self, ids: list[int], *, delay: float) -> None:
        async with session_scope(self.session_factory) as session:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids))
                .values(locked_until=None, due_at=utcnow() + timedelta(seconds=delay))
            )
        self._sweep_in(delay)

    def _sweep_in(self, delay: float) -> None:
        # Read after the due time was written: the sweep comes no earlier than the rows are due.
        heapq.heappush(self._due, time.monotonic() + delay)

    async def _retry_later(self, rows: list[OutboxMessage], error: str) -> None:
        attempts = max(row.attempts for row in rows) + 1
        if attempts >= MAX_ATTEMPTS:
            await self._finish([row.id for row in rows], OutboxStatus.FAILED, error=error)
            return
        async with session_scope(self.session_factory) as session:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_([row.id for row in rows]))
                .values(
                    attempts=attempts,
                    last_error=error,
                    locked_until=None,
                    due_at=utcnow() + timedelta(seconds=min(600, 2**attempts)),
                )
            )
        self._sweep_in(min(600, 2**attempts))
