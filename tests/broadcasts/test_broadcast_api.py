"""The broadcast admin API over HTTP: preview, create, progress, cancel, bad input."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from bozor.db import utcnow
from bozor.testing import Harness, api_url, eventually, free_port, make_recipients, new_api_key

BASE = "/api/v1/admin"


@pytest.fixture
def bozor_overrides() -> dict[str, Any]:
    return {"http_port": free_port(), "broadcast_interval": 0.2}


@pytest.fixture
def api_scopes() -> tuple[str, ...]:
    return ("admin",)


async def test_preview_create_follow_progress(bozor: Harness, api: httpx.AsyncClient) -> None:
    chats = await make_recipients(bozor, 3, language="uz")
    await make_recipients(bozor, 2, language="en")
    segments = (await api.get(f"{BASE}/broadcast-segments")).json()
    names = {s["name"] for s in segments}
    assert {"all", "language", "referrers", "lottery_participants"} <= names

    audience = {"segment": "language", "params": {"language": "uz"}}
    preview = await api.post(f"{BASE}/broadcasts/preview", json=audience)
    assert preview.status_code == 200, preview.text
    assert preview.json()["recipients"] == 3

    body = {
        **audience,
        "text": "<i>Salom!</i>",
        "buttons": [[{"text": "Shop", "url": "https://example.com/shop"}]],
    }
    created = await api.post(f"{BASE}/broadcasts", json=body)
    assert created.status_code == 201, created.text
    broadcast_id = created.json()["id"]

    async def done() -> bool:
        read = (await api.get(f"{BASE}/broadcasts/{broadcast_id}")).json()
        return bool(read["state"] == "done")

    await eventually(done, timeout=30)
    read = (await api.get(f"{BASE}/broadcasts/{broadcast_id}")).json()
    assert read["progress"]["total"] == 3 and read["progress"]["sent"] == 3
    message = (await bozor.driver.bot_messages(chats[0]))[-1]
    assert message["text"] == "Salom!"
    assert message["reply_markup"]["inline_keyboard"][0][0]["url"] == "https://example.com/shop"
    listed = (await api.get(f"{BASE}/broadcasts")).json()
    assert [b["id"] for b in listed] == [broadcast_id]

    again = await api.post(f"{BASE}/broadcasts/{broadcast_id}/cancel")
    assert again.status_code == 409 and again.json()["code"] == "broadcast.finished"


async def test_cancel_a_scheduled_broadcast(bozor: Harness, api: httpx.AsyncClient) -> None:
    await make_recipients(bozor, 2)
    later = (utcnow() + timedelta(hours=1)).isoformat()
    created = await api.post(
        f"{BASE}/broadcasts", json={"segment": "all", "text": "Later", "scheduled_at": later}
    )
    assert created.status_code == 201 and created.json()["state"] == "scheduled"
    cancelled = await api.post(f"{BASE}/broadcasts/{created.json()['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert (await api.get(f"{BASE}/broadcasts/999")).status_code == 404


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"segment": "nobody", "text": "x"}, "broadcast.unknown_segment"),
        (
            {"segment": "language", "params": {"language": "fr"}, "text": "x"},
            "broadcast.bad_segment_param",
        ),
        ({"segment": "all", "text": "  "}, "broadcast.empty"),
        ({"segment": "all", "text": "x" * 4097}, "broadcast.too_long"),
        (
            {"segment": "all", "text": "x" * 1025, "photo": "https://example.com/a.jpg"},
            "broadcast.too_long",
        ),
        (
            {"segment": "all", "text": "x", "buttons": [[{"text": "Go", "url": "javascript:x"}]]},
            "broadcast.bad_button_url",
        ),
        (
            {"segment": "all", "text": "x", "scheduled_at": "2020-01-01T00:00:00Z"},
            "broadcast.in_the_past",
        ),
        ({"segment": "all", "text": "x", "scheduled_at": "2030-01-01T00:00:00"}, "request.invalid"),
    ],
)
async def test_bad_input_is_refused_and_nothing_saved(
    api: httpx.AsyncClient, body: dict[str, Any], code: str
) -> None:
    response = await api.post(f"{BASE}/broadcasts", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == code
    assert (await api.get(f"{BASE}/broadcasts")).json() == []


async def test_needs_the_admin_scope(bozor: Harness) -> None:
    headers = {"X-API-Key": await new_api_key(bozor, "referrals")}
    async with httpx.AsyncClient(base_url=api_url(bozor), headers=headers) as client:
        assert (await client.get(f"{BASE}/broadcasts")).status_code == 403
