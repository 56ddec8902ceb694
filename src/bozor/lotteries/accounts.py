"""Members (club card, phone, verification code) and their club accounts."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.db import upsert_insert
from bozor.lotteries import audit
from bozor.lotteries.exceptions import (
    AccountNotFoundError,
    AccountOtherCardError,
    AlreadyRegisteredError,
    BadAccountNumberError,
    BadClubCardError,
    BadPhoneError,
    CardTakenError,
    NotRegisteredError,
)
from bozor.lotteries.models import Account, Lottery, Member, Participation, Win
from bozor.users.models import User

ACCOUNT_FORMAT = "XX-XX-XX-XX-XX-XX-XX"
ACCOUNT_RE = re.compile(r"^\d{2}(-\d{2}){6}$", re.ASCII)
CARD_RE = re.compile(r"^\d{1,20}$", re.ASCII)
PHONE_RE = re.compile(r"^\+?\d{7,15}$", re.ASCII)
# No look-alikes (0/O, 1/I/L): the code is read out to an admin.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8


def parse_account_number(value: str) -> str:
    """The account number, or BadAccountNumberError naming the expected format."""
    value = value.strip()
    if not ACCOUNT_RE.match(value):
        raise BadAccountNumberError(value=value[:40], format=ACCOUNT_FORMAT)
    return value


def parse_club_card(value: str) -> str:
    value = value.strip()
    if not CARD_RE.match(value):
        raise BadClubCardError(value=value[:40])
    return value


def parse_phone(value: str) -> str:
    cleaned = re.sub(r"[\s()-]", "", value.strip())
    if not PHONE_RE.match(cleaned):
        raise BadPhoneError()
    return cleaned


def new_verification_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


async def member_of(*, session: AsyncSession, user_id: int) -> Member | None:
    """The user's lottery registration, if any."""
    return await session.scalar(select(Member).where(Member.user_id == user_id))


async def member_by_card(*, session: AsyncSession, club_card: str) -> Member | None:
    return await session.scalar(select(Member).where(Member.club_card == club_card))


async def check_card_free(*, session: AsyncSession, club_card: str) -> str:
    """The card number, if well-formed and nobody registered with it."""
    club_card = parse_club_card(club_card)
    if await member_by_card(session=session, club_card=club_card) is not None:
        raise CardTakenError()
    return club_card


async def register(
    *, session: AsyncSession, user: User, club_card: str, phone: str | None
) -> Member:
    """Register the user with a club card; the verification code is generated here, once."""
    club_card = parse_club_card(club_card)
    phone = parse_phone(phone) if phone else None
    if await member_of(session=session, user_id=user.id) is not None:
        raise AlreadyRegisteredError()
    for _ in range(5):  # a code collision is very rare (31**8 codes); retry anyway
        code = new_verification_code()
        statement = (
            upsert_insert(session, Member)
            .values(user_id=user.id, club_card=club_card, phone=phone, verification_code=code)
            .on_conflict_do_nothing()
            .returning(Member.id)
        )
        member_id = await session.scalar(statement)
        if member_id is not None:
            member = await session.get(Member, member_id)
            assert member is not None
            return member
        if await member_of(session=session, user_id=user.id) is not None:
            raise AlreadyRegisteredError()  # a concurrent /register won
        if await member_by_card(session=session, club_card=club_card) is not None:
            raise CardTakenError()
    raise RuntimeError("could not generate a unique verification code")


@dataclass(frozen=True, slots=True)
class AddedAccount:
    account: Account
    created: bool  # a new account (not one re-bound or re-activated)
    owner: Member | None  # the registered member of its card, to be told
    changed: bool = True  # False: it was already active on this card (nobody to tell)


async def add_account(
    *, session: AsyncSession, club_card: str | None, number: str, actor: int | None
) -> AddedAccount:
    """Add an account to a club card (or to none: its owner is bound later); re-activates a
    removed account and binds an account that has no card yet."""
    number = parse_account_number(number)
    club_card = parse_club_card(club_card) if club_card is not None else None
    existing = await session.scalar(select(Account).where(Account.number == number))
    created = existing is None
    if existing is None:
        inserted = await session.scalar(
            upsert_insert(session, Account)
            .values(number=number, club_card=club_card, is_active=True)
            .on_conflict_do_nothing()
            .returning(Account.id)
        )
        if inserted is None:  # added concurrently: treat as existing
            created = False
            existing = await session.scalar(select(Account).where(Account.number == number))
            assert existing is not None
        else:
            existing = await session.get(Account, inserted)
            assert existing is not None
    changed = created
    if not created:
        moved = club_card is not None and existing.club_card not in (None, club_card)
        if moved and existing.is_active:
            raise AccountOtherCardError(number=number, card=existing.club_card)
        changed = not existing.is_active or (club_card is not None and existing.club_card is None)
        if club_card is not None:
            existing.club_card = club_card
        existing.is_active = True
    await session.flush()
    await audit.record(
        session=session,
        action="account_added",
        actor=actor,
        detail={"number": number, "club_card": club_card},
    )
    owner = await member_by_card(session=session, club_card=club_card) if club_card else None
    return AddedAccount(existing, created, owner, changed)


async def remove_account(*, session: AsyncSession, number: str, actor: int | None) -> Account:
    """Deactivate an account: it takes no part in draws from now on."""
    number = parse_account_number(number)
    account = await session.scalar(select(Account).where(Account.number == number))
    if account is None:
        raise AccountNotFoundError(number=number)
    await session.execute(update(Account).where(Account.id == account.id).values(is_active=False))
    await session.refresh(account)
    await audit.record(
        session=session, action="account_removed", actor=actor, detail={"number": number}
    )
    return account


async def accounts_of_card(*, session: AsyncSession, club_card: str) -> list[Account]:
    rows = await session.scalars(
        select(Account).where(Account.club_card == club_card).order_by(Account.number)
    )
    return list(rows)


async def get_member(*, session: AsyncSession, user: User) -> Member:
    member = await member_of(session=session, user_id=user.id)
    if member is None:
        raise NotRegisteredError()
    return member


@dataclass(frozen=True, slots=True)
class AccountWin:
    win: Win
    lottery_title: str


@dataclass(frozen=True, slots=True)
class AccountOverview:
    account: Account
    entries: int  # lotteries the account took part in
    wins: list[AccountWin]  # oldest first


async def card_overview(*, session: AsyncSession, club_card: str) -> list[AccountOverview]:
    """A card's accounts, each with how many draws it entered and its wins, in a fixed number
    of queries however many accounts and wins there are."""
    owned = await accounts_of_card(session=session, club_card=club_card)
    ids = [account.id for account in owned]
    counted = await session.execute(
        select(Participation.account_id, func.count())
        .where(Participation.account_id.in_(ids))
        .group_by(Participation.account_id)
    )
    entries: dict[int, int] = {row[0]: row[1] for row in counted}
    won: dict[int, list[AccountWin]] = {account_id: [] for account_id in ids}
    rows = await session.execute(
        select(Win, Lottery.title)
        .join(Lottery, Lottery.id == Win.lottery_id)
        .where(Win.account_id.in_(ids))
        .order_by(Win.id)
    )
    for win, title in rows:
        won[win.account_id].append(AccountWin(win, title))
    return [AccountOverview(a, entries.get(a.id, 0), won[a.id]) for a in owned]


async def overview(*, session: AsyncSession, user: User) -> tuple[Member, list[AccountOverview]]:
    """The member and their accounts for /my_account."""
    member = await get_member(session=session, user=user)
    return member, await card_overview(session=session, club_card=member.club_card)
