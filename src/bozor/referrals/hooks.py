"""The three places an operator can change how referrals work (the reference's
`referralValidation`, `rewardCalculation` and `notificationSystem`), with their defaults.

An operator writes an object with the same call signature and names it in settings, e.g.
`REFERRAL_VALIDATOR=myclub.rules:validator`. Each hook runs inside the referral's database
transaction: what it writes is saved with the referral, and an exception undoes both. The
rules no hook can switch off are checked before: the code exists, no self-referral, one
referrer per user ever, no cycles, the attribution window.
"""

from __future__ import annotations

import importlib
import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from functools import cache
from typing import Any, Protocol

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.db import serialize, utcnow
from bozor.outbox import service as outbox_service
from bozor.referrals.models import Click, Referral, ReferralStatus, Reward
from bozor.referrals.settings import ReferralSettings
from bozor.settings import Settings
from bozor.users.models import User


@dataclass(frozen=True, slots=True)
class Person:
    """A party to a referral, as hooks see it."""

    id: int
    telegram_id: int | None
    full_name: str
    api_id: str  # the integrator's id for this user, or "tg:<telegram id>"


@dataclass(frozen=True, slots=True)
class Attempt:
    """A sign-up through a code, after the fixed rules passed."""

    referrer: Person
    referred: User
    referred_is_new: bool
    source: str  # "bot" or "api"
    click: Click | None
    campaign_id: int | None


class Verdict(StrEnum):
    ACCEPT = "accept"
    REVIEW = "review"  # record it, but hold it for an admin (no rewards until approved)
    REJECT = "reject"  # refuse it; nothing is recorded


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    reason: str | None = None  # shown to admins (review) or to the caller (reject)


ACCEPT = Decision(Verdict.ACCEPT)


class ReferralValidator(Protocol):
    async def __call__(
        self, session: AsyncSession, attempt: Attempt, settings: Settings
    ) -> Decision: ...


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


@dataclass(frozen=True, slots=True)
class Grant:
    """A reward to give. `key` names its cause and is unique per user: granting the same key
    twice gives it once, so a calculator may safely return what was already granted."""

    user_id: int
    key: str
    kind: str  # referral | welcome | tier | anything the operator likes
    title: str
    amount: int
    referral_id: int | None = None


class RewardCalculator(Protocol):
    async def __call__(
        self, session: AsyncSession, referral: Referral, policy: RewardPolicy
    ) -> list[Grant]: ...


@dataclass(frozen=True, slots=True)
class Notice:
    """Something a person may want to hear about."""

    event: str  # referral.created, referral.confirmed, referral.rejected, reward.claimed
    user: Person  # who is told
    referral: Referral | None = None
    referred: Person | None = None
    reward: Reward | None = None


class ReferralNotifier(Protocol):
    async def __call__(self, session: AsyncSession, notice: Notice) -> None: ...


# --- defaults -----------------------------------------------------------------------------


async def velocity_validator(
    session: AsyncSession, attempt: Attempt, settings: Settings
) -> Decision:
    """Hold for review what looks like one person signing up many times: more than
    VELOCITY_PER_VISITOR sign-ups today from the same click fingerprint, or more than
    VELOCITY_BURST sign-ups through one referrer within VELOCITY_WINDOW_MINUTES.

    Both count one referrer's sign-ups. A count already at the limit holds the sign-up for
    review at once (committed sign-ups stay counted). One below it is counted again under the
    referrer's lock, held until the transaction ends, so that two sign-ups at once cannot both
    take the last free place; only then is it accepted. Other referrers' sign-ups never wait,
    and neither do a referrer's sign-ups past the limit.
    """
    own = ReferralSettings.of(settings)
    per_visitor = own.velocity_per_visitor and attempt.click is not None
    if not (per_visitor or own.velocity_burst):
        return ACCEPT
    over = await _over_velocity(session, attempt, settings)
    if over is None:
        await serialize(session, f"referrer:{attempt.referrer.id}", sqlite_table="referrals")
        over = await _over_velocity(session, attempt, settings)
    return ACCEPT if over is None else Decision(Verdict.REVIEW, over)


async def _over_velocity(session: AsyncSession, attempt: Attempt, settings: Settings) -> str | None:
    """Which velocity limit the sign-up would pass, if any."""
    own = ReferralSettings.of(settings)
    if own.velocity_per_visitor and attempt.click is not None:
        same_visitor = await session.scalar(
            select(func.count())
            .select_from(Referral)
            .join(Click, Click.id == Referral.click_id)
            .where(
                Click.referrer_id == attempt.referrer.id,
                Click.visitor == attempt.click.visitor,
            )
        )
        if int(same_visitor or 0) >= own.velocity_per_visitor:
            return "velocity: many sign-ups from one visitor"
    if own.velocity_burst:
        since = utcnow() - timedelta(minutes=own.velocity_window_minutes)
        recent = await session.scalar(
            _RECENT_SIGN_UPS, {"referrer_id": attempt.referrer.id, "since": since}
        )
        if int(recent or 0) >= own.velocity_burst:
            return "velocity: burst of sign-ups"
    return None


_RECENT_SIGN_UPS = (
    select(func.count())
    .select_from(Referral)
    .where(
        Referral.referrer_id == bindparam("referrer_id"),
        Referral.created_at >= bindparam("since"),
    )
)


async def standard_rewards(
    session: AsyncSession, referral: Referral, policy: RewardPolicy
) -> list[Grant]:
    """Per referral to the referrer, a welcome bonus to the new user, and each tier the
    referrer's confirmed count has reached."""
    grants: list[Grant] = []
    if policy.per_referral:
        grants.append(
            Grant(
                referral.referrer_id,
                f"referral:{referral.id}",
                "referral",
                "Referral",
                policy.per_referral,
                referral.id,
            )
        )
    if policy.welcome:
        grants.append(
            Grant(
                referral.referred_id,
                f"welcome:{referral.id}",
                "welcome",
                "Welcome bonus",
                policy.welcome,
                referral.id,
            )
        )
    if policy.tiers and not held_rewards.holds_all(
        session, referral.referrer_id, tier_keys(policy.tiers)
    ):
        confirmed = int(
            await session.scalar(
                select(func.count())
                .select_from(Referral)
                .where(
                    Referral.referrer_id == referral.referrer_id,
                    Referral.status == ReferralStatus.CONFIRMED,
                )
            )
            or 0
        )
        grants += [
            Grant(referral.referrer_id, f"tier:{tier.name}", "tier", tier.name, tier.amount)
            for tier in policy.tiers
            if confirmed >= tier.threshold
        ]
    return grants


def tier_keys(tiers: Iterable[Tier]) -> tuple[str, ...]:
    """The reward keys (causes) of these tiers."""
    return tuple(f"tier:{tier.name}" for tier in tiers)


class HeldRewards:
    """Reward causes (`key`s) a user is known to hold, per database, remembered for a minute.

    A referrer who holds every tier already needs neither the count of confirmed referrals
    nor the lock around it (docs/benchmarks.md: two round trips of every sign-up through a
    popular link). Only rewards seen committed are remembered (an insert that conflicted),
    never one this transaction inserted, which a rollback could undo. Rewards are never
    deleted; emptying the database under a running process (`bozor db clear`) is covered by
    the minute's expiry and by keeping the memory per engine.
    """

    def __init__(self, ttl: float = 60.0, size: int = 10_000) -> None:
        self.ttl = ttl
        self.size = size
        self._by_engine: weakref.WeakKeyDictionary[Any, dict[int, tuple[float, set[str]]]] = (
            weakref.WeakKeyDictionary()
        )

    def holds_all(self, session: AsyncSession, user_id: int, keys: Iterable[str]) -> bool:
        """Whether the user is known to hold every one of these rewards."""
        known = self._by_engine.get(session.get_bind(), {}).get(user_id)
        if known is None or known[0] < time.monotonic():
            return False
        return all(key in known[1] for key in keys)

    def remember(self, session: AsyncSession, user_id: int, keys: Iterable[str]) -> None:
        """The user holds these rewards (committed rows)."""
        users = self._by_engine.setdefault(session.get_bind(), {})
        known = users.get(user_id)
        now = time.monotonic()
        if known is None or known[0] < now:
            if len(users) >= self.size:
                users.clear()
            known = users[user_id] = (now + self.ttl, set())
        known[1].update(keys)


held_rewards = HeldRewards()


NOTIFY_JOINED = "referral.joined"
NOTIFY_PENDING = "referral.pending"
NOTIFY_CONFIRMED = "referral.confirmed"


async def telegram_notifier(session: AsyncSession, notice: Notice) -> None:
    """Tell a referrer who uses the bot that someone joined (or confirmed) through their link.
    Bursts to one chat are coalesced into one message by the outbox."""
    if notice.user.telegram_id is None or notice.referral is None or notice.referred is None:
        return
    status = notice.referral.status
    if notice.event == "referral.created" and status == ReferralStatus.CONFIRMED:
        kind = NOTIFY_JOINED
    elif notice.event == "referral.created" and status == ReferralStatus.PENDING:
        kind = NOTIFY_PENDING
    elif notice.event == "referral.confirmed":
        kind = NOTIFY_CONFIRMED
    else:
        return
    await outbox_service.enqueue(
        session=session,
        chat_id=notice.user.telegram_id,
        kind=kind,
        params={"user_id": notice.user.id, "name": notice.referred.full_name},
        coalesce_key=f"{kind}:{notice.user.id}",
    )


# --- loading ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hooks:
    validator: ReferralValidator
    calculator: RewardCalculator
    notifier: ReferralNotifier


DEFAULT_HOOKS = Hooks(velocity_validator, standard_rewards, telegram_notifier)


def load_object(path: str) -> Any:
    """`package.module:name` (or `package.module.name`) → the object."""
    module_name, _, attribute = path.partition(":") if ":" in path else path.rpartition(".")
    try:
        target: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"cannot load {path!r}: {exc}") from None
    if not callable(target):
        raise ValueError(f"{path!r} is not callable")
    return target


@cache
def _load_hooks(validator: str | None, calculator: str | None, notifier: str | None) -> Hooks:
    return Hooks(
        load_object(validator) if validator else DEFAULT_HOOKS.validator,
        load_object(calculator) if calculator else DEFAULT_HOOKS.calculator,
        load_object(notifier) if notifier else DEFAULT_HOOKS.notifier,
    )


def hooks_from(settings: Settings) -> Hooks:
    """The hooks the settings name (loaded once per process)."""
    own = ReferralSettings.of(settings)
    return _load_hooks(own.validator, own.reward_calculator, own.notifier)
