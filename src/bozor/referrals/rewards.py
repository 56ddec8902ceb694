"""Rewards for referrals: per confirmed referral, a welcome bonus for the new user
(double-sided), and tiers at 5, 10 and 20 confirmed referrals; claimed into the ledger."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.db import upsert_insert, utcnow
from bozor.errors import ConflictError, ForbiddenError, NotFoundError
from bozor.ledger import service as ledger
from bozor.referrals.models import Referral, ReferralStatus, Reward, RewardStatus
from bozor.settings import Settings


@dataclass(frozen=True, slots=True)
class Tier:
    name: str
    threshold: int  # confirmed referrals
    amount: int  # bonus points


@dataclass(frozen=True, slots=True)
class RewardPolicy:
    """How much each cause earns; 0 switches it off."""

    per_referral: int = 10
    welcome: int = 10  # for the new user: the "double-sided" reward
    tiers: tuple[Tier, ...] = (
        Tier("Bronze", 5, 50),
        Tier("Silver", 10, 150),
        Tier("Gold", 20, 500),
    )


@cache
def parse_tiers(text: str) -> tuple[Tier, ...]:
    """`Bronze:5:50,Silver:10:150` → tiers (name:confirmed referrals:points)."""
    tiers = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, threshold, amount = part.split(":")
        tiers.append(Tier(name.strip(), int(threshold), int(amount)))
    return tuple(sorted(tiers, key=lambda tier: tier.threshold))


def policy_from(settings: Settings) -> RewardPolicy:
    """The reward policy the operator configured."""
    return RewardPolicy(
        per_referral=settings.reward_per_referral,
        welcome=settings.reward_welcome,
        tiers=parse_tiers(settings.reward_tiers),
    )


@dataclass(frozen=True, slots=True)
class RewardTotals:
    earned: int  # points, claimed or not
    claimed: int


async def grant_for_confirmed(
    *, session: AsyncSession, referral: Referral, policy: RewardPolicy
) -> list[Reward]:
    """Grant what a newly confirmed referral earns. Safe to repeat and under concurrency:
    each cause is unique per user, and tiers are granted when the count reaches them."""
    grants: list[tuple[int, str, str, str, int]] = []
    if policy.per_referral:
        grants.append(
            (
                referral.referrer_id,
                f"referral:{referral.id}",
                "referral",
                "Referral",
                policy.per_referral,
            )
        )
    if policy.welcome:
        grants.append(
            (
                referral.referred_id,
                f"welcome:{referral.id}",
                "welcome",
                "Welcome bonus",
                policy.welcome,
            )
        )
    if policy.tiers:
        confirmed = await session.scalar(
            select(func.count())
            .select_from(Referral)
            .where(
                Referral.referrer_id == referral.referrer_id,
                Referral.status == ReferralStatus.CONFIRMED,
            )
        )
        grants += [
            (referral.referrer_id, f"tier:{tier.name}", "tier", tier.name, tier.amount)
            for tier in policy.tiers
            if int(confirmed or 0) >= tier.threshold
        ]
    granted = []
    for user_id, key, kind, title, amount in grants:
        reward = await session.scalar(
            upsert_insert(session, Reward)
            .on_conflict_do_nothing(index_elements=["user_id", "key"])
            .returning(Reward),
            {
                "user_id": user_id,
                "key": key,
                "kind": kind,
                "title": title,
                "amount": amount,
                "status": RewardStatus.GRANTED,
                "referral_id": referral.id if kind != "tier" else None,
                "created_at": utcnow(),
            },
        )
        if reward is not None:
            granted.append(reward)
    return granted


async def list_rewards(*, session: AsyncSession, user_id: int) -> list[Reward]:
    """A user's rewards, newest first."""
    return list(
        await session.scalars(
            select(Reward).where(Reward.user_id == user_id).order_by(Reward.id.desc())
        )
    )


async def totals(*, session: AsyncSession, user_id: int) -> RewardTotals:
    """Points earned and claimed by a user."""
    row = (
        await session.execute(
            select(
                func.coalesce(func.sum(Reward.amount), 0),
                func.coalesce(
                    func.sum(Reward.amount).filter(Reward.status == RewardStatus.CLAIMED), 0
                ),
            ).where(Reward.user_id == user_id)
        )
    ).one()
    return RewardTotals(int(row[0]), int(row[1]))


async def claim(*, session: AsyncSession, user_id: int, reward_id: int) -> Reward:
    """Claim a reward: only its owner, only once; its points go to the ledger."""
    reward = await session.get(Reward, reward_id)
    if reward is None:
        raise NotFoundError("reward.not_found")
    if reward.user_id != user_id:
        raise ForbiddenError("reward.not_yours")
    # Conditional: of two simultaneous claims, one changes the row and the other finds nothing.
    result = await session.execute(
        update(Reward)
        .where(Reward.id == reward_id, Reward.status == RewardStatus.GRANTED)
        .values(status=RewardStatus.CLAIMED, claimed_at=utcnow())
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise ConflictError("reward.already_claimed")
    await ledger.book(
        session=session,
        user_id=user_id,
        amount=reward.amount,
        reason="reward",
        reference=str(reward.id),
    )
    await session.refresh(reward)
    return reward
