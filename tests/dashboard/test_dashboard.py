"""The admin dashboard over HTTP, against the running app and a real database: nothing
without signing in, sign-in by admin API key or password, the session cookie, CSRF on every
POST, the sections' pages and their CSV exports."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bozor.apikeys import service as keys_service
from bozor.dashboard import sessions
from bozor.lotteries import draws
from bozor.lotteries.testing import make_lottery
from bozor.referrals.models import Referral, ReferralStatus
from bozor.settings import Settings
from bozor.testing import Harness, eventually, free_port, new_api_key
from bozor.webhooks import service as webhooks_service

PASSWORD = "correct horse battery staple"


@pytest.fixture
def bozor_overrides() -> dict[str, Any]:
    # A referrer's 2nd sign-up within 10 minutes is held for review (the review queue).
    return {"http_port": free_port(), "velocity_burst": 1, "dashboard_password": PASSWORD}


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match is not None, html
    return match.group(1)


async def sign_in(web: httpx.AsyncClient, secret: str, next: str = "/dashboard/") -> httpx.Response:
    page = await web.get("/dashboard/signin")
    return await web.post(
        "/dashboard/signin", data={"csrf": _csrf(page.text), "secret": secret, "next": next}
    )


async def referral_data(bozor: Harness) -> tuple[int, int]:
    """Alice invites Bob (confirmed) and Carol (held for review); (Alice's id, Carol's)."""
    alice = await bozor.user("Alice", username="alice")
    await bozor.start(alice)
    code = await bozor.referral_code(alice)
    bob = await bozor.user("Bob")
    await bozor.start(bob, code)
    carol = await bozor.user("Carol")
    await bozor.start(carol, code)
    return alice, carol


async def test_nothing_is_visible_without_signing_in(
    bozor: Harness, web: httpx.AsyncClient
) -> None:
    for path in ("/dashboard/", "/dashboard/referrals", "/dashboard/lotteries/1",
                 "/dashboard/users?q=a", "/dashboard/webhooks"):  # fmt: skip
        answer = await web.get(path)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/dashboard/signin?next=%2Fdashboard%2F")
    data = ("/dashboard/users/users.csv", "/dashboard/referrals/referrals.csv",
            "/dashboard/lotteries/lotteries.csv", "/dashboard/referrals/funnel.csv")  # fmt: skip
    for path in data:
        answer = await web.get(path)
        assert answer.status_code == 401, path
        assert "," not in answer.text
    assert (
        await web.post("/dashboard/referrals/1/decide", data={"decision": "approve"})
    ).status_code == 401
    # A forged cookie is no session either.
    web.cookies.set(sessions.SESSION_COOKIE, "eyJzdWIiOiJwYXNzd29yZCJ9.AAAA", path="/dashboard")
    assert (await web.get("/dashboard/")).status_code == 303


async def test_an_admin_key_signs_in_and_sees_the_figures(
    bozor: Harness, web: httpx.AsyncClient
) -> None:
    alice, _ = await referral_data(bozor)
    lottery = await make_lottery(bozor.db, participants=5, places=2)
    async with bozor.db() as session:
        await draws.draw(session=session, lottery_id=lottery)
        await session.commit()
    key = await new_api_key(bozor, "admin")

    signed_in = await sign_in(web, key, next="/dashboard/referrals?days=7")
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/dashboard/referrals?days=7"
    cookie = next(
        h for h in signed_in.headers.get_list("set-cookie") if h.startswith(sessions.SESSION_COOKIE)
    )
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/dashboard" in cookie
    assert "Secure" not in cookie  # plain http here; https gets Secure

    page = await web.get("/dashboard/referrals?days=7")
    assert page.status_code == 200
    assert "<svg" in page.text and "held for review" in page.text
    assert "Alice (@alice)" in page.text and "Carol" in page.text  # names, not ids
    funnel = list(
        csv.reader(io.StringIO((await web.get("/dashboard/referrals/funnel.csv?days=7")).text))
    )
    assert funnel[0] == ["day", "clicks", "signups", "confirmed"]
    assert len(funnel) == 8 and [int(n) for n in funnel[-1][1:]] == [0, 2, 1]
    top = list(csv.reader(io.StringIO((await web.get("/dashboard/referrals/top.csv")).text)))
    assert top[1][2:] == [str(alice), "Alice", "alice", "0", "2", "1"]
    exported = list(
        csv.reader(io.StringIO((await web.get("/dashboard/referrals/referrals.csv")).text))
    )
    assert exported[0][:4] == ["id", "referrer_id", "referred_id", "status"]
    assert sorted(row[3] for row in exported[1:]) == ["confirmed", "review"]

    detail = await web.get(f"/dashboard/lotteries/{lottery}")
    assert detail.status_code == 200 and "Verified" in detail.text
    winners = list(
        csv.reader(io.StringIO((await web.get(f"/dashboard/lotteries/{lottery}/winners.csv")).text))
    )
    assert [row[0] for row in winners[1:]] == ["1", "2"]
    audit = (await web.get(f"/dashboard/lotteries/{lottery}/audit.csv")).text
    assert "drawn" in audit and "lottery_created" in audit
    # The lottery's log is the audit log's, filtered: read and linked from the page.
    assert "Lottery created" in detail.text and "Drawn" in detail.text
    link = f"/dashboard/audit?area=lotteries&amp;target=lottery:{lottery}"
    assert link in detail.text
    logged = await web.get(link.replace("&amp;", "&"))
    assert "Lottery created" in logged.text and "Drawn" in logged.text
    report = (await web.get("/dashboard/lotteries/reports/participations.csv")).text
    assert report.splitlines()[0] == "account,club_card,participations"
    assert (await web.get("/dashboard/lotteries/999")).status_code == 404

    users = await web.get("/dashboard/users", params={"q": "@alice"})
    assert "1 user" in users.text and "Alice" in users.text and "Carol" not in users.text
    by_id = list(
        csv.reader(
            io.StringIO(
                (await web.get("/dashboard/users/users.csv", params={"q": str(alice)})).text
            )
        )
    )
    assert [row[3] for row in by_id[1:]] == ["Alice"]
    overview = await web.get("/dashboard/")
    assert overview.status_code == 200 and "held for review" in overview.text
    assert (await web.get("/dashboard/webhooks")).status_code == 200


async def test_keys_without_the_admin_scope_and_wrong_secrets_are_refused(
    bozor: Harness, web: httpx.AsyncClient
) -> None:
    for secret in (await new_api_key(bozor, "referrals"), "wrong password", ""):
        answer = await sign_in(web, secret)
        assert answer.status_code == 401
        assert sessions.SESSION_COOKIE not in answer.cookies
    # A session opened with a key ends when the key is revoked.
    key = await new_api_key(bozor, "admin")
    assert (await sign_in(web, key)).status_code == 303
    assert (await web.get("/dashboard/")).status_code == 200
    async with bozor.db() as session:
        for row in await keys_service.list_keys(session=session):
            await keys_service.revoke(session=session, key_id=row.id)
        await session.commit()
    assert (await web.get("/dashboard/")).status_code == 303


async def test_the_password_signs_in_and_sign_out_needs_the_token(
    bozor: Harness, web: httpx.AsyncClient
) -> None:
    # Never back to another site after signing in.
    answer = await sign_in(web, PASSWORD, next="https://evil.example/")
    assert answer.status_code == 303 and answer.headers["location"] == "/dashboard/"
    page = await web.get("/dashboard/")
    assert page.status_code == 200
    assert (await web.post("/dashboard/signout", data={})).status_code == 403
    assert (await web.post("/dashboard/signout", data={"csrf": "forged"})).status_code == 403
    assert (await web.get("/dashboard/")).status_code == 200  # still signed in
    out = await web.post("/dashboard/signout", data={"csrf": _csrf(page.text)})
    assert out.status_code == 303
    assert (await web.get("/dashboard/")).status_code == 303


async def test_every_post_needs_the_csrf_token(bozor: Harness, web: httpx.AsyncClient) -> None:
    await referral_data(bozor)
    # Sign-in itself: no token, or a token the sign-in cookie does not vouch for.
    assert (await web.post("/dashboard/signin", data={"secret": PASSWORD})).status_code == 403
    await web.get("/dashboard/signin")
    forged = {"csrf": "x" * 32, "secret": PASSWORD}
    assert (await web.post("/dashboard/signin", data=forged)).status_code == 403
    assert (await sign_in(web, PASSWORD)).status_code == 303

    async with bozor.db() as session:
        held = await session.scalar(
            select(Referral.id).where(Referral.status == ReferralStatus.REVIEW)
        )
    assert held is not None
    refused = await web.post(f"/dashboard/referrals/{held}/decide", data={"decision": "approve"})
    assert refused.status_code == 403
    async with bozor.db() as session:
        assert (
            await session.scalar(select(Referral.status).where(Referral.id == held))
            == ReferralStatus.REVIEW
        )
    token = _csrf((await web.get("/dashboard/referrals")).text)
    approved = await web.post(
        f"/dashboard/referrals/{held}/decide", data={"decision": "approve", "csrf": token}
    )
    assert approved.status_code == 303
    async with bozor.db() as session:
        assert (
            await session.scalar(select(Referral.status).where(Referral.id == held))
            == ReferralStatus.CONFIRMED
        )


def test_the_signin_forms_cookie_cannot_be_altered_or_outlive_its_time() -> None:
    settings = Settings(api_secret="s" * 40)
    _, cookie = sessions.signin_token(settings)
    assert sessions.unsign(settings, cookie) is not None
    body, mac = cookie.split(".")
    assert sessions.unsign(settings, body[:-2] + "xx." + mac) is None
    other = Settings(api_secret="t" * 40)
    assert sessions.unsign(other, cookie) is None
    expired = sessions.sign(settings, {"csrf": "c", "exp": 1})
    assert sessions.unsign(settings, expired) is None


def test_the_password_may_be_given_as_its_digest() -> None:
    digest = hashlib.sha256(PASSWORD.encode()).hexdigest()
    settings = Settings(dashboard_password=f"sha256:{digest}")
    assert sessions.password_matches(settings, PASSWORD)
    assert not sessions.password_matches(settings, PASSWORD + "!")
    assert not sessions.password_matches(Settings(), PASSWORD)  # no password: keys only


async def test_webhook_deliveries_are_listed(bozor: Harness, web: httpx.AsyncClient) -> None:
    async with bozor.db() as session:
        await webhooks_service.subscribe(
            session=session,
            settings=bozor.settings,
            url=f"http://127.0.0.1:{free_port()}/hook",  # nobody listens: attempts fail
            events=["referral.created"],
            description="CRM sync",
        )
        await session.commit()
    await referral_data(bozor)
    assert (await sign_in(web, PASSWORD)).status_code == 303

    async def attempted() -> bool:
        rows = list(
            csv.reader(io.StringIO((await web.get("/dashboard/webhooks/deliveries.csv")).text))
        )
        return len(rows) == 3 and all(int(row[4]) >= 1 for row in rows[1:])

    await eventually(attempted)
    page = await web.get("/dashboard/webhooks")
    assert "CRM sync" in page.text and "referral.created" in page.text
