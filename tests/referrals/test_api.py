"""The referral REST API over HTTP, against the running app and a real database."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bozor.api.auth import signing_secret
from bozor.apikeys import service as keys_service
from bozor.db import utcnow
from bozor.emulator import Emulator
from bozor.referrals.models import Click, Referral
from bozor.testing import Harness, eventually, free_port, new_api_key, start_bozor


@pytest.fixture
def bozor_overrides() -> dict[str, Any]:
    return {"http_port": free_port()}  # the API is called over a real socket


def auth(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


async def test_requests_without_a_valid_key_are_refused(
    bozor: Harness, api: httpx.AsyncClient, key: str
) -> None:
    body = {"user_id": "u1"}
    missing = await api.post("/api/v1/generate-link", json=body)
    forged = await api.post("/api/v1/generate-link", json=body, headers=auth(key[:-4] + "AAAA"))
    garbage = await api.post("/api/v1/generate-link", json=body, headers=auth("hello"))
    for response in (missing, forged, garbage):
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == 401
        assert response.headers["www-authenticate"].startswith("Bearer")


async def test_scopes_separate_integration_from_administration(
    bozor: Harness, api: httpx.AsyncClient
) -> None:
    admin_only = await new_api_key(bozor, "admin")
    response = await api.post(
        "/api/v1/generate-link", json={"user_id": "u1"}, headers=auth(admin_only)
    )
    assert response.status_code == 403
    assert "referrals" in response.json()["detail"]


async def test_revoked_key_stops_working_at_once(
    bozor: Harness, api: httpx.AsyncClient, key: str
) -> None:
    assert (
        await api.post("/api/v1/generate-link", json={"user_id": "u1"}, headers=auth(key))
    ).status_code == 200
    async with bozor.db() as session:
        [stored] = await keys_service.list_keys(session=session)
        await keys_service.revoke(session=session, key_id=stored.id)
        await session.commit()
    assert (
        await api.post("/api/v1/generate-link", json={"user_id": "u1"}, headers=auth(key))
    ).status_code == 401


async def test_key_use_is_recorded_without_a_write_per_call(
    bozor: Harness, api: httpx.AsyncClient, key: str
) -> None:
    async def last_used() -> Any:
        async with bozor.db() as session:
            [stored] = await keys_service.list_keys(session=session)
            return stored.last_used_at

    async def call() -> None:
        response = await api.post(
            "/api/v1/generate-link", json={"user_id": "u1"}, headers=auth(key)
        )
        assert response.status_code == 200

    assert await last_used() is None
    await call()
    first = await last_used()
    assert first is not None
    await call()
    assert await last_used() == first  # within a minute: not written again
    async with bozor.db() as session:
        [stored] = await keys_service.list_keys(session=session)
        stored.last_used_at = first - timedelta(minutes=2)
        await session.commit()
    await call()
    assert await last_used() > first


async def test_key_use_is_recorded_by_a_call_that_writes_nothing(
    bozor: Harness, api: httpx.AsyncClient, key: str
) -> None:
    """The key is checked in the request's own session; its use is committed before the route
    runs, so a read-only call (here a 404) records it too."""
    response = await api.get("/api/v1/referral-stats/nobody", headers=auth(key))
    assert response.status_code == 404
    async with bozor.db() as session:
        [stored] = await keys_service.list_keys(session=session)
    assert stored.last_used_at is not None


async def test_key_exchanged_for_a_short_lived_token(
    bozor: Harness, api: httpx.AsyncClient, key: str
) -> None:
    response = await api.post("/api/v1/token", headers=auth(key))
    assert response.status_code == 200
    token = response.json()
    assert token["token_type"] == "bearer" and token["expires_in"] == 15 * 60
    assert token["scope"] == "referrals"
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    assert (await api.get("/api/v1/referral-stats/nobody", headers=bearer)).status_code == 404

    secret = signing_secret(bozor.settings)
    claims = jwt.decode(token["access_token"], secret, algorithms=["HS256"], issuer="bozor")
    expired = jwt.encode({**claims, "exp": utcnow() - timedelta(seconds=1)}, secret, "HS256")
    forged = jwt.encode({**claims, "scope": "admin referrals"}, "x" * 64, "HS256")
    for bad, detail in ((expired, "expired"), (forged, "not valid")):
        response = await api.get(
            "/api/v1/referral-stats/nobody", headers={"Authorization": f"Bearer {bad}"}
        )
        assert response.status_code == 401 and detail in response.json()["detail"]
    assert (await api.post("/api/v1/token", headers=auth("bzr_nope"))).status_code == 401


async def test_integrator_referral_flow(api: httpx.AsyncClient, key: str) -> None:
    link = await api.post("/api/v1/generate-link", json={"user_id": "alice"}, headers=auth(key))
    assert link.status_code == 200
    code = link.json()["code"]
    assert link.json()["telegram_link"].endswith(f"?start={code}")
    again = await api.post("/api/v1/generate-link", json={"user_id": "alice"}, headers=auth(key))
    assert again.json()["code"] == code, "one link per user"

    made = await api.post(
        "/api/v1/verify-referral", json={"code": code, "user_id": "bob"}, headers=auth(key)
    )
    assert made.status_code == 201
    assert made.json()["referrer_id"] == "alice" and made.json()["referred_id"] == "bob"
    assert made.json()["status"] == "confirmed"

    twice = await api.post(
        "/api/v1/process-referral", json={"code": code, "user_id": "bob"}, headers=auth(key)
    )
    assert twice.status_code == 409 and twice.json()["code"] == "referral.already"

    stats = (await api.get("/api/v1/referral-stats/alice", headers=auth(key))).json()
    assert (stats["invited"], stats["confirmed"], stats["pending"], stats["rank"]) == (1, 1, 0, 1)
    assert (stats["clicks"], stats["signup_rate"], stats["confirmation_rate"]) == (0, None, 1.0)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"code": "ZZZZZZZZZZ", "user_id": "bob"}, 422, "referral.unknown"),
        ({"code": "bad!code", "user_id": "bob"}, 422, "referral.unknown"),
        ({"code": "", "user_id": "bob"}, 422, "request.invalid"),
        ({"code": "abc", "user_id": "has space"}, 422, "request.invalid"),
        ({"user_id": "bob"}, 422, "request.invalid"),
    ],
)
async def test_bad_referrals_get_problem_details(
    api: httpx.AsyncClient, key: str, body: dict[str, str], status: int, code: str
) -> None:
    response = await api.post("/api/v1/verify-referral", json=body, headers=auth(key))
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code


async def test_self_referral_and_cycles_are_refused(api: httpx.AsyncClient, key: str) -> None:
    codes = {}
    for name in ("a", "b"):
        response = await api.post(
            "/api/v1/generate-link", json={"user_id": name}, headers=auth(key)
        )
        codes[name] = response.json()["code"]
    itself = await api.post(
        "/api/v1/verify-referral", json={"code": codes["a"], "user_id": "a"}, headers=auth(key)
    )
    assert itself.status_code == 403 and itself.json()["code"] == "referral.self"
    made = await api.post(
        "/api/v1/verify-referral", json={"code": codes["a"], "user_id": "b"}, headers=auth(key)
    )
    assert made.status_code == 201
    loop = await api.post(
        "/api/v1/verify-referral", json={"code": codes["b"], "user_id": "a"}, headers=auth(key)
    )
    assert loop.status_code == 403 and loop.json()["code"] == "referral.cycle"


async def test_bot_and_api_share_one_referral_graph(
    bozor: Harness, api: httpx.AsyncClient, key: str
) -> None:
    alice = await bozor.user("Alice")
    await bozor.start(alice)
    code = await bozor.referral_code(alice)
    # a friend joins in the bot, another signs up in the integrator's app
    await bozor.start(await bozor.user("Bob"), code)
    made = await api.post(
        "/api/v1/verify-referral", json={"code": code, "user_id": "carol"}, headers=auth(key)
    )
    assert made.status_code == 201 and made.json()["referrer_id"] == f"tg:{alice}"

    stats = await api.get(f"/api/v1/referral-stats/tg:{alice}", headers=auth(key))
    assert stats.json()["invited"] == 2 and stats.json()["confirmed"] == 2
    caption = (await bozor.show_ref(alice))["caption"]
    assert "Invited: 2" in caption
    link = await api.post(
        "/api/v1/generate-link", json={"user_id": f"tg:{alice}"}, headers=auth(key)
    )
    assert link.json()["code"] == code


async def test_openapi_document_describes_the_api(api: httpx.AsyncClient) -> None:
    spec = (await api.get("/openapi.json")).json()
    for path in (
        "/api/v1/generate-link",
        "/api/v1/verify-referral",
        "/api/v1/referral-stats/{user_id}",
        "/api/v1/token",
    ):
        assert path in spec["paths"]
    assert (await api.get("/docs")).status_code == 200


def test_apikey_command_shows_the_key_once(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/keys.sqlite3"}

    def bozor_cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bozor", "apikey", *args],
            env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip

    created = bozor_cli("create", "Shop app", "--scope", "referrals", "--scope", "admin")
    assert created.returncode == 0, created.stderr
    secret = created.stdout.splitlines()[1]
    assert secret.startswith("bzr_") and "cannot be shown again" in created.stderr
    listed = bozor_cli("list")
    assert "Shop app" in listed.stdout and "admin referrals" in listed.stdout
    # bzr_<prefix>_<secret>: the secret part may itself contain "_"
    assert secret.split("_", 2)[2] not in listed.stdout, "the secret is never shown again"
    assert bozor_cli("revoke", "1").returncode == 0
    assert "revoked" in bozor_cli("list").stdout
    assert bozor_cli("create", "x", "--scope", "root").returncode == 2


BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120 Safari/537.36"
PREVIEW = "TelegramBot (like TwitterBot)"


async def link_of(api: httpx.AsyncClient, key: str, user_id: str) -> dict[str, str]:
    response = await api.post("/api/v1/generate-link", json={"user_id": user_id}, headers=auth(key))
    return dict(response.json())


async def stats_of(api: httpx.AsyncClient, key: str, user_id: str) -> dict[str, object]:
    return dict((await api.get(f"/api/v1/referral-stats/{user_id}", headers=auth(key))).json())


async def test_web_link_records_the_click_and_redirects_to_the_bot(
    bozor: Harness, api: httpx.AsyncClient, key: str
) -> None:
    link = await link_of(api, key, "alice")
    assert link["web_link"] == f"http://127.0.0.1:{bozor.settings.http_port}/r/{link['code']}"
    response = await api.get(
        f"/r/{link['code']}?utm_source=instagram&utm_campaign=spring&other=x",
        headers={"User-Agent": BROWSER, "Referer": "https://instagram.com/p/1"},
    )
    assert response.status_code == 302
    assert response.headers["location"] == link["telegram_link"]
    assert response.headers["cache-control"] == "no-store"

    async def recorded() -> bool:  # clicks are written in batches, a moment later
        async with bozor.db() as session:
            return (await session.scalar(select(func.count()).select_from(Click))) == 1

    await eventually(recorded)
    async with bozor.db() as session:
        [click] = (await session.scalars(select(Click))).all()
    assert click.utm == {"utm_source": "instagram", "utm_campaign": "spring"}
    assert click.referer == "https://instagram.com/p/1" and not click.is_bot
    stored = " ".join(str(v) for v in (click.visitor, click.user_agent, click.referer, click.utm))
    assert "127.0.0.1" not in stored, "no raw IP is kept"
    assert (await api.get("/r/ZZZZZZZZZZ")).status_code == 404


async def test_previews_and_bots_are_recorded_but_not_counted(
    api: httpx.AsyncClient, key: str
) -> None:
    code = (await link_of(api, key, "alice"))["code"]
    for agent in (PREVIEW, "facebookexternalhit/1.1", "Googlebot/2.1", ""):
        await api.get(f"/r/{code}", headers={"User-Agent": agent})
    stats = await stats_of(api, key, "alice")
    assert (stats["clicks"], stats["unique_clicks"], stats["bot_clicks"]) == (0, 0, 4)


async def test_unique_visitors_are_counted_once_a_day(api: httpx.AsyncClient, key: str) -> None:
    code = (await link_of(api, key, "alice"))["code"]
    for ip, agent in (("10.0.0.1", BROWSER), ("10.0.0.1", BROWSER), ("10.0.0.2", BROWSER)):
        body = {"code": code, "ip": ip, "user_agent": agent}
        response = await api.post("/api/v1/track-click", json=body, headers=auth(key))
        assert response.status_code == 201 and response.json()["counted"] is True
    preview = {"code": code, "ip": "10.0.0.9", "user_agent": PREVIEW}
    response = await api.post("/api/v1/track-click", json=preview, headers=auth(key))
    assert response.json()["counted"] is False
    body = {"code": code, "user_id": "bob"}
    await api.post("/api/v1/verify-referral", json=body, headers=auth(key))
    stats = await stats_of(api, key, "alice")
    assert (stats["clicks"], stats["unique_clicks"], stats["bot_clicks"]) == (3, 2, 1)
    assert (stats["invited"], stats["signup_rate"], stats["confirmation_rate"]) == (1, 0.5, 1.0)


async def test_sign_up_is_attributed_to_its_click_within_the_window(
    bozor: Harness, api: httpx.AsyncClient, key: str
) -> None:
    codes = {name: (await link_of(api, key, name))["code"] for name in ("alice", "carol")}
    clicks = {}
    for name, code in codes.items():
        body = {"code": code, "ip": "10.0.0.1", "user_agent": BROWSER}
        response = await api.post("/api/v1/track-click", json=body, headers=auth(key))
        clicks[name] = response.json()["click_id"]

    wrong = {"code": codes["alice"], "user_id": "bob", "click_id": clicks["carol"]}
    response = await api.post("/api/v1/verify-referral", json=wrong, headers=auth(key))
    assert response.status_code == 422 and response.json()["code"] == "referral.click_mismatch"

    async with bozor.db() as session:  # Alice's click happened 31 days ago
        click = await session.get_one(Click, clicks["alice"])
        click.created_at = utcnow() - timedelta(days=31)
        await session.commit()
    late = {"code": codes["alice"], "user_id": "bob", "click_id": clicks["alice"]}
    response = await api.post("/api/v1/verify-referral", json=late, headers=auth(key))
    assert response.status_code == 422
    assert response.json()["code"] == "referral.attribution_expired"

    body = {"code": codes["carol"], "user_id": "bob", "click_id": clicks["carol"]}
    assert (
        await api.post("/api/v1/verify-referral", json=body, headers=auth(key))
    ).status_code == 201
    async with bozor.db() as session:
        [referral] = (await session.scalars(select(Referral))).all()
    assert referral.click_id == clicks["carol"]


async def test_landing_page_can_replace_the_bot(
    emulator: Emulator, database_url: str, db: async_sessionmaker[AsyncSession]
) -> None:
    port = free_port()
    landing = "https://shop.example.com/join?ref={code}"
    async with start_bozor(
        emulator, database_url, db, http_port=port, referral_landing_url=landing
    ) as harness:
        key = await new_api_key(harness)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as api:
            code = (await link_of(api, key, "alice"))["code"]
            response = await api.get(f"/r/{code}", headers={"User-Agent": BROWSER})
    assert response.headers["location"] == f"https://shop.example.com/join?ref={code}"


async def test_every_answered_click_is_written_by_a_clean_stop(
    emulator: Emulator, database_url: str, db: async_sessionmaker[AsyncSession]
) -> None:
    port = free_port()
    async with start_bozor(emulator, database_url, db, http_port=port) as harness:
        key = await new_api_key(harness)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as api:
            code = (await link_of(api, key, "alice"))["code"]
            answers = await asyncio.gather(
                *(
                    api.get(f"/r/{code}", headers={"User-Agent": f"{BROWSER} #{i}"})
                    for i in range(300)
                )
            )
    assert all(answer.status_code == 302 for answer in answers)
    async with db() as session:
        stored = await session.scalar(select(func.count()).select_from(Click))
    assert stored == 300
