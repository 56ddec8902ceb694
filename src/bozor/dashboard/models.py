"""The dashboard's server-side state: sessions, used Telegram logins, failed sign-ins.

With REDIS_URL set the same things live in Redis instead (see sessions.py and backoff.py);
these tables then stay empty.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bozor.db import Base


class DashboardSession(Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is kept here, so
    a copy of the database opens no session."""

    __tablename__ = "dashboard_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256(token), hex
    subject: Mapped[str] = mapped_column(String(64), index=True)  # password, key:3, telegram:42
    label: Mapped[str] = mapped_column(String(200))  # who, as the sessions page shows them
    # For password sessions: an HMAC of DASHBOARD_PASSWORD's setting; another password → ended.
    fingerprint: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)  # absolute end
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")


class LoginProof(Base):
    """A Telegram Login Widget answer already used: the same signed data cannot sign in twice."""

    __tablename__ = "dashboard_login_proofs"

    proof: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the hash
    expires_at: Mapped[datetime] = mapped_column(index=True)


class SigninFailure(Base):
    """Failed sign-ins of one account or one IP ("account:password", "ip:1.2.3.4"), and until
    when it is locked out."""

    __tablename__ = "dashboard_signin_failures"

    scope: Mapped[str] = mapped_column(String(160), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failed_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]
