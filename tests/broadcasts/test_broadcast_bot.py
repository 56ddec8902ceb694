"""/broadcast in Telegram: compose, buttons, segment, preview, send or schedule, cancel."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bozor.db import utcnow
from bozor.testing import ADMIN_ID, Harness, eventually, make_recipients


@pytest.fixture
def bozor_overrides() -> dict[str, Any]:
    # the admin types quickly: no throttling in the way
    return {"broadcast_interval": 0.2, "broadcast_status_interval": 0.5, "throttle_burst": 50}


async def say(bozor: Harness, text: str, contains: str | None = None) -> dict[str, Any]:
    sent = await bozor.driver.send_message(ADMIN_ID, text)
    return await bozor.driver.wait_for_message(
        ADMIN_ID, after_message_id=sent["message_id"], contains=contains
    )


async def press(bozor: Harness, message: dict[str, Any], label: str) -> None:
    await bozor.driver.press_button(ADMIN_ID, message["message_id"], text=label)


async def test_compose_preview_send_and_watch_progress(bozor: Harness) -> None:
    await bozor.user("Admin", user_id=ADMIN_ID)
    chats = await make_recipients(bozor, 3)
    assert "Send the message to broadcast" in (await say(bozor, "/broadcast"))["text"]
    asked = await say(bozor, "Price < 5 & more", contains="Add link buttons")
    bad = await say(bozor, "Shop - ftp://example.com", contains="is not a link")
    assert "ftp://example.com" in bad["text"]
    assert "Line 1 is not a button" in (await say(bozor, "just words"))["text"]
    segments = await say(
        bozor, "Shop - https://example.com | Help - https://example.com/help\nNews - tg://resolve"
    )
    assert asked["message_id"] < segments["message_id"]
    assert segments["text"] == "Who should receive it?"

    await press(bozor, segments, "all users")
    confirm = await bozor.driver.wait_for_message(
        ADMIN_ID, contains="Send it?", after_message_id=segments["message_id"]
    )
    assert "4 users (all users)" in confirm["text"]  # the three members and the admin
    preview = (await bozor.driver.bot_messages(ADMIN_ID))[-2]
    assert preview["text"] == "Price < 5 & more"

    await press(bozor, confirm, "✅ Send now")
    status = await bozor.driver.wait_for_message(
        ADMIN_ID, contains="Broadcast #1", after_message_id=confirm["message_id"]
    )

    async def finished() -> bool:
        messages = await bozor.driver.bot_messages(ADMIN_ID)
        current = next(m for m in messages if m["message_id"] == status["message_id"])
        return "is finished" in current["text"]

    await eventually(finished, timeout=30)
    final = next(
        m
        for m in await bozor.driver.bot_messages(ADMIN_ID)
        if m["message_id"] == status["message_id"]
    )
    assert "Delivered 4 of 4: ✅ 4 sent" in final["text"]
    assert not final.get("reply_markup")  # no Cancel button once it is over
    for chat in chats:
        got = [m for m in await bozor.driver.bot_messages(chat) if "Price" in m["text"]]
        assert len(got) == 1
        # exactly the preview: text and buttons
        assert got[0]["text"] == preview["text"]
        assert got[0]["reply_markup"] == preview["reply_markup"]
    rows = preview["reply_markup"]["inline_keyboard"]
    assert [[b["text"] for b in row] for row in rows] == [["Shop", "Help"], ["News"]]


async def test_photo_scheduled_then_cancelled(bozor: Harness) -> None:
    await bozor.user("Admin", user_id=ADMIN_ID)
    chats = await make_recipients(bozor, 2)
    await say(bozor, "/broadcast")
    sent = await bozor.driver.send_photo(ADMIN_ID, b"\x89PNG fake", caption="New stock")
    asked = await bozor.driver.wait_for_message(
        ADMIN_ID, after_message_id=sent["message_id"], contains="Add link buttons"
    )
    await press(bozor, asked, "No buttons")
    segments = await bozor.driver.wait_for_message(
        ADMIN_ID, contains="Who should receive it?", after_message_id=asked["message_id"]
    )
    await press(bozor, segments, "language: en")
    confirm = await bozor.driver.wait_for_message(
        ADMIN_ID, contains="Send it?", after_message_id=segments["message_id"]
    )
    preview = (await bozor.driver.bot_messages(ADMIN_ID))[-2]
    assert preview["photo"] and preview["caption"] == "New stock"
    await press(bozor, confirm, "🕒 Schedule")
    await bozor.driver.wait_for_message(
        ADMIN_ID, contains="When should it go out?", after_message_id=confirm["message_id"]
    )
    assert "is not a time" in (await say(bozor, "tomorrow"))["text"]
    assert "That time has passed" in (await say(bozor, "2020-01-01 10:00"))["text"]
    when = (utcnow() + timedelta(hours=2)).strftime("%Y-%m-%d %H:%M")
    status = await say(bozor, when, contains="Broadcast #1")
    assert "is scheduled" in status["text"] and when in status["text"]

    await press(bozor, status, "⛔ Cancel broadcast")

    async def cancelled() -> bool:
        messages = await bozor.driver.bot_messages(ADMIN_ID)
        current = next(m for m in messages if m["message_id"] == status["message_id"])
        return "was cancelled" in current["text"]

    await eventually(cancelled)
    for chat in chats:
        assert not any(m.get("photo") for m in await bozor.driver.bot_messages(chat))


async def test_only_admins_and_a_way_out(bozor: Harness) -> None:
    member = (await make_recipients(bozor, 1))[0]
    sent = await bozor.driver.send_message(member, "/broadcast")
    answer = await bozor.driver.wait_for_message(member, after_message_id=sent["message_id"])
    assert "did not understand" in answer["text"]

    await bozor.user("Admin", user_id=ADMIN_ID)
    await say(bozor, "/broadcast")
    assert (await say(bozor, "/cancel"))["text"] == "The broadcast was discarded."
    assert "did not understand" in (await say(bozor, "hello"))["text"]


@pytest.mark.parametrize("bozor_overrides", [{"timezone": "Asia/Tashkent", "throttle_burst": 50}])
async def test_a_schedule_is_typed_and_shown_in_the_communitys_zone(bozor: Harness) -> None:
    from sqlalchemy import select

    from bozor.broadcasts.models import Broadcast

    await bozor.user("Admin", user_id=ADMIN_ID)
    await make_recipients(bozor, 1)
    await say(bozor, "/broadcast")
    asked = await say(bozor, "Later", contains="Add link buttons")
    await press(bozor, asked, "No buttons")
    segments = await bozor.driver.wait_for_message(
        ADMIN_ID, contains="Who should receive it?", after_message_id=asked["message_id"]
    )
    await press(bozor, segments, "language: en")
    confirm = await bozor.driver.wait_for_message(
        ADMIN_ID, contains="Send it?", after_message_id=segments["message_id"]
    )
    await press(bozor, confirm, "🕒 Schedule")
    question = await bozor.driver.wait_for_message(
        ADMIN_ID, contains="When should it go out?", after_message_id=confirm["message_id"]
    )
    assert "(Asia/Tashkent)" in question["text"] and "UTC" not in question["text"]
    utc = (utcnow() + timedelta(hours=2)).replace(second=0, microsecond=0)
    typed = (utc + timedelta(hours=5)).strftime("%Y-%m-%d %H:%M")  # Tashkent: UTC+5
    status = await say(bozor, typed, contains="Broadcast #1")
    assert f"{typed} Asia/Tashkent" in status["text"], status["text"]
    async with bozor.db() as session:
        assert await session.scalar(select(Broadcast.scheduled_at)) == utc
