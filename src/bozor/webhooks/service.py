"""Webhook subscriptions, and turning domain events into deliveries."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bozor import crypto
from bozor.db import dialect_name, upsert_insert, utcnow
from bozor.errors import NotFoundError
from bozor.events.models import DomainEvent
from bozor.settings import Settings
from bozor.webhooks.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)

ALL_EVENTS = "*"
ROTATION_OVERLAP = timedelta(hours=24)


def new_secret() -> str:
    return f"whsec_{secrets.token_urlsafe(32)}"


async def subscribe(
    *,
    session: AsyncSession,
    settings: Settings,
    url: str,
    events: list[str],
    description: str | None = None,
) -> tuple[WebhookSubscription, str]:
    """A new subscription and its signing secret (shown once; stored encrypted)."""
    secret = new_secret()
    subscription = WebhookSubscription(
        url=url,
        events=sorted(set(events)),
        description=description,
        secret_encrypted=crypto.encrypt(settings, secret),
        active=True,
        created_at=utcnow(),
    )
    session.add(subscription)
    await session.flush()
    return subscription, secret


async def get(*, session: AsyncSession, subscription_id: int) -> WebhookSubscription:
    subscription = await session.get(WebhookSubscription, subscription_id)
    if subscription is None:
        raise NotFoundError("webhook.not_found")
    return subscription


async def list_all(*, session: AsyncSession) -> list[WebhookSubscription]:
    return list(await session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.id)))


async def rotate_secret(
    *, session: AsyncSession, settings: Settings, subscription_id: int
) -> tuple[WebhookSubscription, str]:
    """A new signing secret. For ROTATION_OVERLAP deliveries carry two signatures, the new
    secret's and the old one's, so the receiver can switch over without refusing any."""
    subscription = await get(session=session, subscription_id=subscription_id)
    secret = new_secret()
    subscription.previous_secret_encrypted = subscription.secret_encrypted
    subscription.previous_secret_until = utcnow() + ROTATION_OVERLAP
    subscription.secret_encrypted = crypto.encrypt(settings, secret)
    return subscription, secret


def signing_secrets(settings: Settings, subscription: WebhookSubscription) -> list[str]:
    """The secrets a delivery is signed with now: the current one, and the previous one
    during the overlap after a rotation."""
    secrets_now = [crypto.decrypt(settings, subscription.secret_encrypted)]
    until = subscription.previous_secret_until
    if subscription.previous_secret_encrypted and until is not None and until > utcnow():
        secrets_now.append(crypto.decrypt(settings, subscription.previous_secret_encrypted))
    return secrets_now


async def delete(*, session: AsyncSession, subscription_id: int) -> None:
    """Remove a subscription with its pending deliveries and their log."""
    await session.delete(await get(session=session, subscription_id=subscription_id))


async def deliveries(
    *,
    session: AsyncSession,
    subscription_id: int,
    status: DeliveryStatus | None = None,
    limit: int = 50,
) -> list[tuple[WebhookDelivery, list[WebhookAttempt]]]:
    """The subscription's latest deliveries, each with its attempts."""
    await get(session=session, subscription_id=subscription_id)
    query = (
        select(WebhookDelivery)
        .where(WebhookDelivery.subscription_id == subscription_id)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit)
    )
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    rows = list(await session.scalars(query))
    attempts: dict[int, list[WebhookAttempt]] = {row.id: [] for row in rows}
    if rows:
        for attempt in await session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_(list(attempts)))
            .order_by(WebhookAttempt.id)
        ):
            attempts[attempt.delivery_id].append(attempt)
    return [(row, attempts[row.id]) for row in rows]


async def redeliver(
    *, session: AsyncSession, subscription_id: int, delivery_id: int
) -> WebhookDelivery:
    """Send a delivery again soon (e.g. one that failed while the receiver was down)."""
    delivery = await session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.subscription_id != subscription_id:
        raise NotFoundError("webhook.not_found")
    delivery.status = DeliveryStatus.PENDING
    delivery.due_at = utcnow()
    delivery.locked_until = None
    return delivery


def payload_of(event: DomainEvent) -> dict[str, Any]:
    """What a receiver gets: `id` is the same in every delivery of this event, so receivers
    can ignore repeats."""
    return {
        "id": event.uid,
        "type": event.type,
        "created_at": event.created_at.isoformat(),
        "data": event.data,
    }


async def fan_out(*, session: AsyncSession, batch: int = 500) -> int:
    """Turn undispatched events into one delivery per matching active subscription; returns
    the number of events handled. Safe with several workers: rows are claimed (PostgreSQL)
    and a delivery is unique per (subscription, event)."""
    query = (
        select(DomainEvent)
        .where(DomainEvent.dispatched_at.is_(None))
        .order_by(DomainEvent.id)
        .limit(batch)
    )
    if dialect_name(session) == "postgresql":
        query = query.with_for_update(skip_locked=True)
    events = list(await session.scalars(query))
    if not events:
        return 0
    subscriptions = list(
        await session.scalars(
            select(WebhookSubscription).where(WebhookSubscription.active.is_(True))
        )
    )
    now = utcnow()
    rows = [
        {
            "subscription_id": subscription.id,
            "event_id": event.id,
            "event_type": event.type,
            "payload": payload_of(event),
            "status": DeliveryStatus.PENDING,
            "attempts": 0,
            "due_at": now,
            "created_at": now,
        }
        for event in events
        for subscription in subscriptions
        if event.type in subscription.events or ALL_EVENTS in subscription.events
    ]
    if rows:
        await session.execute(
            upsert_insert(session, WebhookDelivery).on_conflict_do_nothing(
                index_elements=["subscription_id", "event_id"]
            ),
            rows,
        )
    await session.execute(
        update(DomainEvent)
        .where(DomainEvent.id.in_([event.id for event in events]))
        .values(dispatched_at=now)
    )
    return len(events)
