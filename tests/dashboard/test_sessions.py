"""Dashboard sessions kept on the server: a cookie that is only an opaque id, sessions that
end at once (sign-out, key revocation, password change, "sign out everywhere", idle and
absolute expiry), the sessions page, and CSRF tied to the session."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.dashboard.test_dashboard import PASSWORD, _csrf, referral_data, sign_in

from bozor.audit import service as audit
from bozor.dashboard import sessions
from bozor.dashboard.models import DashboardSession
from bozor.emulator import Emulator
from bozor.referrals.models import Referral, ReferralStatus
from bozor.testing import ADMIN_ID, Harness, eventually, free_port, new_api_key, start_bozor

from .helpers import redis_prefix


@pytest.fixture
def bozor_overrides() -> dict[str, Any]:
    return {"http_port": free_port(), "velocity_burst": 1, "dashboard_password": PASSWORD}


async def test_a_cookie_replayed_after_sign_out_opens_nothing(
    bozor: Harness, web: httpx.AsyncClient
) -> None:
    await referral_data(bozor)
    assert (await sign_in(web, PASSWORD)).status_code == 303
    cookie = web.cookies.get(sessions.SESSION_COOKIE)
    assert cookie is not None
    page = await web.get("/dashboard/referrals")
    assert page.status_code == 200
    token = _csrf(page.text)
    assert (await web.post("/dashboard/signout", data={"csrf": token})).status_code == 303

    async with bozor.db() as session:
        held = await session.scalar(
            select(Referral.id).where(Referral.status == ReferralStatus.REVIEW)
        )
    assert held is not None
    # An attacker who kept the cookie (and the page's CSRF token) replays both.
    replay = httpx.AsyncClient(base_url=str(web.base_url))
    async with replay:
        replay.cookies.set(sessions.SESSION_COOKIE, cookie, path="/dashboard")
        assert (await replay.get("/dashboard/")).status_code == 303
        approve = await replay.post(
            f"/dashboard/referrals/{held}/decide", data={"decision": "approve", "csrf": token}
        )
        assert approve.status_code == 401
    async with bozor.db() as session:
        status = await session.scalar(select(Referral.status).where(Referral.id == held))
    assert status == ReferralStatus.REVIEW


async def test_the_cookie_is_an_opaque_id(bozor: Harness, web: httpx.AsyncClient) -> None:
    assert (await sign_in(web, PASSWORD)).status_code == 303
    cookie = web.cookies.get(sessions.SESSION_COOKIE)
    assert cookie is not None
    assert re.fullmatch(r"[A-Za-z0-9_-]{40,}", cookie), cookie  # no payload, no signature
    assert "password" not in cookie


async def _signed_in_client(bozor: Harness, secret: str, user_agent: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{bozor.settings.http_port}",
        headers={"User-Agent": user_agent},
    )
    assert (await sign_in(client, secret)).status_code == 303
    return client


async def test_the_sessions_page_lists_and_ends_sessions(
    bozor: Harness, web: httpx.AsyncClient
) -> None:
    key = await new_api_key(bozor, "admin")
    laptop = await _signed_in_client(bozor, PASSWORD, "Laptop/1.0")
    phone = await _signed_in_client(bozor, key, "Phone/2.0")
    try:
        page = await laptop.get("/dashboard/sessions")
        assert page.status_code == 200
        assert "Laptop/1.0" in page.text and "Phone/2.0" in page.text
        assert "127.0.0.1" in page.text and "test (API key #" in page.text
        rows = dict(re.findall(r'<tr data-session="([0-9a-f]{64})"><td>([^<]+)', page.text))
        assert len(rows) == 2
        phone_id = next(i for i, who in rows.items() if "API key" in who)
        # CSRF: ending a session needs the page's token.
        refused = await laptop.post(f"/dashboard/sessions/{phone_id}/end", data={})
        assert refused.status_code == 403
        assert (await phone.get("/dashboard/")).status_code == 200
        ended = await laptop.post(
            f"/dashboard/sessions/{phone_id}/end", data={"csrf": _csrf(page.text)}
        )
        assert ended.status_code == 303 and ended.headers["location"] == "/dashboard/sessions"
        assert (await phone.get("/dashboard/")).status_code == 303  # ended at once
        assert (await laptop.get("/dashboard/")).status_code == 200  # the other one lives

        # Sign out everywhere: both browsers, this one too.
        again = await _signed_in_client(bozor, key, "Phone/2.0")
        assert (await again.get("/dashboard/")).status_code == 200
        page = await laptop.get("/dashboard/sessions")
        everywhere = await laptop.post(
            "/dashboard/sessions/end-all", data={"csrf": _csrf(page.text)}
        )
        assert everywhere.status_code == 303
        assert (await again.get("/dashboard/")).status_code == 303
        assert (await laptop.get("/dashboard/")).status_code == 303
        await again.aclose()
    finally:
        await laptop.aclose()
        await phone.aclose()

    # Each end is in the audit log, with who ended it.
    async with bozor.db() as session:
        records = await audit.entries(session=session, area="dashboard")
    ends = [r for r in records if r.action == "session_ended"]
    reasons = sorted(r.details["reason"] for r in ends)
    assert reasons == ["ended_by_admin", "signed_out_everywhere", "signed_out_everywhere"]
    assert {r.actor for r in ends} == {"password"}
    signins = [r for r in records if r.action == "signin"]
    assert sorted(r.details["method"] for r in signins) == ["api_key", "api_key", "password"]


async def test_a_password_change_ends_the_password_sessions(
    bozor: Harness, web: httpx.AsyncClient, emulator: Emulator, database_url: str
) -> None:
    key = await new_api_key(bozor, "admin")
    assert (await sign_in(web, PASSWORD)).status_code == 303
    cookie = web.cookies.get(sessions.SESSION_COOKIE)
    keyed = await _signed_in_client(bozor, key, "Keyed/1.0")
    key_cookie = keyed.cookies.get(sessions.SESSION_COOKIE)
    await keyed.aclose()
    assert cookie is not None and key_cookie is not None
    # The operator changes DASHBOARD_PASSWORD and restarts (here: another instance on the same
    # database, with the new setting).
    port = free_port()
    async with (
        start_bozor(
            emulator,
            database_url,
            bozor.db,
            http_port=port,
            admin_ids=[ADMIN_ID],
            dashboard_password="a new password, long enough",
        ),
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as other,
    ):
        other.cookies.set(sessions.SESSION_COOKIE, cookie, path="/dashboard")
        assert (await other.get("/dashboard/")).status_code == 303
        other.cookies.set(sessions.SESSION_COOKIE, key_cookie, path="/dashboard")
        assert (await other.get("/dashboard/")).status_code == 200  # keys are not affected
    async with bozor.db() as session:
        records = await audit.entries(session=session, action="session_ended")
    assert [r.details["reason"] for r in records] == ["password_changed"]


@pytest.mark.parametrize("store", ["database", "redis"])
async def test_sessions_end_when_idle_and_at_their_absolute_end(
    emulator: Emulator,
    database_url: str,
    db: async_sessionmaker[AsyncSession],
    store: str,
    store_settings: dict[str, Any],
) -> None:
    extra = store_settings
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    async with (
        start_bozor(
            emulator,
            database_url,
            db,
            http_port=port,
            admin_ids=[ADMIN_ID],
            dashboard_password=PASSWORD,
            # 3 s unused, 9 s in all: the busy session below is used every 0.2 s, so even a
            # loaded machine's pauses stay far inside the idle time
            dashboard_idle_minutes=3 / 60,
            dashboard_session_hours=9 / 3600,
            **extra,
        ),
        httpx.AsyncClient(base_url=url) as web,
    ):

        async def replay(cookie: str) -> int:
            """The cookie presented as an attacker would, ignoring its Max-Age."""
            async with httpx.AsyncClient(base_url=url) as raw:
                raw.cookies.set(sessions.SESSION_COOKIE, cookie, path="/dashboard")
                return (await raw.get("/dashboard/")).status_code

        # Idle: unused for longer than the idle time.
        assert (await sign_in(web, PASSWORD)).status_code == 303
        idle = web.cookies.get(sessions.SESSION_COOKIE)
        assert idle is not None and await replay(idle) == 200

        async def refused_after_a_pause() -> bool:
            await asyncio.sleep(4)  # longer than the idle time; a short one keeps it alive
            return await replay(idle) == 303

        await eventually(refused_after_a_pause, timeout=30, every=0)
        # Absolute: kept busy, it still ends.
        web.cookies.clear()
        assert (await sign_in(web, PASSWORD)).status_code == 303
        busy = web.cookies.get(sessions.SESSION_COOKIE)
        assert busy is not None
        opened = time.monotonic()

        async def used_until_refused() -> bool:
            return await replay(busy) == 303

        await eventually(used_until_refused, timeout=30, every=0.2)
        assert time.monotonic() - opened >= 6  # not the idle rule: used every 0.2 s
    async with db() as session:
        reasons = [r.details["reason"] for r in await audit.entries(session=session)
                   if r.action == "session_ended"]  # fmt: skip
    assert "idle" in reasons
    if store == "database":  # Redis drops a session at its end by itself, silently
        assert "expired" in reasons


async def test_sessions_kept_in_redis_end_at_sign_out(
    emulator: Emulator,
    database_url: str,
    db: async_sessionmaker[AsyncSession],
    redis_url: str,
) -> None:
    prefix = redis_prefix()
    port = free_port()
    async with (
        start_bozor(
            emulator,
            database_url,
            db,
            http_port=port,
            admin_ids=[ADMIN_ID],
            dashboard_password=PASSWORD,
            redis_url=redis_url,
            redis_prefix=prefix,
        ),
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as web,
    ):
        assert (await sign_in(web, PASSWORD)).status_code == 303
        cookie = web.cookies.get(sessions.SESSION_COOKIE)
        assert cookie is not None
        page = await web.get("/dashboard/sessions")
        assert page.status_code == 200 and "127.0.0.1" in page.text
        redis = Redis.from_url(redis_url)
        stored = [k async for k in redis.scan_iter(f"{prefix}:dashboard:session:*")]
        assert len(stored) == 1 and cookie.encode() not in stored[0]  # only its hash
        async with db() as session:
            assert await session.scalar(select(func.count()).select_from(DashboardSession)) == 0
        out = await web.post("/dashboard/signout", data={"csrf": _csrf(page.text)})
        assert out.status_code == 303
        assert [k async for k in redis.scan_iter(f"{prefix}:dashboard:session:*")] == []
        web.cookies.set(sessions.SESSION_COOKIE, cookie, path="/dashboard")
        assert (await web.get("/dashboard/")).status_code == 303
        await redis.aclose()
