from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from bozor.db import Base, BigIntPK, TimestampMixin


class DomainEvent(TimestampMixin, Base):
    """One fact, once. `uid` is what receivers use to ignore a repeated delivery."""

    __tablename__ = "domain_events"
    __table_args__ = (
        Index("ix_domain_events_dispatched_at", "dispatched_at", "id"),
        Index("ix_domain_events_published_at", "published_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)
    type: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    dispatched_at: Mapped[datetime | None]  # fanned out to the webhook subscriptions
    # Published to the message broker (AMQP_URL) and confirmed by it; a publisher holds
    # `publish_locked_until` while it sends, so instances never publish an event together.
    published_at: Mapped[datetime | None]
    publish_locked_until: Mapped[datetime | None]
