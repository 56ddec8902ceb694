"""The shop's audit log: imports, catalogue changes, refunds, payment anomalies."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.shop.models import ShopAudit

_AUDIT = cast(Table, ShopAudit.__table__)


async def record(
    *,
    session: AsyncSession,
    action: str,
    actor: str | None = None,
    order_id: int | None = None,
    product_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one entry in the caller's transaction."""
    await session.execute(
        insert(_AUDIT),
        {
            "action": action,
            "actor": actor,
            "order_id": order_id,
            "product_id": product_id,
            "detail": detail or {},
        },
    )


async def entries(*, session: AsyncSession, limit: int = 100) -> list[ShopAudit]:
    """The latest entries, newest first."""
    return list(await session.scalars(select(ShopAudit).order_by(ShopAudit.id.desc()).limit(limit)))
