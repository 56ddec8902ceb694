"""Claiming every reward at once (the shop's "claim" button; the API's claim of one reward
goes through the same function): each reward's points are booked exactly once, however many
claims run at the same moment."""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bozor.ledger import service as ledger
from bozor.referrals import rewards
from bozor.referrals.models import Reward, RewardStatus
from bozor.settings import Settings
from bozor.users import service as users_service
from bozor.users.models import User
from bozor.users.service import TelegramProfile

SETTINGS = Settings()


async def test_two_claims_at_once_book_every_reward_once(
    db: async_sessionmaker[AsyncSession],
) -> None:
    async with db() as session:
        user, _ = await users_service.upsert_from_telegram(
            session=session, profile=TelegramProfile(1, "Ann")
        )
        session.add_all(
            Reward(user_id=user.id, key=f"welcome:{i}", kind="welcome", title="Hi", amount=10 * i)
            for i in (1, 2, 3)
        )
        await session.commit()
        user_id = user.id

    async def claim() -> list[int]:
        async with db() as session:
            owner = await session.get(User, user_id)
            assert owner is not None
            claimed = await rewards.claim_all(session=session, user=owner, settings=SETTINGS)
            await session.commit()
            return [reward.amount for reward in claimed]

    first, second = await asyncio.gather(claim(), claim())

    assert sorted(first + second) == [10, 20, 30]  # each reward taken by one of them
    async with db() as session:
        assert await ledger.balance(session=session, user_id=user_id) == 60
        statuses = set(await session.scalars(select(Reward.status)))
        assert statuses == {RewardStatus.CLAIMED}
        owner = await session.get(User, user_id)
        assert owner is not None
        assert await rewards.claim_all(session=session, user=owner, settings=SETTINGS) == []
