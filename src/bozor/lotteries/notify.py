"""Outbox messages of the lottery feature, written in the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.lotteries import audit
from bozor.lotteries.models import Account, Member, Win
from bozor.outbox import service as outbox
from bozor.users.models import User

WIN = "lottery.win"
CONFIRMED = "lottery.confirmed"
ACCOUNTS_ADDED = "lottery.accounts_added"
RESULTS = "lottery.results"
DRAW_POSTPONED = "lottery.draw_postponed"


async def wins(*, session: AsyncSession, won: Sequence[Win]) -> int:
    """Tell each owner of a winning account (one message per owner and round, with a button per
    account); accounts with no registered owner are only announced. Returns messages queued."""
    if not won:
        return 0
    rows = (
        await session.execute(
            select(Win.id, Win.lottery_id, Win.round, User.telegram_id)
            .join(Account, Account.id == Win.account_id)
            .join(Member, Member.club_card == Account.club_card)
            .join(User, User.id == Member.user_id)
            .where(Win.id.in_([w.id for w in won]), User.telegram_id.is_not(None))
        )
    ).all()
    queued = 0
    for win_id, lottery_id, round_, telegram_id in rows:
        assert telegram_id is not None
        await outbox.enqueue(
            session=session,
            chat_id=telegram_id,
            kind=WIN,
            params={"win_id": win_id},
            coalesce_key=f"lottery-win:{lottery_id}:{round_}",
        )
        await audit.record(
            session=session,
            action="notified",
            lottery_id=lottery_id,
            win_id=win_id,
            detail={"chat_id": telegram_id},
        )
        queued += 1
    return queued


async def confirmed(*, session: AsyncSession, telegram_id: int | None, won: Sequence[Win]) -> None:
    if telegram_id is None:
        return
    for win in won:
        await outbox.enqueue(
            session=session,
            chat_id=telegram_id,
            kind=CONFIRMED,
            params={"win_id": win.id},
            coalesce_key=f"lottery-confirmed:{win.lottery_id}",
        )


async def accounts_added(*, session: AsyncSession, user_id: int, numbers: Sequence[str]) -> None:
    user = await session.get(User, user_id)
    if user is None or user.telegram_id is None:
        return
    for number in numbers:
        await outbox.enqueue(
            session=session,
            chat_id=user.telegram_id,
            kind=ACCOUNTS_ADDED,
            params={"number": number},
            coalesce_key="lottery-accounts",
        )


async def results(
    *, session: AsyncSession, channel: int | None, lottery_id: int, round_: int, language: str
) -> None:
    """Announce a round's winners in the results channel (accounts with no owner by number)."""
    if channel is not None:
        await outbox.enqueue(
            session=session,
            chat_id=channel,
            kind=RESULTS,
            params={"lottery_id": lottery_id, "round": round_, "language": language},
            coalesce_key=f"lottery-results:{lottery_id}:{round_}",
        )


async def draw_postponed(
    *, session: AsyncSession, admins: Sequence[int], reason: str, params: dict[str, Any]
) -> None:
    """Tell the admins why a scheduled draw was not made (`reason`: the error's code)."""
    for admin in admins:
        await outbox.enqueue(
            session=session,
            chat_id=admin,
            kind=DRAW_POSTPONED,
            params={"reason": reason, "params": params},
        )
