"""Tables of searching and contacting: the search indexes on ads, saved searches and the
alerts they caused, and buyer–seller conversations relayed by the bot."""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bozor.classifieds.models import Ad
from bozor.db import Base, BigIntPK, TimestampMixin

# The feed and its most common filters, newest first (read backwards). State leads rather
# than a partial index's WHERE: PostgreSQL cannot use a partial index for a prepared
# statement's generic plan, where the state is a parameter.
Index("ix_classified_ads_feed", Ad.state, Ad.published_at, Ad.id)
Index("ix_classified_ads_category_feed", Ad.state, Ad.category, Ad.published_at, Ad.id)
Index("ix_classified_ads_region_feed", Ad.state, Ad.region, Ad.published_at, Ad.id)


class SavedSearch(TimestampMixin, Base):
    """A search's filters kept for a user ("tell me when a new ad matches this"). `key` is
    the filters in one canonical string, so the same search saved twice is one row."""

    __tablename__ = "classified_saved_searches"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(400))
    category: Mapped[str | None] = mapped_column(String(32))
    region: Mapped[str | None] = mapped_column(String(64))
    price_min: Mapped[int | None] = mapped_column(BigInteger)
    price_max: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="UZS")
    text: Mapped[str | None] = mapped_column(String(100))


class AdAlert(TimestampMixin, Base):
    """A user was told about an ad: once per user and ad, whichever of their saved searches
    matched and however often the ad is approved again."""

    __tablename__ = "classified_ad_alerts"
    __table_args__ = (UniqueConstraint("user_id", "ad_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    ad_id: Mapped[int] = mapped_column(
        ForeignKey("classified_ads.id", ondelete="CASCADE"), index=True
    )
    saved_search_id: Mapped[int | None] = mapped_column(
        ForeignKey("classified_saved_searches.id", ondelete="SET NULL"), index=True
    )


class ContactThread(TimestampMixin, Base):
    """A buyer's conversation with the seller of an ad, relayed by the bot: neither sees the
    other's phone number or username."""

    __tablename__ = "classified_contact_threads"
    __table_args__ = (UniqueConstraint("ad_id", "buyer_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    ad_id: Mapped[int] = mapped_column(ForeignKey("classified_ads.id", ondelete="CASCADE"))
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)


class ContactMessage(TimestampMixin, Base):
    """One relayed message of a conversation (the rate limits count them)."""

    __tablename__ = "classified_contact_messages"
    __table_args__ = (
        Index("ix_classified_contact_messages_sender_created", "sender_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    thread_id: Mapped[int] = mapped_column(
        ForeignKey("classified_contact_threads.id", ondelete="CASCADE"), index=True
    )
    sender_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    from_buyer: Mapped[bool]
    text: Mapped[str] = mapped_column(Text)
