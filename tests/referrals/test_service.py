"""Referral rules that the bot cannot reach on its own (the REST API will): cycles, and
confirmations racing for a tier."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import delete, event, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bozor.db import create_engine, create_session_factory
from bozor.referrals import service
from bozor.referrals.exceptions import ReferralCycleError
from bozor.referrals.models import Reward
from bozor.settings import Settings
from bozor.testing import while_open
from bozor.users import service as users_service
from bozor.users.models import User
from bozor.users.service import TelegramProfile

SETTINGS = Settings(velocity_burst=0)


async def test_cycles_are_refused(db: async_sessionmaker[AsyncSession]) -> None:
    async with db() as session:
        a, _ = await users_service.upsert_from_telegram(
            session=session, profile=TelegramProfile(1, "A")
        )
        b, _ = await users_service.upsert_from_telegram(
            session=session, profile=TelegramProfile(2, "B")
        )
        c, _ = await users_service.upsert_from_telegram(
            session=session, profile=TelegramProfile(3, "C")
        )
        await service.register_referral(
            session=session,
            referred=b,
            code=a.referral_code,
            referred_is_new=True,
            settings=SETTINGS,
        )
        await service.register_referral(
            session=session,
            referred=c,
            code=b.referral_code,
            referred_is_new=True,
            settings=SETTINGS,
        )
        with pytest.raises(ReferralCycleError):
            # a → b → c: a (an existing user) joining through c would close a loop
            await service.register_referral(
                session=session,
                referred=a,
                code=c.referral_code,
                referred_is_new=False,
                allow_existing=True,
                settings=SETTINGS,
            )
        stats = await service.stats(session=session, user_id=a.id)
        assert (stats.invited, stats.confirmed, stats.rank) == (1, 1, 1)
        await session.rollback()


async def test_codes_are_unique_and_deep_link_safe(db: async_sessionmaker[AsyncSession]) -> None:
    async with db() as session:
        users = [
            (
                await users_service.upsert_from_telegram(
                    session=session, profile=TelegramProfile(10 + i, "U")
                )
            )[0]
            for i in range(200)
        ]
        codes = {user.referral_code for user in users}
        assert len(codes) == 200
        assert all(code.isalnum() and len(code) <= 64 for code in codes)
        await session.rollback()


async def test_two_referrals_confirmed_at_once_reach_the_tier(
    db: async_sessionmaker[AsyncSession],
) -> None:
    """The 4th and 5th referrals confirmed at the same moment: each counts the other, so the
    5-referral tier is granted (once), not missed by both."""

    async def user(session: AsyncSession, telegram_id: int) -> User:
        created, _ = await users_service.upsert_from_telegram(
            session=session, profile=TelegramProfile(telegram_id, f"U{telegram_id}")
        )
        return created

    def referred_by(telegram_id: int) -> Callable[[AsyncSession], Awaitable[object]]:
        async def refer(session: AsyncSession) -> None:
            await service.register_referral(
                session=session,
                referred=await user(session, telegram_id),
                code=code,
                referred_is_new=True,
                settings=SETTINGS,
            )

        return refer

    async with db() as session:
        referrer = await user(session, 100)
        code = referrer.referral_code
        await session.commit()
    for telegram_id in (101, 102, 103):
        async with db() as session:
            await referred_by(telegram_id)(session)
            await session.commit()
    await while_open(db, referred_by(104), referred_by(105))
    async with db() as session:
        tiers = list(
            await session.scalars(
                select(Reward.title).where(Reward.user_id == referrer.id, Reward.kind == "tier")
            )
        )
    assert tiers == ["Bronze"]


async def test_a_referrer_holding_every_tier_costs_no_count_and_no_lock(
    db: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    """Once every tier is seen held, a sign-up neither counts the referrer's confirmed
    referrals nor takes the lock around that count; it still earns its per-referral reward.
    What is remembered belongs to one database: another engine counts again."""

    async def user(session: AsyncSession, telegram_id: int) -> User:
        created, _ = await users_service.upsert_from_telegram(
            session=session, profile=TelegramProfile(telegram_id, f"U{telegram_id}")
        )
        return created

    async def refer(factory: async_sessionmaker[AsyncSession], telegram_id: int) -> None:
        async with factory() as session:
            await service.register_referral(
                session=session,
                referred=await user(session, telegram_id),
                code=code,
                referred_is_new=True,
                settings=SETTINGS,
            )
            await session.commit()

    async with db() as session:
        referrer = await user(session, 100)
        code = referrer.referral_code
        await session.commit()
    for telegram_id in range(101, 123):  # 22: Gold at 20, and two more that see it held
        await refer(db, telegram_id)

    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement.lower())

    engine = db.kw["bind"]
    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        await refer(db, 200)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", seen)
    assert statements, "the sign-up ran its statements"
    assert not [s for s in statements if "count(" in s or "advisory" in s], statements

    async with db() as session:
        rewards = list(
            await session.scalars(select(Reward.title).where(Reward.user_id == referrer.id))
        )
        assert sorted(title for title in rewards if title != "Referral") == [
            "Bronze",
            "Gold",
            "Silver",
        ]
        assert rewards.count("Referral") == 23
        # Gone from the database (as after `bozor db clear`): another engine does not trust
        # what this one saw, and grants the tiers again.
        await session.execute(delete(Reward).where(Reward.kind == "tier"))
        await session.commit()
    other = create_engine(database_url)
    try:
        await refer(create_session_factory(other), 201)
    finally:
        await other.dispose()
    async with db() as session:
        tiers = list(
            await session.scalars(
                select(Reward.title).where(Reward.user_id == referrer.id, Reward.kind == "tier")
            )
        )
    assert sorted(tiers) == ["Bronze", "Gold", "Silver"]
