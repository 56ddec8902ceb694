"""Referral figures over time for the dashboard: the funnel per day and the top referrers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.referrals.models import Click, Referral, ReferralStatus
from bozor.users.models import User


@dataclass(frozen=True, slots=True)
class FunnelDay:
    day: date
    clicks: int  # visits to referral links (crawlers and link previews left out)
    signups: int  # referrals created that day, whatever became of them
    confirmed: int  # referrals confirmed that day


def _day(value: Any) -> date:
    """A day as the database returns `date(...)`: a date (PostgreSQL) or text (SQLite)."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


async def _per_day(session: AsyncSession, column: Any, *where: Any) -> dict[date, int]:
    day = func.date(column)
    rows = await session.execute(select(day, func.count()).where(*where).group_by(day))
    return {_day(d): int(n) for d, n in rows.all() if d is not None}


async def funnel_by_day(
    *, session: AsyncSession, since: datetime, until: datetime
) -> list[FunnelDay]:
    """Clicks, sign-ups and confirmations per UTC day from `since` to `until`, every day
    listed (zeros included)."""
    clicks = await _per_day(
        session, Click.created_at, Click.created_at >= since, Click.created_at < until,
        Click.is_bot.is_(False),
    )  # fmt: skip
    signups = await _per_day(
        session, Referral.created_at, Referral.created_at >= since, Referral.created_at < until
    )
    confirmed = await _per_day(
        session,
        Referral.confirmed_at,
        Referral.confirmed_at >= since,
        Referral.confirmed_at < until,
        Referral.status == ReferralStatus.CONFIRMED,
    )
    days: list[FunnelDay] = []
    day = since.date()
    while day <= (until - timedelta(microseconds=1)).date():
        days.append(FunnelDay(day, clicks.get(day, 0), signups.get(day, 0), confirmed.get(day, 0)))
        day += timedelta(days=1)
    return days


@dataclass(frozen=True, slots=True)
class ReferrerRow:
    user: User
    clicks: int
    signups: int
    confirmed: int


async def top_referrers(*, session: AsyncSession, limit: int = 20) -> list[ReferrerRow]:
    """Referrers by confirmed referrals (then sign-ups), with their clicks and sign-ups."""
    confirmed = func.sum(case((Referral.status == ReferralStatus.CONFIRMED, 1), else_=0))
    rows = (
        await session.execute(
            select(User, func.count(Referral.id), confirmed)
            .join(Referral, Referral.referrer_id == User.id)
            .group_by(User.id)
            .order_by(confirmed.desc(), func.count(Referral.id).desc(), User.id)
            .limit(limit)
        )
    ).all()
    ids = [user.id for user, _, _ in rows]
    clicks = dict(
        (
            await session.execute(
                select(Click.referrer_id, func.count())
                .where(Click.referrer_id.in_(ids), Click.is_bot.is_(False))
                .group_by(Click.referrer_id)
            )
        ).all()
    )
    return [
        ReferrerRow(user, int(clicks.get(user.id, 0)), int(signups), int(conf or 0))
        for user, signups, conf in rows
    ]


async def totals(*, session: AsyncSession) -> dict[str, int]:
    """All-time figures: clicks, referrals by state."""
    by_status = dict(
        (
            await session.execute(select(Referral.status, func.count()).group_by(Referral.status))
        ).all()
    )
    clicks = await session.scalar(select(func.count()).where(Click.is_bot.is_(False)))
    return {
        "clicks": int(clicks or 0),
        **{str(status): int(by_status.get(status, 0)) for status in ReferralStatus},
    }
