"""Inputs the OpenAPI fuzzer turned up: each answered as documented, never with a 5xx."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import select
from tests.factories import referral_code

from bozor.referrals.models import Click
from bozor.testing import Harness, eventually, free_port

PROBLEM_JSON = "application/problem+json"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120 Safari/537.36"


@pytest.fixture
def bozor_overrides() -> dict[str, Any]:
    return {"http_port": free_port()}


@pytest.fixture
def api_scopes() -> tuple[str, ...]:
    return ("referrals",)


async def test_every_error_response_is_documented_as_a_problem(api: httpx.AsyncClient) -> None:
    spec = (await api.get("/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert {"type", "title", "status", "detail", "code"} <= set(schemas["Problem"]["properties"])
    for operations in spec["paths"].values():
        for operation in operations.values():
            for status, response in operation["responses"].items():
                if status[0] in "45":
                    assert list(response["content"]) == [PROBLEM_JSON], (operation, status)
    stats = spec["paths"]["/api/v1/referral-stats/{user_id}"]["get"]["responses"]
    assert {"200", "401", "403", "404", "422", "429"} == set(stats)
    referral = spec["paths"]["/api/v1/verify-referral"]["post"]["responses"]
    assert {"201", "400", "401", "403", "404", "409", "422", "429"} == set(referral)
    assert {"302", "404", "422", "429"} == set(spec["paths"]["/r/{code}"]["get"]["responses"])


async def test_a_body_that_is_not_utf8_is_a_bad_request(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/api/v1/generate-link",
        content=b'{"user_id": "\xff\xfe"}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM_JSON


@pytest.mark.parametrize(
    ("user_id", "as_new_user"),
    [
        ("tg:²", 404),  # a digit to str.isdigit, not to int()
        ("tg:9223372036854775808", 404),  # beyond a 64-bit Telegram id
        ("tg:" + "9" * 5000, 404),  # beyond what int() converts (cut to 128 for the body)
        ("nul\x00", 422),  # PostgreSQL text cannot hold NUL
    ],
)
async def test_ids_no_user_can_have_are_not_found(
    api: httpx.AsyncClient, user_id: str, as_new_user: int
) -> None:
    for path in ("referral-stats", "rewards"):
        response = await api.get(f"/api/v1/{path}/{quote(user_id, safe='')}")
        assert response.status_code == 404, response.text
    response = await api.post("/api/v1/generate-link", json={"user_id": user_id[:128]})
    assert response.status_code == as_new_user, response.text


async def test_ids_beyond_64_bits_are_invalid(api: httpx.AsyncClient) -> None:
    code = await referral_code(api, "alice")
    too_big = 2**63
    claim = await api.post("/api/v1/claim-reward", json={"user_id": "alice", "reward_id": too_big})
    referral = await api.post(
        "/api/v1/verify-referral", json={"code": code, "user_id": "bob", "click_id": too_big}
    )
    for response in (claim, referral):
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "request.invalid"


async def test_nul_characters_from_visitors_are_dropped(
    bozor: Harness, api: httpx.AsyncClient
) -> None:
    code = await referral_code(api, "alice")
    body = {
        "code": code,
        "ip": "10.0.0.1",
        "user_agent": "Mozilla/5.0\x00",
        "referer": "https://example.com/\x00",
        "utm": {"utm_source": "in\x00sta"},
    }
    assert (await api.post("/api/v1/track-click", json=body)).status_code == 201
    response = await api.get(f"/r/{code}?utm_source=tele%00gram", headers={"User-Agent": BROWSER})
    assert response.status_code == 302

    async def both() -> bool:  # redirect clicks are written in batches, a moment later
        async with bozor.db() as session:
            return len((await session.scalars(select(Click))).all()) == 2

    await eventually(both)
    async with bozor.db() as session:
        stored = (await session.scalars(select(Click).order_by(Click.id))).all()
    assert [(c.user_agent, c.referer, c.utm) for c in stored] == [
        ("Mozilla/5.0", "https://example.com/", {"utm_source": "insta"}),
        (BROWSER, None, {"utm_source": "telegram"}),
    ]
