"""Lotteries: creation with places and prizes, listing, participating accounts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.db import upsert_insert
from bozor.errors import InvalidInputError
from bozor.lotteries import audit, fairness
from bozor.lotteries.accounts import parse_account_number, parse_club_card
from bozor.lotteries.exceptions import (
    AccountOtherCardError,
    BadImportError,
    BadLotteryError,
    LotteryDrawnError,
    LotteryNotFoundError,
)
from bozor.lotteries.models import Account, Lottery, LotteryState, Member, Participation, Prize

MAX_PLACES = 100


async def create(
    *,
    session: AsyncSession,
    title: str,
    prizes: Sequence[str],
    draw_at: datetime | None = None,
    external_name: str | None = None,
    actor: int | None = None,
) -> Lottery:
    """A new lottery; its secret seed is generated now and only its hash is shown."""
    title = title.strip()
    if not title or len(title) > 200 or "\x00" in title:
        raise BadLotteryError(reason="title")
    if not prizes or len(prizes) > MAX_PLACES:
        raise BadLotteryError(reason="prizes")
    if any(not p.strip() or len(p.strip()) > 200 or "\x00" in p for p in prizes):
        raise BadLotteryError(reason="prizes")
    if external_name is not None and (not external_name.strip() or len(external_name) > 200):
        raise BadLotteryError(reason="external")
    if draw_at is not None and draw_at.tzinfo is None:
        raise BadLotteryError(reason="draw_at")
    seed = fairness.new_seed()
    lottery = Lottery(
        title=title,
        draw_at=draw_at,
        seed=seed,
        seed_hash=fairness.seed_hash(seed),
        external_name=external_name.strip() if external_name else None,
        created_by=actor,
    )
    session.add(lottery)
    await session.flush()
    session.add_all(
        Prize(lottery_id=lottery.id, place=place, prize=prize.strip())
        for place, prize in enumerate(prizes, start=1)
    )
    await session.flush()
    await audit.record(
        session=session,
        action="lottery_created",
        actor=actor,
        lottery_id=lottery.id,
        detail={"seed_hash": lottery.seed_hash, "places": len(prizes)},
    )
    return lottery


async def get(*, session: AsyncSession, lottery_id: int) -> Lottery:
    lottery = await session.get(Lottery, lottery_id) if 0 < lottery_id < 2**63 else None
    if lottery is None:
        raise LotteryNotFoundError(lottery_id=lottery_id)
    return lottery


async def get_open(*, session: AsyncSession, lottery_id: int) -> Lottery:
    lottery = await get(session=session, lottery_id=lottery_id)
    if lottery.state != LotteryState.OPEN:
        raise LotteryDrawnError(lottery_id=lottery_id)
    return lottery


async def still_open(*, session: AsyncSession, lottery_id: int) -> None:
    """After entering accounts: refuse (and so roll back) if the lottery was drawn meanwhile.

    Read after the writes and, on PostgreSQL, under a share lock on the lottery, which the
    draw's UPDATE conflicts with: either the draw waits for these entries and counts them, or
    this waits for the draw and refuses. A check before the writes alone lets an entry slip in
    after the draw read its participants, and the draw would no longer verify."""
    state = await session.scalar(
        select(Lottery.state).where(Lottery.id == lottery_id).with_for_update(read=True)
    )
    if state != LotteryState.OPEN:
        raise LotteryDrawnError(lottery_id=lottery_id)


async def prizes(*, session: AsyncSession, lottery_id: int) -> dict[int, str]:
    """Place → prize."""
    rows = await session.execute(
        select(Prize.place, Prize.prize).where(Prize.lottery_id == lottery_id).order_by(Prize.place)
    )
    return dict(rows.all())


@dataclass(frozen=True, slots=True)
class LotteryRow:
    lottery: Lottery
    participants: int


async def listing(
    *, session: AsyncSession, state: LotteryState | None = None, limit: int = 30
) -> list[LotteryRow]:
    """The latest lotteries with their number of participating accounts."""
    counts = (
        select(func.count())
        .where(Participation.lottery_id == Lottery.id)
        .correlate(Lottery)
        .scalar_subquery()
    )
    query = select(Lottery, counts).order_by(Lottery.id.desc()).limit(limit)
    if state is not None:
        query = query.where(Lottery.state == state)
    return [LotteryRow(lottery, count) for lottery, count in (await session.execute(query)).all()]


@dataclass(frozen=True, slots=True)
class ImportLine:
    line: int  # 1-based, for messages
    club_card: str | None
    number: str


@dataclass(frozen=True, slots=True)
class ImportResult:
    added: int  # new accounts
    bound: int  # existing accounts given a card (or re-activated)
    joined: int  # accounts newly taking part in the lottery
    notify: dict[int, list[str]]  # member user id → account numbers now on their card


def parse_lines(text: str) -> list[ImportLine]:
    """Lines of `account`, `card account`, `card,account` or `card;account` (a header line
    and blank lines are skipped). Every bad line is reported; none is half-read."""
    lines: list[ImportLine] = []
    bad: list[int] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        parts = [p for p in raw.replace(",", " ").replace(";", " ").replace("\t", " ").split() if p]
        if not parts:
            continue
        if number == 1 and not any(ch.isdigit() for ch in raw):
            continue  # a CSV header
        try:
            if len(parts) == 1:
                lines.append(ImportLine(number, None, parse_account_number(parts[0])))
            elif len(parts) == 2:
                card = parse_club_card(parts[0])
                lines.append(ImportLine(number, card, parse_account_number(parts[1])))
            else:
                raise ValueError
        except (ValueError, InvalidInputError):
            bad.append(number)
    if bad:
        shown = ", ".join(str(n) for n in bad[:10]) + (" …" if len(bad) > 10 else "")
        raise BadImportError(lines=shown, count=len(bad))
    if not lines:
        raise BadImportError(lines="—", count=0)
    return lines


async def import_accounts(
    *,
    session: AsyncSession,
    lines: Sequence[ImportLine],
    lottery_id: int | None,
    actor: int | None,
    batch: int = 2000,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Add (or bind to a card, or re-activate) many accounts, and enter them in a lottery.
    `progress` is told how many distinct accounts each batch handled."""
    if lottery_id is not None:
        await get_open(session=session, lottery_id=lottery_id)
    added = bound = joined = 0
    notify: dict[int, list[str]] = {}
    wanted: dict[str, ImportLine] = {}
    for line in lines:
        wanted[line.number] = line  # a number listed twice: the last line counts
    items = list(wanted.values())
    for start in range(0, len(items), batch):
        part = items[start : start + batch]
        numbers = [item.number for item in part]
        existing = {
            row.number: row
            for row in (
                await session.execute(
                    select(Account.id, Account.number, Account.club_card, Account.is_active).where(
                        Account.number.in_(numbers)
                    )
                )
            ).all()
        }
        for item in part:
            row = existing.get(item.number)
            if (
                row is not None
                and item.club_card is not None
                and row.club_card not in (None, item.club_card)
                and row.is_active
            ):
                raise AccountOtherCardError(number=item.number, card=row.club_card)
        new = [
            {"number": item.number, "club_card": item.club_card, "is_active": True}
            for item in part
            if item.number not in existing
        ]
        if new:
            await session.execute(
                upsert_insert(session, Account).values(new).on_conflict_do_nothing()
            )
            added += len(new)
        for item in part:
            row = existing.get(item.number)
            if row is None:
                continue
            changed = not row.is_active or (
                item.club_card is not None and row.club_card != item.club_card
            )
            if changed:
                await session.execute(
                    update(Account)
                    .where(Account.id == row.id)
                    .execution_options(synchronize_session=False)
                    .values(
                        is_active=True,
                        club_card=item.club_card if item.club_card is not None else row.club_card,
                    )
                )
                bound += 1
        ids = dict(
            (
                await session.execute(
                    select(Account.number, Account.id).where(Account.number.in_(numbers))
                )
            ).all()
        )
        if lottery_id is not None:
            result = await session.execute(
                upsert_insert(session, Participation)
                .values([{"lottery_id": lottery_id, "account_id": ids[n]} for n in numbers])
                .on_conflict_do_nothing()
                .returning(Participation.id)
            )
            joined += len(result.all())
        cards = {
            item.club_card
            for item in part
            if item.club_card is not None
            and (
                existing.get(item.number) is None
                or existing[item.number].club_card != item.club_card
            )
        }
        if cards:
            members = (
                await session.execute(
                    select(Member.club_card, Member.user_id).where(Member.club_card.in_(cards))
                )
            ).all()
            owner_of = dict(members)
            for item in part:
                if item.club_card in owner_of:
                    previous = existing.get(item.number)
                    if previous is None or previous.club_card != item.club_card:
                        notify.setdefault(owner_of[item.club_card], []).append(item.number)
        if progress is not None:
            progress(len(part))
    if lottery_id is not None:
        await still_open(session=session, lottery_id=lottery_id)
    await audit.record(
        session=session,
        action="accounts_imported",
        actor=actor,
        lottery_id=lottery_id,
        detail={"lines": len(lines), "added": added, "bound": bound, "joined": joined},
    )
    return ImportResult(added, bound, joined, notify)


async def join(*, session: AsyncSession, lottery_id: int, account_id: int) -> bool:
    """Enter one account in an open lottery; False if it takes part already."""
    await get_open(session=session, lottery_id=lottery_id)
    inserted = await session.scalar(
        upsert_insert(session, Participation)
        .values(lottery_id=lottery_id, account_id=account_id)
        .on_conflict_do_nothing()
        .returning(Participation.id)
    )
    await still_open(session=session, lottery_id=lottery_id)
    return inserted is not None
