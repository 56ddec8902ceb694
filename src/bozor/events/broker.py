"""Publishes domain events to a message broker (RabbitMQ, AMQP 0-9-1) for integrators who
consume a queue rather than webhooks.

The worker claims unpublished events with one UPDATE ... RETURNING (rows locked by another
instance are skipped on PostgreSQL), publishes them to a durable topic exchange with the event
type as routing key, as persistent messages, waits for the broker's confirmation of each, and
only then marks them published. While the broker is unreachable the events wait in the table
and the worker retries with back-off. Delivery is at-least-once: a crash between the broker's
confirmation and the mark publishes that batch again, with the same message id (the event's
uid), which consumers use to ignore a repeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange
from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bozor import jobs
from bozor.db import dialect_name, session_scope, utcnow
from bozor.events.models import DomainEvent
from bozor.observability.metrics import current as current_metrics
from bozor.observability.metrics import job_run

log = logging.getLogger(__name__)

PUBLISH_TIMEOUT = 10.0  # seconds for the broker to confirm one message
CLAIM_FOR = timedelta(seconds=120)  # far longer than a batch can take to publish
MAX_BACKOFF = 30.0


@dataclass(frozen=True, slots=True)
class ClaimedEvent:
    id: int
    uid: str
    type: str
    created_at: datetime
    data: dict[str, Any]

    def message(self) -> aio_pika.Message:
        body = {
            "id": self.uid,
            "type": self.type,
            "created_at": self.created_at.isoformat(),
            "data": self.data,
        }
        return aio_pika.Message(
            json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode(),
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=self.uid,
            type=self.type,
            timestamp=self.created_at,
            app_id="bozor",
        )


class BrokerPublisher:
    def __init__(
        self,
        url: str,
        exchange: str,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        interval: float = 0.5,
        batch_size: int = 200,
    ) -> None:
        self.url = url
        self.exchange_name = exchange
        self.session_factory = session_factory
        self.interval = interval
        self.batch_size = batch_size
        self._connection: AbstractConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Publish until `stop` is set; an unreachable broker is retried with back-off."""
        delay = self.interval
        try:
            while not stop.is_set():
                try:
                    with job_run("broker"):
                        while await self.sweep() >= self.batch_size and not stop.is_set():
                            pass  # a backlog: go on at once
                    delay = self.interval
                except Exception as exc:
                    log.warning(
                        "publishing events to the broker failed (%s); retry in %.1fs",
                        _describe(exc),
                        delay,
                    )
                    await self.close()
                    wait, delay = delay, min(MAX_BACKOFF, delay * 2)
                else:
                    wait = self.interval
                await jobs.pause(stop, wait)
        finally:
            await self.close()

    async def sweep(self) -> int:
        """Publish one batch of unpublished events; returns how many the broker confirmed."""
        exchange = await self._ensure_exchange()
        claimed = await self._claim()
        if not claimed:
            return 0
        confirmed: list[int] = []
        try:
            # One channel sends in call order; the confirmations are awaited together.
            results = await asyncio.gather(
                *(
                    exchange.publish(
                        event.message(),
                        routing_key=event.type,
                        mandatory=False,  # an event nobody listens to yet is not an error
                        timeout=PUBLISH_TIMEOUT,
                    )
                    for event in claimed
                ),
                return_exceptions=True,
            )
            confirmed = [
                event.id
                for event, result in zip(claimed, results, strict=True)
                if not isinstance(result, BaseException)
            ]
            failure = next((r for r in results if isinstance(r, BaseException)), None)
            if failure is not None:
                raise failure
        finally:
            await self._finish(confirmed, [event.id for event in claimed])
        metrics = current_metrics.get()
        if metrics is not None:
            metrics.events_published.inc(len(confirmed))
        return len(confirmed)

    async def _ensure_exchange(self) -> AbstractExchange:
        if self._exchange is not None and self._connection is not None:
            if not self._connection.is_closed:
                return self._exchange
            await self.close()
        self._connection = await aio_pika.connect(self.url, timeout=PUBLISH_TIMEOUT)
        self._channel = await self._connection.channel(publisher_confirms=True)
        self._exchange = await self._channel.declare_exchange(
            self.exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
        )
        log.info("publishing domain events to exchange %s", self.exchange_name)
        return self._exchange

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        self._channel = self._exchange = None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()

    async def _claim(self) -> list[ClaimedEvent]:
        now = utcnow()
        claimable = and_(
            DomainEvent.published_at.is_(None),
            or_(
                DomainEvent.publish_locked_until.is_(None),
                DomainEvent.publish_locked_until < now,
            ),
        )
        async with session_scope(self.session_factory) as session:
            due = (
                select(DomainEvent.id)
                .where(claimable)
                .order_by(DomainEvent.id)
                .limit(self.batch_size)
            )
            if dialect_name(session) == "postgresql":
                due = due.with_for_update(skip_locked=True)
            rows = (
                await session.execute(
                    update(DomainEvent)
                    .where(DomainEvent.id.in_(due.scalar_subquery()), claimable)
                    .values(publish_locked_until=now + CLAIM_FOR)
                    .returning(
                        DomainEvent.id,
                        DomainEvent.uid,
                        DomainEvent.type,
                        DomainEvent.created_at,
                        DomainEvent.data,
                    ),
                    execution_options={"synchronize_session": False},
                )
            ).all()
        return sorted((ClaimedEvent(*row) for row in rows), key=lambda event: event.id)

    async def _finish(self, confirmed: list[int], claimed: list[int]) -> None:
        """Mark what the broker confirmed; free the rest of the claim for the next attempt."""
        now = utcnow()
        unconfirmed = sorted(set(claimed) - set(confirmed))
        async with session_scope(self.session_factory) as session:
            if confirmed:
                await session.execute(
                    update(DomainEvent)
                    .where(DomainEvent.id.in_(confirmed))
                    .values(published_at=now, publish_locked_until=None)
                )
            if unconfirmed:
                await session.execute(
                    update(DomainEvent)
                    .where(DomainEvent.id.in_(unconfirmed))
                    .values(publish_locked_until=None)
                )


def _describe(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__
