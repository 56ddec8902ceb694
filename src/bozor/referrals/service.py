"""Referral rules: who brought whom, once; counts derived from the graph, never stored."""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, bindparam, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bozor.db import InsertReturning, serialize, utcnow
from bozor.errors import ConflictError, NotFoundError
from bozor.events import service as events
from bozor.referrals import rewards
from bozor.referrals.codes import looks_like_code
from bozor.referrals.exceptions import (
    AlreadyReferredError,
    AttributionExpiredError,
    ClickMismatchError,
    ExistingUserError,
    ReferralCycleError,
    ReferralRefusedError,
    SelfReferralError,
    UnknownCodeError,
)
from bozor.referrals.hooks import Attempt, Notice, Person, Verdict, hooks_from
from bozor.referrals.models import Campaign, Click, Referral, ReferralLink, ReferralStatus
from bozor.referrals.settings import ReferralSettings
from bozor.settings import Settings
from bozor.users import service as users_service
from bozor.users.models import User


@dataclass(frozen=True, slots=True)
class ReferralStats:
    invited: int  # every referral, whatever its state
    confirmed: int
    pending: int  # waiting for a condition or for review
    rank: int | None  # place among referrers by confirmed referrals; None without any


@dataclass(frozen=True, slots=True)
class LeaderboardRow:
    user: User
    confirmed: int


@dataclass(frozen=True, slots=True)
class CodeOwner(Person):
    """Whom a referral code belongs to, and the campaign its link was made for."""

    campaign_id: int | None = None


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
_INSERT_REFERRAL = InsertReturning(
    Referral,
    lambda insert, table: insert(table).on_conflict_do_nothing(index_elements=["referred_id"]),
)
_OWNER_COLUMNS = (User.id, User.telegram_id, User.first_name, User.last_name, User.external_id)
_BY_CODE = select(*_OWNER_COLUMNS).where(User.referral_code == bindparam("code"))
_BY_CAMPAIGN_CODE = (
    select(*_OWNER_COLUMNS, Campaign.id.label("campaign_id"), Campaign.ends_at)
    .join(ReferralLink, ReferralLink.user_id == User.id)
    .join(Campaign, Campaign.id == ReferralLink.campaign_id)
    .where(ReferralLink.code == bindparam("code"))
)


def known_owner(code: str) -> CodeOwner | None:
    """The owner of a code if this process looked it up lately (no database needed)."""
    return _owners.get(code)


async def find_referrer(*, session: AsyncSession, code: str) -> CodeOwner:
    """The owner of a referral code (a user's own code, or one of their campaign links)."""
    if not looks_like_code(code):
        raise UnknownCodeError()
    owner = _owners.get(code)
    if owner is not None:
        return owner
    row: Any = (await session.execute(_BY_CODE, {"code": code})).first()
    if row is not None:
        owner = CodeOwner(row.id, row.telegram_id, _name(row), _api_id(row))
        _owners.put(code, owner)
        return owner
    # A campaign link: not cached, since an admin may end the campaign at any moment.
    row = (await session.execute(_BY_CAMPAIGN_CODE, {"code": code})).first()
    if row is None:
        raise UnknownCodeError()
    ended = row.ends_at is not None and row.ends_at <= utcnow()
    campaign_id = None if ended else row.campaign_id
    return CodeOwner(row.id, row.telegram_id, _name(row), _api_id(row), campaign_id)


def _name(row: Any) -> str:
    return " ".join(part for part in (row.first_name, row.last_name) if part) or "—"


def _api_id(row: Any) -> str:
    return str(row.external_id or f"tg:{row.telegram_id}")


def person_of(user: User) -> Person:
    return Person(user.id, user.telegram_id, user.full_name, users_service.api_id_of(user))


def referral_data(referral: Referral, referrer: Person, referred: Person) -> dict[str, Any]:
    """A referral as events and webhooks describe it."""
    return {
        "id": referral.id,
        "referrer_id": referrer.api_id,
        "referred_id": referred.api_id,
        "status": str(referral.status),
        "reason": referral.reason,
        "source": referral.source,
        "campaign_id": referral.campaign_id,
        "click_id": referral.click_id,
        "created_at": referral.created_at.isoformat(),
        "confirmed_at": referral.confirmed_at.isoformat() if referral.confirmed_at else None,
    }


async def _notify(
    session: AsyncSession,
    settings: Settings,
    event: str,
    referral: Referral,
    referrer: Person,
    referred: Person,
) -> None:
    """Tell the referrer (the notifier hook)."""
    await hooks_from(settings).notifier(
        session, Notice(event, referrer, referral=referral, referred=referred)
    )


async def register_referral(
    *,
    session: AsyncSession,
    referred: User,
    code: str,
    referred_is_new: bool,
    settings: Settings,
    needs_confirmation: bool = False,
    allow_existing: bool = False,
    source: str = "bot",
    click_id: int | None = None,
    referrer: CodeOwner | None = None,
) -> tuple[Referral, CodeOwner]:
    """Record that `referred` came through `code`; returns the referral and the referrer.

    Fixed rules: the code must exist; no self-referral; a user is referred once, ever; only a
    new user, unless `allow_existing` (then no cycles); a `click_id` must be a click on this
    referrer's link no older than ATTRIBUTION_DAYS. Then the validator hook decides: accept,
    hold for review, or reject. With `needs_confirmation` an accepted referral waits (e.g. for
    a channel subscription) instead of counting at once. Confirmed referrals earn rewards.
    `referrer` is the code's owner when the caller has looked it up already.
    """
    if referrer is None:
        referrer = await find_referrer(session=session, code=code)
    if referrer.id == referred.id:
        raise SelfReferralError()
    # A user created in this very transaction has no referral yet and nobody below them, so
    # these look-ups only run for users who existed before.
    if not referred_is_new:
        if allow_existing:  # two existing users joining each other at once must not both pass
            await serialize(session, "referral-graph", sqlite_table="referrals")
        if await _referral_of(session, referred.id) is not None:
            raise AlreadyReferredError()
        if not allow_existing:
            raise ExistingUserError()
        if await _is_ancestor(session, ancestor_id=referred.id, user_id=referrer.id):
            raise ReferralCycleError()
    click = None
    if click_id is not None:
        click = await session.get(Click, click_id)
        if click is None or click.referrer_id != referrer.id:
            raise ClickMismatchError()
        if utcnow() - click.created_at > timedelta(
            days=ReferralSettings.of(settings).attribution_days
        ):
            raise AttributionExpiredError()
    campaign_id = referrer.campaign_id or (click.campaign_id if click else None)
    attempt = Attempt(referrer, referred, referred_is_new, source, click, campaign_id)
    decision = await hooks_from(settings).validator(session, attempt, settings)
    if decision.verdict == Verdict.REJECT:
        raise ReferralRefusedError(reason=decision.reason or "")

    now = utcnow()
    if decision.verdict == Verdict.REVIEW:
        status = ReferralStatus.REVIEW
    elif needs_confirmation:
        status = ReferralStatus.PENDING
    else:
        status = ReferralStatus.CONFIRMED
    referral = await _INSERT_REFERRAL(
        session,
        {
            "referrer_id": referrer.id,
            "referred_id": referred.id,
            "status": status,
            "source": source,
            "reason": decision.reason,
            "created_at": now,
            "confirmed_at": now if status == ReferralStatus.CONFIRMED else None,
            "click_id": click_id,
            "campaign_id": campaign_id,
        },
    )
    if referral is None:  # a concurrent update for the same user won the race
        raise AlreadyReferredError()
    person = person_of(referred)
    await _notify(session, settings, events.REFERRAL_CREATED, referral, referrer, person)
    data = {"referral": referral_data(referral, referrer, person)}
    announced: list[events.Event] = [(events.REFERRAL_CREATED, data)]
    if status == ReferralStatus.CONFIRMED:
        # Confirmed at once: subscribers of referral.confirmed hear of it too (no second
        # message to the referrer, though).
        announced.append((events.REFERRAL_CONFIRMED, data))
        announced += await rewards.grant_for_confirmed(
            session=session,
            referral=referral,
            settings=settings,
            api_ids={referrer.id: referrer.api_id, person.id: person.api_id},
        )
    await events.publish_many(session=session, events=announced)
    return referral, referrer


async def confirm_pending(
    *, session: AsyncSession, referred: User, settings: Settings
) -> Referral | None:
    """Confirm the user's pending referral (its condition is met); None if nothing pending.
    A referral held for review stays held: only an admin decides it."""
    referral = await _referral_of(session, referred.id)
    if referral is None or referral.status != ReferralStatus.PENDING:
        return None
    return await _decide(
        session, referral, settings, approve=True, expected=(ReferralStatus.PENDING,)
    )


async def review(
    *,
    session: AsyncSession,
    referral_id: int,
    approve: bool,
    settings: Settings,
    reason: str | None = None,
) -> Referral:
    """An admin's decision on a referral waiting for a condition or held for review."""
    referral = await session.get(Referral, referral_id)
    if referral is None:
        raise NotFoundError("referral.not_found")
    decided = await _decide(
        session,
        referral,
        settings,
        approve=approve,
        reason=reason,
        expected=(ReferralStatus.PENDING, ReferralStatus.REVIEW),
    )
    if decided is None:
        raise ConflictError("referral.already_decided")
    return decided


async def _decide(
    session: AsyncSession,
    referral: Referral,
    settings: Settings,
    *,
    approve: bool,
    expected: tuple[ReferralStatus, ...],
    reason: str | None = None,
) -> Referral | None:
    """Move a waiting referral to confirmed or rejected. A conditional UPDATE, so of two
    simultaneous decisions one wins and the other changes (and announces) nothing."""
    now = utcnow()
    values: dict[str, Any] = (
        {"status": ReferralStatus.CONFIRMED, "confirmed_at": now}
        if approve
        else {"status": ReferralStatus.REJECTED, "reason": reason}
    )
    if ReferralStatus.REVIEW in expected:  # an admin's decision
        values["reviewed_at"] = now
    result = await session.execute(
        update(Referral)
        .where(Referral.id == referral.id, Referral.status.in_(expected))
        .values(**values)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    await session.refresh(referral)
    referrer = person_of(await session.get_one(User, referral.referrer_id))
    referred = person_of(await session.get_one(User, referral.referred_id))
    event = events.REFERRAL_CONFIRMED if approve else events.REFERRAL_REJECTED
    announced: list[events.Event] = [
        (event, {"referral": referral_data(referral, referrer, referred)})
    ]
    if approve:
        announced += await rewards.grant_for_confirmed(
            session=session,
            referral=referral,
            settings=settings,
            api_ids={referrer.id: referrer.api_id, referred.id: referred.api_id},
        )
    await _notify(session, settings, event, referral, referrer, referred)
    # The decision first, then what it earned, as before.
    await events.publish_many(session=session, events=announced)
    return referral


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
        pending=by_status.get(ReferralStatus.PENDING, 0) + by_status.get(ReferralStatus.REVIEW, 0),
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


@dataclass(frozen=True, slots=True)
class ReferralRow:
    referral: Referral
    referrer_id: str  # API ids
    referred_id: str
    campaign: str | None  # slug


@dataclass(frozen=True, slots=True)
class ReferralFilter:
    status: ReferralStatus | None = None
    referrer: User | None = None
    campaign_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None


async def list_referrals(
    *,
    session: AsyncSession,
    where: ReferralFilter,
    before_id: int | None = None,
    limit: int | None = 100,
) -> list[ReferralRow]:
    """Referrals matching the filter, newest first; `before_id` pages through them."""
    referrer, referred = aliased(User), aliased(User)
    query = (
        select(
            Referral,
            referrer.external_id,
            referrer.telegram_id,
            referred.external_id,
            referred.telegram_id,
            Campaign.slug,
        )
        .join(referrer, referrer.id == Referral.referrer_id)
        .join(referred, referred.id == Referral.referred_id)
        .outerjoin(Campaign, Campaign.id == Referral.campaign_id)
        .order_by(Referral.id.desc())
    )
    if where.status is not None:
        query = query.where(Referral.status == where.status)
    if where.referrer is not None:
        query = query.where(Referral.referrer_id == where.referrer.id)
    if where.campaign_id is not None:
        query = query.where(Referral.campaign_id == where.campaign_id)
    if where.since is not None:
        query = query.where(Referral.created_at >= where.since)
    if where.until is not None:
        query = query.where(Referral.created_at < where.until)
    if before_id is not None:
        query = query.where(Referral.id < before_id)
    if limit is not None:
        query = query.limit(limit)
    return [
        ReferralRow(
            row[0],
            row[1] or f"tg:{row[2]}",
            row[3] or f"tg:{row[4]}",
            row[5],
        )
        for row in (await session.execute(query)).all()
    ]
