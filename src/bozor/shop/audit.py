"""The shop's entries in the one audit log (area "shop"): imports, catalogue changes, refunds,
payment anomalies. `actor` as the shop names it: "tg:<id>", "api:<key id>", "cli"."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bozor.audit import service as audit_log

AREA = "shop"


async def record(
    *,
    session: AsyncSession,
    action: str,
    actor: str | None = None,
    order_id: int | None = None,
    product_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one entry in the caller's transaction; it targets the order, else the product."""
    ids = {"order_id": order_id, "product_id": product_id}
    details = {**(detail or {}), **{key: value for key, value in ids.items() if value is not None}}
    if order_id is not None:
        target: str | None = f"order:{order_id}"
    else:
        target = f"product:{product_id}" if product_id is not None else None
    await audit_log.record(
        session=session, area=AREA, action=action, actor=actor, target=target, details=details
    )
