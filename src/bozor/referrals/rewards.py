"""Rewards for referrals: what each confirmed referral earns (by the reward calculator hook;
by default per referral, a welcome bonus for the new user and tiers at 5, 10 and 20
confirmed referrals), and claiming them once into the ledger."""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, Protocol, cast

from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.db import Prebuilt, serialize, upsert_insert, utcnow
from bozor.errors import ConflictError, ForbiddenError, NotFoundError
from bozor.events import service as events
from bozor.events.service import Event
from bozor.ledger import service as ledger
from bozor.referrals.hooks import (
    Notice,
    Person,
    RewardPolicy,
    Tier,
    held_rewards,
    hooks_from,
    standard_rewards,
    tier_keys,
)
from bozor.referrals.models import Referral, Reward, RewardProgram, RewardStatus
from bozor.referrals.settings import ReferralSettings
from bozor.settings import Settings
from bozor.users import service as users_service
from bozor.users.models import User

__all__ = ["RewardPolicy", "Tier"]

PROGRAM_TTL = 5.0  # seconds an instance keeps the admin-set program before reading it again


@cache
def parse_tiers(text: str) -> tuple[Tier, ...]:
    """`Bronze:5:50,Silver:10:150` → tiers (name:confirmed referrals:points)."""
    tiers = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, threshold, amount = part.split(":")
        tiers.append(Tier(name.strip(), int(threshold), int(amount)))
    return tuple(sorted(tiers, key=lambda tier: tier.threshold))


def policy_from(settings: Settings) -> RewardPolicy:
    """The reward policy in the settings."""
    return RewardPolicy(
        per_referral=ReferralSettings.of(settings).reward_per_referral,
        welcome=ReferralSettings.of(settings).reward_welcome,
        tiers=parse_tiers(ReferralSettings.of(settings).reward_tiers),
    )


_program_cache: dict[str, tuple[float, RewardPolicy | None]] = {}


async def current_policy(session: AsyncSession, settings: Settings) -> RewardPolicy:
    """The program an admin set through the API, else the settings' one. Read at most every
    PROGRAM_TTL seconds per database, so other instances follow a change within seconds."""
    cache_key = settings.database_url
    cached = _program_cache.get(cache_key)
    if cached is None or cached[0] < time.monotonic():
        row = await session.get(RewardProgram, 1)
        policy = None if row is None else _policy_of(row)
        cached = (time.monotonic() + PROGRAM_TTL, policy)
        _program_cache[cache_key] = cached
    return cached[1] or policy_from(settings)


def _policy_of(row: RewardProgram) -> RewardPolicy:
    return RewardPolicy(
        per_referral=row.per_referral,
        welcome=row.welcome,
        tiers=tuple(
            sorted(
                (Tier(t["name"], int(t["threshold"]), int(t["amount"])) for t in row.tiers),
                key=lambda tier: tier.threshold,
            )
        ),
    )


async def set_program(
    *, session: AsyncSession, settings: Settings, policy: RewardPolicy | None
) -> RewardPolicy:
    """Set the reward program (None: back to the settings). Applies to referrals confirmed
    from now on; rewards already granted stay."""
    if policy is None:
        await session.execute(delete(RewardProgram).where(RewardProgram.id == 1))
    else:
        values = {
            "id": 1,
            "per_referral": policy.per_referral,
            "welcome": policy.welcome,
            "tiers": [
                {"name": t.name, "threshold": t.threshold, "amount": t.amount} for t in policy.tiers
            ],
            "updated_at": utcnow(),
        }
        insert = upsert_insert(session, RewardProgram).values(values)
        # One statement, so two admins saving at once cannot both insert the row.
        await session.execute(
            insert.on_conflict_do_update(
                index_elements=["id"],
                set_={key: insert.excluded[key] for key in values if key != "id"},
            )
        )
    _program_cache.pop(settings.database_url, None)
    return policy or policy_from(settings)


@dataclass(frozen=True, slots=True)
class RewardTotals:
    earned: int  # points, claimed or not
    claimed: int


class RewardFields(Protocol):
    """A reward as stored: the ORM object, or a row returned by an INSERT."""

    id: int
    kind: str
    title: str
    amount: int
    referral_id: int | None
    created_at: datetime
    claimed_at: datetime | None

    @property
    def status(self) -> str: ...  # read-only: a RewardStatus, or the text a row holds


def reward_data(reward: RewardFields, owner_api_id: str) -> dict[str, Any]:
    """A reward as events and webhooks describe it."""
    return {
        "id": reward.id,
        "user_id": owner_api_id,
        "kind": reward.kind,
        "title": reward.title,
        "amount": reward.amount,
        "status": str(reward.status),
        "referral_id": reward.referral_id,
        "created_at": reward.created_at.isoformat(),
        "claimed_at": reward.claimed_at.isoformat() if reward.claimed_at else None,
    }


_REWARDS = cast(Table, Reward.__table__)
_INSERT_REWARDS = Prebuilt(
    lambda insert: (
        insert(_REWARDS)
        .on_conflict_do_nothing(index_elements=["user_id", "key"])
        .returning(*_REWARDS.c)
    )
)


async def grant_for_confirmed(
    *,
    session: AsyncSession,
    referral: Referral,
    settings: Settings,
    api_ids: Mapping[int, str] | None = None,
) -> list[Event]:
    """Grant what a newly confirmed referral earns; returns the `reward.granted` events, for
    the caller to publish with its own in one statement. Safe to repeat and under
    concurrency: each cause (`key`) is unique per user, and a cause granted already (a tier
    reached before) is neither granted nor announced again. `api_ids` (user id → API id) saves
    looking up the parties the caller knows.

    One referrer's confirmations are calculated one at a time: two committing at once would
    each count the confirmed referrals without the other, and both miss a tier's threshold.
    The lock waits for the other's commit, after which the count includes it. Callers have
    written the referral in this transaction, so on SQLite they hold the write lock already.
    """
    policy = await current_policy(session, settings)
    calculator = hooks_from(settings).calculator
    if not (
        calculator is standard_rewards
        and (
            not policy.tiers
            or held_rewards.holds_all(session, referral.referrer_id, tier_keys(policy.tiers))
        )
    ):  # with every tier held, the default calculator counts nothing: no lock needed
        await serialize(session, f"referrer:{referral.referrer_id}", sqlite_table=None)
    grants = await calculator(session, referral, policy)
    if not grants:
        return []
    now = utcnow()
    rows = [
        {
            "user_id": grant.user_id,
            "key": grant.key,
            "kind": grant.kind,
            "title": grant.title,
            "amount": grant.amount,
            "status": RewardStatus.GRANTED,
            "referral_id": grant.referral_id,
            "created_at": now,
            "claimed_at": None,
        }
        for grant in grants
    ]
    # All of them in one statement (an executemany with RETURNING is sent as one multi-row
    # INSERT); what a conflict skips was granted before.
    inserted = await session.execute(_INSERT_REWARDS(session), rows)
    granted = sorted(inserted.all(), key=lambda row: row.id)
    new_keys = {(row.user_id, row.key) for row in granted}
    for grant in grants:  # skipped by a conflict: held, and committed
        if (grant.user_id, grant.key) not in new_keys:
            held_rewards.remember(session, grant.user_id, (grant.key,))
    known = dict(api_ids or {})
    announced: list[Event] = []
    for reward in granted:
        if reward.user_id not in known:  # a calculator may reward someone else
            known[reward.user_id] = await _api_id(session, reward.user_id)
        announced.append(
            (events.REWARD_GRANTED, {"reward": reward_data(reward, known[reward.user_id])})
        )
    return announced


async def _api_id(session: AsyncSession, user_id: int) -> str:
    user = await session.get_one(User, user_id)  # usually in the session already
    return users_service.api_id_of(user)


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


async def claim(*, session: AsyncSession, user: User, reward_id: int, settings: Settings) -> Reward:
    """Claim a reward: only its owner, only once; its points go to the ledger."""
    reward = await session.get(Reward, reward_id)
    if reward is None:
        raise NotFoundError("reward.not_found")
    if reward.user_id != user.id:
        raise ForbiddenError("reward.not_yours")
    claimed = await claim_all(session=session, user=user, settings=settings, only=[reward_id])
    if not claimed:
        raise ConflictError("reward.already_claimed")
    return claimed[0]


async def claim_all(
    *, session: AsyncSession, user: User, settings: Settings, only: Collection[int] | None = None
) -> list[Reward]:
    """Claim every reward of the user not claimed yet (or those of `only` among them): each
    once, its points to the ledger, published and notified; the rewards claimed now.

    One conditional UPDATE ... RETURNING: of two simultaneous claims, each reward is taken by
    exactly one (the other finds it claimed), so its points are booked once."""
    query = (
        update(Reward)
        .where(Reward.user_id == user.id, Reward.status == RewardStatus.GRANTED)
        .values(status=RewardStatus.CLAIMED, claimed_at=utcnow())
        .returning(Reward.id)
        .execution_options(synchronize_session=False)
    )
    if only is not None:
        query = query.where(Reward.id.in_(list(only)))
    ids = sorted((await session.scalars(query)).all())
    api_id = users_service.api_id_of(user)
    person = Person(user.id, user.telegram_id, user.full_name, api_id)
    claimed = []
    for reward_id in ids:
        reward = await session.get(Reward, reward_id, populate_existing=True)
        assert reward is not None
        await ledger.book(
            session=session,
            user_id=user.id,
            amount=reward.amount,
            reason="reward",
            reference=str(reward.id),
        )
        await events.publish(
            session=session,
            type=events.REWARD_CLAIMED,
            data={"reward": reward_data(reward, api_id)},
        )
        await hooks_from(settings).notifier(
            session, Notice("reward.claimed", person, reward=reward)
        )
        claimed.append(reward)
    return claimed
