"""Background work of the shop: expiring unpaid orders (codes back in stock), carrying out
refunds, and reconciling card payments with Portmone. Safe on several instances: each
order and payment changes state by a conditional UPDATE."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from aiogram import Bot
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bozor import jobs
from bozor.db import session_scope
from bozor.settings import Settings
from bozor.shop import refunds
from bozor.shop.service import card, orders
from bozor.shop.settings import ShopSettings

if TYPE_CHECKING:
    from bozor.runtime import Runtime

log = logging.getLogger(__name__)


async def run_once(
    factory: async_sessionmaker[AsyncSession], settings: Settings, bot: Bot | None
) -> None:
    while True:
        async with session_scope(factory) as session:
            expired = await orders.expire_due(session=session)
        if len(expired) < 500:
            break
    if bot is not None:
        await refunds.settle_stars(factory, bot)
    await card.reconcile(factory, settings)


async def run(runtime: Runtime, stop: asyncio.Event) -> None:
    # The runtime's bot: its refunds take their turn with every other call (the pacer's gate,
    # retries, Telegram's 429s shared) and are counted in the metrics.
    factory, settings, bot = runtime.session_factory, runtime.settings, runtime.bot
    await jobs.repeat(
        "shop",
        ShopSettings.of(settings).job_interval,
        stop,
        lambda: run_once(factory, settings, bot),
    )
