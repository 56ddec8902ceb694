"""The poll's rules: one vote per person (a second one replaces the first), counted in SQL."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.errors import InvalidInputError

from .models import Vote

CHOICES = ("tea", "coffee")


async def vote(*, session: AsyncSession, telegram_id: int, choice: str) -> dict[str, int]:
    """Record the person's vote; returns the votes per choice."""
    if choice not in CHOICES:
        raise InvalidInputError("poll.unknown_choice")
    await session.execute(delete(Vote).where(Vote.telegram_id == telegram_id))
    session.add(Vote(telegram_id=telegram_id, choice=choice))
    await session.flush()
    counted = await session.execute(select(Vote.choice, func.count()).group_by(Vote.choice))
    found = {str(row[0]): int(row[1]) for row in counted.all()}
    return {choice: found.get(choice, 0) for choice in CHOICES}
