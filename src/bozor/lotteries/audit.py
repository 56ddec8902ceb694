"""The lotteries' entries in the one audit log (area "lotteries", target "lottery:<id>"):
every action on a lottery or a win, with who did it (a Telegram id; None: the system)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bozor.audit import service as audit_log
from bozor.audit.models import AuditRecord

AREA = "lotteries"
ACTOR = "telegram:"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    created_at: datetime
    action: str
    actor: int | None
    lottery_id: int | None
    win_id: int | None
    detail: dict[str, Any]


def target(lottery_id: int) -> str:
    return f"lottery:{lottery_id}"


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
    details = dict(detail or {})
    if win_id is not None:
        details["win_id"] = win_id
    await audit_log.record(
        session=session,
        area=AREA,
        action=action,
        actor=f"{ACTOR}{actor}" if actor is not None else None,
        target=target(lottery_id) if lottery_id is not None else None,
        details=details,
    )


async def entries(
    *, session: AsyncSession, lottery_id: int | None = None, limit: int = 50
) -> list[AuditEntry]:
    """The latest entries, newest first (of one lottery, or of all)."""
    found = await audit_log.entries(
        session=session,
        area=AREA,
        target=target(lottery_id) if lottery_id is not None else None,
        limit=limit,
    )
    return [_entry(record) for record in found]


def _entry(record: AuditRecord) -> AuditEntry:
    detail = dict(record.details)
    win_id = detail.pop("win_id", None)
    actor = (record.actor or "").removeprefix(ACTOR)
    lottery = (record.target or "").removeprefix("lottery:")
    return AuditEntry(
        id=record.id,
        created_at=record.at,
        action=record.action,
        actor=int(actor) if actor.lstrip("-").isdigit() else None,
        lottery_id=int(lottery) if lottery.isdigit() else None,
        win_id=int(win_id) if win_id is not None else None,
        detail=detail,
    )
