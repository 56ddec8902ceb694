"""Forgets handled updates Telegram can no longer re-deliver (worker role)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bozor.db import session_scope
from bozor.observability.metrics import job_run
from bozor.updates import service

log = logging.getLogger(__name__)

EVERY = 3600.0  # seconds


async def run(
    factory: async_sessionmaker[AsyncSession], stop: asyncio.Event, *, every: float = EVERY
) -> None:
    while not stop.is_set():
        try:
            with job_run("processed-updates-cleanup"):
                async with session_scope(factory) as session:
                    await service.forget_old(session=session)
        except Exception:
            log.exception("forgetting old processed updates failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)
