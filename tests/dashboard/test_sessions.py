"""Dashboard sessions kept on the server: a cookie that is only an opaque id, sessions that
end at once (sign-out, key revocation, password change, "sign out everywhere", idle and
absolute expiry), the sessions page, and CSRF tied to the session."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from tests.dashboard.test_dashboard import PASSWORD, _csrf, referral_data, sign_in

from bozor.dashboard import sessions
from bozor.referrals.models import Referral, ReferralStatus
from bozor.testing import Harness, free_port


@pytest.fixture
def bozor_overrides() -> dict[str, Any]:
    return {"http_port": free_port(), "velocity_burst": 1, "dashboard_password": PASSWORD}


@pytest.fixture
async def web(bozor: Harness) -> AsyncIterator[httpx.AsyncClient]:
    url = f"http://127.0.0.1:{bozor.settings.http_port}"
    async with httpx.AsyncClient(base_url=url) as client:
        yield client


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
