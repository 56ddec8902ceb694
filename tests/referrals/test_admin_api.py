from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bozor.apikeys import service as keys_service
from bozor.testing import Harness, free_port


@pytest.fixture
def bozor_overrides() -> dict[str, Any]:
    return {"http_port": free_port(), "velocity_burst": 2}


@pytest.fixture
async def api(bozor: Harness) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{bozor.settings.http_port}") as client:
        yield client


async def new_key(bozor: Harness, *scopes: str) -> str:
    async with bozor.db() as session:
        created = await keys_service.create(session=session, name="t", scopes=list(scopes))
        await session.commit()
    return created.secret


async def test_probe(bozor: Harness, api: httpx.AsyncClient) -> None:
    a = {"X-API-Key": await new_key(bozor, "admin")}
    i = {"X-API-Key": await new_key(bozor, "referrals")}
    code = (await api.post("/api/v1/generate-link", json={"user_id": "alice"}, headers=i)).json()["code"]
    for n in range(4):
        r = await api.post("/api/v1/verify-referral", json={"code": code, "user_id": f"f{n}"}, headers=i)
        print("verify", r.status_code, r.json()["status"])
    out = []
    async def go(method, url, **kw):
        try:
            r = await api.request(method, url, headers=a, **kw)
            out.append((r.status_code, method, url, kw, r.text[:150]))
        except httpx.HTTPError as e:
            out.append(("BROKEN", method, url, kw, repr(e)[:100]))
    for p in [{"since": "2024-01-01T00:00:00"}, {"since": "2024-01-01"}, {"until": "0001-01-01T00:00:00+05:00"},
              {"since": "9999-12-31T23:59:59-05:00"}, {"referrer_id": "tg:²"}, {"referrer_id": "tg:99999999999999999999"},
              {"referrer_id": "a\x00b"}, {"campaign": "a\x00b"}, {"campaign": "nope"}, {"referrer_id": "tg:9223372036854775807"},
              {"cursor": 9223372036854775807}, {"status": "bogus"}, {"since": "2024-01-01T00:00:00+05:00"}]:
        await go("GET", "/api/v1/admin/referrals", params=p)
        await go("GET", "/api/v1/admin/referrals.csv", params=p)
    await go("GET", "/api/v1/admin/campaigns/a%00b")
    await go("PATCH", "/api/v1/admin/campaigns/a%00b", json={"name": "x"})
    await go("POST", "/api/v1/admin/campaigns", json={"slug": "s1", "name": "x", "ends_at": "2030-01-01T00:00:00"})
    await go("POST", "/api/v1/admin/campaigns", json={"slug": "s2", "name": "x", "ends_at": "9999-12-31T23:59:59-05:00"})
    await go("POST", "/api/v1/admin/campaigns", json={"slug": "s3", "name": "a\x00b"})
    await go("POST", "/api/v1/admin/campaigns", json={"slug": "s4", "name": "ok"})
    await go("POST", "/api/v1/admin/campaigns", json={"slug": "s4", "name": "ok"})
    await go("PATCH", "/api/v1/admin/campaigns/s4", json={"ends_at": "2030-01-01T00:00:00"})
    await go("PATCH", "/api/v1/admin/campaigns/s4", json={"name": "a\x00b"})
    await go("PATCH", "/api/v1/admin/campaigns/s4", json={"ends_at": "2000-01-01T00:00:00Z"})
    await go("GET", "/api/v1/admin/campaigns")
    await go("POST", "/api/v1/admin/referrals/9223372036854775807/approve")
    await go("POST", "/api/v1/admin/referrals/4/reject", json={"reason": "a\x00b"})
    await go("POST", "/api/v1/admin/referrals/4/reject", json={"reason": "ok"})
    await go("POST", "/api/v1/admin/referrals/4/approve")
    await go("PUT", "/api/v1/admin/reward-program", json={"per_referral": 1, "welcome": 1, "tiers": [{"name": "a\x00b", "threshold": 1, "amount": 1}]})
    await go("PUT", "/api/v1/admin/reward-program", json={"per_referral": 1, "welcome": 1, "tiers": [{"name": "a", "threshold": 1, "amount": 1}, {"name": "a", "threshold": 2, "amount": 1}]})
    await go("GET", "/api/v1/admin/reward-program")
    r = await asyncio.gather(*[api.put("/api/v1/admin/reward-program", headers=a, json={"per_referral": n, "welcome": 1, "tiers": []}) for n in range(4)])
    out.append(("concurrent put", [x.status_code for x in r]))
    await go("DELETE", "/api/v1/admin/reward-program")
    r = await asyncio.gather(*[api.post("/api/v1/admin/campaigns", headers=a, json={"slug": "race", "name": "x"}) for n in range(4)])
    out.append(("concurrent campaign", [x.status_code for x in r]))
    r = await asyncio.gather(*[api.post("/api/v1/generate-link", headers=i, json={"user_id": "zed", "campaign": "race"}) for n in range(4)])
    out.append(("concurrent link", [x.status_code for x in r]))
    await go("GET", "/api/v1/admin/referrals.csv")
    for o in out:
        print(*o)
    assert False
