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
    code = (await api.post("/api/v1/generate-link", json={"user_id": "alice"}, headers=i)).json()[
        "code"
    ]
    for n in range(4):
        r = await api.post(
            "/api/v1/verify-referral", json={"code": code, "user_id": f"f{n}"}, headers=i
        )
        print("verify", r.status_code, r.json()["status"])
    out = []

    async def go(method, url, **kw):
        try:
            r = await api.request(method, url, headers=a, **kw)
            out.append((r.status_code, method, url, kw, r.text[:150]))
        except httpx.HTTPError as e:
            out.append(("BROKEN", method, url, kw, repr(e)[:100]))

    for _ in range(3):
        await go("DELETE", "/api/v1/admin/reward-program")
        r = await asyncio.gather(*[api.put("/api/v1/admin/reward-program", headers=a, json={"per_referral": n, "welcome": 1, "tiers": []}) for n in range(4)])
        out.append(("concurrent put", [x.status_code for x in r]))
    r = await asyncio.gather(*[api.post(f"/api/v1/admin/referrals/{n}/{d}", headers=a, json={"reason": "x"}) for n in (3, 4) for d in ("approve", "reject")])
    out.append(("approve/reject", [x.status_code for x in r]))
    await go("POST", "/api/v1/admin/campaigns", json={"slug": "s4", "name": "ok"})
    for body in [{"user_id": "a\x00b"}, {"user_id": "alice", "campaign": "a\x00b"}, {"user_id": "tg:²"}]:
        r = await api.post("/api/v1/generate-link", headers=i, json=body)
        out.append(("link", body, r.status_code))
    r = await api.post("/api/v1/verify-referral", headers=i, json={"code": code, "user_id": "x\x00y"})
    out.append(("verify", r.status_code))
    r = await api.post("/api/v1/track-click", headers=i, json={"code": code, "ip": "1", "user_agent": "x\x00y"})
    out.append(("click", r.status_code))
    for u in ("tg:²", "tg:99999999999999999999"):
        r = await api.get(f"/api/v1/referral-stats/{u}", headers=i)
        out.append(("stats", u, r.status_code))
    for o in out:
        print(*o)
    assert False
