"""Updates handled, recorded in the transaction of their effects: the guarantee behind
"an update Telegram delivers twice is processed once", on any number of instances."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index
from sqlalchemy.orm import Mapped, mapped_column

from bozor.db import Base, utcnow


class ProcessedUpdate(Base):
    """One update of one bot, committed with what handling it changed (or not at all)."""

    __tablename__ = "processed_updates"
    __table_args__ = (Index("ix_processed_updates_handled_at", "handled_at"),)

    bot_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    handled_at: Mapped[datetime] = mapped_column(default=utcnow)
