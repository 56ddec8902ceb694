from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from bozor.db import Base, BigIntPK, utcnow


class AuditRecord(Base):
    """One thing an admin did, or tried (a failed sign-in is recorded too).

    `actor` says who as records show them ("password", "key:3", "telegram:42", or what a failed
    attempt claimed to be); `target` names the object acted on ("referral:5", "session:ab12…"),
    so that a feature's log (e.g. a lottery's) is a filter on it.
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_area_at", "area", "at"),
        Index("ix_audit_log_target", "target"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    area: Mapped[str] = mapped_column(String(32))  # "dashboard", later "lotteries", "shop"...
    action: Mapped[str] = mapped_column(String(48))
    actor: Mapped[str | None] = mapped_column(String(128))
    target: Mapped[str | None] = mapped_column(String(128))
    ip: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
