"""Ads and what happens to them: photos, admin decisions, channel posts, repost slots,
sold-checks and bans."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bozor.db import Base, BigIntPK, TimestampMixin, utcnow


class AdState(StrEnum):
    REVIEW = "review"  # waiting for an admin
    PUBLISHED = "published"
    REJECTED = "rejected"
    SOLD = "sold"
    WITHDRAWN = "withdrawn"  # by its owner
    EXPIRED = "expired"  # the owner stopped answering the sold-checks


OPEN_STATES = (AdState.REVIEW, AdState.PUBLISHED, AdState.REJECTED)  # the owner may edit
CLOSED_STATES = (AdState.SOLD, AdState.WITHDRAWN, AdState.EXPIRED)


class Ad(TimestampMixin, Base):
    """One ad. `version` grows with each (re)submission, so a decision on an older version's
    review message cannot approve content the admin has not seen."""

    __tablename__ = "classified_ads"
    __table_args__ = (Index("ix_classified_ads_state_id", "state", "id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    state: Mapped[AdState] = mapped_column(String(16), default=AdState.REVIEW)
    version: Mapped[int] = mapped_column(default=1)
    category: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text)
    price: Mapped[int | None] = mapped_column(BigInteger)  # None: negotiable
    currency: Mapped[str | None] = mapped_column(String(3))
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    contact_username: Mapped[str | None] = mapped_column(String(64))
    region: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8), default="en")  # of the channel caption
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    reject_reason: Mapped[str | None] = mapped_column(String(500))
    decided_by: Mapped[str | None] = mapped_column(String(128))  # the admin's name
    decided_at: Mapped[datetime | None]
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None]
    last_posted_at: Mapped[datetime | None]  # published or last reposted
    repost_count: Mapped[int] = mapped_column(default=0)
    closed_at: Mapped[datetime | None]  # sold, withdrawn or expired
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AdPhoto(Base):
    """A photo of an ad: Telegram's file id (to send it again without uploading) and the
    copy in media storage, with its perceptual hash for duplicate checks."""

    __tablename__ = "classified_photos"
    __table_args__ = (UniqueConstraint("ad_id", "position"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    ad_id: Mapped[int] = mapped_column(ForeignKey("classified_ads.id", ondelete="CASCADE"))
    position: Mapped[int]
    file_id: Mapped[str] = mapped_column(String(256))
    file_unique_id: Mapped[str | None] = mapped_column(String(128))
    storage_key: Mapped[str | None] = mapped_column(String(256))
    dhash: Mapped[int | None] = mapped_column(BigInteger)  # signed 64-bit


class AdminCopy(TimestampMixin, Base):
    """The review message an admin got for a version of an ad, edited once someone decides."""

    __tablename__ = "classified_admin_copies"
    __table_args__ = (UniqueConstraint("ad_id", "version", "chat_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    ad_id: Mapped[int] = mapped_column(ForeignKey("classified_ads.id", ondelete="CASCADE"))
    version: Mapped[int]
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int] = mapped_column(BigInteger)


class PostKind(StrEnum):
    PUBLISH = "publish"
    REPOST = "repost"


class ChannelPost(TimestampMixin, Base):
    """An ad as posted in the channel: `message_id` carries the caption (first of an album)."""

    __tablename__ = "classified_posts"
    __table_args__ = (UniqueConstraint("chat_id", "message_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    ad_id: Mapped[int] = mapped_column(
        ForeignKey("classified_ads.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int]
    kind: Mapped[PostKind] = mapped_column(String(16))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int] = mapped_column(BigInteger)
    has_photos: Mapped[bool]
    url: Mapped[str] = mapped_column(String(256))
    stamp: Mapped[str | None] = mapped_column(String(16))  # sold / withdrawn / expired / outdated


class RepostSlot(TimestampMixin, Base):
    """One repost period, keyed by its start: inserting it claims the slot, exactly once
    across restarts and instances. `ad_id` is None when nothing could be reposted."""

    __tablename__ = "classified_repost_slots"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    slot_at: Mapped[datetime] = mapped_column(unique=True)
    ad_id: Mapped[int | None] = mapped_column(
        ForeignKey("classified_ads.id", ondelete="SET NULL"), index=True
    )


class CheckAnswer(StrEnum):
    YES = "yes"  # sold
    NO = "no"
    EXPIRED = "expired"  # not asked: too many asks went unanswered, the ad expired


class SoldCheck(TimestampMixin, Base):
    """A "Sold?" question to an ad's owner, keyed by when it was due (once per period)."""

    __tablename__ = "classified_sold_checks"
    __table_args__ = (UniqueConstraint("ad_id", "due_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    ad_id: Mapped[int] = mapped_column(ForeignKey("classified_ads.id", ondelete="CASCADE"))
    due_at: Mapped[datetime]
    answer: Mapped[CheckAnswer | None] = mapped_column(String(16))
    answered_at: Mapped[datetime | None]


class Ban(TimestampMixin, Base):
    """A user who may not post ads."""

    __tablename__ = "classified_bans"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    reason: Mapped[str | None] = mapped_column(String(500))
    banned_by: Mapped[str] = mapped_column(String(128))
