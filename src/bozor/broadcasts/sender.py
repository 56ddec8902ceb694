"""The broadcast engine: sends deliveries at Telegram's limit, on any number of instances.

Each delivery goes pending → sending → sent (or blocked, failed). A sender claims a batch of
pending rows (a lease, `FOR UPDATE SKIP LOCKED` on PostgreSQL, so instances take different
rows), waits for a slot of the shared pacer, then flips one row to `sending` with a
conditional UPDATE committed *before* calling Telegram: the row that wins the flip is the
only one ever sent, whichever instance or restart looks at it later.

The one ambiguous moment is a call in flight when the process dies (or times out on the
network): Telegram may or may not have delivered it. BROADCAST_GUARANTEE decides:
`at_most_once` (default) records such rows as `unknown` and never sends them again — nobody
gets the message twice, and at most the messages in flight at the crash (a handful: about
rate × latency) may be missing; `at_least_once` sends them again — nobody misses it, and
those few may get it twice. 429 and 5xx answers are unambiguous (not delivered) and are
always retried; 403 marks the user as having blocked the bot.
"""

from __future__ import annotations

import asyncio
import logging
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
from aiogram.types import Message
from sqlalchemy import exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bozor import jobs
from bozor.broadcasts import render, service, status
from bozor.broadcasts.models import Broadcast, BroadcastState, Delivery, DeliveryStatus
from bozor.broadcasts.segments import Segment
from bozor.db import dialect_name, session_scope, utcnow
from bozor.pacing import ChatBusy, Pacer
from bozor.settings import Settings
from bozor.telegram import single_attempt
from bozor.users import service as users_service

log = logging.getLogger(__name__)

REQUEST_TIMEOUT = 20  # seconds one call to Telegram may take
SEND_LEASE = timedelta(seconds=REQUEST_TIMEOUT + 10)  # a `sending` row older is stale
# A claimed batch is this sender's for that long: after a crash its rows wait no longer.
# If a batch outlives it, another sender may claim the rest; the flip to `sending` still
# lets one of them send each row.
CLAIM_FOR = timedelta(seconds=15)
MAX_ATTEMPTS = 6
MAX_IN_FLIGHT = 64


class BroadcastSender:
    def __init__(
        self,
        bot: Bot,
        session_factory: async_sessionmaker[AsyncSession],
        pacer: Pacer,
        settings: Settings,
        segments: Mapping[str, Segment],
    ) -> None:
        self.bot = bot
        self.session_factory = session_factory
        self.pacer = pacer
        self.settings = settings
        self.segments = segments
        self.at_least_once = settings.broadcast_guarantee == "at_least_once"
        # A batch is about two seconds of sending: short enough that a stopped instance
        # holds little, long enough to keep the pacer busy between claims.
        self.batch_size = max(10, int(settings.telegram_rate * 2))
        self._in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)
        self._tasks: set[asyncio.Task[None]] = set()
        self._contents: dict[int, service.Content] = {}

    async def run(self, stop: asyncio.Event) -> None:
        """Send until `stop` is set; calls in flight then finish and are recorded."""
        upkeep = asyncio.create_task(self._upkeep(stop), name="broadcast-upkeep")
        try:
            while not stop.is_set():
                try:
                    sent = await self.send_batch(stop)
                except Exception:
                    log.exception("broadcast sending sweep failed; it runs again")
                    sent = 0
                if sent == 0:
                    await jobs.pause(stop, self.settings.broadcast_interval)
        finally:
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
            await upkeep

    async def _upkeep(self, stop: asyncio.Event) -> None:
        """Start due broadcasts, settle stale rows, finish, edit status messages."""
        await jobs.repeat("broadcast-upkeep", self.settings.broadcast_interval, stop, self.upkeep)

    async def upkeep(self) -> None:
        async with session_scope(self.session_factory) as session:
            # Idle (the usual case): one read, and no write that would take SQLite's lock.
            if not await service.anything_open(session=session):
                return
        async with session_scope(self.session_factory) as session:
            await service.start_due(
                session=session,
                available=self.segments,
                default_language=self.settings.default_language,
            )
        async with session_scope(self.session_factory) as session:
            await self._settle_stale(session)
        async with session_scope(self.session_factory) as session:
            await service.cancel_leftovers(session=session)
            await service.finish_done(session=session)
        await status.refresh_all(
            self.bot,
            self.session_factory,
            self.pacer,
            interval=self.settings.broadcast_status_interval,
        )

    async def _settle_stale(self, session: AsyncSession) -> None:
        """`sending` rows whose call cannot still be running: the sender died mid-call."""
        await session.execute(
            update(Delivery)
            .where(Delivery.status == DeliveryStatus.SENDING, Delivery.locked_until < utcnow())
            .values(
                status=DeliveryStatus.PENDING if self.at_least_once else DeliveryStatus.UNKNOWN,
                locked_until=None,
                error="the sender stopped during the call",
            )
        )

    async def send_batch(self, stop: asyncio.Event) -> int:
        """Claim a batch and send it at the pacer's rhythm; returns the rows handled."""
        rows = await self._claim()
        for index, (delivery_id, broadcast_id, chat_id) in enumerate(rows):
            if stop.is_set():
                await self._release([row[0] for row in rows[index:]])
                break
            try:
                await self.pacer.acquire(chat_id, max_chat_wait=2.0)
            except ChatBusy as busy:
                await self._release([delivery_id], delay=busy.wait)
                continue
            if not await self._mark_sending(delivery_id, broadcast_id):
                continue  # cancelled, or taken by another sender after our claim expired
            await self._in_flight.acquire()
            task = asyncio.create_task(self._send(delivery_id, broadcast_id, chat_id))
            self._tasks.add(task)
            task.add_done_callback(self._done)
        return len(rows)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._in_flight.release()

    async def _claim(self) -> list[tuple[int, int, int]]:
        now = utcnow()
        async with session_scope(self.session_factory) as session:
            query = (
                select(Delivery.id, Delivery.broadcast_id, Delivery.chat_id)
                .where(
                    Delivery.status == DeliveryStatus.PENDING,
                    or_(Delivery.locked_until.is_(None), Delivery.locked_until < now),
                )
                .order_by(Delivery.id)
                .limit(self.batch_size)
            )
            if dialect_name(session) == "postgresql":
                query = query.with_for_update(skip_locked=True)
            rows = [(int(a), int(b), int(c)) for a, b, c in (await session.execute(query)).all()]
            if rows:
                await session.execute(
                    update(Delivery)
                    .where(Delivery.id.in_([row[0] for row in rows]))
                    .values(locked_until=now + CLAIM_FOR)
                )
                await self._load_contents(session, {row[1] for row in rows})
        return rows

    async def _load_contents(self, session: AsyncSession, ids: set[int]) -> None:
        missing = ids - self._contents.keys()
        if missing:
            for broadcast in await session.scalars(
                select(Broadcast).where(Broadcast.id.in_(missing))
            ):
                self._contents[broadcast.id] = service.Content.of(broadcast)
        if len(self._contents) > 1000:
            self._contents = {k: v for k, v in self._contents.items() if k in ids}

    async def _mark_sending(self, delivery_id: int, broadcast_id: int) -> bool:
        async with session_scope(self.session_factory) as session:
            result = await session.execute(
                update(Delivery)
                .where(
                    Delivery.id == delivery_id,
                    Delivery.status == DeliveryStatus.PENDING,
                    # not once the broadcast is cancelled (its rows are settled a bit later)
                    exists().where(
                        Broadcast.id == broadcast_id, Broadcast.state == BroadcastState.RUNNING
                    ),
                )
                .values(
                    status=DeliveryStatus.SENDING,
                    locked_until=utcnow() + SEND_LEASE,
                    attempts=Delivery.attempts + 1,
                )
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def _send(self, delivery_id: int, broadcast_id: int, chat_id: int) -> None:
        method = render.message(self._contents[broadcast_id], chat_id)
        try:
            with single_attempt():  # retries go through the pacer again, not around it
                sent = await self.bot(method, request_timeout=REQUEST_TIMEOUT)
        except TelegramRetryAfter as exc:
            log.warning("Telegram asked to wait %ss (broadcast %s)", exc.retry_after, broadcast_id)
            await self.pacer.pause(float(exc.retry_after))
            await self._again(delivery_id, error=str(exc), count_attempt=False)
        except TelegramForbiddenError as exc:
            await self._finish(delivery_id, DeliveryStatus.BLOCKED, error=str(exc), chat_id=chat_id)
        except TelegramBadRequest as exc:
            await self._finish(delivery_id, DeliveryStatus.FAILED, error=str(exc))
        except TelegramServerError as exc:
            await self._again(delivery_id, error=str(exc))
        except TelegramNetworkError as exc:  # maybe delivered: the guarantee decides
            if self.at_least_once:
                await self._again(delivery_id, error=str(exc))
            else:
                await self._finish(delivery_id, DeliveryStatus.UNKNOWN, error=str(exc))
        except Exception as exc:
            log.exception("broadcast delivery %s failed", delivery_id)
            await self._finish(delivery_id, DeliveryStatus.UNKNOWN, error=repr(exc))
        else:
            message_id = sent.message_id if isinstance(sent, Message) else None
            await self._finish(delivery_id, DeliveryStatus.SENT, message_id=message_id)

    async def _finish(
        self,
        delivery_id: int,
        outcome: DeliveryStatus,
        *,
        error: str | None = None,
        message_id: int | None = None,
        chat_id: int | None = None,
    ) -> None:
        async with session_scope(self.session_factory) as session:
            await session.execute(
                update(Delivery)
                .where(Delivery.id == delivery_id)
                .values(
                    status=outcome,
                    locked_until=None,
                    sent_at=utcnow() if outcome == DeliveryStatus.SENT else None,
                    message_id=message_id,
                    error=error[:500] if error else None,
                )
            )
            if outcome == DeliveryStatus.BLOCKED and chat_id is not None:
                await users_service.mark_blocked(session=session, telegram_id=chat_id)

    async def _again(self, delivery_id: int, *, error: str, count_attempt: bool = True) -> None:
        """Back to pending (Telegram did not deliver it), after a back-off; failed when the
        attempts are used up."""
        async with session_scope(self.session_factory) as session:
            attempts = await session.scalar(
                select(Delivery.attempts).where(Delivery.id == delivery_id)
            )
            attempts = int(attempts or 0)
            running = await session.scalar(
                select(Broadcast.id).where(
                    Broadcast.id == Delivery.broadcast_id,
                    Delivery.id == delivery_id,
                    Broadcast.state == BroadcastState.RUNNING,
                )
            )
            values: dict[str, object]
            if running is None:  # cancelled meanwhile
                values = {"status": DeliveryStatus.CANCELLED, "locked_until": None}
            elif count_attempt and attempts >= MAX_ATTEMPTS:
                values = {"status": DeliveryStatus.FAILED, "locked_until": None}
            else:
                delay = min(300, 2**attempts) if count_attempt else 0
                values = {
                    "status": DeliveryStatus.PENDING,
                    "locked_until": utcnow() + timedelta(seconds=delay) if delay else None,
                    # a 429 is the pacer's doing, not the message's: it does not use up a try
                    "attempts": attempts if count_attempt else attempts - 1,
                }
            await session.execute(
                update(Delivery)
                .where(Delivery.id == delivery_id, Delivery.status == DeliveryStatus.SENDING)
                .values(error=error[:500], **values)
            )

    async def _release(self, ids: list[int], *, delay: float = 0.0) -> None:
        until = utcnow() + timedelta(seconds=delay) if delay else None
        async with session_scope(self.session_factory) as session:
            await session.execute(
                update(Delivery)
                .where(Delivery.id.in_(ids), Delivery.status == DeliveryStatus.PENDING)
                .values(locked_until=until)
            )
