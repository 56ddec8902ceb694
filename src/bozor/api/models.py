from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bozor.db import Base, BigIntPK, TimestampMixin


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
