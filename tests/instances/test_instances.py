"""Several Bozor instances (`bozor run` processes) in webhook mode behind the emulator, which
delivers round-robin as a reverse proxy would, sharing one PostgreSQL and one Redis.

Thousands of updates: nothing handled twice or lost; an update delivered twice is handled once;
an instance killed in the middle, PostgreSQL connections terminated and Redis connections
killed are all survived."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.classifieds.helpers import fill_dialogue, picture

from bozor.emulator import Emulator, EmulatorDriver
from bozor.instances import Instance, start_instance
from bozor.referrals.models import Referral
from bozor.testing import TEST_BOT_TOKEN, eventually
from bozor.updates.models import ProcessedUpdate
from bozor.users.models import User

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.xdist_group("instances"),  # heavy: one at a time on this machine
    pytest.mark.parametrize("database_url", ["postgres"], indirect=True),
    pytest.mark.timeout(150),  # about 30-50 s each on an idle 2-core machine
]

SECRET = "instances-webhook-secret"


class Cluster:
    def __init__(self, driver: EmulatorDriver, instances: list[Instance], redis_name: str) -> None:
        self.driver = driver
        self.instances = instances
        self.redis_name = redis_name  # the client name of Bozor's Redis connections


@asynccontextmanager
async def cluster(
    emulator: Emulator,
    database_url: str,
    redis_url: str,
    folder: Path,
    count: int,
    *,
    worker_errors: bool = False,
) -> AsyncIterator[Cluster]:
    """`count` instances behind the emulator. Their logs must show no traceback, except, with
    `worker_errors`, a background sweep's that failed and will run again."""
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    env = {
        "BOT_TOKEN": TEST_BOT_TOKEN,
        "TELEGRAM_API_URL": emulator.url,
        "DATABASE_URL": database_url,
        # client_name lets the Redis test kill Bozor's connections and nobody else's
        "REDIS_URL": f"{redis_url}?client_name={prefix}",
        "REDIS_PREFIX": prefix,
        "WEBHOOK_SECRET": SECRET,
        "AUTO_MIGRATE": "false",
        "OUTBOX_INTERVAL": "0.1",
        "DATABASE_POOL_SIZE": "10",
        "THROTTLE_RATE": "50",
        "THROTTLE_BURST": "50",
        # The emulator keeps no flood limits here: replies paced to Telegram's 30/s would make
        # these tests about the pacer (tests/core/test_replies.py is) rather than exactness.
        "TELEGRAM_RATE": "1000",
    }
    instances = list(
        await asyncio.gather(
            *(start_instance(env, folder, name=f"bozor-{n}") for n in range(count))
        )
    )
    try:
        async with EmulatorDriver(emulator.url, TEST_BOT_TOKEN) as driver:
            await driver.set_webhook_targets([instance.webhook for instance in instances])
            yield Cluster(driver, instances, prefix)
    finally:
        codes = await asyncio.gather(*(instance.stop() for instance in instances))
        redis = Redis.from_url(redis_url)
        keys = [key async for key in redis.scan_iter(f"{prefix}:*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()
    for instance, code in zip(instances, codes, strict=True):
        log = instance.log.read_text()
        if not worker_errors:
            assert "Traceback" not in log, log[-3000:]
        errors = [line for line in log.splitlines() if " ERROR " in line[:40]]
        for line in errors:  # each traceback belongs to one of these records
            assert worker_errors and "sweep failed" in line, log[-3000:]
        assert code == 0 or not instance.alive, f"exit {code}:\n{log[-3000:]}"


async def blast(
    driver: EmulatorDriver,
    users: list[int],
    texts: list[str],
    during: Callable[[int], Awaitable[None]] | None = None,
) -> None:
    """Every user sends the texts in order, all users at once; returns once every update was
    delivered (answered 2xx, which Bozor does after its reply). `during(delivered)` is called
    as deliveries succeed, to break something in the middle."""

    async def delivered() -> int:
        return int((await driver.stats())["webhook_deliveries"]) - before

    before = 0
    before = await delivered()
    gate = asyncio.Semaphore(100)

    async def send(user: int) -> None:
        for text in texts:  # a chat's updates are delivered one at a time, in order
            async with gate:
                await driver.send_message(user, text)

    sending = asyncio.gather(*(send(user) for user in users))
    try:
        async with asyncio.timeout(120):  # a loaded machine; about 10 s when idle
            while (done := await delivered()) < len(texts) * len(users):
                if during is not None:
                    await during(done)
                await asyncio.sleep(0.05)
    finally:
        await sending


async def answers_per_user(driver: EmulatorDriver, users: list[int]) -> dict[int, int]:
    gate = asyncio.Semaphore(50)

    async def count(user: int) -> tuple[int, int]:
        async with gate:
            return user, len(await driver.bot_messages(user))

    return dict(await asyncio.gather(*(count(user) for user in users)))


async def prepare(
    cluster: Cluster, db: async_sessionmaker[AsyncSession], members: int
) -> tuple[str, list[int], int]:
    """A referrer's code, `members` new users, and how many messages the bot sends a
    new user who joins through the link and asks for /help (measured on one of them)."""
    driver = cluster.driver
    referrer = await driver.create_user("Referrer")
    sent = await driver.send_start(referrer)
    await driver.wait_for_message(referrer, after_message_id=sent["message_id"], timeout=30)
    async with db() as session:
        code = await session.scalar(select(User.referral_code).where(User.telegram_id == referrer))
    assert code is not None
    probe = await driver.create_user("Probe")
    for text in (f"/start {code}", "/help"):
        sent = await driver.send_message(probe, text)
        await driver.wait_for_message(probe, after_message_id=sent["message_id"], timeout=30)
    await asyncio.sleep(0.5)  # anything sent later than the answers would show here
    expected = len(await driver.bot_messages(probe))
    users = [await driver.create_user(f"U{n}") for n in range(members)]
    return str(code), users, expected


async def check_exact(
    db: async_sessionmaker[AsyncSession],
    driver: EmulatorDriver,
    users: list[int],
    expected: int,
    *,
    unanswered: int = 0,
) -> None:
    """Every referral counted once, every update handled once, every user answered once.

    `unanswered`: how many users may miss an answer — an instance killed between committing
    an update and sending its reply has handled the update (its effects are saved, and the
    re-delivery is rightly dropped) but the reply is gone with it."""
    async with db() as session:
        referrals = await session.scalar(select(func.count()).select_from(Referral))
        handled, first, last = (
            await session.execute(
                select(
                    func.count(),
                    func.min(ProcessedUpdate.update_id),
                    func.max(ProcessedUpdate.update_id),
                )
            )
        ).one()
    assert referrals == len(users) + 1  # the probe too
    # referrer's /start, the probe's two, each user's two: ids 1..last, each recorded once
    assert (first, handled) == (1, last), "every update handled, each once"
    assert last >= 3 + 2 * len(users)
    counts = await answers_per_user(driver, users)
    extra = {user: n for user, n in counts.items() if n > expected}
    assert not extra, f"{len(extra)} users answered more than {expected} times: {extra}"
    short = {user: n for user, n in counts.items() if n < expected}
    assert len(short) <= unanswered, f"{len(short)} users with fewer answers: {short}"


async def test_thousands_of_updates_on_three_instances_each_handled_once(
    emulator: Emulator,
    database_url: str,
    db: async_sessionmaker[AsyncSession],
    redis_url: str,
    tmp_path: Path,
) -> None:
    async with cluster(emulator, database_url, redis_url, tmp_path, 3) as bozor:
        code, users, expected = await prepare(bozor, db, 800)
        first = (await bozor.driver.last_update())["update_id"] + 1
        await blast(bozor.driver, users, [f"/start {code}", "/help"])
        # Telegram delivers some updates twice: each is handled once all the same.
        last = (await bozor.driver.last_update())["update_id"]
        for update_id in random.Random(8).sample(range(first, last + 1), 200):
            await bozor.driver.redeliver(update_id)

        async def delivered() -> bool:
            info = await bozor.driver.webhook_info()
            return bool(info["pending_update_count"] == 0)

        await eventually(delivered, timeout=30)
        await asyncio.sleep(1.0)  # answers to re-deliveries, if any, would arrive by now
        await check_exact(db, bozor.driver, users, expected)
        targets = await bozor.driver.webhook_targets()
        assert all(n > 400 for n in targets["deliveries"].values()), targets


async def test_an_instance_killed_in_the_middle_the_others_carry_on(
    emulator: Emulator,
    database_url: str,
    db: async_sessionmaker[AsyncSession],
    redis_url: str,
    tmp_path: Path,
) -> None:
    async with cluster(emulator, database_url, redis_url, tmp_path, 3) as bozor:
        code, users, expected = await prepare(bozor, db, 400)
        victim = bozor.instances[1]

        async def kill_at_a_third(answered: int) -> None:
            if answered >= len(users) * 2 // 3 and victim.alive:
                victim.kill()

        await blast(
            bozor.driver,
            users,
            [f"/start {code}", "/help"],
            during=kill_at_a_third,
        )
        assert not victim.alive
        # At most the updates the victim held at once (the emulator's max_connections).
        await check_exact(db, bozor.driver, users, expected, unanswered=40)


async def test_postgresql_connections_terminated_mid_load_are_survived(
    emulator: Emulator,
    database_url: str,
    db: async_sessionmaker[AsyncSession],
    redis_url: str,
    tmp_path: Path,
) -> None:
    name = database_url.rsplit("/", 1)[1]
    admin_dsn = database_url.replace("+asyncpg", "").rsplit("/", 1)[0] + "/postgres"
    terminated: list[int] = []

    async def terminate_all(answered: int) -> None:
        if answered >= (250, 550, 10**9)[len(terminated)]:
            connection = await asyncpg.connect(admin_dsn)
            try:
                rows = await connection.fetch(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = $1 AND pid <> pg_backend_pid()",
                    name,
                )
            finally:
                await connection.close()
            terminated.append(len(rows))

    async with cluster(emulator, database_url, redis_url, tmp_path, 2, worker_errors=True) as bozor:
        code, users, expected = await prepare(bozor, db, 400)
        await blast(
            bozor.driver,
            users,
            [f"/start {code}", "/help"],
            during=terminate_all,
        )
        assert len(terminated) == 2 and all(n > 0 for n in terminated)
        await db.kw["bind"].dispose()  # this test's own connections were terminated too
        await check_exact(db, bozor.driver, users, expected)


async def test_redis_connections_killed_mid_load_are_survived(
    emulator: Emulator,
    database_url: str,
    db: async_sessionmaker[AsyncSession],
    redis_url: str,
    tmp_path: Path,
) -> None:
    killed: list[int] = []
    redis = Redis.from_url(redis_url)
    try:
        async with cluster(emulator, database_url, redis_url, tmp_path, 2) as bozor:
            code, users, expected = await prepare(bozor, db, 400)

            async def kill_bozor_connections(answered: int) -> None:
                if answered >= (250, 550, 10**9)[len(killed)]:
                    clients: list[dict[str, Any]] = await redis.client_list()
                    ours = [c["id"] for c in clients if c.get("name") == bozor.redis_name]
                    for client_id in ours:
                        await redis.client_kill_filter(_id=client_id)
                    killed.append(len(ours))

            await blast(
                bozor.driver,
                users,
                [f"/start {code}", "/help"],
                during=kill_bozor_connections,
            )
            assert len(killed) == 2 and all(n > 0 for n in killed)
            await check_exact(db, bozor.driver, users, expected)
    finally:
        await redis.aclose()


async def test_an_albums_photos_spread_over_instances_make_one_step(
    emulator: Emulator,
    database_url: str,
    redis_url: str,
    tmp_path: Path,
) -> None:
    """The round-robin proxy gives an album's photos to different instances: the draft keeps
    every photo and the step ends once (a shared lock, the turn counted in the shared draft)."""
    async with cluster(emulator, database_url, redis_url, tmp_path, 3) as bozor:
        seller = await bozor.driver.create_user("Seller")
        photos = [picture(n) for n in range(1, 6)]
        preview = await fill_dialogue(bozor, seller, photos=photos)  # type: ignore[arg-type]
        assert "Fergana" in preview
        taken = [
            m
            for m in await bozor.driver.bot_messages(seller)
            if "photo(s) added" in (m.get("text") or "")
        ]
        assert [m["text"] for m in taken] == ["📷 5 photo(s) added."]
        shown = [m for m in await bozor.driver.bot_messages(seller) if m.get("media_group_id")]
        assert len(shown) == 5  # the preview: the whole album
        targets = await bozor.driver.webhook_targets()
        assert sum(1 for n in targets["deliveries"].values() if n > 0) > 1, targets
