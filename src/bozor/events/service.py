"""Publishing domain events, in the caller's transaction."""

from __future__ import annotations

import uuid
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
    await session.execute(
        insert(_EVENTS),
        {"uid": str(uuid.uuid4()), "type": type, "data": data, "created_at": utcnow()},
    )
