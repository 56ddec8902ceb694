"""Keeping and reading the bot's identity."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.botidentity.models import BotIdentity
from bozor.db import upsert_insert, utcnow


@dataclass(frozen=True, slots=True)
class Identity:
    bot_id: int
    username: str | None
    first_name: str
    last_name: str | None = None


async def save(*, session: AsyncSession, identity: Identity) -> None:
    """Remember what Telegram said the bot is (several instances may do it at once)."""
    values = {
        "username": identity.username,
        "first_name": identity.first_name,
        "last_name": identity.last_name,
        "refreshed_at": utcnow(),
    }
    statement = upsert_insert(session, BotIdentity).values(
        bot_id=identity.bot_id, chats={}, **values
    )
    await session.execute(
        statement.on_conflict_do_update(index_elements=[BotIdentity.bot_id], set_=values)
    )


async def load(*, session: AsyncSession, bot_id: int) -> Identity | None:
    """What Telegram last said this bot is, if it ever answered."""
    row = await session.scalar(select(BotIdentity).where(BotIdentity.bot_id == bot_id))
    if row is None:
        return None
    return Identity(row.bot_id, row.username, row.first_name, row.last_name)


async def remember_chat(*, session: AsyncSession, bot_id: int, name: str, chat_id: int) -> None:
    """Remember that the channel @`name` has this id (for start-ups without Telegram)."""
    row = await session.get(BotIdentity, bot_id, with_for_update=True)
    if row is not None and row.chats.get(name) != chat_id:
        row.chats = {**row.chats, name: chat_id}


async def known_chats(*, session: AsyncSession, bot_id: int) -> dict[str, int]:
    """The channels Telegram resolved for this bot before: {"@name": id}."""
    chats = await session.scalar(select(BotIdentity.chats).where(BotIdentity.bot_id == bot_id))
    return dict(chats or {})
