"""Delivers webhooks: fans events out to subscriptions, claims due deliveries, POSTs them
signed, logs every attempt and backs off exponentially on failure.

A claim is one UPDATE ... RETURNING over rows that are due and not locked (skipping rows
another instance is claiming, on PostgreSQL), so several workers never send one delivery at
the same time. Delivery is at-least-once: a crash between the receiver's answer and marking
the row delivered sends it again later, with the same event id.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import timedelta

import httpx
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bozor import crypto, jobs
from bozor.db import dialect_name, session_scope, utcnow
from bozor.idempotency import forget_expired
from bozor.settings import Settings
from bozor.webhook_signing import sign_webhook
from bozor.webhooks import service
from bozor.webhooks.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)

log = logging.getLogger(__name__)

MAX_BACKOFF = 6 * 3600.0
HOUSEKEEPING_EVERY = 600.0  # seconds
USER_AGENT = "Bozor-Webhooks/1"


def backoff(settings: Settings, attempts: int) -> float:
    """Seconds before the next attempt after `attempts` failed ones: 10 s, 20 s, 40 s... ≤ 6 h."""
    return float(min(MAX_BACKOFF, settings.webhook_retry_seconds * 2 ** (attempts - 1)))


class WebhookWorker:
    def __init__(
        self,
        settings: Settings,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        interval: float = 0.5,
        batch_size: int = 100,
        concurrency: int = 16,
    ) -> None:
        self.settings = settings
        self.session_factory = session_factory
        self.interval = interval
        self.batch_size = batch_size
        self.concurrency = asyncio.Semaphore(concurrency)
        self.claim_for = timedelta(seconds=settings.webhook_timeout * 3 + 30)
        self._housekept_at = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        """Sweep until `stop` is set."""
        async with httpx.AsyncClient(
            timeout=self.settings.webhook_timeout,
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
        ) as client:

            async def sweep() -> None:
                await self.sweep(client)
                await self._housekeeping()

            await jobs.repeat("webhooks", self.interval, stop, sweep)

    async def sweep(self, client: httpx.AsyncClient) -> int:
        """Fan out new events and send what is due; returns the number delivered."""
        async with session_scope(self.session_factory) as session:
            await service.fan_out(session=session)
        claimed = await self._claim()
        if not claimed:
            return 0
        results = await asyncio.gather(
            *(self._attempt(client, delivery, subscription) for delivery, subscription in claimed)
        )
        return sum(results)

    async def _claim(self) -> list[tuple[WebhookDelivery, WebhookSubscription]]:
        now = utcnow()
        claimable = (
            WebhookDelivery.status == DeliveryStatus.PENDING,
            WebhookDelivery.due_at <= now,
            or_(WebhookDelivery.locked_until.is_(None), WebhookDelivery.locked_until < now),
        )
        async with session_scope(self.session_factory) as session:
            due = (
                select(WebhookDelivery.id)
                .where(*claimable)
                .order_by(WebhookDelivery.id)
                .limit(self.batch_size)
            )
            if dialect_name(session) == "postgresql":
                due = due.with_for_update(skip_locked=True)
            ids = list(await session.scalars(due))
            if not ids:  # the common case: a read, no write lock
                return []
            # Still claimable? Another worker may have taken some since the read (SQLite).
            deliveries = list(
                await session.scalars(
                    update(WebhookDelivery)
                    .where(WebhookDelivery.id.in_(ids), *claimable)
                    .values(locked_until=now + self.claim_for)
                    .returning(WebhookDelivery),
                    execution_options={"synchronize_session": False},
                )
            )
            if not deliveries:
                return []
            subscriptions = {
                row.id: row
                for row in await session.scalars(
                    select(WebhookSubscription).where(
                        WebhookSubscription.id.in_({d.subscription_id for d in deliveries})
                    )
                )
            }
        return [(d, subscriptions[d.subscription_id]) for d in deliveries]

    async def _attempt(
        self,
        client: httpx.AsyncClient,
        delivery: WebhookDelivery,
        subscription: WebhookSubscription,
    ) -> int:
        body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False).encode()
        status_code: int | None = None
        error: str | None = None
        started = time.perf_counter()
        async with self.concurrency:
            try:
                keys = service.signing_secrets(self.settings, subscription)
                timestamp = str(int(time.time()))
                signature = ",".join(sign_webhook(key, body, timestamp) for key in keys)
                response = await client.post(
                    subscription.url,
                    content=body,
                    headers={
                        "Content-Type": "application/json",
                        "X-Bozor-Event": delivery.event_type,
                        "X-Bozor-Event-Id": str(delivery.payload.get("id", "")),
                        "X-Bozor-Delivery": str(delivery.id),
                        "X-Bozor-Timestamp": timestamp,
                        "X-Bozor-Signature": signature,
                    },
                )
                status_code = response.status_code
                if not 200 <= status_code < 300:
                    error = f"HTTP {status_code}"
            except crypto.InvalidToken:
                error = "the signing secret cannot be decrypted (ENCRYPTION_KEYS changed?)"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"[:500]
        duration_ms = round((time.perf_counter() - started) * 1000)
        await self._record(delivery, status_code, error, duration_ms)
        return 1 if error is None else 0

    async def _record(
        self, delivery: WebhookDelivery, status_code: int | None, error: str | None, ms: int
    ) -> None:
        now = utcnow()
        attempts = delivery.attempts + 1
        values: dict[str, object] = {
            "attempts": attempts,
            "locked_until": None,
            "last_status": status_code,
            "last_error": error,
        }
        if error is None:
            values.update(status=DeliveryStatus.DELIVERED, delivered_at=now)
        elif attempts >= self.settings.webhook_max_attempts:
            values.update(status=DeliveryStatus.FAILED)
            log.warning("webhook delivery %s failed for good: %s", delivery.id, error)
        else:
            values.update(due_at=now + timedelta(seconds=backoff(self.settings, attempts)))
        async with session_scope(self.session_factory) as session:
            session.add(
                WebhookAttempt(
                    delivery_id=delivery.id,
                    at=now,
                    status_code=status_code,
                    error=error,
                    duration_ms=ms,
                )
            )
            await session.execute(
                update(WebhookDelivery).where(WebhookDelivery.id == delivery.id).values(**values)
            )

    async def _housekeeping(self) -> None:
        if time.monotonic() - self._housekept_at < HOUSEKEEPING_EVERY:
            return
        self._housekept_at = time.monotonic()
        async with session_scope(self.session_factory) as session:
            await forget_expired(session)
