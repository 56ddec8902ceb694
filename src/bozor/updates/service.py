"""Claiming an update for handling, in the handler's transaction; forgetting old ones."""

from __future__ import annotations

from datetime import timedelta
from typing import cast

from sqlalchemy import Table, delete
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.db import Prebuilt, utcnow
from bozor.updates.models import ProcessedUpdate

# Telegram gives up re-delivering an update after a day; two leave a margin.
KEEP = timedelta(days=2)
_TABLE = cast(Table, ProcessedUpdate.__table__)
_CLAIM = Prebuilt(
    lambda insert: insert(_TABLE).on_conflict_do_nothing().returning(_TABLE.c.update_id)
)


async def claim(*, session: AsyncSession, bot_id: int, update_id: int) -> bool:
    """True if this transaction is the first to handle the update.

    The row commits or rolls back with the handler's changes. On PostgreSQL a concurrent
    handling of the same update waits here until the first one ends, then gets False if it
    committed; on SQLite writers are serialised anyway.
    """
    inserted = await session.execute(
        _CLAIM(session), {"bot_id": bot_id, "update_id": update_id, "handled_at": utcnow()}
    )
    return inserted.first() is not None


async def forget_old(*, session: AsyncSession) -> int:
    """Delete the records Telegram can no longer need; returns how many."""
    result = await session.execute(
        delete(ProcessedUpdate).where(ProcessedUpdate.handled_at < utcnow() - KEEP)
    )
    return int(getattr(result, "rowcount", 0) or 0)
