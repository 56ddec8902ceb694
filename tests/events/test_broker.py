"""Domain events published to RabbitMQ: once per event, by several publishers at once, and
after the broker was unreachable for a while."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import aio_pika
import pytest
from aio_pika.abc import AbstractIncomingMessage
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bozor.emulator import Emulator
from bozor.events import service as events
from bozor.events.broker import BrokerPublisher
from bozor.events.models import DomainEvent
from bozor.faults import TcpProxy
from bozor.testing import eventually, start_bozor

pytestmark = pytest.mark.rabbitmq


class Consumer:
    """Queues bound to a test's own exchange, recording what arrives."""

    def __init__(self, connection: aio_pika.abc.AbstractConnection, exchange: str) -> None:
        self.connection = connection
        self.exchange = exchange
        self.received: dict[str, list[AbstractIncomingMessage]] = {}

    async def bind(self, name: str, routing_key: str) -> None:
        channel = await self.connection.channel()
        exchange = await channel.declare_exchange(
            self.exchange, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange, routing_key)
        self.received[name] = []

        async def keep(message: AbstractIncomingMessage) -> None:
            self.received[name].append(message)
            await message.ack()

        await queue.consume(keep)


@pytest.fixture
async def consumer(amqp_url: str) -> AsyncIterator[Consumer]:
    connection = await aio_pika.connect(amqp_url)
    exchange = f"bozor.test.{uuid.uuid4().hex}"
    try:
        yield Consumer(connection, exchange)
    finally:
        channel = await connection.channel()
        await channel.exchange_delete(exchange)
        await connection.close()


async def publish_events(db: async_sessionmaker[AsyncSession], count: int, start: int = 0) -> None:
    async with db() as session:
        for n in range(start, start + count):
            kind = events.REFERRAL_CONFIRMED if n % 3 == 0 else events.REFERRAL_CREATED
            await events.publish(session=session, type=kind, data={"n": n})
        await session.commit()


async def unpublished(db: async_sessionmaker[AsyncSession]) -> int:
    async with db() as session:
        return int(
            await session.scalar(select(func.count()).where(DomainEvent.published_at.is_(None)))
            or 0
        )


async def test_several_publishers_publish_each_event_once(
    db: async_sessionmaker[AsyncSession], consumer: Consumer, amqp_url: str
) -> None:
    await consumer.bind("all", "#")
    await consumer.bind("confirmed", "referral.confirmed")
    await publish_events(db, 300)
    stop = asyncio.Event()
    publishers = [
        BrokerPublisher(amqp_url, consumer.exchange, db, interval=0.05, batch_size=20)
        for _ in range(3)
    ]
    tasks = [asyncio.create_task(p.run(stop)) for p in publishers]
    try:

        async def all_arrived() -> bool:
            return len(consumer.received["all"]) >= 300 and await unpublished(db) == 0

        await eventually(all_arrived, timeout=30)
        await asyncio.sleep(0.3)  # room for a duplicate, if there were one
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    received = consumer.received["all"]
    ids = [m.message_id for m in received]
    assert len(ids) == len(set(ids)) == 300
    async with db() as session:
        uids = set(await session.scalars(select(DomainEvent.uid)))
    assert set(ids) == uids
    first = received[0]
    body = json.loads(first.body)
    assert body["id"] == first.message_id and body["type"] == first.type == first.routing_key
    assert set(body) == {"id", "type", "created_at", "data"}
    assert first.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert first.content_type == "application/json"
    confirmed = consumer.received["confirmed"]
    assert len(confirmed) == 100
    assert {m.routing_key for m in confirmed} == {events.REFERRAL_CONFIRMED}


async def test_events_wait_while_the_broker_is_unreachable_then_go_once(
    db: async_sessionmaker[AsyncSession], consumer: Consumer, amqp_url: str
) -> None:
    await consumer.bind("all", "#")
    target = urlsplit(amqp_url)
    async with TcpProxy(target.hostname or "127.0.0.1", target.port or 5672) as proxy:
        through = amqp_url.replace(f"{target.hostname}:{target.port}", f"127.0.0.1:{proxy.port}")
        publisher = BrokerPublisher(through, consumer.exchange, db, interval=0.05)
        stop = asyncio.Event()
        task = asyncio.create_task(publisher.run(stop))
        try:
            await publish_events(db, 10)

            async def first_ten() -> bool:
                return len(consumer.received["all"]) == 10 and await unpublished(db) == 0

            await eventually(first_ten)
            await proxy.cut()  # the broker goes away: the connection drops, no new one
            await publish_events(db, 15, start=10)
            await asyncio.sleep(1.0)  # several failed attempts
            assert await unpublished(db) == 15
            assert len(consumer.received["all"]) == 10
            assert not task.done(), "the publisher keeps trying"
            await proxy.start()

            async def all_of_them() -> bool:
                return len(consumer.received["all"]) >= 25 and await unpublished(db) == 0

            await eventually(all_of_them, timeout=60)
            await asyncio.sleep(0.3)
        finally:
            stop.set()
            await task
    ids = [m.message_id for m in consumer.received["all"]]
    assert len(ids) == len(set(ids)) == 25
    bodies = [json.loads(m.body)["data"]["n"] for m in consumer.received["all"]]
    assert bodies == list(range(25)), "in the order they happened"


async def test_bozor_publishes_what_happens_in_the_bot(
    emulator: Emulator,
    database_url: str,
    db: async_sessionmaker[AsyncSession],
    consumer: Consumer,
    amqp_url: str,
) -> None:
    """With AMQP_URL set, the worker role publishes; a referral made in the bot arrives."""
    await consumer.bind("referrals", "referral.*")
    async with start_bozor(
        emulator, database_url, db, amqp_url=amqp_url, amqp_exchange=consumer.exchange
    ) as bozor:
        alice, bob = await bozor.user("Alice"), await bozor.user("Bob")
        await bozor.start(alice)
        await bozor.start(bob, await bozor.referral_code(alice))

        async def arrived() -> bool:
            return bool(consumer.received["referrals"])

        await eventually(arrived)
    message = consumer.received["referrals"][0]
    assert message.routing_key == events.REFERRAL_CREATED
    assert json.loads(message.body)["type"] == events.REFERRAL_CREATED
