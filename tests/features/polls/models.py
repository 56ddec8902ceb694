"""The poll's one table. A feature shipped with Bozor puts its models on `bozor.db.Base` and
adds a migration; this one lives in the tests, so the test creates (and drops) its table."""

from __future__ import annotations

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class PollsBase(DeclarativeBase):
    pass


class Vote(PollsBase):
    __tablename__ = "poll_votes"

    telegram_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # one vote each
    choice: Mapped[str] = mapped_column(String(16))
