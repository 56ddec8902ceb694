"""Lottery rules on the real database (both backends): fairness, exclusions, concurrency."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bozor.db import utcnow
from bozor.lotteries import accounts, draws, fairness, service, wins
from bozor.lotteries.exceptions import (
    BadAccountNumberError,
    BadImportError,
    LotteryDrawnError,
    NoPendingWinError,
    NothingToRedrawError,
)
from bozor.lotteries.models import Account, Participation, Win, WinStatus
from bozor.lotteries.testing import account_number, make_lottery
from bozor.testing import while_open
from bozor.users.models import User

Factory = async_sessionmaker[AsyncSession]


def test_pick_is_deterministic_distinct_and_respects_taken() -> None:
    args = {"seed": "ab" * 32, "participants_hash": "cd" * 32, "count": 10, "places": [1, 2, 3]}
    first = fairness.pick(**args)  # type: ignore[arg-type]
    assert first == fairness.pick(**args)  # type: ignore[arg-type]
    assert len({p.index for p in first}) == 3
    again = fairness.pick(**args, taken={p.index for p in first})  # type: ignore[arg-type]
    assert not {p.index for p in again} & {p.index for p in first}
    assert fairness.pick(**{**args, "count": 2}) == fairness.pick(**{**args, "count": 2})  # type: ignore[arg-type]
    assert len(fairness.pick(**{**args, "count": 2})) == 2  # type: ignore[arg-type]
    assert fairness.pick(**args, external="drand 1") != first  # type: ignore[arg-type]


def test_pick_is_unbiased_enough() -> None:
    counts = [0] * 3
    for trial in range(3000):
        [only] = fairness.pick(seed=f"{trial:064x}", participants_hash="00", count=3, places=[1])
        counts[only.index] += 1
    assert all(900 < c < 1100 for c in counts)


def test_participant_list_hash_matches_the_documented_form() -> None:
    import hashlib

    numbers = [account_number(i) for i in (3, 1, 2)]
    plist = fairness.ParticipantList()
    plist.extend(sorted(numbers))
    expected = hashlib.sha256("".join(n + "\n" for n in sorted(numbers)).encode()).hexdigest()
    assert plist.digest() == expected
    assert plist.index_of(account_number(2)) == 1 and plist.index_of(account_number(9)) is None
    with pytest.raises(ValueError):
        plist.extend([account_number(1)])  # out of order


def test_participant_lines_read_in_pieces_match_numbers_read_one_by_one() -> None:
    numbers = [account_number(i) for i in range(1, 250_001, 7)]
    by_number = fairness.ParticipantList()
    by_number.extend(numbers)
    text = "".join(n + "\n" for n in numbers).encode()
    by_lines = fairness.ParticipantList()
    for start in range(0, len(text), 4096):  # pieces that split numbers, as COPY's output does
        by_lines.extend_lines(text[start : start + 4096])
    by_lines.finish_lines()
    assert by_lines.digest() == by_number.digest()
    assert len(by_lines) == len(numbers) and by_lines[123] == numbers[123]


@pytest.mark.parametrize(
    "lines",
    [
        b"11-22-33-44-55-66-77\n11-22-33-44-55-66-77\n",  # repeated
        b"11-22-33-44-55-66-78\n11-22-33-44-55-66-77\n",  # out of order
        b"11-22-33-44-55-66-77\n11-22-33-44-55-66-7",  # cut short
        b"11-22-33-44-55-66-77x11-22-33-44-55-66-78\n",  # malformed
    ],
)
def test_participant_lines_refuse_a_broken_list(lines: bytes) -> None:
    plist = fairness.ParticipantList()
    plist.extend_lines(lines)
    with pytest.raises(ValueError):
        plist.finish_lines()


@pytest.mark.parametrize(
    "bad", ["11-22-33-44-55-66", "11-22-33-44-55-66-7a", "1122334455667", "١١-22-33-44-55-66-77"]
)
def test_account_number_format(bad: str) -> None:
    with pytest.raises(BadAccountNumberError):
        accounts.parse_account_number(bad)
    assert accounts.parse_account_number(" 11-22-33-44-55-66-77 ") == "11-22-33-44-55-66-77"


async def test_draw_verifies_and_a_changed_list_fails(db: Factory) -> None:
    lottery_id = await make_lottery(db, 50)
    async with db() as session:
        result = await draws.draw(session=session, lottery_id=lottery_id)
        await session.commit()
    assert len({w.account_id for w in result.wins}) == 3
    assert result.lottery.participants_count == 50
    async with db() as session:
        report = await draws.verify(session=session, lottery_id=lottery_id)
    assert report.ok, report.problems
    async with db() as session:  # somebody slips an account into the frozen list
        extra = Account(number=account_number(999), club_card=None)
        session.add(extra)
        await session.flush()
        session.add(Participation(lottery_id=lottery_id, account_id=extra.id))
        await session.commit()
    async with db() as session:
        report = await draws.verify(session=session, lottery_id=lottery_id)
    assert not report.ok and not report.participants_hash_ok


async def test_concurrent_draws_draw_once(db: Factory) -> None:
    lottery_id = await make_lottery(db, 20)

    async def attempt() -> bool:
        async with db() as session:
            try:
                await draws.draw(session=session, lottery_id=lottery_id)
            except LotteryDrawnError:
                return False
            await session.commit()
            return True

    outcomes = await asyncio.gather(attempt(), attempt(), attempt())
    assert sorted(outcomes) == [False, False, True]
    async with db() as session:
        assert len(list(await session.scalars(select(Win)))) == 3


async def test_redraw_replaces_only_expired_places_never_a_previous_winner(db: Factory) -> None:
    lottery_id = await make_lottery(db, 6, places=3)
    async with db() as session:
        result = await draws.draw(session=session, lottery_id=lottery_id)
        await session.commit()
    first = {w.place: w.account_id for w in result.wins}
    async with db() as session:
        with pytest.raises(NothingToRedrawError):
            await draws.redraw(session=session, lottery_id=lottery_id)
    async with db() as session:  # place 1 confirmed, places 2 and 3 time out
        await session.execute(update(Win).where(Win.place == 1).values(status=WinStatus.CONFIRMED))
        await session.execute(
            update(Win).where(Win.place > 1).values(deadline_at=utcnow() - timedelta(minutes=1))
        )
        await session.commit()
    for round_ in (1, 2):
        async with db() as session:
            redrawn = await draws.redraw(session=session, lottery_id=lottery_id)
            await session.commit()
        # the second redraw has one account left: place 2 only
        expected = {2, 3} if round_ == 1 else {2}
        assert redrawn.round == round_ and {w.place for w in redrawn.wins} == expected
        async with db() as session:
            await session.execute(
                update(Win)
                .where(Win.status == WinStatus.PENDING)
                .values(deadline_at=utcnow() - timedelta(minutes=1))
            )
            await session.commit()
    async with db() as session:
        all_wins = list(await session.scalars(select(Win).order_by(Win.round, Win.place)))
        report = await draws.verify(session=session, lottery_id=lottery_id)
    # 6 accounts: 3 in the draw, 2 in round 1, the last one in round 2 (place 2 only)
    assert len({w.account_id for w in all_wins}) == len(all_wins) == 6
    assert [w for w in all_wins if w.place == 1] == [
        w for w in all_wins if w.account_id == first[1]
    ]
    assert report.ok, report.problems


async def test_two_admins_verifying_at_once_confirm_once(db: Factory) -> None:
    lottery_id = await make_lottery(db, 1, places=1)
    async with db() as session:
        user = User(telegram_id=123, first_name="Ann", referral_code="annannann1")
        session.add(user)
        await session.flush()
        member = await accounts.register(session=session, user=user, club_card="2223", phone=None)
        await session.execute(update(Account).values(club_card="2223"))
        await draws.draw(session=session, lottery_id=lottery_id)
        await session.commit()

    async def verify(admin: int) -> bool:
        async with db() as session:
            try:
                await wins.confirm_by_admin(
                    session=session,
                    code=member.verification_code,
                    lottery_id=lottery_id,
                    admin=admin,
                )
            except NoPendingWinError:
                return False
            await session.commit()
            return True

    outcomes = await asyncio.gather(verify(1), verify(2))
    assert sorted(outcomes) == [False, True]
    async with db() as session:
        [win] = list(await session.scalars(select(Win)))
        assert win.status == WinStatus.CONFIRMED and win.confirmed_via == "admin"


async def test_bad_import_saves_nothing(db: Factory) -> None:
    with pytest.raises(BadImportError) as caught:
        service.parse_lines("11-22-33-44-55-66-77\n2223 11-22-33\nfoo bar baz\n")
    assert caught.value.params["lines"] == "2, 3"
    lines = service.parse_lines("card,account\n2223,11-22-33-44-55-66-77\n\n11-22-33-44-55-66-78")
    assert [(line.club_card, line.number) for line in lines] == [
        ("2223", "11-22-33-44-55-66-77"),
        (None, "11-22-33-44-55-66-78"),
    ]
    async with db() as session:
        await session.execute(delete(Account))
        await session.commit()


async def _outsider(db: Factory, number: int) -> int:
    """An account that takes part in no lottery; its id."""
    async with db() as session:
        account = Account(number=account_number(number), club_card=None)
        session.add(account)
        await session.commit()
        return int(account.id)


async def _drawn_fairly(db: Factory, lottery_id: int) -> None:
    async with db() as session:
        entered = len(
            list(
                await session.scalars(
                    select(Participation.id).where(Participation.lottery_id == lottery_id)
                )
            )
        )
        report = await draws.verify(session=session, lottery_id=lottery_id)
    assert report.ok, report.problems
    assert entered == 10


async def test_joining_while_the_draw_commits_is_refused(db: Factory) -> None:
    """Joined after the draw read the participants, before it committed: refused, not left
    out of a draw that would then fail verification."""
    lottery_id = await make_lottery(db, 10)
    late = await _outsider(db, 500)
    with pytest.raises(LotteryDrawnError):
        await while_open(
            db,
            lambda session: draws.draw(session=session, lottery_id=lottery_id),
            lambda session: service.join(session=session, lottery_id=lottery_id, account_id=late),
        )
    await _drawn_fairly(db, lottery_id)


async def test_an_import_while_the_draw_commits_is_refused_whole(db: Factory) -> None:
    lottery_id = await make_lottery(db, 10)
    lines = [service.ImportLine(i, None, account_number(i)) for i in range(600, 605)]
    with pytest.raises(LotteryDrawnError):
        await while_open(
            db,
            lambda session: draws.draw(session=session, lottery_id=lottery_id),
            lambda session: service.import_accounts(
                session=session, lines=lines, lottery_id=lottery_id, actor=None
            ),
        )
    await _drawn_fairly(db, lottery_id)
    async with db() as session:  # nothing half-saved: not even the accounts
        assert (
            await session.scalar(select(Account).where(Account.number == lines[0].number)) is None
        )
