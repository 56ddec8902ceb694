"""The three analytics reports of the reference, as header + rows (for Telegram, API, CSV)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.db import utcnow
from bozor.lotteries.models import Account, Lottery, Member, Participation, Prize, Win, WinStatus
from bozor.users.models import User

Report = tuple[list[str], list[tuple[Any, ...]]]


async def wins_by_card(*, session: AsyncSession, limit: int = 10_000) -> Report:
    """Winners by club card: wins and claimed (confirmed) wins, redrawn places left out."""
    claimed = func.sum(case((Win.status == WinStatus.CONFIRMED, 1), else_=0))
    query = (
        select(Member.club_card, User.first_name, func.count(Win.id), claimed)
        .join(User, User.id == Member.user_id)
        .join(Account, Account.club_card == Member.club_card)
        .join(Win, Win.account_id == Account.id)
        .where(Win.status != WinStatus.REDRAWN)
        .group_by(Member.club_card, User.first_name)
        .order_by(func.count(Win.id).desc(), Member.club_card)
        .limit(limit)
    )
    rows = [tuple(row) for row in (await session.execute(query)).all()]
    return ["club_card", "first_name", "total_wins", "claimed_wins"], rows


async def participations_by_account(*, session: AsyncSession, limit: int = 10_000) -> Report:
    """Accounts by number of participations, most first."""
    count = func.count(Participation.id)
    query = (
        select(Account.number, Account.club_card, count)
        .join(Participation, Participation.account_id == Account.id)
        .group_by(Account.id, Account.number, Account.club_card)
        .order_by(count.desc(), Account.number)
        .limit(limit)
    )
    rows = [tuple(row) for row in (await session.execute(query)).all()]
    return ["account", "club_card", "participations"], rows


async def unclaimed(*, session: AsyncSession, limit: int = 10_000) -> Report:
    """Wins not confirmed within their claim window (LOTTERY_CLAIM_HOURS when drawn)."""
    query = (
        select(
            Lottery.id,
            Lottery.title,
            Win.place,
            Prize.prize,
            Account.number,
            Account.club_card,
            Win.status,
            Win.created_at,
        )
        .join(Lottery, Lottery.id == Win.lottery_id)
        .join(Account, Account.id == Win.account_id)
        .outerjoin(Prize, (Prize.lottery_id == Win.lottery_id) & (Prize.place == Win.place))
        .where(
            Win.status.in_([WinStatus.PENDING, WinStatus.EXPIRED]),
            Win.deadline_at < utcnow(),
        )
        .order_by(Win.created_at)
        .limit(limit)
    )
    rows: list[tuple[Any, ...]] = [
        (*row[:6], str(row[6]), row[7].isoformat()) for row in (await session.execute(query)).all()
    ]
    return [
        "lottery_id",
        "title",
        "place",
        "prize",
        "account",
        "club_card",
        "status",
        "won_at",
    ], rows


REPORTS: dict[str, Callable[..., Awaitable[Report]]] = {
    "wins_by_card": wins_by_card,
    "participations": participations_by_account,
    "unclaimed": unclaimed,
}
