"""Publishing domain events, in the caller's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.db import utcnow
from bozor.events.models import DomainEvent

_EVENTS = cast(Table, DomainEvent.__table__)

REFERRAL_CREATED = "referral.created"
REFERRAL_CONFIRMED = "referral.confirmed"
REFERRAL_REJECTED = "referral.rejected"
REWARD_GRANTED = "reward.granted"
Event = tuple[str, dict[str, Any]]  # (type, data)
REWARD_CLAIMED = "reward.claimed"
EVENT_TYPES = (
    REFERRAL_CREATED,
    REFERRAL_CONFIRMED,
    REFERRAL_REJECTED,
    REWARD_GRANTED,
    REWARD_CLAIMED,
)


async def publish(*, session: AsyncSession, type: str, data: dict[str, Any]) -> None:
    """Record that something happened; it is delivered once the transaction commits."""
    await publish_many(session=session, events=[(type, data)])


async def publish_many(*, session: AsyncSession, events: Sequence[Event]) -> None:
    """Record several events (type, data) in this order, in one statement."""
    if not events:
        return
    now = utcnow()
    rows = [
        {"uid": str(uuid.uuid4()), "type": type_, "data": data, "created_at": now}
        for type_, data in events
    ]
    # An executemany, which SQLAlchemy sends as one multi-row INSERT (`insertmanyvalues`) or
    # one driver call, from a compiled statement it caches (a `.values([...])` list is never
    # cached: it is compiled again on every call).
    await session.execute(insert(_EVENTS), rows)
