"""The webhooks page of the dashboard: subscriptions and their latest deliveries."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.dashboard.web import AdminDep, csv_response, render, runtime_of
from bozor.featurekit import Figure, Section
from bozor.webhooks import service
from bozor.webhooks.models import DeliveryStatus, WebhookDelivery

COLUMNS = [
    "subscription_id", "delivery_id", "event_type", "status", "attempts", "last_status",
    "last_error", "created_at", "delivered_at",
]  # fmt: skip


def create_router() -> APIRouter:
    router = APIRouter(prefix="/webhooks")

    async def _load(request: Request, limit: int) -> list[tuple[object, list[WebhookDelivery]]]:
        async with runtime_of(request).session_factory() as session:
            return [
                (
                    subscription,
                    [
                        d
                        for d, _ in await service.deliveries(
                            session=session, subscription_id=subscription.id, limit=limit
                        )
                    ],
                )
                for subscription in await service.list_all(session=session)
            ]

    @router.get("")
    async def page(request: Request, admin: AdminDep) -> Response:
        return render(
            request, "webhooks/index.html", admin=admin, subscriptions=await _load(request, 20)
        )

    @router.get("/deliveries.csv")
    async def deliveries_csv(request: Request, admin: AdminDep) -> Response:
        rows = [
            (d.subscription_id, d.id, d.event_type, d.status, d.attempts, d.last_status,
             d.last_error, d.created_at, d.delivered_at)
            for _, deliveries in await _load(request, 10_000)
            for d in deliveries
        ]  # fmt: skip
        return csv_response("webhook-deliveries.csv", COLUMNS, rows)

    return router


async def figures(session: AsyncSession) -> list[Figure]:
    failed = await session.scalar(
        select(func.count()).where(WebhookDelivery.status == DeliveryStatus.FAILED)
    )
    return [("dashboard.webhooks.failed", str(failed or 0), "/dashboard/webhooks")]


SECTION = Section("webhooks", "dashboard.nav.webhooks", create_router, figures=figures)
