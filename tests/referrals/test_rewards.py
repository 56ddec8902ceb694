"""Rewards: per referral, double-sided welcome, tiers at 5/10/20; claimed once into the ledger."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from bozor.ledger.models import LedgerEntry
from bozor.testing import Harness, free_port


@pytest.fixture
def bozor_overrides() -> dict[str, Any]:
    return {"http_port": free_port()}  # the API is called over a real socket


@pytest.fixture
def api_scopes() -> tuple[str, ...]:
    return ("referrals",)


async def rewards_of(api: httpx.AsyncClient, user_id: str) -> dict[str, Any]:
    response = await api.get(f"/api/v1/rewards/{user_id}")
    assert response.status_code == 200
    return dict(response.json())


async def refer(api: httpx.AsyncClient, code: str, *names: str) -> None:
    for name in names:
        body = {"code": code, "user_id": name}
        assert (await api.post("/api/v1/verify-referral", json=body)).status_code == 201


async def test_rewards_per_referral_welcome_and_tiers(api: httpx.AsyncClient) -> None:
    code = (await api.post("/api/v1/generate-link", json={"user_id": "alice"})).json()["code"]
    await refer(api, code, *(f"friend{i}" for i in range(5)))
    mine = await rewards_of(api, "alice")
    titles = sorted(str(r["title"]) for r in mine["rewards"])
    assert titles == ["Bronze"] + ["Referral"] * 5
    assert mine["balance"] == 0, "nothing is credited before it is claimed"
    welcome = await rewards_of(api, "friend0")
    assert [(r["kind"], r["amount"]) for r in welcome["rewards"]] == [("welcome", 10)]

    await refer(api, code, *(f"more{i}" for i in range(5)))
    tiers = [r["title"] for r in (await rewards_of(api, "alice"))["rewards"] if r["kind"] == "tier"]
    assert sorted(tiers) == ["Bronze", "Silver"], "each tier once, in order"
    stats = (await api.get("/api/v1/referral-stats/alice")).json()
    assert (stats["rewards_earned"], stats["rewards_claimed"]) == (10 * 10 + 50 + 150, 0)


async def test_claim_checks_ownership_and_happens_once(
    bozor: Harness, api: httpx.AsyncClient
) -> None:
    code = (await api.post("/api/v1/generate-link", json={"user_id": "alice"})).json()["code"]
    await refer(api, code, "bob")
    [reward] = (await rewards_of(api, "alice"))["rewards"]

    theirs = await api.post(
        "/api/v1/claim-reward", json={"user_id": "bob", "reward_id": reward["id"]}
    )
    assert theirs.status_code == 403 and theirs.json()["code"] == "reward.not_yours"
    missing = await api.post("/api/v1/claim-reward", json={"user_id": "alice", "reward_id": 999999})
    assert missing.status_code == 404

    body = {"user_id": "alice", "reward_id": reward["id"]}
    results = await asyncio.gather(*(api.post("/api/v1/claim-reward", json=body) for _ in range(5)))
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200, 409, 409, 409, 409]
    winner = next(r for r in results if r.status_code == 200).json()
    assert winner["reward"]["status"] == "claimed" and winner["balance"] == 10
    assert (await rewards_of(api, "alice"))["balance"] == 10
    async with bozor.db() as session:
        assert await session.scalar(select(func.count()).select_from(LedgerEntry)) == 1


async def test_referrals_made_in_the_bot_earn_rewards_too(
    bozor: Harness, api: httpx.AsyncClient
) -> None:
    alice = await bozor.user("Alice")
    await bozor.start(alice)
    code = await bozor.referral_code(alice)
    for i in range(5):
        await bozor.start(await bozor.user(f"Friend{i}"), code)
    mine = await rewards_of(api, f"tg:{alice}")
    assert sorted(r["title"] for r in mine["rewards"]) == ["Bronze"] + ["Referral"] * 5
