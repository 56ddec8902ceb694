"""Lotteries for tests and benchmarks: made through the service, as an admin would."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bozor.lotteries import service


def account_number(i: int) -> str:
    """The i-th lottery account number, in the XX-XX-XX-XX-XX-XX-XX format."""
    digits = f"{i:014d}"
    return "-".join(digits[j : j + 2] for j in range(0, 14, 2))


async def make_lottery(
    db: async_sessionmaker[AsyncSession], participants: int, places: int = 3
) -> int:
    """A lottery with `places` prizes and `participants` accounts without owners; its id."""
    async with db() as session:
        lottery = await service.create(
            session=session, title="Test", prizes=[f"Prize {p}" for p in range(1, places + 1)]
        )
        lines = [service.ImportLine(i, None, account_number(i)) for i in range(1, participants + 1)]
        await service.import_accounts(
            session=session, lines=lines, lottery_id=lottery.id, actor=None
        )
        await session.commit()
        return int(lottery.id)
