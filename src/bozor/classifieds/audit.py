"""The admins' decisions on ads, kept in the one audit log (area "classifieds", target
"ad:<id>", action "approved" or "rejected"): the moderation history of an ad. Which decision
wins is settled on the ad itself (a conditional UPDATE); this is its record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bozor.audit import service as audit_log
from bozor.audit.models import AuditRecord

AREA = "classifieds"


@dataclass(frozen=True, slots=True)
class Decision:
    """One admin decision on one version of an ad."""

    version: int
    approved: bool
    reason: str | None
    admin_name: str
    admin_telegram_id: int | None
    # The review message the deciding admin pressed (None: decided elsewhere): its handler
    # edits it, so a second press on it leaves it alone.
    message_id: int | None
    created_at: datetime


def target(ad_id: int) -> str:
    return f"ad:{ad_id}"


async def record_decision(
    *,
    session: AsyncSession,
    ad_id: int,
    version: int,
    approved: bool,
    reason: str | None,
    admin_name: str,
    admin_telegram_id: int | None,
    message_id: int | None = None,
) -> None:
    """Record a decision in the caller's transaction."""
    await audit_log.record(
        session=session,
        area=AREA,
        action="approved" if approved else "rejected",
        actor=f"telegram:{admin_telegram_id}" if admin_telegram_id is not None else admin_name,
        target=target(ad_id),
        details={
            "version": version,
            "reason": reason,
            "admin_name": admin_name,
            "admin_telegram_id": admin_telegram_id,
            "message_id": message_id,
        },
    )


async def decisions(*, session: AsyncSession, ad_id: int) -> list[Decision]:
    """The decisions on an ad, one per version decided, oldest first."""
    found = await audit_log.entries(session=session, area=AREA, target=target(ad_id), limit=1000)
    return [_decision(record) for record in reversed(found)]


def _decision(record: AuditRecord) -> Decision:
    details = record.details
    return Decision(
        version=int(details["version"]),
        approved=record.action == "approved",
        reason=details.get("reason"),
        admin_name=str(details.get("admin_name") or record.actor or ""),
        admin_telegram_id=details.get("admin_telegram_id"),
        message_id=details.get("message_id"),
        created_at=record.at,
    )
