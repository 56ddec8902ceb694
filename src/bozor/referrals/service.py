"""Referral rules: who brought whom, once; counts derived from the graph, never stored."""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, and_, bindparam, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.db import upsert_insert, utcnow
from bozor.outbox import service as outbox_service
from bozor.referrals import rewards
from bozor.referrals.codes import looks_like_code
from bozor.referrals.exceptions import (
    AlreadyReferredError,
    AttributionExpiredError,
    ClickMismatchError,
    ExistingUserError,
    ReferralCycleError,
    SelfReferralError,
    UnknownCodeError,
)
from bozor.referrals.models import Click, Referral, ReferralStatus
from bozor.referrals.rewards import RewardPolicy
from bozor.users.models import User

NOTIFY_JOINED = "referral.joined"
NOTIFY_PENDING = "referral.pending"
NOTIFY_CONFIRMED = "referral.confirmed"


@dataclass(frozen=True, slots=True)
class ReferralStats:
    invited: int  # every referral, whatever its state
    confirmed: int
    pending: int
    rank: int | None  # place among referrers by confirmed referrals; None without any


@dataclass(frozen=True, slots=True)
class LeaderboardRow:
    user: User
    confirmed: int


@dataclass(frozen=True, slots=True)
class CodeOwner:
    """Who a referral code belongs to: what a referral needs to know about its referrer."""

    id: int
    telegram_id: int | None
    full_name: str


class _CodeOwners:
    """Codes never change hands, so their owners are remembered for a minute: a popular link
    shared in a big channel brings bursts of sign-ups through the same code."""

    def __init__(self, ttl: float = 60.0, size: int = 10_000) -> None:
        self.ttl = ttl
        self.size = size
        self._items: OrderedDict[str, tuple[float, CodeOwner]] = OrderedDict()

    def get(self, code: str) -> CodeOwner | None:
        item = self._items.get(code)
        if item is None or item[0] < time.monotonic():
            return None
        return item[1]

    def put(self, code: str, owner: CodeOwner) -> None:
        self._items[code] = (time.monotonic() + self.ttl, owner)
        self._items.move_to_end(code)
        while len(self._items) > self.size:
            self._items.popitem(last=False)


_owners = _CodeOwners()
_BY_CODE = select(User.id, User.telegram_id, User.first_name, User.last_name).where(
    User.referral_code == bindparam("code")
)


async def find_referrer(*, session: AsyncSession, code: str) -> CodeOwner:
    """The owner of a referral code."""
    if not looks_like_code(code):
        raise UnknownCodeError()
    owner = _owners.get(code)
    if owner is None:
        row = (await session.execute(_BY_CODE, {"code": code})).first()
        if row is None:
            raise UnknownCodeError()
        name = " ".join(part for part in (row.first_name, row.last_name) if part) or "—"
        owner = CodeOwner(row.id, row.telegram_id, name)
        _owners.put(code, owner)
    return owner


async def register_referral(
    *,
    session: AsyncSession,
    referred: User,
    code: str,
    referred_is_new: bool,
    needs_confirmation: bool = False,
    allow_existing: bool = False,
    source: str = "bot",
    click_id: int | None = None,
    attribution_days: int = 30,
    policy: RewardPolicy | None = None,
) -> tuple[Referral, CodeOwner]:
    """Record that `referred` came through `code`; returns the referral and the referrer.

    Rules: the code must exist; no self-referral; a user is referred once, ever; only a new
    user, unless `allow_existing` (then no cycles). With `needs_confirmation` the referral
    waits (e.g. for a channel subscription) instead of counting at once. The referrer is
    notified through the outbox. A `click_id` must be a click on this referrer's link no older
    than `attribution_days`.
    """
    referrer = await find_referrer(session=session, code=code)
    if referrer.id == referred.id:
        raise SelfReferralError()
    # A user created in this very transaction has no referral yet and nobody below them, so
    # these look-ups only run for users who existed before.
    if not referred_is_new:
        if await _referral_of(session, referred.id) is not None:
            raise AlreadyReferredError()
        if not allow_existing:
            raise ExistingUserError()
        if await _is_ancestor(session, ancestor_id=referred.id, user_id=referrer.id):
            raise ReferralCycleError()
    if click_id is not None:
        click = await session.get(Click, click_id)
        if click is None or click.referrer_id != referrer.id:
            raise ClickMismatchError()
        if utcnow() - click.created_at > timedelta(days=attribution_days):
            raise AttributionExpiredError()

    now = utcnow()
    status = ReferralStatus.PENDING if needs_confirmation else ReferralStatus.CONFIRMED
    referral = await session.scalar(
        upsert_insert(session, Referral)
        .on_conflict_do_nothing(index_elements=["referred_id"])
        .returning(Referral),
        {
            "referrer_id": referrer.id,
            "referred_id": referred.id,
            "status": status,
            "source": source,
            "created_at": now,
            "confirmed_at": None if needs_confirmation else now,
            "click_id": click_id,
        },
    )
    if referral is None:  # a concurrent update for the same user won the race
        raise AlreadyReferredError()
    if referral.status == ReferralStatus.CONFIRMED and policy is not None:
        await rewards.grant_for_confirmed(session=session, referral=referral, policy=policy)
    await _notify_referrer(
        session, referrer, referred, NOTIFY_PENDING if needs_confirmation else NOTIFY_JOINED
    )
    return referral, referrer


async def confirm_pending(
    *, session: AsyncSession, referred: User, policy: RewardPolicy | None = None
) -> tuple[Referral, User] | None:
    """Confirm the user's pending referral (its condition is met); None if nothing pending.

    The state change is a conditional UPDATE, so two presses confirm (and notify) once.
    """
    referral = await _referral_of(session, referred.id)
    if referral is None or referral.status != ReferralStatus.PENDING:
        return None
    result = await session.execute(
        update(Referral)
        .where(Referral.id == referral.id, Referral.status == ReferralStatus.PENDING)
        .values(status=ReferralStatus.CONFIRMED, confirmed_at=utcnow())
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    await session.refresh(referral)
    if policy is not None:
        await rewards.grant_for_confirmed(session=session, referral=referral, policy=policy)
    referrer = await session.get_one(User, referral.referrer_id)
    await _notify_referrer(session, referrer, referred, NOTIFY_CONFIRMED)
    return referral, referrer


async def pending_referrer(*, session: AsyncSession, referred: User) -> User | None:
    """Who invited this user, if the referral is still waiting for confirmation."""
    referral = await _referral_of(session, referred.id)
    if referral is None or referral.status != ReferralStatus.PENDING:
        return None
    return await session.get(User, referral.referrer_id)


async def stats(*, session: AsyncSession, user_id: int) -> ReferralStats:
    """Live figures for one referrer."""
    rows = (
        await session.execute(
            select(Referral.status, func.count())
            .where(Referral.referrer_id == user_id)
            .group_by(Referral.status)
        )
    ).all()
    by_status = {ReferralStatus(status): count for status, count in rows}
    confirmed = by_status.get(ReferralStatus.CONFIRMED, 0)
    return ReferralStats(
        invited=sum(by_status.values()),
        confirmed=confirmed,
        pending=by_status.get(ReferralStatus.PENDING, 0),
        rank=await _rank(session, user_id) if confirmed else None,
    )


async def confirmed_count(*, session: AsyncSession, user_id: int) -> int:
    """How many confirmed referrals a user has."""
    count = await session.scalar(
        select(func.count())
        .select_from(Referral)
        .where(Referral.referrer_id == user_id, Referral.status == ReferralStatus.CONFIRMED)
    )
    return int(count or 0)


def _standings() -> Select[int, int, datetime | None]:
    """Confirmed referrals per referrer and when the last one came (ties: earlier first)."""
    return (
        select(
            Referral.referrer_id.label("user_id"),
            func.count().label("confirmed"),
            func.max(Referral.confirmed_at).label("reached_at"),
        )
        .where(Referral.status == ReferralStatus.CONFIRMED)
        .group_by(Referral.referrer_id)
    )


async def leaderboard(*, session: AsyncSession, limit: int = 10) -> list[LeaderboardRow]:
    """The top referrers by confirmed referrals; ties go to who got there first."""
    standings = _standings().subquery()
    rows = (
        await session.execute(
            select(User, standings.c.confirmed)
            .join(standings, standings.c.user_id == User.id)
            .order_by(standings.c.confirmed.desc(), standings.c.reached_at, User.id)
            .limit(limit)
        )
    ).all()
    return [LeaderboardRow(user=user, confirmed=confirmed) for user, confirmed in rows]


async def _rank(session: AsyncSession, user_id: int) -> int | None:
    standings = _standings().subquery()
    mine = (
        await session.execute(
            select(standings.c.confirmed, standings.c.reached_at).where(
                standings.c.user_id == user_id
            )
        )
    ).first()
    if mine is None:
        return None
    confirmed, reached_at = mine
    ahead = await session.scalar(
        select(func.count())
        .select_from(standings)
        .where(
            or_(
                standings.c.confirmed > confirmed,
                and_(
                    standings.c.confirmed == confirmed,
                    or_(
                        standings.c.reached_at < reached_at,
                        and_(standings.c.reached_at == reached_at, standings.c.user_id < user_id),
                    ),
                ),
            )
        )
    )
    return int(ahead or 0) + 1


async def _referral_of(session: AsyncSession, referred_id: int) -> Referral | None:
    return await session.scalar(select(Referral).where(Referral.referred_id == referred_id))


async def _is_ancestor(session: AsyncSession, *, ancestor_id: int, user_id: int) -> bool:
    """Whether `ancestor_id` is somewhere up the chain of who referred `user_id`."""
    found = await session.scalar(
        text(
            "WITH RECURSIVE chain(id) AS ("
            " SELECT referrer_id FROM referrals WHERE referred_id = :user_id"
            " UNION SELECT r.referrer_id FROM referrals r JOIN chain c ON r.referred_id = c.id"
            ") SELECT 1 FROM chain WHERE id = :ancestor_id LIMIT 1"
        ),
        {"user_id": user_id, "ancestor_id": ancestor_id},
    )
    return found is not None


async def _notify_referrer(
    session: AsyncSession, referrer: User | CodeOwner, referred: User, kind: str
) -> None:
    if referrer.telegram_id is None:
        return
    await outbox_service.enqueue(
        session=session,
        chat_id=referrer.telegram_id,
        kind=kind,
        params={"user_id": referrer.id, "name": referred.full_name},
        coalesce_key=f"{kind}:{referrer.id}",
    )
