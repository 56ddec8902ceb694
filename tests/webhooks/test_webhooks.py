"""Webhooks end to end: subscriptions over the API, deliveries signed, retried with back-off,
logged, surviving a restart, and sent once when several workers run."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bozor.client import WebhookVerificationError, verify_webhook
from bozor.emulator import Emulator
from bozor.testing import Harness, api_url, eventually, free_port, new_api_key, start_bozor
from bozor.webhooks.models import WebhookAttempt, WebhookDelivery

FAST: dict[str, Any] = {"webhook_retry_seconds": 0.2, "velocity_burst": 0}


@dataclass
class Receiver:
    """An integrator's endpoint: records what arrives; answers `failures` errors first."""

    failures: int = 0
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.failures > 0:
            self.failures -= 1
            return web.Response(status=503)
        self.received.append((dict(request.headers), body))
        return web.Response(status=204)

    def events(self, type: str | None = None) -> list[dict[str, Any]]:
        payloads = [json.loads(body) for _, body in self.received]
        return [p for p in payloads if type is None or p["type"] == type]

    async def wait_for(self, count: int) -> None:
        async def enough() -> bool:
            return len(self.received) >= count

        await eventually(enough)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    receiver.url = f"http://127.0.0.1:{port}/hook"
    yield receiver
    await runner.cleanup()


@pytest.fixture
def bozor_overrides() -> dict[str, Any]:
    return {"http_port": free_port(), **FAST}


async def subscribe(harness: Harness, url: str, events: list[str]) -> tuple[int, str]:
    admin = await new_api_key(harness, "admin")
    async with httpx.AsyncClient(base_url=api_url(harness)) as api:
        made = await api.post(
            "/api/v1/admin/webhooks",
            json={"url": url, "events": events},
            headers={"X-API-Key": admin},
        )
    assert made.status_code == 201, made.text
    return made.json()["id"], made.json()["secret"]


async def referral(harness: Harness, referrer: str, referred: str) -> dict[str, Any]:
    key = await new_api_key(harness)
    async with httpx.AsyncClient(base_url=api_url(harness), headers={"X-API-Key": key}) as api:
        link = await api.post("/api/v1/generate-link", json={"user_id": referrer})
        made = await api.post(
            "/api/v1/verify-referral", json={"code": link.json()["code"], "user_id": referred}
        )
    assert made.status_code == 201, made.text
    return dict(made.json())


async def test_deliveries_are_signed_and_carry_the_events(
    bozor: Harness, receiver: Receiver
) -> None:
    _, secret = await subscribe(bozor, receiver.url, ["*"])
    made = await referral(bozor, "alice", "bob")
    # referral.created, referral.confirmed, and two rewards (per referral, welcome bonus)
    await receiver.wait_for(4)
    headers, body = receiver.received[0]
    payload = verify_webhook(
        secret, body, headers["X-Bozor-Timestamp"], headers["X-Bozor-Signature"]
    )
    assert payload["type"] == headers["X-Bozor-Event"] == "referral.created"
    assert payload["data"]["referral"]["id"] == made["id"]
    assert payload["data"]["referral"]["referrer_id"] == "alice"
    assert {p["type"] for p in receiver.events()} == {
        "referral.created",
        "referral.confirmed",
        "reward.granted",
    }
    granted = {p["data"]["reward"]["user_id"] for p in receiver.events("reward.granted")}
    assert granted == {"alice", "bob"}
    with pytest.raises(WebhookVerificationError):
        verify_webhook(
            "whsec_wrong", body, headers["X-Bozor-Timestamp"], headers["X-Bozor-Signature"]
        )
    with pytest.raises(WebhookVerificationError):  # a replay an hour later
        verify_webhook(
            secret,
            body,
            headers["X-Bozor-Timestamp"],
            headers["X-Bozor-Signature"],
            now=int(headers["X-Bozor-Timestamp"]) + 3600,
        )


async def test_only_subscribed_events_are_sent(bozor: Harness, receiver: Receiver) -> None:
    await subscribe(bozor, receiver.url, ["reward.claimed"])
    await referral(bozor, "alice", "bob")
    key = await new_api_key(bozor)
    async with httpx.AsyncClient(base_url=api_url(bozor), headers={"X-API-Key": key}) as api:
        [reward] = (await api.get("/api/v1/rewards/bob")).json()["rewards"]
        claimed = await api.post(
            "/api/v1/claim-reward", json={"user_id": "bob", "reward_id": reward["id"]}
        )
    assert claimed.status_code == 200
    await receiver.wait_for(1)
    await asyncio.sleep(0.5)  # nothing else follows
    assert [p["type"] for p in receiver.events()] == ["reward.claimed"]
    assert receiver.events()[0]["data"]["reward"]["status"] == "claimed"


async def test_failures_are_retried_with_backoff_and_logged(
    bozor: Harness, receiver: Receiver
) -> None:
    subscription_id, _ = await subscribe(bozor, receiver.url, ["referral.created"])
    receiver.failures = 2
    await referral(bozor, "alice", "bob")
    await receiver.wait_for(1)
    admin = await new_api_key(bozor, "admin")
    async with httpx.AsyncClient(base_url=api_url(bozor), headers={"X-API-Key": admin}) as api:
        log = (await api.get(f"/api/v1/admin/webhooks/{subscription_id}/deliveries")).json()
    [delivery] = log
    assert delivery["status"] == "delivered" and delivery["attempts"] == 3
    assert [a["status_code"] for a in delivery["attempt_log"]] == [503, 503, 204]
    first, second, third = (a["at"] for a in delivery["attempt_log"])
    assert first < second < third


async def test_an_unreachable_receiver_fails_after_the_last_attempt_and_can_be_redelivered(
    emulator: Emulator,
    database_url: str,
    db: async_sessionmaker[AsyncSession],
    receiver: Receiver,
) -> None:
    port = free_port()
    overrides: dict[str, Any] = {"http_port": port, "webhook_max_attempts": 2, **FAST}
    async with start_bozor(emulator, database_url, db, **overrides) as harness:
        subscription_id, _ = await subscribe(
            harness, f"http://127.0.0.1:{free_port()}/nobody", ["referral.created"]
        )
        await referral(harness, "alice", "bob")

        async def failed() -> bool:
            return await _delivery_status(db) == "failed"

        await eventually(failed)
        admin = await new_api_key(harness, "admin")
        async with httpx.AsyncClient(
            base_url=api_url(harness), headers={"X-API-Key": admin}
        ) as api:
            [delivery] = (
                await api.get(f"/api/v1/admin/webhooks/{subscription_id}/deliveries")
            ).json()
            assert delivery["attempts"] == 2 and all(
                a["status_code"] is None and a["error"] for a in delivery["attempt_log"]
            )
            moved = await api.patch(
                f"/api/v1/admin/webhooks/{subscription_id}", json={"url": receiver.url}
            )
            assert moved.status_code == 200
            again = await api.post(
                f"/api/v1/admin/webhooks/{subscription_id}/deliveries/{delivery['id']}/redeliver"
            )
            assert again.status_code == 202
        await receiver.wait_for(1)
        assert receiver.events()[0]["type"] == "referral.created"


async def _delivery_status(db: async_sessionmaker[AsyncSession]) -> str | None:
    async with db() as session:
        return await session.scalar(select(WebhookDelivery.status))


async def test_deliveries_survive_a_restart(
    emulator: Emulator,
    database_url: str,
    db: async_sessionmaker[AsyncSession],
    receiver: Receiver,
) -> None:
    port = free_port()
    # The first run has no worker: the events wait in the database.
    async with start_bozor(
        emulator, database_url, db, roles=frozenset({"api"}), http_port=port, **FAST
    ) as harness:
        await subscribe(harness, receiver.url, ["referral.created"])
        await referral(harness, "alice", "bob")
        await referral(harness, "alice", "carol")
    assert receiver.received == []
    async with start_bozor(
        emulator, database_url, db, roles=frozenset({"worker"}), http_port=port, **FAST
    ):
        await receiver.wait_for(2)
    referred = sorted(p["data"]["referral"]["referred_id"] for p in receiver.events())
    assert referred == ["bob", "carol"]


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_several_workers_deliver_each_event_once(
    emulator: Emulator,
    database_url: str,
    db: async_sessionmaker[AsyncSession],
    receiver: Receiver,
) -> None:
    port = free_port()
    async with start_bozor(
        emulator, database_url, db, roles=frozenset({"api"}), http_port=port, **FAST
    ) as harness:
        await subscribe(harness, receiver.url, ["referral.created"])
        key = await new_api_key(harness)
        async with httpx.AsyncClient(base_url=api_url(harness), headers={"X-API-Key": key}) as api:
            code = (await api.post("/api/v1/generate-link", json={"user_id": "alice"})).json()[
                "code"
            ]
            for start in range(0, 60, 20):
                made = await asyncio.gather(
                    *(
                        api.post("/api/v1/verify-referral", json={"code": code, "user_id": f"u{i}"})
                        for i in range(start, start + 20)
                    )
                )
                assert all(r.status_code == 201 for r in made)
        workers = [
            start_bozor(emulator, database_url, db, roles=frozenset({"worker"}), **FAST)
            for _ in range(3)
        ]
        async with workers[0], workers[1], workers[2]:
            await receiver.wait_for(60)
            await asyncio.sleep(1)  # any duplicate would arrive by now
    ids = [p["id"] for p in receiver.events()]
    assert len(ids) == 60 and len(set(ids)) == 60
    async with db() as session:
        attempts = await session.scalar(select(func.count()).select_from(WebhookAttempt))
    assert attempts == 60


async def test_after_a_rotation_both_secrets_sign_for_a_day(
    bozor: Harness, receiver: Receiver
) -> None:
    subscription_id, old = await subscribe(bozor, receiver.url, ["referral.created"])
    admin = await new_api_key(bozor, "admin")
    async with httpx.AsyncClient(base_url=api_url(bozor), headers={"X-API-Key": admin}) as api:
        rotated = await api.post(f"/api/v1/admin/webhooks/{subscription_id}/rotate-secret")
    new = rotated.json()["secret"]
    assert rotated.status_code == 200 and new != old
    await referral(bozor, "alice", "bob")
    await receiver.wait_for(1)
    headers, body = receiver.received[0]
    for secret in (old, new):  # the receiver may still hold either
        verify_webhook(secret, body, headers["X-Bozor-Timestamp"], headers["X-Bozor-Signature"])
