from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bozor.db import Base, BigIntPK, TimestampMixin
from bozor.referrals.statuses import ReferralStatus as ReferralStatus
from bozor.referrals.statuses import RewardStatus as RewardStatus


class Campaign(TimestampMixin, Base):
    """A named promotion: links made for it carry it to their clicks and referrals."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(default=True)  # inactive: no new links
    ends_at: Mapped[datetime | None]  # after this, its links refer without the campaign


class ReferralLink(TimestampMixin, Base):
    """A user's link for one campaign (their plain link is `users.referral_code`)."""

    __tablename__ = "referral_links"
    __table_args__ = (UniqueConstraint("user_id", "campaign_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))


class Referral(TimestampMixin, Base):
    """One edge of the referral graph; a user is referred at most once, ever."""

    __tablename__ = "referrals"
    __table_args__ = (
        CheckConstraint("referrer_id <> referred_id", name="not_self"),
        Index("ix_referrals_referrer_status", "referrer_id", "status"),
        Index("ix_referrals_referrer_created", "referrer_id", "created_at"),
        Index("ix_referrals_status_created", "status", "created_at"),
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
    click_id: Mapped[int | None] = mapped_column(ForeignKey("clicks.id", ondelete="SET NULL"))
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="SET NULL"), index=True
    )
    reviewed_at: Mapped[datetime | None]


class Click(TimestampMixin, Base):
    """A visit to a referral link. No raw IP is kept: `visitor` is a keyed hash of IP and user
    agent whose key changes every day, so the same visitor is recognisable within a day only."""

    __tablename__ = "clicks"
    __table_args__ = (Index("ix_clicks_referrer_created", "referrer_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    referrer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    visitor: Mapped[str] = mapped_column(String(64))
    is_bot: Mapped[bool] = mapped_column(default=False)  # link previews, crawlers: not counted
    user_agent: Mapped[str | None] = mapped_column(String(512))
    referer: Mapped[str | None] = mapped_column(String(1024))
    utm: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    source: Mapped[str] = mapped_column(String(16), default="redirect")  # or "api"
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="SET NULL"), index=True
    )


class Reward(TimestampMixin, Base):
    """Something a user earned through referrals. `key` names the cause (a referral, a tier)
    and is unique per user, so no cause can reward twice."""

    __tablename__ = "rewards"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))  # "referral:12", "welcome:12", "tier:Gold"
    kind: Mapped[str] = mapped_column(String(16))  # referral | welcome | tier
    title: Mapped[str] = mapped_column(String(100))
    amount: Mapped[int]  # bonus points
    status: Mapped[RewardStatus] = mapped_column(String(16), default=RewardStatus.GRANTED)
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referrals.id", ondelete="SET NULL"))
    claimed_at: Mapped[datetime | None]


class RewardProgram(Base):
    """Reward amounts and tiers set by an admin through the API; one row (id 1). Without it,
    the settings (REWARD_PER_REFERRAL, REWARD_WELCOME, REWARD_TIERS) apply."""

    __tablename__ = "reward_program"

    id: Mapped[int] = mapped_column(primary_key=True)
    per_referral: Mapped[int]
    welcome: Mapped[int]
    tiers: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # [{name, threshold, amount}]
    updated_at: Mapped[datetime]
