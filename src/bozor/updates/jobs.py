"""Forgets handled updates Telegram can no longer re-deliver (worker role)."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bozor import jobs
from bozor.db import session_scope
from bozor.updates import service

log = logging.getLogger(__name__)

EVERY = 3600.0  # seconds


async def run(
    factory: async_sessionmaker[AsyncSession], stop: asyncio.Event, *, every: float = EVERY
) -> None:
    async def forget_old() -> None:
        async with session_scope(factory) as session:
            await service.forget_old(session=session)

    await jobs.repeat("processed-updates-cleanup", every, stop, forget_old)
