"""The advertiser's dialogue and the admins' decisions end to end: the real bot through the
emulator over HTTP, a real database (both backends)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import func, select

from bozor.classifieds import service
from bozor.classifieds.models import Ad, AdPhoto, AdState
from bozor.testing import ADMIN_ID, Harness, eventually

from .conftest import SECOND_ADMIN
from .helpers import (
    fill_dialogue,
    last_with,
    picture,
    post_ad,
    press,
    review_message,
    say,
    send_preview,
    shown,
)


async def count(bozor: Harness, model: type) -> int:
    async with bozor.db() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_album_approve_publishes_and_tells_owner_with_link(
    bozor: Harness, channel: int
) -> None:
    await bozor.start(await bozor.user("Admin", user_id=ADMIN_ID))
    await bozor.start(await bozor.user("Admin 2", user_id=SECOND_ADMIN))
    alice = await bozor.user("Alice", username="alice")
    preview = await fill_dialogue(bozor, alice, photos=[picture(1), picture(2), picture(3)])
    assert (
        "#Electronics Electronics" in preview
        and "7 500 000 UZS" in preview
        and "+998901234567" in preview
    )
    assert await count(bozor, Ad) == 0  # nothing stored before Send
    ad_id = await send_preview(bozor, alice)

    async with bozor.db() as session:
        photos = list(await session.scalars(select(AdPhoto).where(AdPhoto.ad_id == ad_id)))
    assert len(photos) == 3 and all(p.storage_key and p.dhash is not None for p in photos)
    stored = [Path(bozor.settings.media_dir) / str(p.storage_key) for p in photos]
    assert all(path.read_bytes()[:2] == b"\xff\xd8" for path in stored)  # JPEGs kept

    first = await review_message(bozor, ADMIN_ID, ad_id)
    second = await review_message(bozor, SECOND_ADMIN, ad_id)
    assert "Alice" in first["text"] and "Checks: nothing found" in first["text"]
    admin_albums = [m for m in await bozor.driver.bot_messages(ADMIN_ID) if m.get("photo")]
    assert len(admin_albums) == 3

    assert "Approved" in await press(bozor, ADMIN_ID, first, f"ad:ok:{ad_id}:1")
    posts = await bozor.driver.wait_for_messages(channel, 3, timeout=10)
    assert "iPhone 12" in posts[0]["caption"] and "#Electronics Electronics" in posts[0]["caption"]
    assert len({p["media_group_id"] for p in posts}) == 1
    notice = await bozor.driver.wait_for_message(alice, contains="published in the channel")
    assert f"https://t.me/vodiybozor/{posts[0]['message_id']}" in notice["text"]

    # The other admin's copy now says who decided, without the buttons (a second decision
    # pressed before the edit lands is refused: see the next test).
    async def edited() -> bool:
        copy = await last_with(bozor, SECOND_ADMIN, f"Ad #{ad_id}")
        return "Approved by Admin" in copy["text"] and not copy.get("reply_markup")

    await eventually(edited)
    assert (
        second["message_id"] == (await last_with(bozor, SECOND_ADMIN, "Approved by"))["message_id"]
    )
    async with bozor.db() as session:
        assert len(await service.decisions(session=session, ad_id=ad_id)) == 1


async def test_two_admins_deciding_at_once(bozor: Harness, channel: int) -> None:
    await bozor.start(await bozor.user("Admin", user_id=ADMIN_ID))
    await bozor.start(await bozor.user("Boss", user_id=SECOND_ADMIN))
    bob = await bozor.user("Bob")
    ad_id = await post_ad(bozor, bob)
    first = await review_message(bozor, ADMIN_ID, ad_id)
    second = await review_message(bozor, SECOND_ADMIN, ad_id)
    await press(bozor, SECOND_ADMIN, second, f"ad:no:{ad_id}:1")  # shows the reasons
    answers = await asyncio.gather(
        press(bozor, ADMIN_ID, first, f"ad:ok:{ad_id}:1"),
        press(bozor, SECOND_ADMIN, second, f"ad:rr:{ad_id}:1:price"),
    )
    refused = [a for a in answers if "already decided" in a]
    assert len(refused) == 1
    async with bozor.db() as session:
        ad = await session.get(Ad, ad_id)
        decisions = await service.decisions(session=session, ad_id=ad_id)
    assert ad is not None and len(decisions) == 1
    if decisions[0].approved:
        assert ad.state == AdState.PUBLISHED
        await bozor.driver.wait_for_message(bob, contains="published")
    else:
        assert ad.state == AdState.REJECTED
        await bozor.driver.wait_for_message(bob, contains="Unrealistic price")
        assert await bozor.driver.bot_messages(channel) == []


async def test_reject_with_free_text_reason_then_edit_and_resubmit(
    bozor: Harness, channel: int
) -> None:
    await bozor.start(await bozor.user("Admin", user_id=ADMIN_ID))
    carol = await bozor.user("Carol")
    ad_id = await post_ad(bozor, carol, photos=[picture(7)])
    review = await review_message(bozor, ADMIN_ID, ad_id)
    await press(bozor, ADMIN_ID, review, f"ad:no:{ad_id}:1")
    await press(bozor, ADMIN_ID, review, f"ad:ro:{ad_id}:1")
    await bozor.driver.wait_for_message(ADMIN_ID, contains="Type the reason")
    await say(bozor, ADMIN_ID, "Please add the memory size", contains="rejected")
    notice = await bozor.driver.wait_for_message(carol, contains="was not approved")
    assert "Please add the memory size" in notice["text"]

    # /my_ads → the ad → Edit → change the title → Send: version 2 goes back to review.
    listing = await say(bozor, carol, "/my_ads", contains="Your ads")
    assert "rejected: Please add the memory size" in listing
    my = await last_with(bozor, carol, "Your ads")
    await press(bozor, carol, my, f"my:{ad_id}")
    card = await shown(bozor, carol, my["message_id"], f"Ad #{ad_id}")
    assert "Edit" in str(card["reply_markup"]) and "Mark sold" not in str(card["reply_markup"])
    await press(bozor, carol, card, f"my:e:{ad_id}")
    question = await bozor.driver.wait_for_message(
        carol, contains="Is everything right?", after_message_id=card["message_id"]
    )
    await press(bozor, carol, question, "adf:edit")
    await press(bozor, carol, question, "adf:field:title")
    await bozor.driver.wait_for_message(
        carol, contains="Title", after_message_id=question["message_id"]
    )
    await say(bozor, carol, "iPhone 12, 256 GB", contains="Is everything right?")
    assert await send_preview(bozor, carol) == ad_id
    review2 = await bozor.driver.wait_for_message(ADMIN_ID, contains="(version 2)")
    assert "256 GB" in review2["text"]
    old = await last_with(bozor, ADMIN_ID, "(version 1)")
    assert "Rejected by Admin: Please add" in old["text"] and not old.get("reply_markup")
    await press(bozor, ADMIN_ID, review2, f"ad:ok:{ad_id}:2")
    post = await bozor.driver.wait_for_message(channel, contains="256 GB", timeout=10)
    assert post.get("photo")  # the photo kept from version 1, sent by its file id


async def test_mark_sold_and_withdraw_edit_channel_posts(bozor: Harness, channel: int) -> None:
    await bozor.start(await bozor.user("Admin", user_id=ADMIN_ID))
    dan = await bozor.user("Dan")
    sold_id = await post_ad(bozor, dan, title="Bicycle Stels")
    await press(
        bozor, ADMIN_ID, await review_message(bozor, ADMIN_ID, sold_id), f"ad:ok:{sold_id}:1"
    )
    await bozor.driver.wait_for_message(channel, contains="Bicycle Stels", timeout=10)
    await bozor.driver.wait_for_message(dan, contains="published in the channel")
    other_id = await post_ad(bozor, dan, title="Old sofa, brown", price="300 $")

    await say(bozor, dan, "/my_ads", contains="Your ads")
    my = await last_with(bozor, dan, "Your ads")
    await press(bozor, dan, my, f"my:{sold_id}")
    await shown(bozor, dan, my["message_id"], "Status: ✅ published: https://t.me/vodiybozor/")
    assert "Marked sold" in await press(bozor, dan, my, f"my:s:{sold_id}")
    await shown(bozor, dan, my["message_id"], "Status: 💰 sold")

    async def stamped() -> bool:
        post = await last_with(bozor, channel, "Bicycle Stels")
        return str(post["text"]).startswith("✅ SOLD")

    await eventually(stamped)
    await press(bozor, dan, my, "my:l")
    await shown(bozor, dan, my["message_id"], "Your ads")
    await press(bozor, dan, my, f"my:{other_id}")
    await shown(bozor, dan, my["message_id"], "Status: ⏳ under review")
    assert "Withdrawn" in await press(bozor, dan, my, f"my:w:{other_id}")
    async with bozor.db() as session:
        assert (await session.get(Ad, other_id)).state == AdState.WITHDRAWN  # type: ignore[union-attr]
    # The admins' review message of the withdrawn ad no longer offers a decision.
    await eventually(lambda: _no_buttons(bozor, ADMIN_ID, f"Ad #{other_id} (version 1)"))


async def _no_buttons(bozor: Harness, chat: int, contains: str) -> bool:
    message = await last_with(bozor, chat, contains)
    return "Withdrawn by the advertiser" in message["text"] and not message.get("reply_markup")


async def test_bad_input_at_each_step_and_nothing_half_saved(bozor: Harness) -> None:
    erin = await bozor.user("Erin")
    await say(bozor, erin, "/post_ad", contains="Choose the category")
    assert "buttons" in await say(bozor, erin, "Phones")
    pick = await last_with(bozor, erin, "Choose the category")
    await press(bozor, erin, pick, "adc:electronics")
    await bozor.driver.wait_for_message(erin, contains="Title")
    assert "3 to 100 characters" in await say(bozor, erin, "TV")
    photo = await bozor.driver.send_photo(erin, picture(3))
    answer = await bozor.driver.wait_for_message(erin, after_message_id=photo["message_id"])
    assert "title as text" in answer["text"]
    await say(bozor, erin, "Samsung TV 43 inch", contains="Description")
    assert "10 to 600 characters" in await say(bozor, erin, "Works")
    await say(bozor, erin, "Works well, remote included.", contains="Price")
    assert "could not read a price" in await say(bozor, erin, "cheap")
    assert "Photos" in await say(bozor, erin, "$250")
    assert "at least one photo" in await say(bozor, erin, "✅ Done")
    await say(bozor, erin, "No photos", contains="Contact")
    assert "not a phone number" in await say(bozor, erin, "call me")
    await say(bozor, erin, "@erin_shop", contains="Region")
    assert "2 to 64 characters" in await say(bozor, erin, "x")
    # Left half-way: /post_ad offers to continue; continuing re-asks the region.
    assert "did not finish" in await say(bozor, erin, "/post_ad")
    resume = await last_with(bozor, erin, "did not finish")
    await press(bozor, erin, resume, "adr:continue")
    await bozor.driver.wait_for_message(
        erin, contains="Region", after_message_id=resume["message_id"]
    )
    preview = await say(bozor, erin, "Namangan", contains="📌")
    assert "250 USD" in preview and "@erin_shop" in preview and "Namangan" in preview
    # The preview's question comes last (paced: the chat has had several messages at once).
    await bozor.driver.wait_for_message(erin, contains="Is everything right?")
    assert "Cancelled. Nothing was saved" in await say(bozor, erin, "/cancel")
    assert await count(bozor, Ad) == 0


async def test_findings_and_ban(bozor: Harness) -> None:
    await bozor.start(await bozor.user("Admin", user_id=ADMIN_ID))
    frank = await bozor.user("Frank", username="frank")
    first = await post_ad(bozor, frank, photos=[picture(5)])
    second = await post_ad(
        bozor,
        frank,
        photos=[picture(5)],
        description="Good condition, with the box and a charger. Also a weapon.",
        price="99 000 000 000",
    )
    review = await review_message(bozor, ADMIN_ID, second)
    text = review["text"]
    assert f"photo as ad #{first}" in text
    assert f"text as ad #{first}" in text
    assert "Banned words: weapon" in text
    assert "usual range" in text
    assert "Approve" in str(review["reply_markup"])  # findings inform; the ad is not dropped

    assert "can no longer post" in await say(bozor, ADMIN_ID, "/ads_ban @frank spam")
    assert "not allowed to post ads" in await say(bozor, frank, "/post_ad")
    queue = await say(bozor, ADMIN_ID, "/ads_queue", contains="Waiting for review")
    assert f"#{first}" in queue and f"#{second}" in queue
    assert "Banned from posting" in await say(bozor, ADMIN_ID, "/ads_user @frank")
    assert "can post ads again" in await say(bozor, ADMIN_ID, f"/ads_unban {frank}")
