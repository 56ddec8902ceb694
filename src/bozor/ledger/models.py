from __future__ import annotations

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bozor.db import Base, BigIntPK, TimestampMixin


class LedgerEntry(TimestampMixin, Base):
    """One credit (positive) or debit (negative) of bonus points. Never edited or deleted;
    `(reason, reference)` is unique, so the same cause can never be booked twice."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        UniqueConstraint("reason", "reference"),
        Index("ix_ledger_entries_user_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    amount: Mapped[int]
    reason: Mapped[str] = mapped_column(String(32))  # e.g. "reward", "purchase", "refund"
    reference: Mapped[str] = mapped_column(String(64))  # the id of what caused it
