"""Admin routes for webhook subscriptions and their delivery log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from bozor.api.auth import AdminDep, SessionDep
from bozor.api.deps import SettingsDep
from bozor.api.problems import responses
from bozor.webhooks import service
from bozor.webhooks.models import DeliveryStatus, WebhookSubscription
from bozor.webhooks.schemas import (
    AttemptRead,
    DeliveryRead,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionRead,
    SubscriptionUpdate,
)

router = APIRouter(
    prefix="/api/v1/admin/webhooks", tags=["admin: webhooks"], responses=responses(401, 403, 429)
)
SubscriptionId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def _read(subscription: WebhookSubscription) -> SubscriptionRead:
    return SubscriptionRead.model_validate(subscription, from_attributes=True)


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_subscription(
    body: SubscriptionCreate,
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    _: AdminDep,
) -> SubscriptionCreated:
    """Subscribe a URL to events (`*` for all). The answer holds the signing secret, once."""
    subscription, secret = await service.subscribe(
        session=session,
        settings=settings,
        url=str(body.url),
        events=list(body.events),
        description=body.description,
    )
    await session.commit()
    return SubscriptionCreated(**_read(subscription).model_dump(), secret=secret)


@router.get("")
async def list_subscriptions(session: SessionDep, _: AdminDep) -> list[SubscriptionRead]:
    return [_read(row) for row in await service.list_all(session=session)]


@router.get("/{subscription_id}", responses=responses(404))
async def get_subscription(
    subscription_id: SubscriptionId, session: SessionDep, _: AdminDep
) -> SubscriptionRead:
    return _read(await service.get(session=session, subscription_id=subscription_id))


@router.patch("/{subscription_id}", responses=responses(404))
async def update_subscription(
    subscription_id: SubscriptionId, body: SubscriptionUpdate, session: SessionDep, _: AdminDep
) -> SubscriptionRead:
    """Change the URL, events or description, or pause (`active: false`) and resume."""
    subscription = await service.get(session=session, subscription_id=subscription_id)
    if body.url is not None:
        subscription.url = str(body.url)
    if body.events is not None:
        subscription.events = sorted(set(body.events))
    if body.description is not None:
        subscription.description = body.description
    if body.active is not None:
        subscription.active = body.active
    await session.commit()
    return _read(subscription)


@router.post("/{subscription_id}/rotate-secret", responses=responses(404))
async def rotate_secret(
    subscription_id: SubscriptionId,
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    _: AdminDep,
) -> SubscriptionCreated:
    """A new signing secret, shown once; deliveries from now on use it."""
    subscription, secret = await service.rotate_secret(
        session=session, settings=settings, subscription_id=subscription_id
    )
    await session.commit()
    return SubscriptionCreated(**_read(subscription).model_dump(), secret=secret)


@router.delete(
    "/{subscription_id}", status_code=status.HTTP_204_NO_CONTENT, responses=responses(404)
)
async def delete_subscription(
    subscription_id: SubscriptionId, session: SessionDep, _: AdminDep
) -> Response:
    await service.delete(session=session, subscription_id=subscription_id)
    await session.commit()
    return Response(status_code=204)


@router.get("/{subscription_id}/deliveries", responses=responses(404))
async def list_deliveries(
    subscription_id: SubscriptionId,
    session: SessionDep,
    _: AdminDep,
    status: DeliveryStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[DeliveryRead]:
    """The latest deliveries, newest first, each with the log of its attempts."""
    rows = await service.deliveries(
        session=session, subscription_id=subscription_id, status=status, limit=limit
    )
    return [
        DeliveryRead(
            id=delivery.id,
            event_type=delivery.event_type,
            payload=delivery.payload,
            status=delivery.status,
            attempts=delivery.attempts,
            due_at=delivery.due_at,
            delivered_at=delivery.delivered_at,
            last_status=delivery.last_status,
            last_error=delivery.last_error,
            attempt_log=[AttemptRead.model_validate(a, from_attributes=True) for a in attempts],
        )
        for delivery, attempts in rows
    ]


@router.post(
    "/{subscription_id}/deliveries/{delivery_id}/redeliver",
    status_code=202,
    responses=responses(404),
)
async def redeliver(
    subscription_id: SubscriptionId,
    delivery_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    session: SessionDep,
    _: AdminDep,
) -> dict[str, str]:
    """Send a delivery again (for instance one that failed while your server was down)."""
    await service.redeliver(
        session=session, subscription_id=subscription_id, delivery_id=delivery_id
    )
    await session.commit()
    return {"status": "queued"}
