"""Writing to the outbox, in the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.db import utcnow
from bozor.outbox.models import OutboxMessage
from bozor.outbox.wake import WRITTEN

_OUTBOX = cast(Table, OutboxMessage.__table__)


async def enqueue(
    *,
    session: AsyncSession,
    chat_id: int,
    kind: str,
    params: dict[str, Any] | None = None,
    coalesce_key: str | None = None,
    due_at: datetime | None = None,
) -> None:
    """Queue a message to a chat; it is sent after the surrounding transaction commits."""
    # A plain INSERT: nothing reads the row back in this transaction, so the unit of work's
    # bookkeeping would be wasted.
    await session.execute(
        insert(_OUTBOX),
        {
            "chat_id": chat_id,
            "kind": kind,
            "params": params or {},
            "coalesce_key": coalesce_key,
            "due_at": due_at or utcnow(),
        },
    )
    session.info[WRITTEN] = True  # the commit wakes the sender (outbox.wake)
