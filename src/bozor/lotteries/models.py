"""Prize draws: members with club cards, accounts, lotteries, participations, wins, audit."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bozor.db import Base, BigIntPK, TimestampMixin


class LotteryState(StrEnum):
    OPEN = "open"  # accounts can be added; not drawn yet
    DRAWN = "drawn"  # participant list frozen, winners picked, seed revealed


class WinStatus(StrEnum):
    PENDING = "pending"  # waiting for confirmation, until deadline_at
    CONFIRMED = "confirmed"
    EXPIRED = "expired"  # the deadline passed unconfirmed; the place can be redrawn
    REDRAWN = "redrawn"  # expired, and the place went to another account


class Member(TimestampMixin, Base):
    """A user registered for prize draws with a club card (`/register`)."""

    __tablename__ = "lottery_members"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    club_card: Mapped[str] = mapped_column(String(20), unique=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    verification_code: Mapped[str] = mapped_column(String(8), unique=True)


class Account(TimestampMixin, Base):
    """A club account (`XX-XX-XX-XX-XX-XX-XX`). Its owner is the member registered with its
    club card: an account may be known before its owner registers (or with no card at all)."""

    __tablename__ = "lottery_accounts"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    club_card: Mapped[str | None] = mapped_column(String(20), index=True)
    is_active: Mapped[bool] = mapped_column(default=True)


class Lottery(TimestampMixin, Base):
    """A prize draw. `seed` stays secret until the draw; `seed_hash` is published at creation."""

    __tablename__ = "lotteries"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    state: Mapped[LotteryState] = mapped_column(String(16), default=LotteryState.OPEN)
    draw_at: Mapped[datetime | None] = mapped_column(index=True)  # drawn by the job when due
    seed: Mapped[str] = mapped_column(String(64))  # hex; revealed with the results
    seed_hash: Mapped[str] = mapped_column(String(64))  # sha256(seed), published at creation
    external_name: Mapped[str | None] = mapped_column(String(200))  # named in advance
    external_value: Mapped[str | None] = mapped_column(String(200))  # given at the draw
    participants_hash: Mapped[str | None] = mapped_column(String(64))  # published at the draw
    participants_count: Mapped[int | None]
    drawn_at: Mapped[datetime | None]
    created_by: Mapped[int | None] = mapped_column(BigInteger)  # admin's Telegram id


class Prize(Base):
    """What one place of a lottery wins."""

    __tablename__ = "lottery_prizes"
    __table_args__ = (UniqueConstraint("lottery_id", "place"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    lottery_id: Mapped[int] = mapped_column(ForeignKey("lotteries.id", ondelete="CASCADE"))
    place: Mapped[int]
    prize: Mapped[str] = mapped_column(String(200))


class Participation(TimestampMixin, Base):
    """An account taking part in a lottery; frozen once the lottery is drawn."""

    __tablename__ = "lottery_participations"
    __table_args__ = (
        UniqueConstraint("lottery_id", "account_id"),
        Index("ix_lottery_participations_account", "account_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    lottery_id: Mapped[int] = mapped_column(ForeignKey("lotteries.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("lottery_accounts.id", ondelete="CASCADE"))


class Win(TimestampMixin, Base):
    """A place won by an account. An account wins at most once per lottery, redraws included;
    `round` 0 is the draw, 1, 2, ... the redraws."""

    __tablename__ = "lottery_wins"
    __table_args__ = (
        UniqueConstraint("lottery_id", "account_id"),
        UniqueConstraint("lottery_id", "place", "round"),
        Index("ix_lottery_wins_status_deadline", "status", "deadline_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    lottery_id: Mapped[int] = mapped_column(ForeignKey("lotteries.id", ondelete="CASCADE"))
    place: Mapped[int]
    round: Mapped[int] = mapped_column(default=0)
    account_id: Mapped[int] = mapped_column(ForeignKey("lottery_accounts.id", ondelete="CASCADE"))
    status: Mapped[WinStatus] = mapped_column(String(16), default=WinStatus.PENDING)
    deadline_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]
    confirmed_by: Mapped[int | None] = mapped_column(BigInteger)  # Telegram id of who confirmed
    confirmed_via: Mapped[str | None] = mapped_column(String(16))  # button | admin
    handed_over_at: Mapped[datetime | None]
