"""The lottery audit log: every action on a lottery or a win, with who did it."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.lotteries.models import AuditEntry

_AUDIT = cast(Table, AuditEntry.__table__)


async def record(
    *,
    session: AsyncSession,
    action: str,
    actor: int | None = None,
    lottery_id: int | None = None,
    win_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one entry in the caller's transaction."""
    await session.execute(
        insert(_AUDIT),
        {
            "action": action,
            "actor": actor,
            "lottery_id": lottery_id,
            "win_id": win_id,
            "detail": detail or {},
        },
    )


async def entries(
    *, session: AsyncSession, lottery_id: int | None = None, limit: int = 50
) -> list[AuditEntry]:
    """The latest entries, newest first (of one lottery, or of all)."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if lottery_id is not None:
        query = query.where(AuditEntry.lottery_id == lottery_id)
    return list(await session.scalars(query))
