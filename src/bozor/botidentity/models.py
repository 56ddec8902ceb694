from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from bozor.db import Base, utcnow


class BotIdentity(Base):
    """What getMe last answered for one bot (the id is the token's first part), so that a
    process that cannot reach Telegram still knows its bot's @username for links."""

    __tablename__ = "bot_identities"

    bot_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    username: Mapped[str | None] = mapped_column(String(64))
    first_name: Mapped[str] = mapped_column(String(256))
    last_name: Mapped[str | None] = mapped_column(String(256))
    # Channels named by @username in the settings, as Telegram resolved them: {"@name": id}
    chats: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    refreshed_at: Mapped[datetime] = mapped_column(default=utcnow)
