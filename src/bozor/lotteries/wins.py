"""Winners: confirmation by the owner's button or by an admin with the verification code,
expiry after the claim window, and the state of each place."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.db import utcnow
from bozor.lotteries import audit
from bozor.lotteries.exceptions import (
    NoPendingWinError,
    NotYourAccountError,
    PrizeHandedOverError,
    UnknownCodeError,
    WinAccountRemovedError,
    WinAlreadyConfirmedError,
    WinExpiredError,
    WinNotConfirmedError,
    WinNotFoundError,
)
from bozor.lotteries.models import Account, Lottery, Member, Win, WinStatus
from bozor.users.models import User

__all__ = ["WinStatus"]


async def confirm_by_owner(*, session: AsyncSession, win_id: int, user: User) -> Win:
    """The owner of the winning account confirms it (the button under the notification).

    One conditional UPDATE: pressing twice, or on two devices, confirms once; a win of an
    account that is not the presser's own is refused and left as it was."""
    member = await session.scalar(select(Member).where(Member.user_id == user.id))
    now = utcnow()
    if member is not None and 0 < win_id < 2**63:
        own_accounts = select(Account.id).where(
            Account.club_card == member.club_card, Account.is_active.is_(True)
        )
        confirmed = await session.scalar(
            update(Win)
            .where(
                Win.id == win_id,
                Win.status == WinStatus.PENDING,
                Win.deadline_at > now,
                Win.account_id.in_(own_accounts),
            )
            .values(
                status=WinStatus.CONFIRMED,
                confirmed_at=now,
                confirmed_by=user.telegram_id,
                confirmed_via="button",
            )
            .returning(Win.id)
            .execution_options(synchronize_session=False)
        )
        if confirmed is not None:
            win = await session.get(Win, win_id, populate_existing=True)
            assert win is not None
            await audit.record(
                session=session,
                action="confirmed",
                actor=user.telegram_id,
                lottery_id=win.lottery_id,
                win_id=win.id,
                detail={"via": "button"},
            )
            return win
    # Why not: told only to whoever owns the account; anyone else learns nothing about it.
    win = await session.get(Win, win_id) if 0 < win_id < 2**63 else None
    if win is None:
        raise WinNotFoundError()
    account = await session.get(Account, win.account_id)
    if member is None or account is None or account.club_card != member.club_card:
        raise NotYourAccountError()
    if win.status == WinStatus.CONFIRMED:
        raise WinAlreadyConfirmedError()
    if not account.is_active and win.status == WinStatus.PENDING and win.deadline_at > now:
        raise WinAccountRemovedError()
    raise WinExpiredError()


@dataclass(frozen=True, slots=True)
class OwnConfirmation:
    """A win its owner confirmed, with what the confirmation shows."""

    win: Win
    lottery_title: str
    account_number: str


async def confirm_own(*, session: AsyncSession, win_id: int, user: User) -> OwnConfirmation:
    """`confirm_by_owner`, and the lottery's title and the account's number to show."""
    win = await confirm_by_owner(session=session, win_id=win_id, user=user)
    number = select(Account.number).where(Account.id == win.account_id).scalar_subquery()
    title, number = (
        await session.execute(select(Lottery.title, number).where(Lottery.id == win.lottery_id))
    ).one()
    return OwnConfirmation(win, title, number)


async def confirm_by_admin(
    *, session: AsyncSession, code: str, lottery_id: int, admin: int
) -> tuple[Member, list[Win]]:
    """An admin confirms the pending wins in a lottery of the member with this verification
    code. Two admins at once: each win is confirmed once; the later one is told so."""
    code = code.strip().upper()
    member = await session.scalar(select(Member).where(Member.verification_code == code))
    if member is None:
        raise UnknownCodeError()
    now = utcnow()
    own_accounts = select(Account.id).where(Account.club_card == member.club_card)
    ids = list(
        await session.scalars(
            update(Win)
            .where(
                Win.lottery_id == lottery_id,
                Win.status == WinStatus.PENDING,
                Win.deadline_at > now,
                Win.account_id.in_(own_accounts),
            )
            .values(
                status=WinStatus.CONFIRMED,
                confirmed_at=now,
                confirmed_by=admin,
                confirmed_via="admin",
            )
            .returning(Win.id)
            .execution_options(synchronize_session=False)
        )
    )
    if not ids:
        raise NoPendingWinError(lottery_id=lottery_id)
    confirmed = list(
        await session.scalars(
            select(Win)
            .where(Win.id.in_(ids))
            .order_by(Win.place)
            .execution_options(populate_existing=True)
        )
    )
    for win in confirmed:
        await audit.record(
            session=session,
            action="confirmed",
            actor=admin,
            lottery_id=lottery_id,
            win_id=win.id,
            detail={"via": "admin"},
        )
    return member, confirmed


async def expire_due(*, session: AsyncSession, lottery_id: int | None = None) -> list[int]:
    """Mark wins whose claim window has passed as expired; safe on several instances at once
    (the UPDATE only takes rows still pending)."""
    query = (
        update(Win)
        .where(Win.status == WinStatus.PENDING, Win.deadline_at <= utcnow())
        .values(status=WinStatus.EXPIRED)
        .returning(Win.id, Win.lottery_id)
        .execution_options(synchronize_session=False)
    )
    if lottery_id is not None:
        query = query.where(Win.lottery_id == lottery_id)
    expired = (await session.execute(query)).all()
    for win_id, of_lottery in expired:
        await audit.record(session=session, action="expired", lottery_id=of_lottery, win_id=win_id)
    return [win_id for win_id, _ in expired]


async def hand_over(*, session: AsyncSession, win_id: int, admin: int) -> Win:
    """Record that a confirmed win's prize was handed over."""
    now = utcnow()
    done = await session.scalar(
        update(Win)
        .where(Win.id == win_id, Win.status == WinStatus.CONFIRMED, Win.handed_over_at.is_(None))
        .values(handed_over_at=now)
        .returning(Win.id)
        .execution_options(synchronize_session=False)
    )
    win = await session.get(Win, win_id, populate_existing=True) if 0 < win_id < 2**63 else None
    if win is None:
        raise WinNotFoundError()
    if done is None:
        if win.handed_over_at is not None:
            raise PrizeHandedOverError()
        raise WinNotConfirmedError()
    await audit.record(
        session=session, action="handed_over", actor=admin, lottery_id=win.lottery_id, win_id=win_id
    )
    return win


@dataclass(frozen=True, slots=True)
class PlaceState:
    win_id: int
    place: int
    round: int
    number: str
    club_card: str | None
    status: WinStatus
    deadline_at: datetime
    owner_telegram_id: int | None
    owner_username: str | None
    owner_name: str | None


async def places(
    *, session: AsyncSession, lottery_id: int, include_redrawn: bool = False
) -> list[PlaceState]:
    """Each win of a lottery with its account and owner, by place then round."""
    query = (
        select(
            Win.id,
            Win.place,
            Win.round,
            Account.number,
            Account.club_card,
            Win.status,
            Win.deadline_at,
            User.telegram_id,
            User.username,
            User.first_name,
        )
        .join(Account, Account.id == Win.account_id)
        .outerjoin(Member, Member.club_card == Account.club_card)
        .outerjoin(User, User.id == Member.user_id)
        .where(Win.lottery_id == lottery_id)
        .order_by(Win.place, Win.round)
    )
    if not include_redrawn:
        query = query.where(Win.status != WinStatus.REDRAWN)
    rows = (await session.execute(query)).all()
    now = utcnow()
    return [
        PlaceState(
            win_id,
            place,
            round_,
            number,
            card,
            # a pending win past its deadline is expired even before the job has run
            WinStatus.EXPIRED if status == WinStatus.PENDING and deadline <= now else status,
            deadline,
            tg_id,
            username,
            first_name,
        )
        for win_id, place, round_, number, card, status, deadline, tg_id, username, first_name in (
            rows
        )
    ]
