"""Writing to and reading the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.audit.models import AuditRecord
from bozor.db import utcnow

_AUDIT = cast(Table, AuditRecord.__table__)


async def record(
    *,
    session: AsyncSession,
    area: str,
    action: str,
    actor: str | None = None,
    target: str | None = None,
    ip: str | None = None,
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    """Append one entry in the caller's transaction (it commits or rolls back with the change
    it records). Never put secrets in `details`."""
    await session.execute(
        insert(_AUDIT),
        {
            "at": at or utcnow(),
            "area": area,
            "action": action,
            "actor": actor[:128] if actor else actor,
            "target": target[:128] if target else target,
            "ip": ip[:64] if ip else ip,
            "details": details or {},
        },
    )


async def entries(
    *,
    session: AsyncSession,
    area: str | None = None,
    action: str | None = None,
    target: str | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[AuditRecord]:
    """The latest entries, newest first; of one area (action, target) when given;
    `before_id` pages back."""
    query = select(AuditRecord).order_by(AuditRecord.id.desc()).limit(limit)
    if area:
        query = query.where(AuditRecord.area == area)
    if action:
        query = query.where(AuditRecord.action == action)
    if target:
        query = query.where(AuditRecord.target == target)
    if before_id is not None:
        query = query.where(AuditRecord.id < before_id)
    return list(await session.scalars(query))


async def areas(*, session: AsyncSession) -> list[str]:
    """The areas that have entries, for the filter."""
    return list(await session.scalars(select(AuditRecord.area).distinct().order_by("area")))
