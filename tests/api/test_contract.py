"""The API keeps its OpenAPI contract strictly: wrong types refused, 405 with the whole
`Allow`, and authentication declared so that generated clients can use it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bozor.testing import Harness, free_port, new_api_key


@pytest.fixture
def bozor_overrides() -> dict[str, Any]:
    return {"http_port": free_port()}


@pytest.fixture
async def admin(bozor: Harness) -> AsyncIterator[httpx.AsyncClient]:
    key = await new_api_key(bozor, "admin", "referrals")
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{bozor.settings.http_port}", headers={"X-API-Key": key}
    ) as client:
        yield client


def refused(response: httpx.Response, field: str) -> bool:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    locations = [error["location"] for error in response.json()["errors"]]
    return any(location.endswith(field) for location in locations)


async def test_booleans_integers_and_times_are_taken_only_as_they_are_documented(
    admin: httpx.AsyncClient,
) -> None:
    made = await admin.post("/api/v1/admin/campaigns", json={"slug": "spring", "name": "Spring"})
    assert made.status_code == 201, made.text
    campaign = "/api/v1/admin/campaigns/spring"
    for active in (0, 1, "true", "false", "yes"):
        assert refused(await admin.patch(campaign, json={"active": active}), "active"), active
    assert (await admin.patch(campaign, json={"active": False})).json()["active"] is False
    for ends_at in (0, 1_900_000_000, "1900000000", "0.5"):
        response = await admin.patch(campaign, json={"ends_at": ends_at})
        assert refused(response, "ends_at"), ends_at
    response = await admin.patch(campaign, json={"ends_at": "2030-01-01T12:00:00+05:00"})
    assert response.json()["ends_at"].startswith("2030-01-01T07:00:00")

    category = await admin.post("/api/v1/admin/shop/categories", json={"name": "Games"})
    assert category.status_code in (200, 201), category.text
    path = f"/api/v1/admin/shop/categories/{category.json()['id']}"
    for position in (False, True, "3", 3.0, 3.5):
        assert refused(await admin.patch(path, json={"position": position}), "position"), position
    assert refused(await admin.patch(path, json={"is_hidden": 0}), "is_hidden")
    assert (await admin.patch(path, json={"position": 3})).json()["position"] == 3

    for until in ("0.5", "0", "1900000000"):
        response = await admin.get("/api/v1/admin/referrals", params={"until": until})
        assert refused(response, "until"), until
    response = await admin.get("/api/v1/admin/referrals", params={"until": "2030-01-01T00:00Z"})
    assert response.status_code == 200, response.text

    claim = await admin.post("/api/v1/claim-reward", json={"user_id": "u1", "reward_id": True})
    assert refused(claim, "reward_id")
    tiers = {"per_referral": "10", "welcome": 0, "tiers": []}
    assert refused(await admin.put("/api/v1/admin/reward-program", json=tiers), "per_referral")


async def test_a_405_names_every_method_of_the_path(admin: httpx.AsyncClient) -> None:
    for method, path, allowed in (
        ("DELETE", "/api/v1/admin/campaigns", "GET, POST"),
        ("PUT", "/api/v1/admin/campaigns/spring", "GET, PATCH"),
        ("POST", "/api/v1/admin/reward-program", "DELETE, GET, PUT"),
        ("PUT", "/api/v1/admin/webhooks/1", "DELETE, GET, PATCH"),
        ("GET", "/api/v1/generate-link", "POST"),
    ):
        response = await admin.request(method, path, json={})
        assert response.status_code == 405, (method, path, response.text)
        assert response.headers["allow"] == allowed, (method, path)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == 405


async def test_a_wrong_method_is_405_even_where_another_route_would_match(
    bozor: Harness, admin: httpx.AsyncClient
) -> None:
    """POST-only /broadcasts/preview, and GET /broadcasts/{broadcast_id} beside it: a GET of
    the preview is a wrong method, not a broadcast id that is not a number."""
    response = await admin.get("/api/v1/admin/broadcasts/preview")
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == "POST"
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{bozor.settings.http_port}") as anon:
        anonymous = await anon.get("/api/v1/admin/broadcasts/preview")
    assert anonymous.status_code == 405 and anonymous.headers["allow"] == "POST"
    # ... while the routes themselves still answer
    assert (await admin.get("/api/v1/admin/broadcasts/12345")).status_code == 404
    preview = await admin.post("/api/v1/admin/broadcasts/preview", json={"segment": "all"})
    assert preview.status_code == 200, preview.text


async def test_openapi_declares_how_to_authenticate(admin: httpx.AsyncClient) -> None:
    spec = (await admin.get("/openapi.json")).json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["ApiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": schemes["ApiKey"]["description"],
    }
    assert schemes["BearerToken"]["type"] == "http"
    assert schemes["BearerToken"]["scheme"] == "bearer"
    either: list[dict[str, list[str]]] = [{"ApiKey": []}, {"BearerToken": []}]
    public = {"/healthz", "/readyz", "/r/{code}", "/payments/portmone/callback"}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            names = {p["name"].lower() for p in operation.get("parameters", [])}
            assert not names & {"x-api-key", "authorization"}, (method, path)
            if path == "/api/v1/token":
                assert operation["security"] == [{"ApiKey": []}]
            elif path in public:
                assert "security" not in operation, (method, path)
            else:
                assert operation.get("security") == either, (method, path)


async def test_every_documented_path_answers_405_for_the_methods_it_lacks(
    admin: httpx.AsyncClient,
) -> None:
    """What Schemathesis's `unsupported_method` check asks, for every path of the document:
    each method it does not list gets 405, with `Allow` naming exactly those it lists."""
    spec = (await admin.get("/openapi.json")).json()
    methods = {"GET", "POST", "PUT", "PATCH", "DELETE"}
    for template, operations in spec["paths"].items():
        path = template.replace("{", "").replace("}", "")  # a value for each parameter
        documented = {method.upper() for method in operations}
        for method in sorted(methods - documented):
            response = await admin.request(method, path)
            assert response.status_code == 405, (method, template, response.text)
            assert set(response.headers["allow"].split(", ")) == documented, (method, template)
