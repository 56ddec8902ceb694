"""Writing to the outbox, in the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bozor.db import utcnow
from bozor.outbox.models import OutboxMessage


def enqueue(
    *,
    session: AsyncSession,
    chat_id: int,
    kind: str,
    params: dict[str, Any] | None = None,
    coalesce_key: str | None = None,
    due_at: datetime | None = None,
) -> OutboxMessage:
    """Queue a message to a chat; it is sent after the surrounding transaction commits."""
    message = OutboxMessage(
        chat_id=chat_id,
        kind=kind,
        params=params or {},
        coalesce_key=coalesce_key,
        due_at=due_at or utcnow(),
    )
    session.add(message)
    return message
