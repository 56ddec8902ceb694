"""The classifieds admin API over HTTP: the queue, an ad, approve / reject acting like the
buttons (first decision wins), search and bans (both backends)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from tests.factories import ad_draft, submitted_ad

from bozor.testing import Harness, free_port

ADS = "/api/v1/admin/classifieds"


@pytest.fixture
def bozor_overrides(bozor_overrides: dict[str, Any]) -> dict[str, Any]:
    return {**bozor_overrides, "http_port": free_port(), "admin_ids": []}


@pytest.fixture
def api_scopes() -> tuple[str, ...]:
    return ("admin",)


async def submitted(bozor: Harness, owner: int, title: str) -> int:
    draft = ad_draft(
        title,
        category="vehicles",
        description="One owner, serviced, winter tyres included.",
        price=8_000,
        currency="USD",
        contact_phone=None,
        contact_username="kamola",
        region="Andijan",
    )
    return await submitted_ad(bozor, owner, draft)


async def test_queue_approve_reject_search_and_ban(
    bozor: Harness, api: httpx.AsyncClient, channel: int
) -> None:
    owner = await bozor.user("Kamola", username="kamola")
    await bozor.start(owner)
    first = await submitted(bozor, owner, "Chevrolet Cobalt 2020")
    second = await submitted(bozor, owner, "Chevrolet Cobalt 2021")

    queue = (await api.get(f"{ADS}/queue")).json()
    assert [ad["id"] for ad in queue] == [first, second]
    assert queue[1]["findings"][0]["code"] == "ads.finding.text"

    approved = await api.post(f"{ADS}/ads/{first}/approve", json={"version": 1})
    assert approved.status_code == 200 and approved.json()["state"] == "published"
    again = await api.post(f"{ADS}/ads/{first}/reject", json={"reason": "late"})
    assert again.status_code == 409 and again.json()["code"] == "ads.already_decided"
    post = await bozor.driver.wait_for_message(channel, contains="Chevrolet Cobalt", timeout=10)
    assert "8 000 USD" in post["text"] and "@kamola" in post["text"]
    notice = await bozor.driver.wait_for_message(owner, contains="published in the channel")
    assert "https://t.me/vodiybozor/" in notice["text"]

    rejected = await api.post(f"{ADS}/ads/{second}/reject", json={"reason": "Photos needed"})
    assert rejected.json()["state"] == "rejected"
    await bozor.driver.wait_for_message(owner, contains="Photos needed")
    assert (await api.post(f"{ADS}/ads/{second}/reject", json={"reason": "x"})).status_code == 422

    detail = (await api.get(f"{ADS}/ads/{first}")).json()
    assert detail["decisions"][0]["approved"] is True
    assert detail["posts"][0]["url"].startswith("https://t.me/vodiybozor/")
    assert (await api.get(f"{ADS}/ads/999")).status_code == 404

    found = (await api.get(f"{ADS}/ads", params={"username": "kamola"})).json()
    assert {ad["id"] for ad in found} == {first, second}
    assert (await api.get(f"{ADS}/ads", params={"telegram_id": 1})).json() == []
    by_state = (await api.get(f"{ADS}/ads", params={"state": "rejected"})).json()
    assert [ad["id"] for ad in by_state] == [second]

    ban = await api.post(f"{ADS}/bans", json={"telegram_id": owner, "reason": "spam"})
    assert ban.status_code == 200
    assert [b["telegram_id"] for b in (await api.get(f"{ADS}/bans")).json()] == [owner]
    sent = await bozor.driver.send_message(owner, "/post_ad")
    answer = await bozor.driver.wait_for_message(owner, after_message_id=sent["message_id"])
    assert "not allowed to post ads" in answer["text"]
    assert (await api.delete(f"{ADS}/bans/{owner}")).status_code == 204
    assert (await api.delete(f"{ADS}/bans/{owner}")).status_code == 404
