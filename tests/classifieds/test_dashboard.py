"""The classifieds pages of the dashboard over HTTP, with the real bot behind the emulator and a
real database (both backends): Approve / Reject from the dashboard act exactly as the Telegram
buttons (channel post, the advertiser told, every admin's review message updated), the first
decision wins whichever way it came, nothing without signing in or without the CSRF token,
photos from media storage, search, bans and CSV."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from bozor.audit.models import AuditRecord
from bozor.classifieds.models import Ad, AdPhoto, AdState
from bozor.testing import ADMIN_ID, Harness, free_port, new_api_key

from .conftest import SECOND_ADMIN
from .helpers import picture, post_ad, press, review_message, shown

ADS = "/dashboard/classifieds"
PASSWORD = "ads dashboard password"
BY_KEY = "test (dashboard, API key #"  # new_api_key names its keys "test"


@pytest.fixture
def bozor_overrides(bozor_overrides: dict[str, Any]) -> dict[str, Any]:
    return {**bozor_overrides, "http_port": free_port(), "dashboard_password": PASSWORD}


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match is not None, html
    return match.group(1)


async def sign_in(web: httpx.AsyncClient, secret: str) -> str:
    """Sign in; the session's CSRF token."""
    page = await web.get("/dashboard/signin")
    answer = await web.post(
        "/dashboard/signin", data={"csrf": csrf_of(page.text), "secret": secret, "next": ADS}
    )
    assert answer.status_code == 303, answer.text
    return csrf_of((await web.get(ADS)).text)


async def decide(
    web: httpx.AsyncClient, csrf: str, ad_id: int, action: str, **fields: str
) -> httpx.Response:
    """Press Approve or Reject on the queue page; the page the browser lands on."""
    form = {"csrf": csrf, "version": "1", "next": ADS, **fields}
    answer = await web.post(f"{ADS}/ads/{ad_id}/{action}", data=form)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"].startswith(ADS)
    return await web.get(answer.headers["location"])


async def admins(bozor: Harness) -> None:
    await bozor.start(await bozor.user("Admin", user_id=ADMIN_ID))
    await bozor.start(await bozor.user("Admin 2", user_id=SECOND_ADMIN))


async def decisions(bozor: Harness) -> int:
    async with bozor.db() as session:
        return int(
            await session.scalar(select(func.count()).where(AuditRecord.area == "classifieds")) or 0
        )


async def test_approve_from_the_dashboard_acts_like_the_button(
    bozor: Harness, web: httpx.AsyncClient, channel: int
) -> None:
    await admins(bozor)
    alice = await bozor.user("Alice", username="alice")
    ad_id = await post_ad(bozor, alice, photos=[picture(1), picture(2)])
    copies = [await review_message(bozor, admin, ad_id) for admin in (ADMIN_ID, SECOND_ADMIN)]
    csrf = await sign_in(web, await new_api_key(bozor, "admin"))

    queue = (await web.get(ADS)).text
    assert "iPhone 12, 128 GB" in queue and "7 500 000 UZS" in queue and "+998901234567" in queue
    assert "Alice, @alice" in queue and "nothing found" in queue and "Fergana" in queue
    photo_urls = re.findall(rf'src="({ADS}/photos/\d+\.jpg)"', queue)
    assert len(photo_urls) == 2
    async with bozor.db() as session:
        kept = list(await session.scalars(select(AdPhoto).where(AdPhoto.ad_id == ad_id)))
    stored = (Path(bozor.settings.media_dir) / str(kept[0].storage_key)).read_bytes()
    served = await web.get(photo_urls[0])
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    assert served.content == stored

    # Telegram is slow to edit the first admin's copy: they can still press its button.
    await bozor.driver.inject_fault("editMessageText", error_code=502, times=3, chat_id=ADMIN_ID)
    page = await decide(web, csrf, ad_id, "approve")
    assert f"Ad #{ad_id} approved" in page.text
    alert = await press(bozor, ADMIN_ID, copies[0], f"ad:no:{ad_id}:1")
    assert f"already decided by {BY_KEY}" in alert
    posts = await bozor.driver.wait_for_messages(channel, 2, timeout=10)  # the album
    assert "iPhone 12" in posts[0]["caption"] and "#Electronics Electronics" in posts[0]["caption"]
    notice = await bozor.driver.wait_for_message(alice, contains="published in the channel")
    assert f"https://t.me/vodiybozor/{posts[0]['message_id']}" in notice["text"]
    # Both admins' review messages now say who decided, and offer no button any more.
    for admin, copy in zip((ADMIN_ID, SECOND_ADMIN), copies, strict=True):
        edited = await shown(bozor, admin, copy["message_id"], f"Approved by {BY_KEY}")
        assert not edited.get("reply_markup")

    # A second decision from the dashboard is refused too; nothing changed.
    again = await decide(web, csrf, ad_id, "reject", reason="price")
    assert f"Ad #{ad_id} was already decided by {BY_KEY}" in again.text
    async with bozor.db() as session:
        ad = await session.get(Ad, ad_id)
        assert ad is not None and ad.state == AdState.PUBLISHED
        assert ad.decided_by is not None and ad.decided_by.startswith(BY_KEY)
    assert await decisions(bozor) == 1
    assert len(await bozor.driver.bot_messages(channel)) == 2

    detail = (await web.get(f"{ADS}/ads/{ad_id}")).text
    assert "https://t.me/vodiybozor/" in detail and f"approve-{ad_id}" not in detail
    rows = list(csv.reader(io.StringIO((await web.get(f"{ADS}/ads/{ad_id}/decisions.csv")).text)))
    assert rows[0][:3] == ["version", "approved", "reason"] and rows[1][1] == "True"
    assert rows[1][3].startswith(BY_KEY)


async def test_reject_with_a_reason_and_telegram_deciding_first(
    bozor: Harness, web: httpx.AsyncClient, channel: int
) -> None:
    await admins(bozor)
    bob = await bozor.user("Bob", username="bob")
    listed = await post_ad(bozor, bob, title="Bicycle Stels")
    typed = await post_ad(bozor, bob, title="Old sofa, brown")
    pressed = await post_ad(bozor, bob, title="Washing machine LG")
    copy = await review_message(bozor, SECOND_ADMIN, listed)
    await review_message(bozor, SECOND_ADMIN, typed)
    telegram_copy = await review_message(bozor, ADMIN_ID, pressed)
    csrf = await sign_in(web, PASSWORD)

    page = await decide(web, csrf, listed, "reject", reason="photos", other="")
    assert f"Ad #{listed} rejected" in page.text
    told = await bozor.driver.wait_for_message(bob, contains=f"Your ad #{listed} “")
    assert "Unclear or unsuitable photos" in told["text"]
    edited = await shown(bozor, SECOND_ADMIN, copy["message_id"], "Rejected by dashboard admin")
    assert "Unclear or unsuitable photos" in edited["text"]

    # No reason at all is refused (the ad stays in review); a typed one is the owner's to read.
    empty = await decide(web, csrf, typed, "reject", reason="", other="  ")
    assert "2 to 500 characters" in empty.text
    async with bozor.db() as session:
        assert (await session.get(Ad, typed)).state == AdState.REVIEW  # type: ignore[union-attr]
    await decide(web, csrf, typed, "reject", reason="", other="Please  add the size")
    told = await bozor.driver.wait_for_message(bob, contains=f"Your ad #{typed} “")
    assert "Please add the size" in told["text"]

    # Telegram first: the dashboard's decision comes second and is refused, naming who decided.
    assert "Approved" in await press(bozor, ADMIN_ID, telegram_copy, f"ad:ok:{pressed}:1")
    refused = await decide(web, csrf, pressed, "reject", reason="price")
    assert f"Ad #{pressed} was already decided by Admin" in refused.text
    await bozor.driver.wait_for_message(channel, contains="Washing machine LG", timeout=10)
    async with bozor.db() as session:
        assert (await session.get(Ad, pressed)).state == AdState.PUBLISHED  # type: ignore[union-attr]
    assert await decisions(bozor) == 3
    assert "Washing machine" not in (await web.get(ADS)).text  # no longer in the queue


async def test_nothing_without_signing_in_or_without_the_token(
    bozor: Harness, web: httpx.AsyncClient
) -> None:
    await admins(bozor)
    carol = await bozor.user("Carol")
    ad_id = await post_ad(bozor, carol, photos=[picture(3)])
    async with bozor.db() as session:
        photo_id = await session.scalar(select(AdPhoto.id).where(AdPhoto.ad_id == ad_id))

    for path in (ADS, f"{ADS}/ads?state=review", f"{ADS}/ads/{ad_id}", f"{ADS}/bans"):
        answer = await web.get(path)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/dashboard/signin?next=")
    for path in (f"{ADS}/photos/{photo_id}.jpg", f"{ADS}/queue.csv", f"{ADS}/ads.csv",
                 f"{ADS}/bans.csv", f"{ADS}/ads/{ad_id}/posts.csv"):  # fmt: skip
        answer = await web.get(path)
        assert answer.status_code == 401, path
        assert b"\xff\xd8" not in answer.content and "," not in answer.text
    for action in ("approve", "reject"):
        answer = await web.post(f"{ADS}/ads/{ad_id}/{action}", data={"reason": "price"})
        assert answer.status_code == 401

    await sign_in(web, PASSWORD)
    for data in ({}, {"csrf": "forged-token-forged-token"}):
        for action in ("approve", "reject"):
            answer = await web.post(f"{ADS}/ads/{ad_id}/{action}", data={**data, "reason": "price"})
            assert answer.status_code == 403
        answer = await web.post(f"{ADS}/bans", data={**data, "who": str(carol)})
        assert answer.status_code == 403
    async with bozor.db() as session:
        ad = await session.get(Ad, ad_id)
        assert ad is not None and ad.state == AdState.REVIEW
    assert await decisions(bozor) == 0
    review = await review_message(bozor, ADMIN_ID, ad_id)  # still waiting for a decision
    assert "Approve" in str(review["reply_markup"])


async def test_search_ban_and_export(bozor: Harness, web: httpx.AsyncClient) -> None:
    dan = await bozor.user("Dan", username="dan_shop")
    erin = await bozor.user("Erin")
    first = await post_ad(bozor, dan, title="Chevrolet Cobalt 2020")
    await post_ad(bozor, erin, title="Garden chairs, four")
    csrf = await sign_in(web, PASSWORD)

    by_user = (await web.get(f"{ADS}/ads", params={"user": "@dan_shop"})).text
    assert "Chevrolet Cobalt 2020" in by_user and "Garden chairs" not in by_user
    by_id = (await web.get(f"{ADS}/ads", params={"ad": f"#{first}"})).text
    assert "1 ad" in by_id and "Chevrolet" in by_id
    unknown = (await web.get(f"{ADS}/ads", params={"user": "@nobody_here"})).text
    assert "No such user" in unknown
    exported = list(csv.reader(io.StringIO((await web.get(f"{ADS}/ads.csv?state=review")).text)))
    assert exported[0][:3] == ["id", "state", "version"]
    assert sorted(row[4] for row in exported[1:]) == [
        "Chevrolet Cobalt 2020",
        "Garden chairs, four",
    ]
    queue = list(csv.reader(io.StringIO((await web.get(f"{ADS}/queue.csv")).text)))
    assert [int(row[0]) for row in queue[1:]] == sorted(int(row[0]) for row in exported[1:])

    banned = await web.post(
        f"{ADS}/bans", data={"csrf": csrf, "who": "@dan_shop", "reason": "spam", "next": ADS}
    )
    assert banned.status_code == 303
    assert "Dan can no longer post ads" in (await web.get(banned.headers["location"])).text
    refused = await bozor.driver.send_message(dan, "/post_ad")
    answer = await bozor.driver.wait_for_message(dan, after_message_id=refused["message_id"])
    assert "not allowed to post ads" in answer["text"]
    bans = list(csv.reader(io.StringIO((await web.get(f"{ADS}/bans.csv")).text)))
    assert bans[1][1:][:4] == [str(dan), "Dan", "dan_shop", "spam"]
    assert bans[1][5] == "dashboard admin (password)"
    assert "banned from posting" in (await web.get(f"{ADS}/ads?user={dan}")).text

    unbanned = await web.post(
        f"{ADS}/bans/{bans[1][0]}/unban", data={"csrf": csrf, "next": f"{ADS}/bans"}
    )
    assert "Dan can post ads again" in (await web.get(unbanned.headers["location"])).text
    assert len(list(csv.reader(io.StringIO((await web.get(f"{ADS}/bans.csv")).text)))) == 1
    overview = (await web.get("/dashboard/")).text
    assert "ads waiting for review" in overview and "ads published" in overview
