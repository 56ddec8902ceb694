"""Booking to the ledger and reading balances."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.db import upsert_insert, utcnow
from bozor.ledger.models import LedgerEntry


async def book(
    *, session: AsyncSession, user_id: int, amount: int, reason: str, reference: str
) -> bool:
    """Book an entry once: False if this reason and reference were booked already."""
    booked = await session.scalar(
        upsert_insert(session, LedgerEntry)
        .on_conflict_do_nothing(index_elements=["reason", "reference"])
        .returning(LedgerEntry.id),
        {
            "user_id": user_id,
            "amount": amount,
            "reason": reason,
            "reference": reference,
            "created_at": utcnow(),
        },
    )
    return booked is not None


async def balance(*, session: AsyncSession, user_id: int) -> int:
    """The sum of a user's entries."""
    total = await session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(LedgerEntry.user_id == user_id)
    )
    return int(total or 0)
