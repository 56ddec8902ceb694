from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from bozor.db import Base, BigIntPK, TimestampMixin


class ReferralStatus(StrEnum):
    PENDING = "pending"  # waiting for a condition (channel subscription, review)
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class Referral(TimestampMixin, Base):
    """One edge of the referral graph; a user is referred at most once, ever."""

    __tablename__ = "referrals"
    __table_args__ = (
        CheckConstraint("referrer_id <> referred_id", name="not_self"),
        Index("ix_referrals_referrer_status", "referrer_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    referrer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    referred_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), unique=True
    )
    status: Mapped[ReferralStatus] = mapped_column(String(16), default=ReferralStatus.PENDING)
    source: Mapped[str] = mapped_column(String(16), default="bot")
    reason: Mapped[str | None] = mapped_column(String(200))
    confirmed_at: Mapped[datetime | None]
