"""Timed work: a repost every CLASSIFIEDS_REPOST_MINUTES and a "Sold?" question every
CLASSIFIEDS_SOLD_CHECK_DAYS. Both are exact and durable: each repost slot and each check is a
row with a unique key (the slot's start, the ad and its due time) inserted in the same
transaction as the messages it causes, so a restart goes on where it was and two instances
on one database do each slot once. `run_once(now=...)` takes the clock from the caller.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bozor import jobs
from bozor.classifieds import notify, service
from bozor.classifieds.models import (
    Ad,
    AdState,
    CheckAnswer,
    PostKind,
    RepostSlot,
    SoldCheck,
)
from bozor.classifieds.settings import ClassifiedsSettings
from bozor.db import session_scope, upsert_insert, utcnow
from bozor.settings import Settings
from bozor.users.models import User

if TYPE_CHECKING:
    from bozor.runtime import Runtime

log = logging.getLogger(__name__)
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
CHECK_BATCH = 500


def slot_start(now: datetime, minutes: float) -> datetime:
    """The start of the repost slot `now` falls in (slots are aligned to a fixed epoch)."""
    period = timedelta(minutes=minutes)
    return EPOCH + period * ((now - EPOCH) // period)


async def repost(
    *,
    session: AsyncSession,
    settings: Settings,
    now: datetime,
    rng: random.Random | None = None,
) -> int | None:
    """Claim the current slot and repost one ad in it; the ad's id, or None if the slot was
    already done (here or by another instance) or nothing can be reposted."""
    channel = ClassifiedsSettings.of(settings).channel_id
    if channel is None:
        return None
    slot_at = slot_start(now, ClassifiedsSettings.of(settings).repost_minutes)
    table = RepostSlot.__table__
    assert isinstance(table, Table)
    claimed = await session.execute(
        upsert_insert(session, table)
        .values(slot_at=slot_at, created_at=now)
        .on_conflict_do_nothing(index_elements=["slot_at"])
        .returning(table.c.id)
    )
    slot_id = claimed.scalar()
    if slot_id is None:
        return None
    ad = await _pick(session, settings, now, rng or random.Random())
    if ad is None:
        return None
    await session.execute(update(RepostSlot).where(RepostSlot.id == slot_id).values(ad_id=ad.id))
    await session.execute(
        update(Ad)
        .where(Ad.id == ad.id)
        .values(last_posted_at=now, repost_count=Ad.repost_count + 1)
    )
    await notify.channel_post(session=session, ad=ad, channel=channel, kind=PostKind.REPOST)
    return ad.id


async def _pick(
    session: AsyncSession, settings: Settings, now: datetime, rng: random.Random
) -> Ad | None:
    """A random published ad, weighted by the square of the time since it was last posted,
    never one of the last few reposted (unless nothing else is left)."""
    candidates = [
        (ad_id, last)
        for ad_id, last in await session.execute(
            select(Ad.id, Ad.last_posted_at).where(Ad.state == AdState.PUBLISHED)
        )
    ]
    if not candidates:
        return None
    keep_out = min(ClassifiedsSettings.of(settings).repost_no_repeat, len(candidates) - 1)
    if keep_out > 0:
        recent = set(
            await session.scalars(
                select(RepostSlot.ad_id)
                .where(RepostSlot.ad_id.is_not(None))
                .order_by(RepostSlot.slot_at.desc())
                .limit(keep_out)
            )
        )
        allowed = [row for row in candidates if row[0] not in recent]
        candidates = allowed or candidates
    weights = [max((now - (last or now)).total_seconds(), 60.0) ** 2 for _, last in candidates]
    chosen = rng.choices([ad_id for ad_id, _ in candidates], weights=weights)[0]
    return await session.get(Ad, chosen)


async def sold_checks(*, session: AsyncSession, settings: Settings, now: datetime) -> int:
    """Ask each published ad's owner "Sold?" once per period since publication; expire the
    ad instead when the last CLASSIFIEDS_MAX_UNANSWERED asks went unanswered. Returns the
    number of asks and expiries made."""
    period = timedelta(days=ClassifiedsSettings.of(settings).sold_check_days)
    rows = (
        await session.execute(
            select(Ad.id, Ad.published_at, User.telegram_id)
            .join(User, User.id == Ad.user_id)
            .where(
                Ad.state == AdState.PUBLISHED,
                Ad.published_at.is_not(None),
                Ad.published_at <= now - period,
            )
            .order_by(Ad.id)
        )
    ).all()
    table = SoldCheck.__table__
    assert isinstance(table, Table)
    done = 0
    for ad_id, published_at, telegram_id in rows:
        assert published_at is not None
        due_at = published_at + period * ((now - published_at) // period)
        inserted = await session.execute(
            upsert_insert(session, table)
            .values(ad_id=ad_id, due_at=due_at, created_at=now)
            .on_conflict_do_nothing(index_elements=["ad_id", "due_at"])
            .returning(table.c.id)
        )
        check_id = inserted.scalar()
        if check_id is None:
            continue  # asked already in this period
        done += 1
        # The answers are counted under the ad's lock, which an owner's answer also takes.
        await service.locked_after_write(session, ad_id)
        earlier = list(
            await session.scalars(
                select(SoldCheck.answer)
                .where(SoldCheck.ad_id == ad_id, SoldCheck.due_at < due_at)
                .order_by(SoldCheck.due_at.desc())
                .limit(ClassifiedsSettings.of(settings).max_unanswered)
            )
        )
        unanswered = len(earlier) == ClassifiedsSettings.of(settings).max_unanswered and all(
            answer is None for answer in earlier
        )
        if unanswered:
            await _expire(session, ad_id, check_id, telegram_id, now)
        else:
            await notify.owner(
                session=session,
                telegram_id=telegram_id,
                kind=notify.SOLD_CHECK,
                ad_id=ad_id,
                check_id=check_id,
            )
    return done


async def _expire(
    session: AsyncSession, ad_id: int, check_id: int, telegram_id: int | None, now: datetime
) -> None:
    await session.execute(
        update(SoldCheck).where(SoldCheck.id == check_id).values(answer=CheckAnswer.EXPIRED)
    )
    result = await session.execute(
        update(Ad)
        .where(Ad.id == ad_id, Ad.state == AdState.PUBLISHED)
        .values(state=AdState.EXPIRED, closed_at=now, updated_at=now)
    )
    if result.rowcount == 1:  # type: ignore[attr-defined]
        await notify.owner(
            session=session, telegram_id=telegram_id, kind=notify.EXPIRED, ad_id=ad_id
        )
        await notify.stamp(session=session, ad_id=ad_id, stamp="expired")


async def run_once(
    factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    now: datetime | None = None,
    rng: random.Random | None = None,
) -> None:
    """One pass of both jobs, each in its own transaction."""
    now = now or utcnow()
    async with session_scope(factory) as session:
        await repost(session=session, settings=settings, now=now, rng=rng)
    async with session_scope(factory) as session:
        await sold_checks(session=session, settings=settings, now=now)


async def run(
    runtime: Runtime, stop: asyncio.Event, *, clock: Callable[[], datetime] = utcnow
) -> None:
    factory, settings = runtime.session_factory, runtime.settings
    await jobs.repeat(
        "classifieds",
        ClassifiedsSettings.of(settings).job_interval,
        stop,
        lambda: run_once(factory, settings, now=clock()),
    )
