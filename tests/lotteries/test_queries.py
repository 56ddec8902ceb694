"""What /my_account asks the database: a fixed number of statements, however many accounts
and wins the member has (it used to ask two per account)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import event, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bozor.lotteries import accounts, draws
from bozor.lotteries.models import Account
from bozor.lotteries.testing import account_number, make_lottery
from bozor.users.models import User

Factory = async_sessionmaker[AsyncSession]


async def statements(db: Factory, work: Callable[[AsyncSession], Awaitable[object]]) -> int:
    """How many SQL statements `work` sends (counted on the engine's cursor)."""
    engine = db.kw["bind"]
    assert isinstance(engine, AsyncEngine)
    sent: list[str] = []

    def count(*args: Any) -> None:
        sent.append(str(args[2]))

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        async with db() as session:
            await work(session)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    return len(sent)


async def test_my_account_takes_the_same_statements_for_2_or_12_accounts(db: Factory) -> None:
    lottery_id = await make_lottery(db, 12, places=3)
    async with db() as session:
        user = User(telegram_id=123, first_name="Ann", referral_code="annannann1")
        session.add(user)
        await session.flush()
        await accounts.register(session=session, user=user, club_card="2223", phone=None)
        await draws.draw(session=session, lottery_id=lottery_id)
        await session.commit()
        user_id = user.id

    async def own(numbers: list[str]) -> None:
        async with db() as session:
            await session.execute(
                update(Account).where(Account.number.in_(numbers)).values(club_card="2223")
            )
            await session.commit()

    found: list[list[accounts.AccountOverview]] = []

    async def overview(session: AsyncSession) -> None:
        user = await session.get(User, user_id)
        assert user is not None
        found.append((await accounts.overview(session=session, user=user))[1])

    await own([account_number(1), account_number(2)])
    few = await statements(db, overview)
    await own([account_number(i) for i in range(1, 13)])
    many = await statements(db, overview)

    assert few == many
    assert [len(summaries) for summaries in found] == [2, 12]
    assert [summary.entries for summary in found[1]] == [1] * 12
    assert sum(len(summary.wins) for summary in found[1]) == 3
