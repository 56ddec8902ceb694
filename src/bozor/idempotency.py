"""Stored answers of the API's idempotent writes (bozor.api.idempotency keeps and replays
them; the worker deletes those older than KEEP_FOR)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import JSON, String, UniqueConstraint, delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from bozor.db import Base, BigIntPK, TimestampMixin, utcnow

KEEP_FOR = timedelta(hours=24)


class IdempotentResponse(TimestampMixin, Base):
    """What a write answered, kept for a day under the caller's Idempotency-Key, so that a retry
    gets the same answer instead of doing the work again."""

    __tablename__ = "idempotent_responses"
    __table_args__ = (UniqueConstraint("api_key_id", "key"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    api_key_id: Mapped[int]
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))  # method, path and body
    status_code: Mapped[int]
    body: Mapped[dict[str, Any]] = mapped_column(JSON)


async def forget_expired(session: AsyncSession) -> int:
    """Delete answers older than KEEP_FOR; returns how many."""
    result = await session.execute(
        delete(IdempotentResponse).where(IdempotentResponse.created_at <= utcnow() - KEEP_FOR)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
