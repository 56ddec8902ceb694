"""What an admin (or the scheduler) does to the lotteries, one call each: the rule (accounts,
draws, wins) and what it tells the members (notify: outbox rows and broadcasts), in the
caller's transaction. The bot's admin commands, the scheduled draws, the import command and
the demo call these, so a handler parses, calls one function and renders. No Telegram types."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bozor.lotteries import accounts, draws, notify, service, wins
from bozor.lotteries.models import Account, Lottery, Member, Win
from bozor.lotteries.settings import LotterySettings
from bozor.settings import Settings
from bozor.users import service as users_service
from bozor.users.models import User


async def add_account(
    *,
    session: AsyncSession,
    club_card: str | None,
    number: str,
    lottery_id: int | None,
    actor: int | None,
) -> accounts.AddedAccount:
    """Add an account to a club card (or none), join it to a lottery when one is given, and
    tell a registered owner of the new account (and of wins it already holds)."""
    added = await accounts.add_account(
        session=session, club_card=club_card, number=number, actor=actor
    )
    if lottery_id is not None:
        await service.join(session=session, lottery_id=lottery_id, account_id=added.account.id)
    if added.changed and added.owner is not None:
        await notify.accounts_added(
            session=session, user_id=added.owner.user_id, numbers=[added.account.number]
        )
        await notify.pending_wins(session=session, account_id=added.account.id)
    return added


async def import_accounts(
    *,
    session: AsyncSession,
    lines: Sequence[service.ImportLine],
    lottery_id: int | None,
    actor: int | None,
    progress: Callable[[int], None] | None = None,
) -> service.ImportResult:
    """Import accounts (service.import_accounts) and tell each registered owner theirs."""
    result = await service.import_accounts(
        session=session, lines=lines, lottery_id=lottery_id, actor=actor, progress=progress
    )
    for user_id, numbers in result.notify.items():
        await notify.accounts_added(session=session, user_id=user_id, numbers=numbers)
    return result


async def draw(
    *,
    session: AsyncSession,
    settings: Settings,
    lottery_id: int,
    external_value: str | None = None,
    actor: int | None = None,
) -> draws.DrawResult:
    """Draw a lottery and tell everyone (winners, the results channel, participants)."""
    result = await draws.draw(
        session=session,
        lottery_id=lottery_id,
        external_value=external_value,
        actor=actor,
        claim_hours=LotterySettings.of(settings).claim_hours,
    )
    await notify.drawn(session=session, settings=settings, result=result)
    return result


async def redraw(
    *, session: AsyncSession, settings: Settings, lottery_id: int, actor: int | None
) -> draws.DrawResult:
    """Redraw a lottery's expired places and tell the new winners and the channel."""
    result = await draws.redraw(
        session=session,
        lottery_id=lottery_id,
        actor=actor,
        claim_hours=LotterySettings.of(settings).claim_hours,
    )
    await notify.drawn(session=session, settings=settings, result=result)
    return result


async def verify_winner(
    *, session: AsyncSession, code: str, lottery_id: int, admin: int
) -> tuple[Member, list[Win]]:
    """An admin confirms a member's pending wins in a lottery by their verification code; the
    member is told."""
    await service.get(session=session, lottery_id=lottery_id)  # an unknown lottery: not found
    member, confirmed = await wins.confirm_by_admin(
        session=session, code=code, lottery_id=lottery_id, admin=admin
    )
    owner = await users_service.get_by_id(session=session, user_id=member.user_id)
    await notify.confirmed(
        session=session, telegram_id=owner.telegram_id if owner else None, won=confirmed
    )
    return member, confirmed


@dataclass(frozen=True, slots=True)
class Standing:
    """A lottery's winners as they stand: each place's state, and the prizes by place."""

    lottery: Lottery
    prizes: dict[int, str]
    places: list[wins.PlaceState]


async def standing(*, session: AsyncSession, lottery_id: int) -> Standing:
    """A lottery's places (redrawn ones left out) and prizes."""
    lottery = await service.get(session=session, lottery_id=lottery_id)
    return Standing(
        lottery=lottery,
        prizes=await service.prizes(session=session, lottery_id=lottery_id),
        places=await wins.places(session=session, lottery_id=lottery_id),
    )


@dataclass(frozen=True, slots=True)
class MemberAccounts:
    user: User
    member: Member
    accounts: list[Account]


async def member_accounts(*, session: AsyncSession, telegram_id: int) -> MemberAccounts | None:
    """A registered member's accounts, by their Telegram id; None if they are not registered."""
    user = await users_service.get_by_telegram_id(session=session, telegram_id=telegram_id)
    member = await accounts.member_of(session=session, user_id=user.id) if user else None
    if user is None or member is None:
        return None
    owned = await accounts.accounts_of_card(session=session, club_card=member.club_card)
    return MemberAccounts(user=user, member=member, accounts=owned)
