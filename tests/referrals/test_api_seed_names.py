"""The reference's (seed 004's) names on the versioned API, over HTTP against a real database:
its request bodies are understood, its answer fields are there, and ambiguity is refused."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bozor.testing import free_port

V1 = "/api/v1"


@pytest.fixture
def bozor_overrides() -> dict[str, Any]:
    return {"http_port": free_port(), "velocity_burst": 0, "velocity_per_visitor": 0}


@pytest.fixture
def api_scopes() -> tuple[str, ...]:
    return ("referrals",)


async def post(api: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await api.post(V1 + path, json=body)
    assert response.is_success, response.text
    return dict(response.json())


async def invalid(api: httpx.AsyncClient, path: str, body: dict[str, Any]) -> str:
    """The message of a 422 request.invalid answer to `body`."""
    response = await api.post(V1 + path, json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "request.invalid"
    return " ".join(error["message"] for error in problem["errors"])


async def test_the_seeds_flow_in_its_own_words(api: httpx.AsyncClient) -> None:
    link = await post(api, "/generate-link", {"userId": "alice"})
    assert link["referral_link"] == link["link"] == link["web_link"]
    assert link["success"] is True
    code = link["code"]

    # {referralCode} alone: the visitor's address and agent are the caller's own
    click = await post(api, "/track-click", {"referralCode": code})
    assert click["success"] is True and click["counted"] is True
    # the seed's other sample sends the link itself
    await post(api, "/track-click", {"referral_link": link["web_link"], "ip": "203.0.113.9"})

    made = await post(api, "/process-referral", {"referralCode": code, "newUserId": "bob"})
    assert (made["referrer_id"], made["referred_id"], made["status"]) == (
        "alice",
        "bob",
        "confirmed",
    )
    assert made["success"] is True
    other = await post(
        api, "/verify-referral", {"referral_link": link["telegram_link"], "new_user_id": "carol"}
    )
    assert other["referrer_id"] == "alice"
    body = {"link": link["web_link"], "new_user_id": "dave", "clickId": click["click_id"]}
    third = await post(api, "/verify-referral", body)
    assert third["referrer_id"] == "alice"

    stats = (await api.get(f"{V1}/referral-stats/alice")).json()
    assert stats["verified_referrals"] == stats["confirmed"] == 3
    assert stats["clicks"] == 2

    rewards = (await api.get(f"{V1}/rewards/alice")).json()["rewards"]
    claim = await post(api, "/claim-reward", {"userId": "alice", "rewardId": rewards[0]["id"]})
    assert claim["success"] is True and claim["reward"]["status"] == "claimed"


async def test_a_link_is_read_down_to_its_code(api: httpx.AsyncClient) -> None:
    code = (await post(api, "/generate-link", {"user_id": "alice"}))["code"]
    for n, link in enumerate(
        (
            f"https://t.me/some_bot?start={code}",
            f"https://bozor.example.com/r/{code}",
            f"https://bozor.example.com/r/{code}/?utm_source=x",
            f"/r/{code}",
            code,  # a bare code under a link's name
        )
    ):
        made = await post(api, "/verify-referral", {"referralLink": link, "user_id": f"u{n}"})
        assert made["referrer_id"] == "alice"
    message = await invalid(
        api, "/verify-referral", {"referral_link": "https://example.com/welcome", "user_id": "x"}
    )
    assert "no code" in message


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/generate-link", {"user_id": "alice", "userId": "bob"}),
        ("/verify-referral", {"code": "aaaaaaaa", "referralCode": "bbbbbbbb", "user_id": "x"}),
        ("/verify-referral", {"code": "aaaaaaaa", "user_id": "x", "newUserId": "y"}),
        (
            "/verify-referral",
            {"code": "aaaaaaaa", "link": "https://t.me/b?start=cccc", "user_id": "x"},
        ),
        ("/track-click", {"code": "aaaaaaaa", "user_agent": "A", "userAgent": "B"}),
        ("/claim-reward", {"user_id": "alice", "reward_id": 1, "rewardId": 2}),
    ],
)
async def test_one_field_spelt_twice_with_different_values_is_refused(
    api: httpx.AsyncClient, path: str, body: dict[str, Any]
) -> None:
    assert "send one of them" in await invalid(api, path, body)


async def test_one_field_spelt_twice_alike_is_fine(api: httpx.AsyncClient) -> None:
    link = await post(api, "/generate-link", {"user_id": "alice", "userId": "alice"})
    made = await post(
        api,
        "/verify-referral",
        {"code": link["code"], "referral_link": link["telegram_link"], "newUserId": "bob"},
    )
    assert made["referred_id"] == "bob"


async def test_the_openapi_document_shows_every_spelling(api: httpx.AsyncClient) -> None:
    schemas = (await api.get("/openapi.json")).json()["components"]["schemas"]
    spellings = {
        "LinkCreate": {"user_id", "userId"},
        "ClickCreate": {"code", "referralCode", "referral_link", "link", "userAgent"},
        "ReferralCreate": {"code", "referralCode", "referral_code", "referralLink", "newUserId",
                           "new_user_id", "clickId"},
        "ClaimCreate": {"user_id", "userId", "reward_id", "rewardId"},
        "LinkRead": {"referral_link", "link", "success"},
        "StatsRead": {"verified_referrals"},
        "ReferralResult": {"success"},
    }  # fmt: skip
    for schema, names in spellings.items():
        assert names <= set(schemas[schema]["properties"]), schema
    assert "Seed 004" in schemas["ReferralCreate"]["properties"]["newUserId"]["description"]
    paths = (await api.get("/openapi.json")).json()["paths"]
    assert {f"{V1}/process-referral", f"{V1}/verify-referral"} <= set(paths)
