"""Background work: draws at their scheduled time and expiry of unconfirmed wins. Safe on
several instances: a draw is claimed by a conditional UPDATE, expiry only takes pending rows."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bozor import jobs
from bozor.db import session_scope, utcnow
from bozor.errors import DomainError
from bozor.lotteries import audit, notify, operations, wins
from bozor.lotteries.exceptions import ExternalValueMissingError, NoParticipantsError
from bozor.lotteries.models import Lottery, LotteryState
from bozor.lotteries.settings import LotterySettings
from bozor.settings import Settings

if TYPE_CHECKING:
    from bozor.runtime import Runtime

log = logging.getLogger(__name__)


async def run_once(factory: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    """Expire what is due, then draw each lottery whose time has come."""
    async with session_scope(factory) as session:
        await wins.expire_due(session=session)
    async with session_scope(factory) as session:
        due = list(
            await session.scalars(
                select(Lottery.id).where(
                    Lottery.state == LotteryState.OPEN,
                    Lottery.draw_at.is_not(None),
                    Lottery.draw_at <= utcnow(),
                )
            )
        )
    for lottery_id in due:
        try:
            async with session_scope(factory) as session:
                await operations.draw(session=session, settings=settings, lottery_id=lottery_id)
        except (NoParticipantsError, ExternalValueMissingError) as exc:
            async with session_scope(factory) as session:
                await _postpone(session, settings, exc)
        except DomainError as exc:  # drawn by another instance, ...
            log.info("scheduled draw of lottery %s not made: %s", lottery_id, exc.code)


async def _postpone(session: AsyncSession, settings: Settings, error: DomainError) -> None:
    """A scheduled draw that cannot be made is not retried every run: its time is cleared (once,
    whichever instance gets there first) and the admins are told why, to fix it and /draw."""
    lottery_id = int(error.params["lottery_id"])
    cleared = await session.execute(
        update(Lottery)
        .where(
            Lottery.id == lottery_id,
            Lottery.state == LotteryState.OPEN,
            Lottery.draw_at.is_not(None),
        )
        .values(draw_at=None)
        .execution_options(synchronize_session=False)
    )
    if cleared.rowcount != 1:  # type: ignore[attr-defined]
        return
    log.warning("scheduled draw of lottery %s not made: %s", lottery_id, error.code)
    await audit.record(
        session=session,
        action="draw_postponed",
        lottery_id=lottery_id,
        detail={"reason": error.code},
    )
    await notify.draw_postponed(
        session=session, admins=settings.admin_ids, reason=error.code, params=error.params
    )


async def run(runtime: Runtime, stop: asyncio.Event) -> None:
    factory, settings = runtime.session_factory, runtime.settings
    await jobs.repeat(
        "lotteries",
        LotterySettings.of(settings).job_interval,
        stop,
        lambda: run_once(factory, settings),
    )
