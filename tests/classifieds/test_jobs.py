"""Reposts and sold-checks driven by a controllable clock (no sleeping), through the real
outbox and the emulator, on both backends: exact per slot across restarts and instances."""

from __future__ import annotations

import asyncio
import random
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bozor.classifieds import jobs, service
from bozor.classifieds.exceptions import WrongStateError
from bozor.classifieds.models import Ad, AdState, ChannelPost, PostKind, RepostSlot, SoldCheck
from bozor.db import create_engine, create_session_factory
from bozor.outbox.models import OutboxMessage
from bozor.testing import Harness, eventually, while_open
from bozor.users import service as users_service
from bozor.users.models import User

from .helpers import press, published


@pytest.fixture
def bozor_overrides(bozor_overrides: dict[str, Any]) -> dict[str, Any]:
    return {**bozor_overrides, "admin_ids": [], "classifieds_max_unanswered": 2}


async def start_of_next_slot(bozor: Harness) -> datetime:
    async with bozor.db() as session:
        first = await session.scalar(select(func.max(Ad.published_at)))
    assert first is not None
    return jobs.slot_start(first, 30) + timedelta(minutes=30)


async def test_reposts_over_simulated_days(bozor: Harness, channel: int) -> None:
    owner = await bozor.user("Gulnora")
    await bozor.start(owner)
    ids = await published(bozor, owner, [f"Chair no. {i}" for i in range(1, 6)])
    sold_id = ids[0]
    now = await start_of_next_slot(bozor)
    chosen: list[int | None] = []
    for k in range(96):  # two days of 30-minute slots
        if k == 48:  # a day in, the first ad is sold: it is never reposted again
            async with bozor.db() as session:
                user = await users_service.get_by_telegram_id(session=session, telegram_id=owner)
                assert user is not None
                await service.mark_sold(session=session, ad_id=sold_id, user=user)
                await session.commit()
        await jobs.run_once(bozor.db, bozor.settings, now=now, rng=random.Random(k))
        # A second pass later in the same slot (a restart) does nothing more.
        await jobs.run_once(bozor.db, bozor.settings, now=now + timedelta(minutes=17))
        async with bozor.db() as session:
            slot = await session.scalar(
                select(RepostSlot).where(RepostSlot.slot_at == jobs.slot_start(now, 30))
            )
        assert slot is not None
        chosen.append(slot.ad_id)
        now += timedelta(minutes=30)
    assert None not in chosen
    for window in (chosen[i : i + 4] for i in range(len(chosen) - 3)):
        assert len(set(window)) == 4  # never one of the last three again
    assert sold_id not in chosen[48:]
    counts = {ad_id: chosen.count(ad_id) for ad_id in ids}
    assert all(counts[ad_id] >= 10 for ad_id in ids[1:])  # every unsold ad gets its turns

    await eventually(lambda: _outbox_empty(bozor), timeout=60)
    async with bozor.db() as session:
        reposted = list(
            await session.scalars(
                select(ChannelPost.ad_id).where(ChannelPost.kind == PostKind.REPOST)
            )
        )
    for ad_id in ids[1:]:
        assert reposted.count(ad_id) == chosen.count(ad_id)
    # Reposts of the sold ad still queued when it was sold were not sent.
    assert reposted.count(sold_id) <= chosen[:48].count(sold_id)
    posts = await bozor.driver.bot_messages(channel)
    assert len(posts) == 5 + len(reposted)
    assert await _all_sold(bozor, channel, sold_id)


async def _outbox_empty(bozor: Harness) -> bool:
    async with bozor.db() as session:
        pending = await session.scalar(
            select(func.count()).where(OutboxMessage.status == "pending")
        )
    return pending == 0


async def _all_sold(bozor: Harness, channel: int, ad_id: int) -> bool:
    return await _all_stamped(bozor, channel, ad_id, "✅ SOLD")


async def _all_stamped(bozor: Harness, channel: int, ad_id: int, stamp: str) -> bool:
    posts = [p for p in await bozor.driver.bot_messages(channel) if f"#ad{ad_id}" in p["text"]]
    return bool(posts) and all(p["text"].startswith(stamp) for p in posts)


async def test_crash_mid_slot_and_two_instances_do_each_slot_once(
    bozor: Harness, database_url: str
) -> None:
    owner = await bozor.user("Hamid")
    await bozor.start(owner)
    await published(bozor, owner, ["Washing machine", "Fridge", "Oven"])
    now = await start_of_next_slot(bozor)

    # A crash after choosing the ad, before commit: the slot is not lost, it is done on restart.
    async with bozor.db() as session:
        await jobs.repost(session=session, settings=bozor.settings, now=now)
        await session.rollback()
    await jobs.run_once(bozor.db, bozor.settings, now=now + timedelta(minutes=1))

    # Two instances on one database, at the same moment, for each of the next ten slots.
    other_engine = create_engine(database_url)
    other = create_session_factory(other_engine)
    try:
        for k in range(1, 11):
            at = now + timedelta(minutes=30 * k)
            await asyncio.gather(
                jobs.run_once(bozor.db, bozor.settings, now=at),
                jobs.run_once(other, bozor.settings, now=at),
            )
    finally:
        await other_engine.dispose()
    async with bozor.db() as session:
        slots = list(await session.scalars(select(RepostSlot).order_by(RepostSlot.slot_at)))
        queued = await session.scalar(
            select(func.count()).where(
                OutboxMessage.kind == "ads.channel_post",
                OutboxMessage.params["kind"].as_string() == "repost",
            )
        )
    assert [s.slot_at for s in slots if s.ad_id] == [
        jobs.slot_start(now + timedelta(minutes=30 * k), 30) for k in range(11)
    ]
    assert queued == 11


async def test_sold_check_answers_and_expiry(bozor: Harness, channel: int) -> None:
    owner = await bozor.user("Iroda")
    await bozor.start(owner)
    kept_id, expiring_id = await published(bozor, owner, ["Carpet 2x3", "Old piano"])
    async with bozor.db() as session:
        first = await session.scalar(select(func.min(Ad.published_at)))
    assert first is not None
    await bozor.driver.wait_for_message(channel, contains="Old piano", timeout=10)

    day3 = first + timedelta(days=3, minutes=1)
    await jobs.run_once(bozor.db, bozor.settings, now=day3)
    await jobs.run_once(bozor.db, bozor.settings, now=day3 + timedelta(hours=1))  # not twice
    ask = await bozor.driver.wait_for_message(owner, contains="“Carpet 2x3” sold?")
    await bozor.driver.wait_for_message(owner, contains="“Old piano” sold?")
    async with bozor.db() as session:
        assert await session.scalar(select(func.count()).select_from(SoldCheck)) == 2
    await press(bozor, owner, ask, ask["reply_markup"]["inline_keyboard"][0][1]["callback_data"])
    await bozor.driver.wait_for_message(owner, contains="stays in the channel")

    day6 = first + timedelta(days=6, minutes=1)
    await jobs.run_once(bozor.db, bozor.settings, now=day6)
    # The first ask now reads "stays in the channel"; the second is new.
    await eventually(lambda: _asked(bozor, owner, "Carpet 2x3", 1))
    asks = [
        m
        for m in await bozor.driver.bot_messages(owner)
        if "“Carpet 2x3” sold?" in str(m.get("text"))
    ]
    yes = asks[-1]["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await press(bozor, owner, asks[-1], yes)
    await bozor.driver.wait_for_message(owner, contains="marked sold")

    await eventually(lambda: _all_sold(bozor, channel, kept_id), timeout=30)
    # The piano's two asks went unanswered (CLASSIFIEDS_MAX_UNANSWERED=2): at day 9 it expires.
    await jobs.run_once(bozor.db, bozor.settings, now=first + timedelta(days=9, minutes=1))
    await bozor.driver.wait_for_message(owner, contains="“Old piano” expired")
    async with bozor.db() as session:
        kept = await session.get(Ad, kept_id)
        expired = await session.get(Ad, expiring_id)
    assert kept is not None and kept.state == AdState.SOLD
    assert expired is not None and expired.state == AdState.EXPIRED
    # Its channel posts say it is gone, so nobody calls about it.
    await eventually(lambda: _all_stamped(bozor, channel, expiring_id, "⌛ EXPIRED"), timeout=30)
    # Nothing left to repost, nothing left to ask.
    reposts = select(func.count()).where(RepostSlot.ad_id.is_not(None))
    async with bozor.db() as session:
        before = await session.scalar(reposts)
    await jobs.run_once(bozor.db, bozor.settings, now=first + timedelta(days=12, minutes=1))
    async with bozor.db() as session:
        assert await session.scalar(select(func.count()).select_from(SoldCheck)) == 5
        assert await session.scalar(reposts) == before


async def _asked(bozor: Harness, owner: int, title: str, times: int) -> bool:
    asks = [
        m
        for m in await bozor.driver.bot_messages(owner)
        if f"“{title}” sold?" in str(m.get("text"))
    ]
    return len(asks) >= times


async def _two_asks_unanswered(bozor: Harness, name: str) -> tuple[User, int, int, datetime]:
    """A user's published ad asked "Sold?" twice (CLASSIFIEDS_MAX_UNANSWERED=2), no answer:
    the user, the ad, the last ask, and the moment the next sweep expires the ad."""
    owner = await bozor.user(name)
    await bozor.start(owner)
    [ad_id] = await published(bozor, owner, ["Old piano"])
    async with bozor.db() as session:
        first = await session.scalar(select(Ad.published_at).where(Ad.id == ad_id))
        user = await users_service.get_by_telegram_id(session=session, telegram_id=owner)
    assert first is not None and user is not None
    for days in (3, 6):
        async with bozor.db() as session:
            await jobs.sold_checks(
                session=session,
                settings=bozor.settings,
                now=first + timedelta(days=days, minutes=1),
            )
            await session.commit()
    async with bozor.db() as session:
        last = await session.scalar(select(func.max(SoldCheck.id)).where(SoldCheck.ad_id == ad_id))
    assert last is not None
    return user, ad_id, last, first + timedelta(days=9, minutes=1)


async def test_a_no_given_while_the_sweep_counts_the_asks_keeps_the_ad(bozor: Harness) -> None:
    """The owner's "No" (still for sale), made while the expiry sweep runs, is counted: the
    owner was told the ad stays, so it must stay."""
    user, ad_id, last, expiry = await _two_asks_unanswered(bozor, "Iroda")
    await while_open(
        bozor.db,
        lambda session: service.answer_check(session=session, check_id=last, user=user, sold=False),
        lambda session: jobs.sold_checks(session=session, settings=bozor.settings, now=expiry),
    )
    async with bozor.db() as session:
        ad = await session.get(Ad, ad_id)
    assert ad is not None and ad.state == AdState.PUBLISHED


async def test_a_no_given_while_the_ad_expires_is_told_it_expired(bozor: Harness) -> None:
    """The sweep expires the ad while the owner answers "No": the owner is told the ad is
    closed, not that it stays in the channel."""
    user, ad_id, last, expiry = await _two_asks_unanswered(bozor, "Iroda")
    with pytest.raises(WrongStateError):
        await while_open(
            bozor.db,
            lambda session: jobs.sold_checks(session=session, settings=bozor.settings, now=expiry),
            lambda session: service.answer_check(
                session=session, check_id=last, user=user, sold=False
            ),
        )
    async with bozor.db() as session:
        ad = await session.get(Ad, ad_id)
    assert ad is not None and ad.state == AdState.EXPIRED
