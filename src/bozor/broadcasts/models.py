"""A broadcast and one delivery row per recipient."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bozor.db import Base, BigIntPK, TimestampMixin


class BroadcastState(StrEnum):
    SCHEDULED = "scheduled"  # waiting for scheduled_at (now, for "send now")
    RUNNING = "running"  # recipients listed; deliveries being sent
    DONE = "done"
    CANCELLED = "cancelled"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed and handed to Telegram; the answer not recorded yet
    SENT = "sent"
    BLOCKED = "blocked"  # 403: the user blocked the bot (recorded on the user too)
    FAILED = "failed"  # a permanent error (400), or retries exhausted
    UNKNOWN = "unknown"  # the sender died mid-call: maybe delivered, never sent again
    CANCELLED = "cancelled"  # the broadcast was cancelled before this one went out


# Finished statuses: a broadcast is done when none of its deliveries is pending or sending.
FINISHED = (
    DeliveryStatus.SENT,
    DeliveryStatus.BLOCKED,
    DeliveryStatus.FAILED,
    DeliveryStatus.UNKNOWN,
    DeliveryStatus.CANCELLED,
)


class Broadcast(TimestampMixin, Base):
    __tablename__ = "broadcasts"
    __table_args__ = (
        Index("ix_broadcasts_state_scheduled_at", "state", "scheduled_at"),
        Index("uq_broadcasts_draft_key", "draft_key", unique=True),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    text: Mapped[str] = mapped_column(Text)  # Telegram HTML
    photo: Mapped[str | None] = mapped_column(String(512))  # a file_id or an http(s) URL
    # Rows of URL buttons: [[{"text": ..., "url": ...}, ...], ...]
    buttons: Mapped[list[list[dict[str, str]]]] = mapped_column(JSON, default=list)
    segment: Mapped[str] = mapped_column(String(64))  # a segment's name, or "users" (a list)
    segment_params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[BroadcastState] = mapped_column(String(16), default=BroadcastState.SCHEDULED)
    scheduled_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    created_by: Mapped[int | None] = mapped_column(BigInteger)  # admin's Telegram id
    created_by_name: Mapped[str | None] = mapped_column(String(128))  # e.g. a dashboard admin
    source: Mapped[str] = mapped_column(String(32), default="admin")  # admin, api, a feature
    # The admin's status message, edited with the progress.
    status_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    status_message_id: Mapped[int | None] = mapped_column(BigInteger)
    status_language: Mapped[str] = mapped_column(String(8), default="en")
    status_edited_at: Mapped[datetime | None]
    status_final: Mapped[bool] = mapped_column(default=False)  # the last edit is made
    # The dashboard's confirmation form: sent twice, it still makes one broadcast.
    draft_key: Mapped[str | None] = mapped_column(String(64))


class Delivery(Base):
    __tablename__ = "broadcast_deliveries"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "user_id"),
        Index("ix_broadcast_deliveries_broadcast_status", "broadcast_id", "status"),
        Index("ix_broadcast_deliveries_status_locked_until", "status", "locked_until"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[DeliveryStatus] = mapped_column(String(16), default=DeliveryStatus.PENDING)
    # A pending row: claimed by a sender until then. A sending row: its call's deadline.
    locked_until: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    sent_at: Mapped[datetime | None]
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(String(512))
